#!/usr/bin/env node
// Stand-ins for pulumi, kind, docker, kubectl and git that share one world
// (a JSON file named by FAKE_WORLD): Docker's engine and containers, the Helm
// release records in each cluster, and the Pulumi state in the file backend.
// Each answers, and fails, the way the real tool does at the version users run;
// the source of every behaviour is cited where it is modelled ("observed" means
// seen on the real pulumi v3.274.1 CLI with a file backend, helm v3.17.2 or
// kubectl v1.36.1 from /root/e2e-bin). Every call is appended to world.calls.
//
// Run as a process (`tool.js <tool> <args>`, what the wrappers on a test's
// PATH start), or in the test's own process through runTool, which answers
// the same without starting one: hundreds of calls per suite, each otherwise
// a Node.js start.
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const os = require("os");
const path = require("path");

// The call being answered: set by runTool, read by the tools below.
let env, cwd, worldFile, world, tool, args;

/** How a tool ends: thrown from wherever it decides, caught by runTool. */
class Finished {
    constructor(status, stdout, stderr) {
        Object.assign(this, { status, stdout, stderr });
    }
}

function finish(code, stdout = "", stderr = "") {
    fs.writeFileSync(worldFile, JSON.stringify(world, null, 2));
    throw new Finished(code, stdout, stderr);
}

// docker 28.2.2, engine down (seen on a machine without an engine).
const daemonDown = "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n";
const nodesOf = (cluster) => world.docker.containers.filter((container) => container.cluster === cluster);
const reachable = (cluster) => world.docker.running && nodesOf(cluster).length > 0 && nodesOf(cluster).every((node) => node.state === "running");
/** A node another Docker context (or podman) runs: Docker here does not list it, but its API server answers. */
const elsewhere = (cluster) => (world.docker.elsewhere || []).includes(cluster);
const option = (name) => {
    const index = args.indexOf(name);
    return index >= 0 ? args[index + 1] : undefined;
};

/** A transient failure a test plants (an API server timing out, say): the first call that starts with `call` fails once with `stderr`. */
function failOnceIfPlanted() {
    const failure = (world.failures || []).find((candidate) => [tool, ...args].join(" ").startsWith(candidate.call));
    if (failure) {
        world.failures = world.failures.filter((candidate) => candidate !== failure);
        finish(1, "", failure.stderr);
    }
}

function docker() {
    if (args[0] === "info") {
        if (!world.docker.running) {
            return finish(1, JSON.stringify({ ID: "", MemTotal: 0, NCPU: 0 }) + "\n", daemonDown);
        }
        return finish(0, JSON.stringify({ ID: "fake", ServerVersion: "28.2.2", MemTotal: world.docker.memoryBytes, NCPU: 8 }) + "\n");
    }
    if (!world.docker.running) {
        return finish(1, "", daemonDown);
    }
    if (args[0] === "ps") {
        const cluster = /^label=io\.x-k8s\.kind\.cluster=(.*)$/.exec(option("--filter"))[1];
        return finish(
            0,
            nodesOf(cluster)
                .map((node) => `${node.name}\t${node.state}\n`)
                .join(""),
        );
    }
    if (args[0] === "context" && args[1] === "show") {
        return finish(0, `${world.docker.context || "default"}\n`);
    }
    if (args[0] === "start" || args[0] === "unpause") {
        const missing = args.slice(1).filter((name) => !world.docker.containers.some((container) => container.name === name));
        if (missing.length > 0) {
            return finish(1, "", `Error response from daemon: No such container: ${missing[0]}\n`);
        }
        const paused = world.docker.containers.find((container) => args.includes(container.name) && container.state === "paused");
        if (args[0] === "start" && paused) {
            // moby daemon/start.go: a paused container is not started, it is unpaused.
            return finish(
                1,
                "",
                `Error response from daemon: cannot start a paused container, try unpause instead\nError: failed to start containers: ${paused.name}\n`,
            );
        }
        world.docker.containers.forEach((container) => args.includes(container.name) && (container.state = "running"));
        return finish(0, args.slice(1).join("\n") + "\n");
    }
    return finish(1, "", `fake docker: unexpected ${args.join(" ")}\n`);
}

