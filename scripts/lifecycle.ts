// Day 2 for `npm run up | destroy`: before Pulumi runs, find out what became
// of the stack's clusters and Helm releases since the last run, and put the
// stack back on its feet when that can be done safely. Pulumi cannot do it
// itself:
// - a command:local:Command has no Read (pulumi-command v1.2.1
//   provider/pkg/provider/local/commandController.go:27-31; pulumi-go-provider
//   v1.3.0 infer/resource.go:1353-1363 returns the stored state), so a kind
//   cluster deleted by hand or by a Docker reset never shows as a diff and is
//   never created again;
// - pulumi-kubernetes refuses to delete a Helm Release on an unreachable
//   cluster whatever deleteUnreachable says (v4.32.0
//   provider/pkg/provider/provider.go:2546-2553), so `destroy` wedges;
// - deleteUnreachable left on for good would drop every resource from state
//   on a refresh while Docker is merely stopped (provider.go:1918-1941);
// - Helm refuses to touch a release left pending by an interrupted run
//   (helm v3.20.2 pkg/action/upgrade.go:218-220, "another operation
//   (install/upgrade/rollback) is in progress"; install.go:549-552, "cannot
//   re-use a name that is still in use"), and pulumi-kubernetes has no
//   recovery for it (pulumi-kubernetes#2054).
// So resources leave the state only when their cluster is known to be gone:
// Docker answers and has no node container of it.
import { kindContext, kubectlArgs } from "../lib/kubernetes/clusterAccess";
import { StackConfig } from "../lib/config/schema";
import { ManagedRelease, managedReleases, slowestReleaseTimeoutSeconds } from "../lib/kubernetes/releases";
import { verificationJobName } from "../lib/verification/verification";

export interface CommandResult {
    /** The exit code; null when the command could not be started (not installed) or was killed. */
    status: number | null;
    stdout: string;
    stderr: string;
}

/** Runs a command to completion, without a shell. */
export type Run = (command: string, args: string[]) => CommandResult;
export type Say = (line: string) => void;

/** The parts of a `pulumi stack export` used here (pulumi sdk/go/common/apitype/core.go:348-392, 489-530, v3.259.0). */
export interface StateResource {
    urn: string;
    type: string;
    inputs?: Record<string, any>;
    outputs?: Record<string, any>;
}

export interface StackState {
    resources: StateResource[];
    /** Operations an interrupted run left: `creating`, `updating`, `deleting`, `reading`. */
    pendingOperations: { resource: StateResource; type: string }[];
}

const kindCommandType = "command:local:Command";
const helmReleaseType = "kubernetes:helm.sh/v3:Release";

/** The stack's state, or undefined when the stack has none yet. */
export function readStackState(run: Run, stack: string): StackState | undefined {
    const exported = run("pulumi", ["stack", "export", "--stack", stack]);
    if (exported.status !== 0) {
        return undefined;
    }
    const deployment = (JSON.parse(exported.stdout) as { deployment?: { resources?: StateResource[]; pending_operations?: StackState["pendingOperations"] } }).deployment;
    return { resources: deployment?.resources ?? [], pendingOperations: deployment?.pending_operations ?? [] };
}

/** The kind cluster a resource of the state creates, read from the command's own environment (components/kindCluster.ts). */
function kindClusterOf(resource: StateResource): string | undefined {
    if (resource.type !== kindCommandType) {
        return undefined;
    }
    const name = resource.inputs?.environment?.KIND_CLUSTER_NAME;
    return typeof name === "string" ? name : undefined;
}

export type KindClusterState =
    | { state: "docker-down"; detail: string }
    | { state: "absent" }
    | { state: "stopped"; nodes: string[] }
    | { state: "running"; nodes: string[] };

/**
 * What Docker says of a kind cluster's node containers. kind lists clusters
 * and nodes the same way, stopped containers included: `docker ps -a` with
 * the label io.x-k8s.kind.cluster (kind v0.32.0
 * pkg/cluster/internal/providers/docker/provider.go:98-121, constants.go:21).
 */
