#!/usr/bin/env node
// Stand-ins for pulumi, kind, docker, kubectl and git that share one world
// (a JSON file named by FAKE_WORLD): Docker's engine and containers, the Helm
// release records in each cluster, and the Pulumi state in the file backend.
// Each answers, and fails, the way the real tool does at the version users run;
// the source of every behaviour is cited where it is modelled. Every call is
// appended to world.calls.
//
// Run as a process (`tool.js <tool> <args>`, what the wrappers on a test's
// PATH start), or in the test's own process through runTool, which answers
// the same without starting one: hundreds of calls per suite, each otherwise
// a Node.js start.
"use strict";
const fs = require("fs");
const path = require("path");

// The call being answered: set by runTool, read by the tools below.
let env, worldFile, world, tool, args;

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
const option = (name) => {
    const index = args.indexOf(name);
    return index >= 0 ? args[index + 1] : undefined;
};

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
        return finish(0, nodesOf(cluster).map((node) => `${node.name}\t${node.state}\n`).join(""));
    }
    if (args[0] === "start") {
        const missing = args.slice(1).filter((name) => !world.docker.containers.some((container) => container.name === name));
        if (missing.length > 0) {
            return finish(1, "", `Error response from daemon: No such container: ${missing[0]}\n`);
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

function kubectl() {
    const context = option("--context");
    const cluster = context.replace(/^kind-/, "");
    if (!reachable(cluster)) {
        return finish(1, "", "The connection to the server 127.0.0.1:41093 was refused - did you specify the right host or port?\n");
    }
    const records = () => world.helm.filter((record) => record.cluster === cluster);
    if (args.includes("--raw") && option("--raw") === "/readyz") {
        return finish(0, "ok");
    }
    if (args.includes("get") && args.includes("secrets") && option("--selector") === "owner=helm") {
        // Helm's Secret driver: sh.helm.release.v1.<name>.v<revision>, labels owner/name/status/version.
        const items = records().map((record) => ({
            metadata: {
                name: `sh.helm.release.v1.${record.name}.v${record.revision}`,
                namespace: record.namespace,
                creationTimestamp: record.created,
                labels: { owner: "helm", name: record.name, status: record.status, version: String(record.revision) },
            },
        }));
        return finish(0, JSON.stringify({ apiVersion: "v1", kind: "List", items }));
    }
    if (args.includes("delete") && args.includes("job")) {
        const namespace = option("--namespace");
        const name = args[args.indexOf("job") + 1];
        const before = (world.objects || []).length;
        world.objects = (world.objects || []).filter((object) => !(object.cluster === cluster && object.kind === "Job" && object.namespace === namespace && object.name === name));
        if (world.objects.length === before && !args.includes("--ignore-not-found")) {
            return finish(1, "", `Error from server (NotFound): jobs.batch "${name}" not found\n`);
        }
        return finish(0, world.objects.length === before ? "" : `job.batch "${name}" deleted\n`);
    }
    if (args.includes("delete") && args.includes("secret")) {
        const namespace = option("--namespace");
        const secret = args[args.indexOf("secret") + 1];
        const index = world.helm.findIndex((record) => record.cluster === cluster && record.namespace === namespace && `sh.helm.release.v1.${record.name}.v${record.revision}` === secret);
        if (index < 0) {
            return finish(1, "", `Error from server (NotFound): secrets "${secret}" not found\n`);
        }
        world.helm.splice(index, 1);
        return finish(0, `secret "${secret}" deleted\n`);
    }
    return finish(1, "", `fake kubectl: unexpected ${args.join(" ")}\n`);
}

// ---- pulumi: the DIY backend, the engine's state handling, and the two providers' answers.

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

const stackFile = (directory, stack) => path.join(directory, ".pulumi", "stacks", "thanos-global-view", `${stack}.json`);

function loadStack(stack) {
    const file = stackFile(backendDirectory(), stack);
    if (!fs.existsSync(file)) {
        return finish(255, "", `error: no stack named '${stack}' found\n`);
    }
    return JSON.parse(fs.readFileSync(file, "utf8"));
}

function saveStack(stack, deployment) {
    const file = stackFile(backendDirectory(), stack);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(deployment, null, 2));
}

/** The resources that depend on `urn`: children, dependencies, and resources whose provider it is (pkg/resource/graph/dependency_graph.go:143-164). */
function dependentsOf(resources, urn) {
    const found = new Set([urn]);
    let grew = true;
    while (grew) {
        grew = false;
        for (const resource of resources) {
            const links = [resource.parent, ...(resource.dependencies || []), (resource.provider || "").split("::").slice(0, -1).join("::")];
            if (!found.has(resource.urn) && links.some((link) => found.has(link))) {
                found.add(resource.urn);
                grew = true;
            }
        }
    }
    return found;
}

/**
 * `pulumi up` against the program in world.program: each entry is a resource the
 * program declares, with `version` standing for its inputs. In state with the same
 * version: no diff, no provider call (a Command has no Read, and `up` does not
 * refresh). Otherwise the provider creates or updates it, and fails as it would.
 */
function up(stack) {
    const deployment = loadStack(stack);
    for (const wanted of world.program) {
        const recorded = deployment.resources.find((resource) => resource.urn === wanted.urn);
        if (recorded && recorded.version === wanted.version) {
            continue;
        }
        const failure = applyResource(wanted, recorded);
        if (failure) {
            saveStack(stack, deployment);
            return finish(255, "", `error: update failed\n  ${wanted.urn}: ${failure}\n`);
        }
        deployment.resources = deployment.resources.filter((resource) => resource.urn !== wanted.urn).concat([toState(wanted)]);
        deployment.pending_operations = (deployment.pending_operations || []).filter((operation) => operation.resource.urn !== wanted.urn || operation.type !== "creating");
    }
    saveStack(stack, deployment);
    return finish(0, "Resources: updated\n");
}

function toState(wanted) {
    const resource = { urn: wanted.urn, type: wanted.type, version: wanted.version, cluster: wanted.cluster, dependencies: wanted.dependencies || [] };
    if (wanted.provider) resource.provider = wanted.provider;
    if (wanted.type === "command:local:Command") resource.inputs = { environment: { KIND_CLUSTER_NAME: wanted.cluster } };
    if (wanted.release) resource.outputs = { name: wanted.release.name, namespace: wanted.release.namespace };
    if (wanted.object) resource.object = wanted.object;
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
        const history = world.helm.filter((record) => record.cluster === wanted.cluster && record.namespace === wanted.release.namespace && record.name === wanted.release.name);
        const latest = history.sort((a, b) => b.revision - a.revision)[0];
        if (!recorded && latest) {
            // helm v3.20.2 pkg/action/install.go:549-552: any existing release that is not uninstalled/failed.
            return "cannot re-use a name that is still in use";
        }
        if (latest && latest.status.startsWith("pending-")) {
            // helm v3.20.2 pkg/action/upgrade.go:218-220, action.go:62-63.
            return "another operation (install/upgrade/rollback) is in progress";
        }
        if (latest) latest.status = "superseded";
        world.helm.push({ cluster: wanted.cluster, namespace: wanted.release.namespace, name: wanted.release.name, revision: (latest ? latest.revision : 0) + 1, status: "deployed", created: new Date().toISOString() });
    }
    if (wanted.object) {
        const { kind, namespace, name } = wanted.object;
        const exists = (world.objects || []).some((object) => object.cluster === wanted.cluster && object.kind === kind && object.namespace === namespace && object.name === name);
        if (!recorded && exists) {
            // pulumi-kubernetes since v4.29 creates, never adopts, an object of that name unless upsertExistingObjects is set.
            return `resource "${namespace}/${name}" was not successfully created by the Kubernetes API server: ${kind.toLowerCase()}s.batch "${name}" already exists`;
        }
        if (!exists) world.objects = [...(world.objects || []), { cluster: wanted.cluster, kind, namespace, name }];
    }
    return undefined;
}