function kind() {
    if (args[0] === "version") {
        return finish(0, `kind v${world.kind.version} go1.26.3 linux/amd64\n`);
    }
    if (args[0] === "delete" && args[1] === "cluster") {
        const name = option("--name");
        if (!world.docker.running) {
            // kind pkg/cmd/kind/delete/cluster/deletecluster.go:81, pkg/cluster/internal/delete/delete.go:34
            return finish(1, "", `Deleting cluster "${name}" ...\nERROR: failed to delete cluster "${name}": error listing nodes: ${daemonDown}`);
        }
        // Idempotent: a cluster that is gone already is success (deletecluster.go:46-48).
        world.docker.containers = world.docker.containers.filter((container) => container.cluster !== name);
        return finish(0, "", `Deleting cluster "${name}" ...\n`);
    }
    return finish(1, "", `fake kind: unexpected ${args.join(" ")}\n`);
}

const refused = "The connection to the server 127.0.0.1:41093 was refused - did you specify the right host or port?\n";
// kubectl v1.36.1 (observed): before the answer, client-go logs each failed API discovery on stderr.
const discoveryFailed =
    'E1204 05:17:10.398117    5206 memcache.go:265] "Unhandled Error" err="couldn\'t get current server API group list: Get \\"https://127.0.0.1:41093/api?timeout=32s\\": dial tcp 127.0.0.1:41093: connect: connection refused"\n';

/** The cluster kubectl talks to: --context, else the current context of --kubeconfig (or of the default kubeconfig), as clientcmd resolves it. */
function kubectlCluster() {
    const context = option("--context");
    if (context !== undefined) return context.replace(/^kind-/, "");
    const kubeconfig = option("--kubeconfig");
    return kubeconfig === undefined ? world.currentContext : (world.kubeconfigs || {})[kubeconfig];
}

function kubectl() {
    const cluster = kubectlCluster();
    if (!reachable(cluster) && !elsewhere(cluster)) {
        return finish(1, "", args.includes("--raw") ? refused : discoveryFailed.repeat(5) + refused);
    }
    const namespace = option("--namespace");
    if (args.includes("--raw") && option("--raw") === "/readyz") {
        return finish(0, "ok");
    }
    const verb = args.find((arg) => ["get", "delete"].includes(arg));
    const target = args[args.indexOf(verb) + 1];
    // Helm's storage drivers: Secrets or ConfigMaps sh.helm.release.v1.<name>.v<revision> in the release's
    // namespace, labelled owner=helm, name, status, version (helm v3 pkg/storage/driver/secrets.go newSecretsObject,
    // cfgmaps.go newConfigMapsObject).
    const helmKind = { secrets: "secret", configmaps: "configmap", secret: "secret", configmap: "configmap" }[target];
    const recordName = (record) => `sh.helm.release.v1.${record.name}.v${record.revision}`;
    const recordsHere = () =>
        world.helm.filter((record) => record.cluster === cluster && record.namespace === namespace && (record.storage || "secret") === helmKind);
    if (verb === "get" && helmKind !== undefined) {
        const selector = Object.fromEntries(
            (option("--selector") || "")
                .split(",")
                .filter(Boolean)
                .map((pair) => pair.split("=")),
        );
        const items = recordsHere()
            .filter((record) => selector.owner === "helm" && (selector.name === undefined || selector.name === record.name))
            .map((record) => ({
                metadata: {
                    name: recordName(record),
                    namespace: record.namespace,
                    creationTimestamp: record.created,
                    labels: { owner: "helm", name: record.name, status: record.status, version: String(record.revision) },
                },
            }));
        return finish(0, JSON.stringify({ apiVersion: "v1", kind: "List", items }));
    }
    if (verb === "delete" && helmKind !== undefined) {
        const name = args[args.indexOf(verb) + 2];
        const index = world.helm.findIndex((record) => recordsHere().includes(record) && recordName(record) === name);
        if (index < 0) {
            return finish(1, "", `Error from server (NotFound): ${helmKind}s "${name}" not found\n`);
        }
        world.helm.splice(index, 1);
        return finish(0, `${helmKind} "${name}" deleted\n`);
    }
    // An object by <kind>.<group>/<name>, as kubectl resolves it through discovery.
    const objectRef = /^([a-z]+)(?:\.([a-z.]+))?\/(.+)$/.exec(target || "");
    if (objectRef) {
        const [, kind, , name] = objectRef;
        const matches = (object) =>
            object.cluster === cluster &&
            object.kind.toLowerCase() === kind &&
            object.name === name &&
            (kind === "namespace" || object.namespace === namespace);
        const found = (world.objects || []).find(matches);
        if (verb === "get") {
            if (!found) {
                return args.includes("--ignore-not-found") ? finish(0) : finish(1, "", `Error from server (NotFound): ${kind}s "${name}" not found\n`);
            }
            // kubectl v1.36 leaves metadata.managedFields out of -o json unless asked (--show-managed-fields).
            const managedFields = args.includes("--show-managed-fields") && found.managedFields ? { managedFields: found.managedFields } : {};
            return finish(
                0,
                JSON.stringify({ kind: found.kind, metadata: { name, namespace: found.namespace, labels: found.labels || {}, ...managedFields } }),
            );
        }
        if (!found) {
            return args.includes("--ignore-not-found") ? finish(0) : finish(1, "", `Error from server (NotFound): ${kind}s "${name}" not found\n`);
        }
        world.objects = world.objects.filter((object) => !matches(object));
        return finish(0, `${kind} "${name}" deleted\n`);
    }
    return finish(1, "", `fake kubectl: unexpected ${args.join(" ")}\n`);
}

