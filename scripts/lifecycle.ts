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
// Docker answers and has no node container of it, and its API server does
// not answer either. Nothing is changed while another run may hold the stack
// (Lifecycle.guard), and what a repair still has to finish is written down
// first (RecoveryJournal), so that a run that fails half-way is finished by
// the next one.
import { kindContext, kubectlArgs } from "../lib/kubernetes/clusterAccess";
import { Cluster, StackConfig } from "../lib/config/schema";
import { ManagedRelease, managedReleases } from "../lib/kubernetes/releases";

export interface CommandResult {
    /** The exit code; null when the command could not be started (not installed) or was killed. */
    status: number | null;
    stdout: string;
    stderr: string;
}

/** Runs a command to completion, without a shell. */
export type Run = (command: string, args: string[]) => CommandResult;
export type Say = (line: string) => void;

/**
 * The fields of a resource's inputs or outputs read here, of the resources
 * that have them: a kind cluster's command (its environment), a Kubernetes
 * object (apiVersion, kind, metadata), a Helm release (namespace, name).
 */
export interface ResourceFields {
    environment?: Record<string, unknown>;
    apiVersion?: string;
    kind?: string;
    metadata?: { name?: unknown; namespace?: string; annotations?: Record<string, string> };
    namespace?: string;
    name?: string;
}

/** The parts of a `pulumi stack export` used here (pulumi sdk/go/common/apitype/core.go:348-392, 489-530, v3.259.0). */
export interface StateResource {
    urn: string;
    type: string;
    inputs?: ResourceFields;
    outputs?: ResourceFields;
    /** `<provider URN>::<provider id>`. */
    provider?: string;
    parent?: string;
    dependencies?: string[];
    propertyDependencies?: Record<string, string[]>;
    deletedWith?: string;
    /** Deleted by a delete-before-replace whose create has not finished (core.go:521-523). */
    pendingReplacement?: boolean;
}

export interface StackState {
    resources: StateResource[];
    /** Operations an interrupted run left: `creating`, `updating`, `deleting`, `reading`. */
    pendingOperations: { resource: StateResource; type: string }[];
}

const kindCommandType = "command:local:Command";
const helmReleaseType = "kubernetes:helm.sh/v3:Release";
/** `pulumi stack export` of a stack that does not exist (pulumi pkg/cmd/pulumi/cmd/exit_codes.go:35). */
const exitStackNotFound = 6;

/** The stack's state, or undefined when the stack has none yet. */
export function readStackState(run: Run, stack: string): StackState | undefined {
    const exported = run("pulumi", ["stack", "export", "--stack", stack]);
    if (exported.status === exitStackNotFound) {
        return undefined;
    }
    if (exported.status !== 0) {
        throw new LifecycleStop(`Could not read the state of stack "${stack}": pulumi stack export failed: ${causeOf("pulumi", exported)}`);
    }
    // A new stack's deployment has no resources yet (and may be null).
    const deployment = (
        JSON.parse(exported.stdout) as { deployment?: { resources?: StateResource[]; pending_operations?: StackState["pendingOperations"] } | null }
    ).deployment;
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

/** The cluster of a Kubernetes resource: its provider is `<cluster>-provider` (components/kindCluster.ts, existingCluster.ts). */
function clusterOfResource(resource: StateResource): string | undefined {
    if (resource.provider === undefined) {
        return undefined;
    }
    const providerUrn = resource.provider.slice(0, resource.provider.lastIndexOf("::"));
    return /^(.*)-provider$/.exec(providerUrn.split("::").pop() ?? "")?.[1];
}

export type KindClusterState =
    | { state: "docker-down"; detail: string }
    | { state: "absent" }
    | { state: "stopped"; stopped: string[]; paused: string[] }
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
    const nodes = listed.stdout
        .split("\n")
        .filter(Boolean)
        .map((line) => {
            const [node, state] = line.split("\t");
            return { node, state };
        });
    if (nodes.length === 0) {
        return { state: "absent" };
    }
    // `docker pause` freezes a node: it is unpaused, not started (moby daemon/start.go refuses a paused container).
    const paused = nodes.filter((node) => node.state === "paused").map((node) => node.node);
    const stopped = nodes.filter((node) => node.state !== "running" && node.state !== "paused").map((node) => node.node);
    return stopped.length + paused.length > 0 ? { state: "stopped", stopped, paused } : { state: "running", nodes: nodes.map((node) => node.node) };
}