export function inspectKindCluster(run: Run, name: string): KindClusterState {
    const listed = run("docker", ["ps", "-a", "--filter", `label=io.x-k8s.kind.cluster=${name}`, "--format", "{{.Names}}\t{{.State}}"]);
    if (listed.status !== 0) {
        return { state: "docker-down", detail: firstLine(listed.stderr) || "docker did not answer" };
    }
    const nodes = listed.stdout.split("\n").filter(Boolean).map((line) => {
        const [node, state] = line.split("\t");
        return { node, state };
    });
    if (nodes.length === 0) {
        return { state: "absent" };
    }
    const stopped = nodes.filter((node) => node.state !== "running").map((node) => node.node);
    return stopped.length > 0 ? { state: "stopped", nodes: stopped } : { state: "running", nodes: nodes.map((node) => node.node) };
}

export interface Lifecycle {
    run: Run;
    say: Say;
    /** Blocks for this long; the real one sleeps, tests count. */
    pause: (seconds: number) => void;
    now: () => Date;
}

/** Why the run cannot go on; said to the user as it is. */
export class LifecycleStop extends Error {}

/**
 * Brings every kind cluster the state knows to a state Pulumi can work with,
 * or stops with what the user must do. Never drops anything from state unless
 * Docker answers and has no node of that cluster.
 */
export function reconcileKindClusters(action: "up" | "destroy", stack: string, state: StackState, lifecycle: Lifecycle): void {
    const { run, say } = lifecycle;
    const recorded = state.resources.flatMap((resource) => {
        const cluster = kindClusterOf(resource);
        return cluster === undefined ? [] : [{ cluster, urn: resource.urn }];
    });
    for (const { cluster, urn } of recorded) {
        const found = inspectKindCluster(run, cluster);
        switch (found.state) {
            case "docker-down":
                throw new LifecycleStop(
                    `Docker is not answering (${found.detail}), so whether kind cluster "${cluster}" still exists cannot be told. ` +
                        `Start Docker, then run npm run ${action} again. Nothing was changed.`,
                );
            case "absent": {
                say(`kind cluster "${cluster}" is gone: Docker is running and has no node of it (deleted by hand, or Docker was reset).`);
                say(`Removing it and everything that was in it from the state of stack "${stack}", so that ${action === "up" ? "pulumi up creates them again" : "pulumi destroy has nothing left to delete in it"}.`);
                // pulumi pkg/cmd/pulumi/state/state_delete.go:160-163; dependents include every
                // resource whose provider depends on it (pkg/resource/graph/dependency_graph.go:143-164).
                mustRun(run, "pulumi", ["state", "delete", "--stack", stack, "--target-dependents", "--yes", urn], `remove the lost cluster "${cluster}" from the state`);
                break;
            }
            case "stopped":
                say(`kind cluster "${cluster}" exists but its nodes ${found.nodes.join(", ")} are stopped (Docker restarted?): starting them.`);
                mustRun(run, "docker", ["start", ...found.nodes], `start the nodes of kind cluster "${cluster}"`);
                waitForApiServer(cluster, lifecycle);
                break;
            case "running":
                break;
        }
    }

    // An interrupted `kind create` (pulumi keeps pending creates: pkg/backend/snapshot.go:757-766)
    // leaves a cluster the state does not hold; our create script would then refuse it as someone else's.
    for (const pending of state.pendingOperations) {
        const cluster = kindClusterOf(pending.resource);
        if (pending.type !== "creating" || cluster === undefined || recorded.some((known) => known.cluster === cluster)) {
            continue;
        }
        const found = inspectKindCluster(run, cluster);
        if (found.state === "running" || found.state === "stopped") {
            say(`kind cluster "${cluster}" was being created when a previous run was interrupted: deleting it so that it is created whole.`);
            mustRun(run, "kind", ["delete", "cluster", "--name", cluster], `delete the half-created kind cluster "${cluster}"`);
        }
    }
}

/** A restarted node needs a moment before its API server answers again. */
function waitForApiServer(cluster: string, { run, say, pause }: Lifecycle): void {
    const attempts = 45;
    for (let attempt = 1; attempt <= attempts; attempt++) {
        if (run("kubectl", ["--context", kindContext(cluster), "get", "--raw", "/readyz"]).status === 0) {
            say(`kind cluster "${cluster}" answers again.`);
            return;
        }
        pause(2);
    }
    throw new LifecycleStop(
        `kind cluster "${cluster}" was started but its API server did not become ready within ${attempts * 2}s. ` +
            `Look at 'docker logs ${cluster}-control-plane'; if the cluster is broken, 'kind delete cluster --name ${cluster}' and run npm run up again: it is created anew.`,
    );
}