// ---- pulumi: the DIY backend, the engine's state handling, and the two providers' answers.

const project = "thanos-global-view";

function backendDirectory() {
    const url = env.PULUMI_BACKEND_URL;
    if (!url || !url.startsWith("file://")) {
        return finish(255, "", "fake pulumi: only file backends are modelled\n");
    }
    const directory = url.slice("file://".length);
    if (!fs.existsSync(directory)) {
        // pulumi v3.259.0 pkg/backend/diy/backend.go:280-285 over gocloud fileblob's os.Stat.
        return finish(255, "", `error: unable to open state directory "${url}": stat ${directory}: no such file or directory\n`);
    }
    return directory;
}

/** A stack argument as the DIY backend reads it: name, project/name or organization/project/name (pkg/backend/diy/backend.go ParseStackReference). */
const stackName = (reference) => reference.split("/").pop();
const stackFile = (directory, stack) => path.join(directory, ".pulumi", "stacks", project, `${stackName(stack)}.json`);
const lockDirectory = (stack) => path.join(backendDirectory(), ".pulumi", "locks", "organization", project, stackName(stack));

// The file holds a checkpoint, {version, checkpoint: {stack, latest: deployment}} (observed;
// pkg/backend/diy/state.go). A new stack's deployment has a manifest and its secrets provider but no
// resources and no pending_operations (observed: `pulumi stack init` then `pulumi stack export`).
function loadStack(stack) {
    const file = stackFile(backendDirectory(), stack);
    if (!fs.existsSync(file)) {
        // pkg/cmd/pulumi/cmd/exit_codes.go:35 ExitStackNotFound (observed: exit code 6).
        return finish(6, "", `error: no stack named '${stackName(stack)}' found\n`);
    }
    const deployment = JSON.parse(fs.readFileSync(file, "utf8")).checkpoint.latest;
    deployment.resources = deployment.resources || [];
    deployment.pending_operations = deployment.pending_operations || [];
    return deployment;
}

function saveStack(stack, deployment) {
    const file = stackFile(backendDirectory(), stack);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // A new backend keeps stacks per project and says so (pkg/backend/diy/meta.go; observed: .pulumi/meta.yaml "version: 1").
    const meta = path.join(backendDirectory(), ".pulumi", "meta.yaml");
    if (!fs.existsSync(meta)) fs.writeFileSync(meta, "version: 1\n");
    const latest = { ...deployment };
    if (latest.resources && latest.resources.length === 0) delete latest.resources;
    if (latest.pending_operations && latest.pending_operations.length === 0) delete latest.pending_operations;
    fs.writeFileSync(file, JSON.stringify({ version: 3, checkpoint: { stack: `organization/${project}/${stackName(stack)}`, latest } }, null, 2));
}

const passphraseSet = () => env.PULUMI_CONFIG_PASSPHRASE !== undefined || Boolean(env.PULUMI_CONFIG_PASSPHRASE_FILE);
// Observed (pulumi state delete, up, refresh on a passphrase stack without PULUMI_CONFIG_PASSPHRASE).
const passphraseMissing =
    'error: constructing secrets manager of type "passphrase": constructing secrets manager: passphrase must be set with PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE environment variables\n';

/**
 * Every operation that writes the state takes the stack's lock first and refuses while another
 * holds it (pkg/backend/diy/lock.go:63-112, 130-160; observed for up, refresh and state delete:
 * exit code 1). The lock is a file <uuid>.json with pid, username, hostname and timestamp.
 */
