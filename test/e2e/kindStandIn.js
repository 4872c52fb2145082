#!/usr/bin/env node
// The control-plane tier's only stand-in: `kind`, and Docker's view of kind's
// node containers, answering as kind v0.32.0 and docker 28 do, but made of a
// real Kubernetes control plane on this machine instead of node containers:
// etcd, kube-apiserver, kube-controller-manager and kube-scheduler from
// E2E_BIN, with kwok making each node and each pod's life (pods Running and
// Ready, Job pods Succeeded) as kwokctl's own binary runtime does.
//
// Called as `kind ...` or `docker ...` (symlinks in the tier's PATH). Each
// cluster lives in $KIND_STAND_IN_HOME/<name>/: its PKI, etcd data, logs and
// the processes' command lines, so that `docker stop` / `docker start` of its
// "nodes" stops and starts the same control plane, data kept, as Docker does
// with kind's containers.
"use strict";
const { spawn, spawnSync } = require("child_process");
const fs = require("fs");
const net = require("net");
const os = require("os");
const path = require("path");

const home = required("KIND_STAND_IN_HOME");
const bin = required("E2E_BIN");
const tool = path.basename(process.argv[1]);
const args = process.argv.slice(2);

function required(name) {
    const value = process.env[name];
    if (!value) {
        process.stderr.write(`kind stand-in: ${name} is not set\n`);
        process.exit(2);
    }
    return value;
}

const clusterDirectory = (name) => path.join(home, name);
const stateFile = (name) => path.join(clusterDirectory(name), "state.json");
const readState = (name) => (fs.existsSync(stateFile(name)) ? JSON.parse(fs.readFileSync(stateFile(name), "utf8")) : undefined);
const writeState = (name, state) => fs.writeFileSync(stateFile(name), JSON.stringify(state, null, 2));
const clusters = () =>
    fs.existsSync(home)
        ? fs
              .readdirSync(home)
              .filter((name) => readState(name) !== undefined)
              .sort()
        : [];
const alive = (pid) => {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
};
const running = (state) => state.processes.length > 0 && state.processes.every((process) => process.pid !== undefined && alive(process.pid));
const option = (name, fallback) => {
    const index = args.indexOf(name);
    return index >= 0 ? args[index + 1] : fallback;
};
/** The cluster being created: a failed `kind create` deletes what it made unless --retain (kind v0.32.0 pkg/cluster/internal/create/create.go:104-105, 137-138). */
let creating;
const fail = (message) => {
    process.stderr.write(message.endsWith("\n") ? message : `${message}\n`);
    if (creating !== undefined && readState(creating) !== undefined) {
        stopProcesses(creating, readState(creating));
        fs.rmSync(clusterDirectory(creating), { recursive: true, force: true });
    }
    process.exit(1);
};

async function freePort() {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.on("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const { port } = server.address();
            server.close(() => resolve(port));
        });
    });
}

function openssl(directory, ...commandArgs) {
    const result = spawnSync("openssl", commandArgs, { cwd: directory, encoding: "utf8" });
    if (result.status !== 0) fail(`kind stand-in: openssl ${commandArgs.join(" ")}: ${result.stderr}`);
}

/** A CA, the API server's serving certificate and the service-account key pair, as kubeadm makes them for kind. */
function makePki(directory) {
    openssl(directory, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "30", "-subj", "/CN=kubernetes");
    fs.writeFileSync(
        path.join(directory, "apiserver.ext"),
        [
            "subjectAltName=DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:127.0.0.1,IP:10.96.0.1",
            "extendedKeyUsage=serverAuth",
            "",
        ].join("\n"),
    );
    openssl(directory, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "apiserver.key", "-out", "apiserver.csr", "-subj", "/CN=kube-apiserver");
    openssl(
        directory,
        "x509",
        "-req",
        "-in",
        "apiserver.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "apiserver.crt",
        "-days",
        "30",
        "-extfile",
        "apiserver.ext",
    );
    openssl(directory, "genrsa", "-out", "sa.key", "2048");
    openssl(directory, "rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub");
}