function destroy(stack) {
    const deployment = loadStack(stack);
    for (const resource of [...deployment.resources].reverse()) {
        if (resource.type === "kubernetes:helm.sh/v3:Release" && !reachable(resource.cluster)) {
            saveStack(stack, deployment);
            // pulumi-kubernetes v4.32.0 provider/pkg/provider/provider.go:2546-2553: deleteUnreachable does not apply.
            return finish(255, "", `error: ${resource.urn}: can't delete Helm Release with unreachable cluster. Reason: "dial tcp 127.0.0.1:41093: connect: connection refused"\n`);
        }
        if (resource.type === "command:local:Command") {
            if (!world.docker.running) {
                saveStack(stack, deployment);
                return finish(255, "", `error: ${resource.urn}: running delete: ERROR: failed to delete cluster\n`);
            }
            world.docker.containers = world.docker.containers.filter((container) => container.cluster !== resource.cluster);
        }
        if (resource.type === "kubernetes:helm.sh/v3:Release") {
            world.helm = world.helm.filter((record) => !(record.cluster === resource.cluster && record.namespace === resource.outputs.namespace && record.name === resource.outputs.name));
        }
        if (resource.object) {
            const { kind, namespace, name } = resource.object;
            world.objects = (world.objects || []).filter((object) => !(object.cluster === resource.cluster && object.kind === kind && object.namespace === namespace && object.name === name));
        }
        deployment.resources = deployment.resources.filter((other) => other.urn !== resource.urn);
    }
    saveStack(stack, deployment);
    return finish(0, "Resources: deleted\n");
}