function lockStack(stack) {
    if (!passphraseSet()) return finish(1, "", passphraseMissing);
    const directory = lockDirectory(stack);
    fs.mkdirSync(directory, { recursive: true });
    const held = fs.readdirSync(directory).filter((file) => file.endsWith(".json"));
    if (held.length > 0) {
        const lines = held.map((file) => {
            const lock = JSON.parse(fs.readFileSync(path.join(directory, file), "utf8"));
            return `\n  file://${path.join(directory, file)}?no_tmp_dir=true: created by ${lock.username}@${lock.hostname} (pid ${lock.pid}) at ${lock.timestamp}`;
        });
        return finish(
            1,
            "",
            `error: the stack is currently locked by ${held.length} lock(s). Either wait for the other process(es) to end or delete the lock file with \`pulumi cancel\`.${lines.join("")}\n`,
        );
    }
    const lock = path.join(directory, `${crypto.randomUUID()}.json`);
    fs.writeFileSync(
        lock,
        JSON.stringify({ pid: process.pid, username: os.userInfo().username, hostname: os.hostname(), timestamp: new Date().toISOString() }),
    );
    return lock;
}

/** Ends the command: the lock goes, unless the process was killed (world.interrupt), when it stays behind. */
function release(lock, code, stdout, stderr) {
    fs.rmSync(lock, { force: true });
    return finish(code, stdout, stderr);
}

/** Killed (SIGKILL, a closed laptop) at the point world.interrupt names: the state as written so far, the lock left behind. */
function killed(stack, deployment) {
    saveStack(stack, deployment);
    world.interrupt = undefined;
    return finish(137, "", "");
}

/** The resources that depend on `urn`: children, dependencies, property dependencies, deletedWith, and resources whose provider it is (pkg/resource/graph/dependency_graph.go:125-170). */
function dependentsOf(resources, urn) {
    const found = new Set([urn]);
    let grew = true;
    while (grew) {
        grew = false;
        for (const resource of resources) {
            const links = [
                resource.parent,
                resource.deletedWith,
                ...(resource.dependencies || []),
                ...Object.values(resource.propertyDependencies || {}).flat(),
                (resource.provider || "").split("::").slice(0, -1).join("::"),
            ];
            if (!found.has(resource.urn) && links.some((link) => found.has(link))) {
                found.add(resource.urn);
                grew = true;
            }
        }
    }
    return found;
}

const isKubernetes = (resource) => resource.type.startsWith("kubernetes:");

/**
 * `pulumi up` against the program in world.program: each entry is a resource the
 * program declares, with `version` standing for its inputs. In state with the same
 * version: no diff, no provider call (a Command has no Read, and `up` does not
 * refresh). Otherwise the provider creates or updates it, and fails as it would.
 * A failed update exits 1 (observed: a resource error; pkg/cmd/pulumi/cmd/exit_codes.go:30).
 */
function up(stack) {
    const lock = lockStack(stack);
    const deployment = loadStack(stack);
    const warnings =
        deployment.pending_operations.length > 0
            ? // pkg/resource/deploy/deployment_executor.go:90-110, 183-187.
              `warning: Attempting to deploy or update resources with ${deployment.pending_operations.length} pending operations from previous deployment.\n`
            : "";
    // Pending creates are carried forward into every new snapshot until a refresh clears them;
    // other pending operations are dropped (pkg/backend/snapshot.go:749-766).
    deployment.pending_operations = deployment.pending_operations.filter((operation) => operation.type === "creating");
    for (const wanted of world.program) {
        const recorded = deployment.resources.find((resource) => resource.urn === wanted.urn);
        if (recorded && recorded.version === wanted.version && !recorded.pendingReplacement) {
            continue;
        }
        const interrupt = world.interrupt && world.interrupt.urn === wanted.urn ? world.interrupt : undefined;
        if (recorded && wanted.type === "command:local:Command" && !recorded.pendingReplacement) {
            // deleteBeforeReplace (components/kindCluster.ts): the old cluster goes first and stays in the
            // state marked pendingReplacement until its replacement is created (pkg/resource/deploy/step.go:760-785).
            // Its dependents are replaced with it, deleted first (pkg/resource/deploy/step_generator.go:2135-2150).
            world.docker.containers = world.docker.containers.filter((container) => container.cluster !== wanted.cluster);
            world.helm = world.helm.filter((record) => record.cluster !== wanted.cluster);
            world.objects = (world.objects || []).filter((object) => object.cluster !== wanted.cluster);
            const replaced = dependentsOf(deployment.resources, recorded.urn);
            deployment.resources.forEach((resource) => replaced.has(resource.urn) && (resource.pendingReplacement = true));
        }
        if (interrupt) {
            // Killed while the provider was creating it: the step is recorded as a pending create first
            // (pkg/backend/snapshot.go:598-640), and part of the object may already exist.
            deployment.pending_operations.push({ resource: toState(wanted), type: "creating" });
            if (interrupt.effect) applyPartially(wanted, interrupt.effect);
            return killed(stack, deployment);
        }
        const failure = applyResource(wanted, recorded && !recorded.pendingReplacement ? recorded : undefined);
        if (failure) {
            saveStack(stack, deployment);
            return release(lock, 1, "", `${warnings}error: update failed\n  ${wanted.urn}: ${failure}\n`);
        }
        deployment.resources = deployment.resources.filter((resource) => resource.urn !== wanted.urn).concat([toState(wanted)]);
    }
    saveStack(stack, deployment);
    return release(lock, 0, "Resources: updated\n", warnings);
}