/** The kubeconfig kind prints: cluster, user and context all named kind-<name> (kind v0.32.0 pkg/cluster/internal/kubeconfig/internal/kubeconfig/helpers.go:24-25). */
function kubeconfigOf(name, state) {
    const context = `kind-${name}`;
    const ca = fs.readFileSync(path.join(clusterDirectory(name), "ca.crt")).toString("base64");
    return [
        "apiVersion: v1",
        "clusters:",
        "- cluster:",
        `    certificate-authority-data: ${ca}`,
        `    server: https://127.0.0.1:${state.ports.apiserver}`,
        `  name: ${context}`,
        "contexts:",
        "- context:",
        `    cluster: ${context}`,
        `    user: ${context}`,
        `  name: ${context}`,
        `current-context: ${context}`,
        "kind: Config",
        "preferences: {}",
        "users:",
        `- name: ${context}`,
        "  user:",
        `    token: ${state.token}`,
        "",
    ].join("\n");
}

/** The nodes of kind's config (`- role: control-plane|worker`), named as kind v0.32.0 names its containers (pkg/cluster/internal/providers/common/namer.go:25-36). */
function nodesOf(name, config) {
    const roles = [...config.matchAll(/^\s*-\s*role:\s*(\S+)\s*$/gm)].map((match) => match[1]);
    const counts = {};
    return (roles.length > 0 ? roles : ["control-plane"]).map((role) => {
        counts[role] = (counts[role] ?? 0) + 1;
        return { role, name: `${name}-${role}${counts[role] === 1 ? "" : counts[role]}` };
    });
}

function startProcesses(name, state) {
    const directory = clusterDirectory(name);
    for (const entry of state.processes) {
        if (entry.pid !== undefined && alive(entry.pid)) continue;
        const log = fs.openSync(path.join(directory, `${entry.name}.log`), "a");
        // A binary of E2E_BIN by its name, or a script of this folder run by this Node.js.
        const [command, commandArgs] =
            entry.script === undefined ? [path.join(bin, entry.name), entry.args] : [process.execPath, [path.join(__dirname, entry.script), ...entry.args]];
        const child = spawn(command, commandArgs, { cwd: directory, detached: true, stdio: ["ignore", log, log] });
        child.unref();
        entry.pid = child.pid;
    }
    writeState(name, state);
}

function stopProcesses(name, state) {
    for (const entry of [...state.processes].reverse()) {
        if (entry.pid !== undefined && alive(entry.pid)) {
            try {
                process.kill(entry.pid, "SIGTERM");
            } catch {
                // gone in between
            }
        }
    }
    const deadline = Date.now() + 15000;
    while (state.processes.some((entry) => entry.pid !== undefined && alive(entry.pid)) && Date.now() < deadline) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
    state.processes.filter((entry) => entry.pid !== undefined && alive(entry.pid)).forEach((entry) => process.kill(entry.pid, "SIGKILL"));
    state.processes.forEach((entry) => delete entry.pid);
    writeState(name, state);
}

function kubectl(name, kubectlArgs, input) {
    const result = spawnSync(path.join(bin, "kubectl"), ["--kubeconfig", path.join(clusterDirectory(name), "kubeconfig"), ...kubectlArgs], {
        encoding: "utf8",
        input,
    });
    return { status: result.status, stdout: result.stdout ?? "", stderr: result.stderr ?? "" };
}

/** `kubectl config …` on the user's kubeconfig ($KUBECONFIG), where kind keeps its contexts. */
function kubectlConfig(...configArgs) {
    return spawnSync(path.join(bin, "kubectl"), ["config", ...configArgs], { encoding: "utf8" });
}