/** A Kubernetes object the recovery may have to delete later: what the state said of it. */
export interface ObjectRef {
    cluster: string;
    apiVersion: string;
    kind: string;
    namespace?: string;
    name: string;
}

/**
 * What a repair has started and not finished, kept across runs: the Helm
 * releases and fixed-name objects that left the state while they stay
 * installed in a cluster that is still there. Written before the state is
 * changed, emptied as each is dealt with.
 */
export interface RecoveryJournal {
    /** `<cluster>/<namespace>/<name>` */
    releases: string[];
    objects: ObjectRef[];
}

export interface Journal {
    read: () => RecoveryJournal;
    write: (journal: RecoveryJournal) => void;
}

export interface Lifecycle {
    run: Run;
    say: Say;
    /** Blocks for this long; the real one sleeps, tests count. */
    pause: (seconds: number) => void;
    now: () => Date;
    /** Before the first change: stops (LifecycleStop) while another run may hold the stack. */
    guard: () => void;
    journal: Journal;
    env: Record<string, string | undefined>;
}

/** Why the run cannot go on; said to the user as it is. */
export class LifecycleStop extends Error {}

/**
 * Brings every kind cluster the state knows to a state Pulumi can work with,
 * or stops with what the user must do. Never drops anything from state unless
 * Docker answers, has no node of that cluster, and its API server does not answer.
 */