/** What a killed create left in the world: a half-made kind cluster, a pending Helm install, an object already created. */
function applyPartially(wanted, effect) {
    if (effect === "nodes") world.docker.containers.push({ name: wanted.nodes[0], cluster: wanted.cluster, state: "running" });
    if (effect === "pending-install") world.helm.push({ ...helmRecordOf(wanted), revision: 1, status: "pending-install", created: new Date().toISOString() });
    if (effect === "object") world.objects = [...(world.objects || []), objectOf(wanted)];
}

const helmRecordOf = (wanted) => ({
    cluster: wanted.cluster,
    namespace: wanted.release.namespace,
    name: wanted.release.name,
    ...(env.PULUMI_K8S_HELM_DRIVER === "configmap" ? { storage: "configmap" } : {}),
});
/**
 * An object the provider created. pulumi-kubernetes v4 applies server-side by
 * default: the object carries no app.kubernetes.io/managed-by label (only
 * client-side apply sets it, v4.32.0 provider/pkg/provider/provider.go:1275-1283),
 * and its field manager is pulumi-kubernetes-<random> (provider.go:2883-2906).
 */
const objectOf = (wanted) => ({
    cluster: wanted.cluster,
    kind: wanted.object.kind,
    namespace: wanted.object.namespace,
    name: wanted.object.name,
    managedFields: [{ manager: "pulumi-kubernetes-9a3f0c1e", operation: "Apply" }],
});

/** A resource as the state holds it (sdk/go/common/apitype/core.go:489-530): Kubernetes objects with their inputs as applied server-side, without a managed-by label. */
function toState(wanted) {
    const resource = {
        urn: wanted.urn,
        custom: true,
        type: wanted.type,
        version: wanted.version,
        cluster: wanted.cluster,
        dependencies: wanted.dependencies || [],
    };
    if (wanted.provider) resource.provider = wanted.provider;
    if (wanted.propertyDependencies) resource.propertyDependencies = wanted.propertyDependencies;
    if (wanted.protect) resource.protect = true;
    if (wanted.type === "command:local:Command") resource.inputs = { environment: { KIND_CLUSTER_NAME: wanted.cluster } };
    if (wanted.release) resource.outputs = { name: wanted.release.name, namespace: wanted.release.namespace, status: { status: "deployed" } };
    if (wanted.object) {
        const { kind, namespace, name } = wanted.object;
        const metadata = {
            name,
            ...(kind === "Namespace" ? {} : { namespace }),
            // pulumi-kubernetes v4.32.0 provider/pkg/metadata/naming.go: an auto-named object says so.
            ...(wanted.object.autonamed ? { annotations: { "pulumi.com/autonamed": "true" } } : {}),
        };
        const apiVersion = { Job: "batch/v1", StatefulSet: "apps/v1" }[kind] || "v1";
        resource.inputs = { apiVersion, kind, metadata };
        resource.outputs = { apiVersion, kind, metadata };
    }
    return resource;
}