/** One Helm release record, as Helm's Secret storage driver labels it (helm v3 pkg/storage/driver/secrets.go: owner, name, status, version). */
export interface HelmRecord {
    namespace: string;
    secretName: string;
    release: string;
    status: string;
    revision: number;
    created: Date;
}

export function listHelmRecords(run: Run, access: string[]): HelmRecord[] {
    const listed = run("kubectl", [...access, "get", "secrets", "--all-namespaces", "--selector", "owner=helm", "--output", "json"]);
    if (listed.status !== 0) {
        throw new LifecycleStop(`Could not read the Helm releases (kubectl ${access.join(" ")}): ${firstLine(listed.stderr)}`);
    }
    const items = (JSON.parse(listed.stdout) as { items?: { metadata: { name: string; namespace: string; creationTimestamp: string; labels?: Record<string, string> } }[] }).items ?? [];
    return items.map(({ metadata }) => ({
        namespace: metadata.namespace,
        secretName: metadata.name,
        release: metadata.labels?.name ?? "",
        status: metadata.labels?.status ?? "",
        revision: Number(metadata.labels?.version ?? 0),
        created: new Date(metadata.creationTimestamp),
    }));
}

/**
 * The verification Job has a fixed name (lib/verification/verification.ts). When removing
 * a lost cluster took it out of the state (in a fleet it depends on the remote
 * regions' releases), it still exists in the global query's cluster, and
 * pulumi-kubernetes would refuse to create it again ("already exists"): it is
 * deleted, as the next run would have replaced it anyway.
 */
export function deleteDroppedVerificationJob(config: StackConfig, before: StackState, after: StackState, lifecycle: Lifecycle): void {
    const isJob = (resource: StateResource) => resource.type === jobType;
    if (!before.resources.some(isJob) || after.resources.some(isJob)) {
        return;
    }
    const cluster = config.clusters.find((candidate) => candidate.name === config.globalQuery.cluster);
    if (cluster === undefined || (cluster.type === "kind" && inspectKindCluster(lifecycle.run, cluster.name).state !== "running")) {
        return;
    }
    lifecycle.say(`The verification Job ${config.globalQuery.namespace}/${verificationJobName} left the state with the lost cluster: deleting it in cluster "${cluster.name}" so that this run creates it again.`);
    mustRun(lifecycle.run, "kubectl", [...kubectlArgs(cluster), "--namespace", config.globalQuery.namespace, "delete", "job", verificationJobName, "--ignore-not-found"],
        `delete the verification Job in cluster "${cluster.name}"`);
}

const jobType = "kubernetes:batch/v1:Job";

/**
 * The releases (namespace/name) that were in `before` and are gone from
 * `after`: what removing a lost cluster took along. Its dependents may run in
 * another cluster that is still there (in a fleet, the global query depends on
 * a remote region's Services), where Helm still has them installed.
 */
export function releasesDroppedFromState(before: StackState, after: StackState): Set<string> {
    const releases = (state: StackState) => state.resources.filter((resource) => resource.type === helmReleaseType).map(releaseOf);
    const kept = new Set(releases(after));
    return new Set(releases(before).filter((release) => !kept.has(release)));
}

/**
 * Gets every release of this stack out of a state an interrupted run left it
 * in. A pending record older than the slowest release's timeout belongs to a
 * Helm that is no longer running (Helm runs inside the provider, which the
 * interrupt ended): deleting it makes the release what it was before that run
 * (its previous revision), or not installed at all; Helm adopts the objects
 * it had already created, which carry its ownership annotations. A younger
 * one may be another `pulumi up` at work: say how to proceed, change nothing.
 */