export function reconcileKindClusters(action: "up" | "destroy", stack: string, state: StackState, lifecycle: Lifecycle): void {
    const { run, say } = lifecycle;
    const recorded = state.resources.flatMap((resource) => {
        const cluster = kindClusterOf(resource);
        return cluster === undefined ? [] : [{ cluster, resource }];
    });
    const pendingKindCreates = state.pendingOperations.filter((pending) => pending.type === "creating" && kindClusterOf(pending.resource) !== undefined);
    if (recorded.length + pendingKindCreates.length === 0) {
        return;
    }
    refuseOtherNodeProviders(lifecycle.env);
    for (const { cluster, resource } of recorded) {
        const found = inspectKindCluster(run, cluster);
        if (found.state === "docker-down") {
            throw new LifecycleStop(
                `Docker is not answering (${found.detail}), so whether kind cluster "${cluster}" still exists cannot be told. ` +
                    `Start Docker, then run npm run ${action} again. Nothing was changed.`,
            );
        }
        if (resource.pendingReplacement) {
            // A replacement was interrupted after the old cluster was deleted (delete-before-replace,
            // pulumi pkg/resource/deploy/step.go:760-785), and our create script refuses any nodes
            // already there. What the state still holds of the old cluster went with it: left there,
            // the engine deletes it through the old cluster's provider, which it has closed by then
            // ("grpc: the client connection is closing", found by the e2e recovery tier), so it goes
            // as for a cluster deleted by hand.
            if (found.state !== "absent") {
                lifecycle.guard();
                say(
                    `kind cluster "${cluster}" was being replaced when a previous run was interrupted: deleting the half-made new cluster so that it is created whole.`,
                );
                change(lifecycle, "kind", ["delete", "cluster", "--name", cluster], `delete the half-made kind cluster "${cluster}"`);
            }
            say(
                `Removing the old kind cluster "${cluster}", deleted before the interruption, and everything that was in it from the state of stack "${stack}", so that ${action === "up" ? "pulumi up creates them again" : "pulumi destroy has nothing left to delete in it"}.`,
            );
            dropFromState(stack, state, resource.urn, cluster, lifecycle);
            continue;
        }
        switch (found.state) {
            case "absent": {
                refuseIfApiServerAnswers(cluster, lifecycle);
                say(`kind cluster "${cluster}" is gone: Docker is running and has no node of it (deleted by hand, or Docker was reset).`);
                say(
                    `Removing it and everything that was in it from the state of stack "${stack}", so that ${action === "up" ? "pulumi up creates them again" : "pulumi destroy has nothing left to delete in it"}.`,
                );
                dropFromState(stack, state, resource.urn, cluster, lifecycle);
                break;
            }
            case "stopped":
                say(
                    `kind cluster "${cluster}" exists but its nodes ${[...found.stopped, ...found.paused].join(", ")} are ${found.paused.length > 0 ? "paused or stopped" : "stopped (Docker restarted?)"}: starting them.`,
                );
                if (found.paused.length > 0) {
                    change(lifecycle, "docker", ["unpause", ...found.paused], `unpause the nodes of kind cluster "${cluster}"`);
                }
                if (found.stopped.length > 0) {
                    change(lifecycle, "docker", ["start", ...found.stopped], `start the nodes of kind cluster "${cluster}"`);
                }
                waitForApiServer(cluster, lifecycle);
                break;
            case "running":
                break;
        }
    }

    // An interrupted `kind create` (pulumi keeps pending creates: pkg/backend/snapshot.go:757-766)
    // leaves a cluster the state does not hold; our create script would then refuse it as someone else's.
    // The guard first: another run still creating it holds the stack's lock.
    for (const pending of pendingKindCreates) {
        const cluster = kindClusterOf(pending.resource)!;
        if (recorded.some((known) => known.cluster === cluster)) {
            continue;
        }
        const found = inspectKindCluster(run, cluster);
        if (found.state === "running" || found.state === "stopped") {
            lifecycle.guard();
            say(`kind cluster "${cluster}" was being created when a previous run was interrupted: deleting it so that it is created whole.`);
            change(lifecycle, "kind", ["delete", "cluster", "--name", cluster], `delete the half-created kind cluster "${cluster}"`);
        }
    }
}

/**
 * kind on podman (or nerdctl) keeps its nodes where `docker ps` does not look
 * (kind v0.32.0 pkg/cluster/internal/providers/provider.go, KIND_EXPERIMENTAL_PROVIDER):
 * a live cluster would look gone.
 */
function refuseOtherNodeProviders(env: Record<string, string | undefined>): void {
    const provider = env.KIND_EXPERIMENTAL_PROVIDER;
    if (provider !== undefined && provider !== "" && provider !== "docker") {
        throw new LifecycleStop(
            `KIND_EXPERIMENTAL_PROVIDER=${provider}: kind keeps this stack's nodes in ${provider}, where npm run up cannot see them, so it cannot tell a stopped cluster from a lost one. ` +
                `Run it with Docker (unset KIND_EXPERIMENTAL_PROVIDER), or use pulumi directly and repair by hand (README.md, "Day 2"). Nothing was changed.`,
        );
    }
}

/**
 * Docker lists no node, yet the cluster may be alive elsewhere: another Docker
 * context (docker context use, DOCKER_HOST) or engine runs it. Its API server
 * still answering at the kind context says so; then nothing is dropped.
 */