function pulumi() {
    const stack = option("--stack");
    if (args[0] === "version") return finish(0, "v3.259.0\n");
    if (args[0] === "stack" && args[1] === "select") {
        const directory = backendDirectory();
        const name = args[args.length - 1];
        if (!fs.existsSync(stackFile(directory, name))) {
            if (!args.includes("--create")) return finish(255, "", `error: no stack named '${name}' found\n`);
            saveStack(name, { resources: [], pending_operations: [] });
        }
        return finish(0);
    }
    if (args[0] === "stack" && args[1] === "export") {
        return finish(0, JSON.stringify({ version: 3, deployment: loadStack(stack) }));
    }
    if (args[0] === "state" && args[1] === "delete") {
        const deployment = loadStack(stack);
        const urn = args[args.length - 1];
        if (!deployment.resources.some((resource) => resource.urn === urn)) {
            return finish(255, "", `error: No such resource "${urn}" exists in the current state\n`);
        }
        const doomed = dependentsOf(deployment.resources, urn);
        if (doomed.size > 1 && !args.includes("--target-dependents")) {
            // pulumi pkg/cmd/pulumi/state/state_delete.go:120-129
            return finish(255, "", `error: ${urn} can't be safely deleted because the following resources depend on it: ... Delete those resources first or pass --target-dependents.\n`);
        }
        deployment.resources = deployment.resources.filter((resource) => !doomed.has(resource.urn));
        saveStack(stack, deployment);
        return finish(0, "Resource deleted\n");
    }
    if (args[0] === "refresh" && args.includes("--clear-pending-creates")) {
        const deployment = loadStack(stack);
        deployment.pending_operations = (deployment.pending_operations || []).filter((operation) => operation.type !== "creating");
        saveStack(stack, deployment);
        return finish(0);
    }
    if (args[0] === "up") return up(stack);
    if (args[0] === "destroy") return destroy(stack);
    if (args[0] === "preview") {
        loadStack(stack);
        return finish(0, "Previewing update\n");
    }
    return finish(255, "", `fake pulumi: unexpected ${args.join(" ")}\n`);
}

const tools = { docker, kind, kubectl, pulumi, git: () => finish(0, "git version 2.39.5\n") };

/** Answers one call of a tool, with the environment it would run in (FAKE_WORLD names the world): { status, stdout, stderr }. */
function runTool(name, toolArgs, toolEnv) {
    [env, worldFile, tool, args] = [toolEnv, toolEnv.FAKE_WORLD, name, toolArgs];
    world = JSON.parse(fs.readFileSync(worldFile, "utf8"));
    world.calls.push([tool, ...args].join(" "));
    try {
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