function applyResource(wanted, recorded) {
    if (wanted.type === "command:local:Command") {
        if (!world.docker.running) return `running create: ${daemonDown.trim()}`;
        // components/kindCluster.ts's create script refuses a cluster it did not create.
        if (nodesOf(wanted.cluster).length > 0) return `kind cluster '${wanted.cluster}' already exists but this stack did not create it.`;
        world.docker.containers.push(...wanted.nodes.map((name) => ({ name, cluster: wanted.cluster, state: "running" })));
        return undefined;
    }
    if (wanted.type === "pulumi:providers:kubernetes") {
        return undefined;
    }
    if (!reachable(wanted.cluster)) {
        // pulumi-kubernetes v4.32.0 helm_release.go:990-991, 1170-1171; provider.go:1706-1707.
        return wanted.release
            ? `can't ${recorded ? "update" : "create"} Helm Release with unreachable cluster: dial tcp 127.0.0.1:41093: connect: connection refused`
            : "configured Kubernetes cluster is unreachable: dial tcp 127.0.0.1:41093: connect: connection refused";
    }
    if (wanted.release) {
        const storage = helmRecordOf(wanted).storage || "secret";
        const history = world.helm.filter(
            (record) =>
                record.cluster === wanted.cluster &&
                record.namespace === wanted.release.namespace &&
                record.name === wanted.release.name &&
                (record.storage || "secret") === storage,
        );
        const latest = history.sort((a, b) => b.revision - a.revision)[0];
        if (!recorded && latest && !["uninstalled", "failed"].includes(latest.status)) {
            // helm v3.20.2 pkg/action/install.go:549-552: any existing release that is not uninstalled/failed,
            // uninstalling included.
            return "cannot re-use a name that is still in use";
        }
        if (latest && latest.status.startsWith("pending-")) {
            // helm v3.20.2 pkg/action/upgrade.go:218-220, action.go:62-63.
            return "another operation (install/upgrade/rollback) is in progress";
        }
        if (latest) latest.status = "superseded";
        world.helm.push({ ...helmRecordOf(wanted), revision: (latest ? latest.revision : 0) + 1, status: "deployed", created: new Date().toISOString() });
    }
    if (wanted.object) {
        const existing = (name) =>
            (world.objects || []).some(
                (object) =>
                    object.cluster === wanted.cluster &&
                    object.kind === wanted.object.kind &&
                    object.namespace === wanted.object.namespace &&
                    object.name === name,
            );
        if (!recorded && wanted.object.autonamed && existing(wanted.object.name)) {
            // A new auto-name: the logical name and a random suffix (pulumi-kubernetes v4.32.0 provider/pkg/metadata/naming.go:27-37).
            wanted.object.name = `${wanted.object.name.replace(/-[0-9a-f]{8}$/, "")}-${crypto.randomBytes(4).toString("hex")}`;
        }
        const { kind, namespace, name } = wanted.object;
        const exists = existing(name);
        if (!recorded && exists) {
            // pulumi-kubernetes since v4.29 creates, never adopts, an object of that name unless upsertExistingObjects is set
            // (v4.32.0 provider/pkg/await/await.go:279).
            return `resource "${namespace}/${name}" was not successfully created by the Kubernetes API server: ${kind.toLowerCase()}s "${name}" already exists`;
        }
        if (!exists) world.objects = [...(world.objects || []), objectOf(wanted)];
    }
    return undefined;
}

function destroy(stack) {
    const lock = lockStack(stack);
    const deployment = loadStack(stack);
    for (const resource of [...deployment.resources].reverse()) {
        if (resource.type === "kubernetes:helm.sh/v3:Release" && !reachable(resource.cluster)) {
            saveStack(stack, deployment);
            // pulumi-kubernetes v4.32.0 provider/pkg/provider/provider.go:2546-2553: deleteUnreachable does not apply.
            return release(
                lock,
                1,
                "",
                `error: ${resource.urn}: can't delete Helm Release with unreachable cluster. Reason: "dial tcp 127.0.0.1:41093: connect: connection refused"\n`,
            );
        }
        if (resource.type === "command:local:Command") {
            if (!world.docker.running) {
                saveStack(stack, deployment);
                return release(lock, 1, "", `error: ${resource.urn}: running delete: ERROR: failed to delete cluster\n`);
            }
            world.docker.containers = world.docker.containers.filter((container) => container.cluster !== resource.cluster);
        }
        if (resource.type === "kubernetes:helm.sh/v3:Release") {
            const mine = (record) =>
                record.cluster === resource.cluster && record.namespace === resource.outputs.namespace && record.name === resource.outputs.name;
            if (world.interrupt && world.interrupt.urn === resource.urn) {
                // Helm marks the release uninstalling and stores it before it deletes anything
                // (helm v3 pkg/action/uninstall.go, Uninstall.Run); killed there, so it stays.
                world.helm.filter(mine).sort((a, b) => b.revision - a.revision)[0].status = "uninstalling";
                deployment.pending_operations.push({ resource, type: "deleting" });
                return killed(stack, deployment);
            }
            // An uninstalling release is uninstalled again (same function: only `uninstalled` is special).
            world.helm = world.helm.filter((record) => !mine(record));
        }
        if (resource.inputs && resource.inputs.metadata && isKubernetes(resource)) {
            const { kind, metadata } = resource.inputs;
            world.objects = (world.objects || []).filter(
                (object) =>
                    !(object.cluster === resource.cluster && object.kind === kind && object.namespace === metadata.namespace && object.name === metadata.name),
            );
        }
        deployment.resources = deployment.resources.filter((other) => other.urn !== resource.urn);
    }
    saveStack(stack, deployment);
    return release(lock, 0, "Resources: deleted\n");
}