function refuseIfApiServerAnswers(cluster: string, { run }: Lifecycle): void {
    if (run("kubectl", ["--context", kindContext(cluster), "get", "--raw", "/readyz"]).status !== 0) {
        return;
    }
    const context = run("docker", ["context", "show"]);
    const where = context.status === 0 ? `Docker context "${context.stdout.trim()}"` : "this Docker";
    throw new LifecycleStop(
        `${where} has no node of kind cluster "${cluster}", yet its API server (context ${kindContext(cluster)}) answers: the cluster runs under another Docker context or engine. ` +
            `Switch back to it ('docker context ls', 'docker context use <name>', or DOCKER_HOST), then run this again. Nothing was changed.`,
    );
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

/**
 * `pulumi state delete --target-dependents` of `urn`, after writing down what
 * it takes along that stays installed elsewhere: Helm releases and fixed-name
 * objects outside `lostCluster` (in a fleet, the global query depends on a
 * remote region's Services). Dependents as pulumi computes them: children,
 * dependencies, property dependencies, deletedWith and the resources of a
 * provider (pkg/resource/graph/dependency_graph.go:125-170; state_delete.go:160-163).
 */
function dropFromState(stack: string, state: StackState, urn: string, lostCluster: string | undefined, lifecycle: Lifecycle): void {
    const doomed = new Set([urn]);
    for (let grew = true; grew;) {
        grew = false;
        for (const resource of state.resources) {
            const providerUrn = resource.provider?.slice(0, resource.provider.lastIndexOf("::"));
            const links = [
                resource.parent,
                resource.deletedWith,
                providerUrn,
                ...(resource.dependencies ?? []),
                ...Object.values(resource.propertyDependencies ?? {}).flat(),
            ];
            if (!doomed.has(resource.urn) && links.some((link) => link !== undefined && doomed.has(link))) {
                doomed.add(resource.urn);
                grew = true;
            }
        }
    }
    const journal = lifecycle.journal.read();
    for (const resource of state.resources.filter((candidate) => doomed.has(candidate.urn))) {
        const cluster = clusterOfResource(resource);
        if (cluster === undefined || cluster === lostCluster) {
            continue;
        }
        if (resource.type === helmReleaseType) {
            journal.releases.push(`${cluster}/${releaseOf(resource)}`);
        }
        const object = fixedNameObject(resource, cluster);
        if (object !== undefined) {
            journal.objects.push(object);
        }
    }
    lifecycle.guard();
    lifecycle.journal.write({ releases: [...new Set(journal.releases)], objects: journal.objects });
    change(lifecycle, "pulumi", ["state", "delete", "--stack", stack, "--target-dependents", "--yes", urn], `remove ${urn.split("::").pop()} from the state`);
}

/**
 * A Kubernetes object whose name the program fixes: a second one cannot be
 * created beside it. Auto-named objects carry pulumi.com/autonamed
 * (pulumi-kubernetes v4.32.0 provider/pkg/metadata/naming.go), and a Helm
 * release is not an object.
 */
function fixedNameObject(resource: StateResource, cluster: string): ObjectRef | undefined {
    const fields = resource.outputs ?? resource.inputs;
    const metadata = fields?.metadata;
    if (
        !resource.type.startsWith("kubernetes:") ||
        resource.type === helmReleaseType ||
        typeof metadata?.name !== "string" ||
        metadata.annotations?.["pulumi.com/autonamed"] === "true" ||
        fields?.apiVersion === undefined ||
        fields.kind === undefined
    ) {
        return undefined;
    }
    return { cluster, apiVersion: fields.apiVersion, kind: fields.kind, namespace: metadata.namespace, name: metadata.name };
}

/** kubectl's `<kind>.<group>/<name>` for an object. */
function objectArg(object: ObjectRef): string {
    const group = object.apiVersion.includes("/") ? `.${object.apiVersion.split("/")[0]}` : "";
    return `${object.kind.toLowerCase()}${group}/${object.name}`;
}

function describeObject(object: ObjectRef): string {
    return `${object.kind} ${object.namespace === undefined ? "" : `${object.namespace}/`}${object.name} in cluster "${object.cluster}"`;
}

/** kubectl's flags for each cluster of the config, or undefined (said why, once) when it cannot be reached from here. */
function clusterAccess(config: StackConfig, lifecycle: Lifecycle): (clusterName: string) => string[] | undefined {
    const known = new Map<string, string[] | undefined>();
    return (clusterName) => {
        if (!known.has(clusterName)) {
            const cluster: Cluster | undefined = config.clusters.find((candidate) => candidate.name === clusterName);
            let access: string[] | undefined = cluster === undefined ? undefined : kubectlArgs(cluster);
            if (cluster?.type === "existing" && cluster.kubeconfigSecret !== undefined) {
                lifecycle.say(
                    `Cluster "${cluster.name}": its kubeconfig is only in a secret setting, so what an interrupted run left there is not checked; see README.md, "Troubleshooting".`,
                );
                access = undefined;
            }
            if (cluster?.type === "kind" && inspectKindCluster(lifecycle.run, cluster.name).state !== "running") {
                access = undefined;
            }
            known.set(clusterName, access);
        }
        return known.get(clusterName);
    };
}

/**
 * Deletes a fixed-name object that is not in the state, so that this run can
 * create it: pulumi-kubernetes creates and never adopts (v4.32.0
 * provider/pkg/await/await.go:279, "already exists"). Only an object the
 * provider made is deleted: applied server-side (its default) it carries the
 * field manager pulumi-kubernetes-<random> (provider/pkg/provider/provider.go:2883-2906),
 * applied client-side the label app.kubernetes.io/managed-by=pulumi
 * (provider.go:1275-1283, metadata/labels.go:89-100). Another's stops the run.
 */
function deleteLeftover(object: ObjectRef, access: string[], why: string, lifecycle: Lifecycle): void {
    const namespaceArgs = object.namespace === undefined ? [] : ["--namespace", object.namespace];
    const found = lifecycle.run("kubectl", [
        ...access,
        ...namespaceArgs,
        "get",
        objectArg(object),
        "--ignore-not-found",
        "--show-managed-fields",
        "--output",
        "json",
    ]);
    if (found.status !== 0) {
        throw new LifecycleStop(`Could not look for ${describeObject(object)}: kubectl failed: ${causeOf("kubectl", found)}`);
    }
    if (found.stdout.trim() === "") {
        return;
    }
    const metadata = (JSON.parse(found.stdout) as { metadata?: { labels?: Record<string, string>; managedFields?: { manager?: string }[] } }).metadata ?? {};
    const madeByPulumi =
        metadata.labels?.["app.kubernetes.io/managed-by"] === "pulumi" ||
        (metadata.managedFields ?? []).some((entry) => entry.manager?.startsWith("pulumi-kubernetes") === true);
    if (!madeByPulumi) {
        throw new LifecycleStop(
            `${describeObject(object)} exists but was not created by Pulumi (no field manager pulumi-kubernetes, no label app.kubernetes.io/managed-by=pulumi), and this stack must create an object of that name. ` +
                `Delete or rename it yourself, then run npm run up again. Nothing else was changed.`,
        );
    }
    lifecycle.say(`${describeObject(object)} ${why}: deleting it so that this run creates it again.`);
    change(lifecycle, "kubectl", [...access, ...namespaceArgs, "delete", objectArg(object), "--ignore-not-found"], `delete ${describeObject(object)}`);
}

/**
 * Fixed-name objects that left the state with a lost cluster but stay in a
 * cluster that is still there (the verification Job, in a fleet, depends on
 * remote regions): deleted, as the next run would have replaced them anyway.
 * A Namespace is never deleted here: everything in it would go too.
 */
export function deleteDroppedObjects(config: StackConfig, state: StackState, lifecycle: Lifecycle): void {
    const journal = lifecycle.journal.read();
    const left: ObjectRef[] = [];
    const accessTo = clusterAccess(config, lifecycle);
    for (const object of journal.objects) {
        const recordedAgain = state.resources.some((resource) => {
            const cluster = clusterOfResource(resource);
            const recorded = cluster === undefined ? undefined : fixedNameObject(resource, cluster);
            return (
                recorded !== undefined &&
                objectArg(recorded) === objectArg(object) &&
                recorded.cluster === object.cluster &&
                recorded.namespace === object.namespace
            );
        });
        if (recordedAgain) {
            continue;
        }
        if (object.kind === "Namespace") {
            lifecycle.say(
                `${describeObject(object)} left the state but is still there; it is not deleted (everything in it would go). If pulumi up fails on it with "already exists", delete it yourself.`,
            );
            continue;
        }
        const access = accessTo(object.cluster);
        if (access === undefined) {
            left.push(object);
            continue;
        }
        deleteLeftover(object, access, "left the state with the lost cluster", lifecycle);
    }
    if (left.length !== journal.objects.length) {
        lifecycle.journal.write({ ...journal, objects: left });
    }
}

/**
 * Helm's release records, as pulumi-kubernetes stores them: the driver is
 * PULUMI_K8S_HELM_DRIVER, `secret` by default (v4.32.0
 * provider/pkg/provider/provider.go:782-793), read by Helm as secret(s),
 * configmap(s), memory or sql (helm v3 pkg/action/action.go, Configuration.Init).
 */
export function helmStorageKind(env: Record<string, string | undefined>): "secrets" | "configmaps" {
    const driver = env.PULUMI_K8S_HELM_DRIVER ?? "secret";
    if (["", "secret", "secrets"].includes(driver)) {
        return "secrets";
    }
    if (["configmap", "configmaps"].includes(driver)) {
        return "configmaps";
    }
    throw new LifecycleStop(
        `PULUMI_K8S_HELM_DRIVER=${driver}: Helm keeps this stack's release records outside the cluster, where npm run up cannot check them after an interrupted run. ` +
            "Unset it (Secrets, Helm's default) or set it to configmap, or use pulumi directly. Nothing was changed.",
    );
}

/** One Helm release record, as Helm's storage driver labels it (helm v3 pkg/storage/driver/secrets.go, cfgmaps.go: owner, name, status, version). */
export interface HelmRecord {
    namespace: string;
    recordName: string;
    release: string;
    status: string;
    revision: number;
    created: Date;
}

/** A release's records, looked up in its own namespace by Helm's labels: no cluster-wide read needed. */
function listHelmRecords(run: Run, access: string[], storage: string, release: ManagedRelease): HelmRecord[] {
    const listed = run("kubectl", [
        ...access,
        "--namespace",
        release.namespace,
        "get",
        storage,
        "--selector",
        `owner=helm,name=${release.name}`,
        "--output",
        "json",
    ]);
    if (listed.status !== 0) {
        throw new LifecycleStop(`Could not read the Helm records of ${describe(release)} (kubectl ${access.join(" ")}): ${causeOf("kubectl", listed)}`);
    }
    const items =
        (
            JSON.parse(listed.stdout) as {
                items?: { metadata: { name: string; namespace: string; creationTimestamp: string; labels?: Record<string, string> } }[];
            }
        ).items ?? [];
    return items
        .map(({ metadata }) => ({
            namespace: metadata.namespace,
            recordName: metadata.name,
            release: metadata.labels?.name ?? "",
            status: metadata.labels?.status ?? "",
            revision: Number(metadata.labels?.version ?? 0),
            created: new Date(metadata.creationTimestamp),
        }))
        .sort((a, b) => b.revision - a.revision);
}

/** Every release of the config with Helm's records of it (newest first), read once per run; undefined where its cluster cannot be reached. */
export type ReleaseRecords = Map<ManagedRelease, { access: string[]; history: HelmRecord[] } | undefined>;

export function readReleaseRecords(config: StackConfig, lifecycle: Lifecycle): ReleaseRecords {
    const storage = helmStorageKind(lifecycle.env);
    const accessTo = clusterAccess(config, lifecycle);
    return new Map(
        managedReleases(config).map((release) => {
            const access = accessTo(release.cluster);
            return [release, access === undefined ? undefined : { access, history: listHelmRecords(lifecycle.run, access, storage, release) }];
        }),
    );
}

const releaseKey = (release: ManagedRelease) => `${release.cluster}/${release.namespace}/${release.name}`;

function releaseResource(state: StackState, release: ManagedRelease): StateResource | undefined {
    return state.resources.find(
        (resource) =>
            resource.type === helmReleaseType &&
            clusterOfResource(resource) === release.cluster &&
            releaseOf(resource) === `${release.namespace}/${release.name}`,
    );
}

/**
 * A destroy interrupted while Helm uninstalled a release leaves it
 * `uninstalling` (helm v3 pkg/action/uninstall.go, Uninstall.Run: the status
 * is stored before any object is deleted) and still in the state: `up` would
 * see no change and leave it half-deleted, and a fresh install is refused
 * ("cannot re-use a name that is still in use"). It leaves the state with its
 * dependents (written down first), its records are forgotten by
 * recoverInterruptedReleases, and this run installs it again. True when the
 * state changed.
 */
export function finishInterruptedUninstalls(stack: string, state: StackState, records: ReleaseRecords, lifecycle: Lifecycle): boolean {
    let changed = false;
    for (const [release, found] of records) {
        const resource = releaseResource(state, release);
        if (resource === undefined || found?.history[0]?.status !== "uninstalling") {
            continue;
        }
        lifecycle.guard();
        lifecycle.say(
            `Helm release ${describe(release)} was left uninstalling by an interrupted destroy: removing it from the state so that this run installs it again.`,
        );
        const journal = lifecycle.journal.read();
        lifecycle.journal.write({ ...journal, releases: [...new Set([...journal.releases, releaseKey(release)])] });
        dropFromState(stack, state, resource.urn, undefined, lifecycle);
        changed = true;
    }
    return changed;
}

/**
 * Gets every release and fixed-name object of this stack out of a state an
 * interrupted run left it in. Helm runs inside the provider, which runs only
 * while a pulumi of this stack holds its lock: once the guard has found no
 * live holder (and removed a dead one's lock), a pending Helm record belongs
 * to a Helm that is no longer running, however young it is. Deleting it makes
 * the release what it was before that run (its previous revision), or not
 * installed at all; Helm adopts the objects it had already created, which
 * carry its ownership annotations. While another run holds the stack, the
 * guard stops this one before anything changes.
 */
export function recoverInterruptedReleases(config: StackConfig, stack: string, state: StackState, records: ReleaseRecords, lifecycle: Lifecycle): void {
    const { say } = lifecycle;
    const storage = helmStorageKind(lifecycle.env);
    const pendingCreates = state.pendingOperations.filter((operation) => operation.type === "creating");
    const journal = lifecycle.journal.read();
    const done: string[] = [];
    for (const [release, found] of records) {
        if (found === undefined) {
            continue;
        }
        const { access, history } = found;
        const latest = history[0];
        const key = `${release.namespace}/${release.name}`;
        const inState = releaseResource(state, release) !== undefined;
        if (latest === undefined || inState) {
            // Nothing installed, or in the state again: nothing left to forget.
            done.push(releaseKey(release));
        }
        if (latest === undefined) {
            continue;
        }
        if (latest.status.startsWith("pending-")) {
            const remove = deleteRecordCommand(access, storage, latest);
            lifecycle.guard();
            say(
                `Helm release ${describe(release)} was left ${latest.status} (revision ${latest.revision}) by an interrupted run: ` +
                    `deleting that revision's record, so the release is ${history.length > 1 ? `back at revision ${history[1].revision}` : "not installed"} and this run applies it again.`,
            );
            change(lifecycle, remove[0], remove.slice(1), `clear the pending record of ${describe(release)}`);
            continue;
        }
        // Installed by Helm, but not in the state: the run was interrupted before Pulumi
        // recorded it, or a lost cluster (or an interrupted uninstall) took it along. The next
        // create would hit "cannot re-use a name that is still in use".
        const interrupted = pendingCreates.some(
            (operation) =>
                operation.resource.type === helmReleaseType &&
                releaseOf(operation.resource) === key &&
                clusterOfResource(operation.resource) === release.cluster,
        );
        if (!inState && (interrupted || journal.releases.includes(releaseKey(release)))) {
            say(
                `Helm release ${describe(release)} is installed but no longer in the state (${interrupted ? "the run was interrupted before Pulumi recorded it" : "it left the state with what it depended on"}): forgetting Helm's records so this run installs it again (its objects are adopted).`,
            );
            for (const record of history) {
                const remove = deleteRecordCommand(access, storage, record);
                change(lifecycle, remove[0], remove.slice(1), `clear the records of ${describe(release)}`);
            }
            done.push(releaseKey(release));
        }
    }
    if (journal.releases.some((key) => done.includes(key))) {
        lifecycle.journal.write({ ...lifecycle.journal.read(), releases: journal.releases.filter((key) => !done.includes(key)) });
    }

    // Objects with fixed names an interrupted run had created but not recorded: the next
    // create fails "already exists". `pulumi refresh --import-pending-creates` does not help:
    // it turns the pending create into a pending import, which the refresh drops without
    // importing (pulumi pkg/cmd/pulumi/operations/refresh.go:567-592, pkg/backend/snapshot.go:749-766;
    // seen on pulumi v3.274.1). So they are deleted, and created again by this run.
    const accessTo = clusterAccess(config, lifecycle);
    for (const operation of pendingCreates) {
        const cluster = clusterOfResource(operation.resource);
        const object = cluster === undefined ? undefined : fixedNameObject(operation.resource, cluster);
        const access = object === undefined ? undefined : accessTo(object.cluster);
        if (object !== undefined && access !== undefined) {
            deleteLeftover(object, access, "was created by an interrupted run that did not record it", lifecycle);
        }
    }
    if (pendingCreates.length > 0) {
        say("Clearing the pending creates the interrupted run left in the state (pulumi refresh --clear-pending-creates).");
        change(lifecycle, "pulumi", ["refresh", "--stack", stack, "--clear-pending-creates", "--yes", "--skip-preview"], "clear the pending creates");
    }
}

function releaseOf(resource: StateResource): string {
    const fields = resource.outputs ?? resource.inputs ?? {};
    return `${fields.namespace}/${fields.name}`;
}

function deleteRecordCommand(access: string[], storage: string, record: HelmRecord): string[] {
    return ["kubectl", ...access, "--namespace", record.namespace, "delete", storage === "secrets" ? "secret" : "configmap", record.recordName];
}

function describe(release: ManagedRelease): string {
    return `${release.namespace}/${release.name} in cluster "${release.cluster}"`;
}

/** Runs a command that changes the stack or a cluster, once no other run holds the stack; stops with its cause when it fails. */
function change(lifecycle: Lifecycle, command: string, args: string[], purpose: string): void {
    lifecycle.guard();
    const result = lifecycle.run(command, args);
    if (result.status !== 0) {
        throw new LifecycleStop(`Could not ${purpose}: ${command} ${args.join(" ")} failed: ${causeOf(command, result)}`);
    }
}

/**
 * Why a command failed, in its own words: the engine's `error:` lines
 * (pulumi prints diagnostics on stdout too, and masks secret values itself),
 * else the last line of stderr (kubectl's first lines are client-go's retries).
 */
export function causeOf(command: string, result: CommandResult): string {
    const lines = `${result.stdout}\n${result.stderr}`
        .split("\n")
        .map((line) => line.trim())
        .filter(Boolean);
    const errors = command === "pulumi" ? lines.filter((line) => /\berror:/.test(line)) : [];
    const stderrLines = result.stderr
        .split("\n")
        .map((line) => line.trim())
        .filter(Boolean);
    return errors.join(" ") || stderrLines[stderrLines.length - 1] || `exit code ${result.status}`;
}

function firstLine(text: string): string {
    return text.trim().split("\n")[0] ?? "";
}