function sleep(milliseconds) {
    return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

async function waitFor(what, seconds, check) {
    const deadline = Date.now() + seconds * 1000;
    let last = "";
    while (Date.now() < deadline) {
        const result = check();
        if (result === true) return;
        last = result;
        await sleep(500);
    }
    fail(`ERROR: failed to create cluster: timed out after ${seconds}s waiting for ${what}: ${last}`);
}

async function createCluster() {
    const name = option("--name", "kind");
    if (readState(name) !== undefined) {
        // kind v0.32.0 pkg/cluster/internal/create/create.go:177-185 (alreadyExists); cmd/kind/app/main.go prefixes ERROR:
        fail(`ERROR: failed to create cluster: node(s) already exist for a cluster with the name "${name}"`);
    }
    const configArg = option("--config");
    const config = configArg === "-" ? fs.readFileSync(0, "utf8") : configArg !== undefined ? fs.readFileSync(configArg, "utf8") : "";
    const wait = option("--wait", "0s");
    const directory = clusterDirectory(name);
    fs.mkdirSync(directory, { recursive: true });
    creating = name;
    process.stderr.write(`Creating cluster "${name}" ...\n`);
    makePki(directory);
    const token = require("crypto").randomBytes(16).toString("hex");
    fs.writeFileSync(path.join(directory, "tokens.csv"), `${token},kubernetes-admin,kubernetes-admin,system:masters\n`);
    const ports = { etcd: await freePort(), etcdPeer: await freePort(), apiserver: await freePort(), kwok: await freePort() };
    const nodes = nodesOf(name, config);
    const kubeconfig = path.join(directory, "kubeconfig");
    const state = { name, token, ports, nodes, processes: [] };
    writeState(name, state);
    fs.writeFileSync(kubeconfig, kubeconfigOf(name, state));
    fs.writeFileSync(path.join(directory, "kwok.yaml"), fs.readFileSync(path.join(bin, "kwok-stages.yaml")));
    // Each process is named after its binary in E2E_BIN.
    state.processes = [
        {
            name: "etcd",
            args: [
                "--name",
                name,
                "--data-dir",
                path.join(directory, "etcd"),
                "--listen-client-urls",
                `http://127.0.0.1:${ports.etcd}`,
                "--advertise-client-urls",
                `http://127.0.0.1:${ports.etcd}`,
                "--listen-peer-urls",
                `http://127.0.0.1:${ports.etcdPeer}`,
                "--initial-advertise-peer-urls",
                `http://127.0.0.1:${ports.etcdPeer}`,
                "--initial-cluster",
                `${name}=http://127.0.0.1:${ports.etcdPeer}`,
            ],
        },
        {
            name: "kube-apiserver",
            args: [
                `--etcd-servers=http://127.0.0.1:${ports.etcd}`,
                "--bind-address=127.0.0.1",
                `--secure-port=${ports.apiserver}`,
                "--tls-cert-file=apiserver.crt",
                "--tls-private-key-file=apiserver.key",
                "--client-ca-file=ca.crt",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                "--service-account-key-file=sa.pub",
                "--service-account-signing-key-file=sa.key",
                "--service-cluster-ip-range=10.96.0.0/16",
                "--token-auth-file=tokens.csv",
                "--authorization-mode=Node,RBAC",
                "--allow-privileged=true",
            ],
        },
        {
            name: "kube-controller-manager",
            args: [
                `--kubeconfig=${kubeconfig}`,
                `--authentication-kubeconfig=${kubeconfig}`,
                `--authorization-kubeconfig=${kubeconfig}`,
                "--service-account-private-key-file=sa.key",
                "--root-ca-file=ca.crt",
                "--leader-elect=false",
                "--secure-port=0",
                "--cluster-signing-cert-file=ca.crt",
                "--cluster-signing-key-file=ca.key",
                "--use-service-account-credentials=false",
            ],
        },
        {
            name: "kube-scheduler",
            args: [
                `--kubeconfig=${kubeconfig}`,
                `--authentication-kubeconfig=${kubeconfig}`,
                `--authorization-kubeconfig=${kubeconfig}`,
                "--leader-elect=false",
                "--secure-port=0",
            ],
        },
        {
            // kwokctl's binary runtime runs it the same way (pkg/kwokctl/components/kwok_controller.go:128-141).
            name: "kwok",
            args: [
                `--kubeconfig=${kubeconfig}`,
                "--config=kwok.yaml",
                "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
                "--node-ip=127.0.0.1",
                `--node-port=${ports.kwok}`,
                `--server-address=127.0.0.1:${ports.kwok}`,
                "--node-lease-duration-seconds=40",
            ],
        },
        {
            // The provisioner behind kind's default StorageClass, as the API server sees it.
            name: "local-path-provisioner",
            script: "localPathProvisioner.js",
            args: [path.join(bin, "kubectl"), kubeconfig],
        },
    ];
    writeState(name, state);
    startProcesses(name, state);
    process.stderr.write(" ✓ Starting control-plane 🕹️\n");
    await waitFor("the API server", 120, () => {
        const ready = kubectl(name, ["get", "--raw", "/readyz"]);
        return ready.status === 0 || ready.stderr.trim() || ready.stdout.trim();
    });
    applyNodes(name, state);
    const waitSeconds = parseDuration(wait);
    if (waitSeconds > 0) {
        process.stderr.write(` • Waiting ≤ ${wait} for control-plane = Ready ⏳\n`);
        await waitFor("the nodes to be Ready", waitSeconds, () => {
            const listed = kubectl(name, [
                "get",
                "nodes",
                "-o",
                'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status} {end}',
            ]);
            const ready = listed.stdout
                .trim()
                .split(/\s+/)
                .filter((entry) => entry.endsWith("=True")).length;
            return (listed.status === 0 && ready === state.nodes.length) || `${ready} of ${state.nodes.length} Ready ${listed.stderr.trim()}`;
        });
    }
    mergeIntoUserKubeconfig(name, state);
    creating = undefined;
    process.stderr.write(`Set kubectl context to "kind-${name}"\n`);
}

/** The nodes, as kwok-managed Node objects labelled as kubeadm labels kind's nodes; the control plane keeps kubeadm's taint unless it is the only node (kind v0.32.0 pkg/cluster/internal/create/actions/kubeadminit/init.go:124-150). */
function applyNodes(name, state) {
    const hasWorkers = state.nodes.some((node) => node.role === "worker");
    const capacity = { cpu: String(os.cpus().length), memory: `${Math.floor(os.totalmem() / 1024 ** 2)}Mi`, pods: "110" };
    const items = state.nodes.map((node) => ({
        apiVersion: "v1",
        kind: "Node",
        metadata: {
            name: node.name,
            annotations: { "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0" },
            labels: {
                "kubernetes.io/hostname": node.name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                type: "kwok",
                ...(node.role === "control-plane" ? { "node-role.kubernetes.io/control-plane": "" } : {}),
            },
        },
        spec: node.role === "control-plane" && hasWorkers ? { taints: [{ key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" }] } : {},
        status: { allocatable: capacity, capacity },
    }));
    const applied = kubectl(name, ["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items }));
    if (applied.status !== 0) fail(`ERROR: failed to create cluster: adding nodes: ${applied.stderr}`);
    // kind installs a default StorageClass "standard", whose provisioner is localPathProvisioner.js here.
    kubectl(
        name,
        ["apply", "-f", "-"],
        JSON.stringify({
            apiVersion: "storage.k8s.io/v1",
            kind: "StorageClass",
            metadata: { name: "standard", annotations: { "storageclass.kubernetes.io/is-default-class": "true" } },
            provisioner: "rancher.io/local-path",
            volumeBindingMode: "WaitForFirstConsumer",
            reclaimPolicy: "Delete",
        }),
    );
}

function parseDuration(text) {
    const match = /^(\d+)([smh]?)$/.exec(text);
    if (!match) return 0;
    return Number(match[1]) * { "": 1, s: 1, m: 60, h: 3600 }[match[2]];
}

/** kind writes the cluster into $KUBECONFIG or ~/.kube/config and makes it current (kind v0.32.0 pkg/cluster/internal/kubeconfig/internal/kubeconfig/paths.go:36-56). */
function mergeIntoUserKubeconfig(name, state) {
    const context = `kind-${name}`;
    kubectlConfig(
        "set-cluster",
        context,
        `--server=https://127.0.0.1:${state.ports.apiserver}`,
        `--certificate-authority=${path.join(clusterDirectory(name), "ca.crt")}`,
        "--embed-certs=true",
    );
    kubectlConfig("set-credentials", context, `--token=${state.token}`);
    kubectlConfig("set-context", context, `--cluster=${context}`, `--user=${context}`);
    kubectlConfig("use-context", context);
}

/** kind removes its entries and, when its context was the current one, leaves none current (kind v0.32.0 pkg/cluster/internal/kubeconfig/internal/kubeconfig/remove.go:105-106). */
function removeFromUserKubeconfig(name) {
    const context = `kind-${name}`;
    const current = kubectlConfig("current-context").stdout.trim();
    for (const [what, entry] of [
        ["delete-context", context],
        ["delete-cluster", context],
        ["delete-user", context],
    ]) {
        kubectlConfig(what, entry);
    }
    if (current === context) {
        kubectlConfig("unset", "current-context");
    }
}

async function kind() {
    const [verb, noun] = args;
    if (verb === "version") {
        // kind v0.32.0 pkg/cmd/kind/version/version.go (DisplayVersion)
        return process.stdout.write("kind v0.32.0 go1.26.3 linux/amd64\n");
    }
    if (verb === "get" && noun === "clusters") {
        const names = clusters();
        // kind v0.32.0 pkg/cmd/kind/get/clusters/clusters.go:57
        if (names.length === 0) process.stderr.write("No kind clusters found.\n");
        return process.stdout.write(names.map((name) => `${name}\n`).join(""));
    }
    if (verb === "get" && noun === "kubeconfig") {
        const name = option("--name", "kind");
        const state = readState(name);
        // kind v0.32.0 pkg/cluster/internal/kubeconfig/kubeconfig.go:82-84
        if (state === undefined)
            fail(`ERROR: could not locate any control plane nodes for cluster named '${name}'. Use the --name option to select a different cluster`);
        return process.stdout.write(kubeconfigOf(name, state));
    }
    if (verb === "create" && noun === "cluster") return createCluster();
    if (verb === "delete" && noun === "cluster") {
        const name = option("--name", "kind");
        // kind v0.32.0 pkg/cmd/kind/delete/cluster/deletecluster.go:79, pkg/cluster/internal/delete/delete.go:47
        process.stderr.write(`Deleting cluster "${name}" ...\n`);
        const state = readState(name);
        if (state !== undefined) {
            stopProcesses(name, state);
            fs.rmSync(clusterDirectory(name), { recursive: true, force: true });
            process.stderr.write(`Deleted nodes: ${JSON.stringify(state.nodes.map((node) => node.name))}\n`);
        }
        removeFromUserKubeconfig(name);
        return;
    }
    fail(`kind stand-in: unexpected kind ${args.join(" ")}`);
}

/** The node "containers" of every cluster, running while its control plane runs. */
function containers() {
    return clusters().flatMap((name) => {
        const state = readState(name);
        const status = running(state) ? "running" : "exited";
        return state.nodes.map((node) => ({ cluster: name, name: node.name, state: status }));
    });
}

function docker() {
    const [verb] = args;
    if (verb === "info") {
        return process.stdout.write(`${JSON.stringify({ ID: "kind-stand-in", ServerVersion: "28.2.2", MemTotal: os.totalmem(), NCPU: os.cpus().length })}\n`);
    }
    if (verb === "ps") {
        const filter = /^label=io\.x-k8s\.kind\.cluster=(.*)$/.exec(option("--filter", ""));
        const listed = containers().filter((container) => filter === null || container.cluster === filter[1]);
        return process.stdout.write(listed.map((container) => `${container.name}\t${container.state}\n`).join(""));
    }
    if (verb === "start" || verb === "stop") {
        const names = args.slice(1);
        const known = containers();
        const missing = names.filter((name) => !known.some((container) => container.name === name));
        // docker 28: "Error response from daemon: No such container: <name>"
        if (missing.length > 0) fail(missing.map((name) => `Error response from daemon: No such container: ${name}`).join("\n"));
        for (const cluster of new Set(known.filter((container) => names.includes(container.name)).map((container) => container.cluster))) {
            const state = readState(cluster);
            if (verb === "start") startProcesses(cluster, state);
            else stopProcesses(cluster, state);
        }
        return process.stdout.write(names.map((name) => `${name}\n`).join(""));
    }
    fail(`kind stand-in: unexpected docker ${args.join(" ")}`);
}

(tool === "docker" ? Promise.resolve().then(docker) : kind()).catch((error) => fail(`kind stand-in: ${error.stack}`));