/**
 * `pulumi refresh` reads every resource in the state from its provider: gone objects and releases
 * leave the state; an unreachable cluster fails the refresh (pulumi-kubernetes v4.32.0
 * provider/pkg/provider/provider.go:1918-1941 without deleteUnreachable). Before the engine runs,
 * --clear-pending-creates drops pending creates, and --import-pending-creates URN ID turns them into
 * pending imports, which the refresh then drops without importing anything (pkg/cmd/pulumi/operations/
 * refresh.go:286-329, 538-592; pkg/backend/snapshot.go:749-766 keeps only pending creates; observed:
 * the resource was not in the state afterwards). A plain refresh keeps pending creates (observed).
 */
function refresh(stack) {
    const lock = lockStack(stack);
    const deployment = loadStack(stack);
    const imports = args.flatMap((arg, index) => (arg === "--import-pending-creates" ? [args[index + 1]] : []));
    if (imports.length % 2 !== 0) {
        return release(lock, 1, "", "error: each URN must be followed by an ID: found an odd number of entries\n");
    }
    const importUrns = imports.filter((_, index) => index % 2 === 0);
    deployment.pending_operations = deployment.pending_operations.filter(
        (operation) => operation.type !== "creating" || !(args.includes("--clear-pending-creates") || importUrns.includes(operation.resource.urn)),
    );
    saveStack(stack, deployment);
    // A resource pending replacement is not read (pkg/resource/deploy/step.go:1545).
    const refreshed = deployment.resources.filter((resource) => isKubernetes(resource) && !resource.pendingReplacement);
    for (const resource of refreshed) {
        if (!reachable(resource.cluster)) {
            return release(
                lock,
                1,
                "",
                `error: ${resource.urn}: configured Kubernetes cluster is unreachable: dial tcp 127.0.0.1:41093: connect: connection refused\n`,
            );
        }
    }
    deployment.resources = deployment.resources.filter((resource) => {
        if (!refreshed.includes(resource)) {
            return true;
        }
        if (resource.type === "kubernetes:helm.sh/v3:Release") {
            return world.helm.some(
                (record) => record.cluster === resource.cluster && record.namespace === resource.outputs.namespace && record.name === resource.outputs.name,
            );
        }
        if (resource.inputs && resource.inputs.metadata && isKubernetes(resource)) {
            const { kind, metadata } = resource.inputs;
            return (world.objects || []).some((object) => object.cluster === resource.cluster && object.kind === kind && object.name === metadata.name);
        }
        return true;
    });
    saveStack(stack, deployment);
    return release(lock, 0, "Resources: refreshed\n");
}