export function recoverInterruptedReleases(config: StackConfig, stack: string, state: StackState, lifecycle: Lifecycle, dropped: ReadonlySet<string> = new Set()): void {
    const { run, say, now } = lifecycle;
    const wanted = managedReleases(config);
    const pendingCreates = state.pendingOperations.filter((operation) => operation.type === "creating" && operation.resource.type === helmReleaseType);
    for (const cluster of config.clusters) {
        const access = kubectlArgs(cluster);
        if (cluster.type === "existing" && cluster.kubeconfigSecret !== undefined) {
            say(`Cluster "${cluster.name}": its kubeconfig is only in a secret setting, so releases left pending by an interrupted run are not checked; see README.md, "Troubleshooting".`);
            continue;
        }
        if (cluster.type === "kind" && inspectKindCluster(run, cluster.name).state !== "running") {
            continue;
        }
        const records = listHelmRecords(run, access);
        for (const release of wanted.filter((candidate) => candidate.cluster === cluster.name)) {
            const history = records
                .filter((record) => record.namespace === release.namespace && record.release === release.name)
                .sort((a, b) => b.revision - a.revision);
            const latest = history[0];
            if (latest === undefined) {
                continue;
            }
            if (latest.status.startsWith("pending-")) {
                const ageSeconds = (now().getTime() - latest.created.getTime()) / 1000;
                const remove = deleteRecordCommand(access, latest);
                if (ageSeconds < slowestReleaseTimeoutSeconds) {
                    const until = new Date(latest.created.getTime() + slowestReleaseTimeoutSeconds * 1000);
                    throw new LifecycleStop(
                        `Helm release ${describe(release)} is ${latest.status} since ${latest.created.toISOString()}: another pulumi up may still be working on it. ` +
                            `If none is, run npm run up again after ${until.toISOString()}, or now: ${remove.join(" ")}`,
                    );
                }
                say(`Helm release ${describe(release)} was left ${latest.status} (revision ${latest.revision}) by an interrupted run: ` +
                    `deleting that revision's record, so the release is ${history.length > 1 ? `back at revision ${history[1].revision}` : "not installed"} and this run applies it again.`);
                mustRun(run, remove[0], remove.slice(1), `clear the pending record of ${describe(release)}`);
                continue;
            }
            // Installed by Helm, but not in the state: the run was interrupted before Pulumi
            // recorded it, or a lost cluster took it along. The next create would hit
            // "cannot re-use a name that is still in use".
            const key = `${release.namespace}/${release.name}`;
            const interrupted = pendingCreates.some((operation) => releaseOf(operation.resource) === key);
            const unrecorded = (interrupted || dropped.has(key))
                && !state.resources.some((resource) => resource.type === helmReleaseType && releaseOf(resource) === key);
            if (unrecorded) {
                say(`Helm release ${describe(release)} is installed but no longer in the state (${interrupted ? "the run was interrupted before Pulumi recorded it" : "it depended on the lost cluster"}): forgetting Helm's records so this run installs it again (its objects are adopted).`);
                for (const record of history) {
                    const remove = deleteRecordCommand(access, record);
                    mustRun(run, remove[0], remove.slice(1), `clear the records of ${describe(release)}`);
                }
            }
        }
    }
    if (state.pendingOperations.some((operation) => operation.type === "creating")) {
        say("Clearing the pending creates the interrupted run left in the state (pulumi refresh --clear-pending-creates).");
        mustRun(run, "pulumi", ["refresh", "--stack", stack, "--clear-pending-creates", "--yes", "--skip-preview"], "clear the pending creates");
    }
}

function releaseOf(resource: StateResource): string {
    const fields = resource.outputs ?? resource.inputs ?? {};
    return `${fields.namespace}/${fields.name}`;
}

function deleteRecordCommand(access: string[], record: HelmRecord): string[] {
    return ["kubectl", ...access, "--namespace", record.namespace, "delete", "secret", record.secretName];
}

function describe(release: ManagedRelease): string {
    return `${release.namespace}/${release.name} in cluster "${release.cluster}"`;
}

function mustRun(run: Run, command: string, args: string[], purpose: string): void {
    const result = run(command, args);
    if (result.status !== 0) {
        throw new LifecycleStop(`Could not ${purpose}: ${command} ${args.join(" ")} failed: ${firstLine(result.stderr) || `exit code ${result.status}`}`);
    }
}

function firstLine(text: string): string {
    return text.trim().split("\n")[0] ?? "";
}