function pulumi() {
    const stack = option("--stack");
    if (args[0] === "version") return finish(0, "v3.259.0\n");
    if (args[0] === "stack" && args[1] === "select") {
        const directory = backendDirectory();
        const name = args[args.length - 1];
        if (!fs.existsSync(stackFile(directory, name))) {
            if (!args.includes("--create")) return finish(6, "", `error: no stack named '${name}' found\n`);
            if (!passphraseSet()) {
                // Observed: exit code 1.
                return finish(
                    1,
                    "",
                    "error: could not create secrets manager for new stack: passphrase must be set with PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE environment variables\n",
                );
            }
            // The passphrase secrets manager keeps its salt in the stack's settings file (observed:
            // `encryptionsalt: v1:…` in Pulumi.<stack>.yaml, and in the deployment's secrets_providers).
            const salt = `v1:${crypto.randomBytes(8).toString("base64")}:v1:fake:fake`;
            fs.appendFileSync(path.join(cwd, `Pulumi.${stackName(name)}.yaml`), `encryptionsalt: ${salt}\n`);
            saveStack(name, {
                manifest: { time: new Date().toISOString(), magic: "fake", version: "v3.259.0" },
                secrets_providers: { type: "passphrase", state: { salt } },
                metadata: {},
            });
        }
        return finish(0);
    }
    if (args[0] === "stack" && args[1] === "export") {
        return finish(
            0,
            JSON.stringify({ version: 3, deployment: loadStack(stack) }, (key, value) =>
                Array.isArray(value) && value.length === 0 && (key === "resources" || key === "pending_operations") ? undefined : value,
            ),
        );
    }
    if (args[0] === "cancel") {
        // The DIY backend's cancel removes every lock of the stack (pkg/backend/diy/backend.go CancelCurrentUpdate; observed).
        fs.rmSync(lockDirectory(stack), { recursive: true, force: true });
        return finish(0, `The currently running update for '${stackName(stack)}' has been canceled!\n`);
    }
    if (args[0] === "state" && args[1] === "delete") {
        const lock = lockStack(stack);
        const deployment = loadStack(stack);
        const urn = args[args.length - 1];
        if (!deployment.resources.some((resource) => resource.urn === urn)) {
            return release(lock, 1, "", `error: No such resource "${urn}" exists in the current state\n`);
        }
        const doomed = dependentsOf(deployment.resources, urn);
        const protectedOne = deployment.resources.find((resource) => doomed.has(resource.urn) && resource.protect);
        if (protectedOne && !args.includes("--force")) {
            // pkg/cmd/pulumi/state/state_delete.go:130-133 (observed, exit code 1).
            return release(
                lock,
                1,
                "",
                `error: ${protectedOne.urn} can't be safely deleted because it is protected. Re-run this command with --force to force deletion\n`,
            );
        }
        if (doomed.size > 1 && !args.includes("--target-dependents")) {
            // pkg/cmd/pulumi/state/state_delete.go:120-129 (observed, exit code 1).
            const list = deployment.resources
                .filter((resource) => doomed.has(resource.urn) && resource.urn !== urn)
                .map((resource) => ` * "${resource.urn.split("::").pop()}"             (${resource.urn})\n`)
                .join("");
            return release(
                lock,
                1,
                "",
                `error: ${urn} can't be safely deleted because the following resources depend on it:\n${list}\nDelete those resources first or pass --target-dependents.\n`,
            );
        }
        deployment.resources = deployment.resources.filter((resource) => !doomed.has(resource.urn));
        saveStack(stack, deployment);
        return release(lock, 0, doomed.size === 1 ? "Resource deleted\n" : `${doomed.size} resources deleted\n`);
    }
    if (args[0] === "refresh") return refresh(stack);
    if (args[0] === "up") return up(stack);
    if (args[0] === "destroy") return destroy(stack);
    if (args[0] === "preview") {
        loadStack(stack);
        return finish(0, "Previewing update\n");
    }
    return finish(255, "", `fake pulumi: unexpected ${args.join(" ")}\n`);
}

const tools = { docker, kind, kubectl, pulumi, git: () => finish(0, "git version 2.39.5\n") };

/** Answers one call of a tool, with the environment and working directory it would run in (FAKE_WORLD names the world): { status, stdout, stderr }. */
function runTool(name, toolArgs, toolEnv, directory = process.cwd()) {
    [env, cwd, worldFile, tool, args] = [toolEnv, directory, toolEnv.FAKE_WORLD, name, toolArgs];
    world = JSON.parse(fs.readFileSync(worldFile, "utf8"));
    world.calls.push([tool, ...args].join(" "));
    try {
        failOnceIfPlanted();
        tools[tool]();
    } catch (ending) {
        if (ending instanceof Finished) {
            return { ...ending };
        }
        throw ending;
    }
    throw new Error(`fake ${tool} ended without an answer`);
}

module.exports = { runTool, tools: Object.keys(tools) };

if (require.main === module) {
    const { status, stdout, stderr } = runTool(process.argv[2], process.argv.slice(3), process.env);
    process.stdout.write(stdout);
    process.stderr.write(stderr);
    process.exitCode = status;
}
