// The stack config as a typed model. `parseStackConfig` takes raw values and
// returns a validated model, or one error listing every problem; besides
// looking for the files a setting names, it touches nothing. Nothing in the
// program creates a resource before it has passed.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    Problems,
    isMissing,
    join,
    readBoolean,
    readChoice,
    readInteger,
    readList,
    readObject,
    readString,
    requiredString,
} from "./settings";
import {
    banzaicloudThanosChart,
    compareVersions,
    defaultKindNodeImage,
    defaultVersions,
    oldestKubernetes,
    operatorCrdsChartFor,
    parseVersion,
    supportedThanos,
} from "./versions";

export interface KindCluster {
    type: "kind";
    /** Also the kind cluster name, so `kind get clusters` shows it. */
    name: string;
    nodeImage: string;
    controlPlaneNodes: number;
    workerNodes: number;
}

export interface ExistingCluster {
    type: "existing";
    name: string;
    /** A kubeconfig file; absent means the one kubectl would use ($KUBECONFIG or ~/.kube/config). */
    kubeconfigPath?: string;
    /** Name of a secret stack setting that holds a whole kubeconfig. */
    kubeconfigSecret?: string;
    context?: string;
}

export type Cluster = KindCluster | ExistingCluster;

export interface Quantities {
    cpu: string;
    memory: string;
}

export interface ContainerResources {
    requests: Quantities;
    limits: Quantities;
}

export interface RegionComponents {
    grafana: boolean;
    alertmanager: boolean;
    nodeExporter: boolean;
    kubeStateMetrics: boolean;
}

export type AntiAffinity = "hard" | "soft";

export interface Region {
    name: string;
    cluster: string;
    namespace: string;
    replicas: number;
    retention: string;
    antiAffinity: AntiAffinity;
    resources: { prometheus: ContainerResources; sidecar: ContainerResources };
    components: RegionComponents;
}

export type ChartSource =
    | { source: "git"; gitRepository: string; gitCommit: string }
    | { source: "local"; path: string }
    | { source: "repository"; url: string; version: string };

export interface QueryFrontendSettings {
    splitInterval: string;
    maxRetries: number;
    cacheMaxSize: string;
    slowQueryThreshold: string;
}

export interface GlobalQuery {
    cluster: string;
    namespace: string;
    queryReplicas: number;
    frontendReplicas: number;
    resources: { query: ContainerResources; frontend: ContainerResources };
    frontend: QueryFrontendSettings;
    chart: ChartSource;
}

export interface Labels {
    /** External label that tells HA replicas apart; the global query deduplicates on it. */
    replica: string;
    /** External label whose value is the region name. */
    region: string;
}

export interface Versions {
    thanos: string;
    kubePrometheusStack: string;
}

export interface Verification {
    /** Run the in-cluster check of the global view after every deploy. */
    enabled: boolean;
    /** How long it keeps retrying before it fails the deploy. */
    timeoutSeconds: number;
}

export interface StackConfig {
    clusters: Cluster[];
    regions: Region[];
    globalQuery: GlobalQuery;
    labels: Labels;
    versions: Versions;
    verification: Verification;
}

export const defaults = {
    region: {
        replicas: 2,
        retention: "10d",
        antiAffinity: "hard" as AntiAffinity,
        resources: {
            prometheus: { requests: { cpu: "200m", memory: "512Mi" }, limits: { cpu: "1", memory: "2Gi" } },
            sidecar: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
        },
        components: { grafana: false, alertmanager: false, nodeExporter: false, kubeStateMetrics: false },
    },
    globalQuery: {
        namespace: "monitoring",
        queryReplicas: 2,
        frontendReplicas: 2,
        resources: {
            query: { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "1", memory: "1Gi" } },
            frontend: { requests: { cpu: "50m", memory: "128Mi" }, limits: { cpu: "500m", memory: "512Mi" } },
        },
        frontend: { splitInterval: "24h", maxRetries: 5, cacheMaxSize: "128MB", slowQueryThreshold: "10s" },
    },
    kind: { controlPlaneNodes: 1, workerNodes: 2 },
    labels: { replica: "replica", region: "cluster" },
    verification: { enabled: true, timeout: "10m" },
};

const topLevelKeys = ["clusters", "regions", "globalQuery", "labels", "versions", "verification"];

const dns1123Label = {
    pattern: /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/,
    valid: "a DNS-1123 label: lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters",
};
const labelName = {
    pattern: /^[a-zA-Z_][a-zA-Z0-9_]*$/,
    check: (value: string) => (value.startsWith("__") ? "names starting with __ are reserved by Prometheus" : undefined),
    valid: "a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)",
};
const duration = { pattern: /^(\d+(ms|s|m|h|d|w|y))+$/, valid: "a Prometheus duration such as 90s, 24h or 15d" };
const quantity = {
    pattern: /^\d+(\.\d+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/,
    valid: "a Kubernetes quantity such as 250m, 1, 512Mi or 2Gi",
};
const cacheSize = { pattern: /^\d+(KB|MB|GB)$/, valid: "a size in KB, MB or GB such as 128MB" };

/**
 * Validates raw stack settings (keys without the project prefix, values as
 * Pulumi hands them over: objects parsed from JSON) and applies defaults.
 * A key that a cluster's `kubeconfigSecret` names is not an unknown key.
 */
export function parseStackConfig(project: string, raw: Record<string, unknown>): StackConfig {
    const problems = new Problems(project);
    const secretReferences = new Set<string>();

    const clusters = readList(problems, "clusters", raw.clusters, "clusters").flatMap((entry, i) => {
        const cluster = readCluster(problems, join("clusters", i), entry);
        if (cluster?.type === "existing" && cluster.kubeconfigSecret !== undefined) {
            secretReferences.add(cluster.kubeconfigSecret);
        }
        return cluster ? [cluster] : [];
    });
    // Entries that are not even objects drop out; the rest keep their index for messages.
    const indexedRegions = readList(problems, "regions", raw.regions, "regions").flatMap((entry, index) => {
        const region = readRegion(problems, join("regions", index), entry);
        return region ? [{ index, region }] : [];
    });
    const globalQuery = readGlobalQuery(problems, raw.globalQuery);
    const labels = readLabels(problems, raw.labels);
    const versions = readVersions(problems, raw.versions);
    const verification = readVerification(problems, raw.verification);

    for (const key of Object.keys(raw)) {
        if (!topLevelKeys.includes(key) && !secretReferences.has(key)) {
            problems.report(key, `unknown setting; valid settings: ${topLevelKeys.join(", ")}`);
        }
    }
    for (const secret of secretReferences) {
        if (isMissing(raw[secret])) {
            problems.report(secret, "missing; a cluster's kubeconfigSecret names it: set it with `pulumi config set --secret`");
        }
    }
    // Names of clusters that failed validation still count as declared, so
    // that one broken entry is reported once, not once per reference.
    const declaredClusters = (Array.isArray(raw.clusters) ? raw.clusters : [])
        .map((entry) => (isRecord(entry) && typeof entry.name === "string" ? entry.name : ""));
    checkReferences(problems, clusters, declaredClusters, indexedRegions, globalQuery);
    problems.throwIfAny();
    return { clusters, regions: indexedRegions.map(({ region }) => region), globalQuery: globalQuery!, labels, versions, verification };
}

function readCluster(problems: Problems, at: string, value: unknown): Cluster | undefined {
    const type = isRecord(value) ? value.type : undefined;
    if (type === "kind") {
        const entry = readObject(problems, at, value, ["name", "type", "nodeImage", "controlPlaneNodes", "workerNodes"]);
        return entry && {
            type,
            name: requiredString(problems, join(at, "name"), entry.name, dns1123Label),
            nodeImage: readString(problems, join(at, "nodeImage"), entry.nodeImage, kindNodeImage, defaultKindNodeImage),
            controlPlaneNodes: readInteger(problems, join(at, "controlPlaneNodes"), entry.controlPlaneNodes, 1, defaults.kind.controlPlaneNodes),
            workerNodes: readInteger(problems, join(at, "workerNodes"), entry.workerNodes, 0, defaults.kind.workerNodes),
        };
    }
    if (type === "existing") {
        const entry = readObject(problems, at, value, ["name", "type", "kubeconfigPath", "kubeconfigSecret", "context"]);
        if (!entry) {
            return undefined;
        }
        const cluster: ExistingCluster = {
            type,
            name: requiredString(problems, join(at, "name"), entry.name, dns1123Label),
            kubeconfigPath: optionalString(problems, join(at, "kubeconfigPath"), entry.kubeconfigPath, existingFile),
            kubeconfigSecret: optionalString(problems, join(at, "kubeconfigSecret"), entry.kubeconfigSecret, settingName),
            context: optionalString(problems, join(at, "context"), entry.context, { valid: "a kubeconfig context name" }),
        };
        if (!isMissing(entry.kubeconfigPath) && !isMissing(entry.kubeconfigSecret)) {
            problems.report(at, "set kubeconfigPath or kubeconfigSecret, not both");
        }
        if (isMissing(entry.kubeconfigPath) && isMissing(entry.kubeconfigSecret) && isMissing(entry.context)) {
            problems.report(at, "an existing cluster needs kubeconfigPath, kubeconfigSecret or context, so that no stack silently uses whatever kubeconfig is current");
        }
        return cluster;
    }
    problems.bad(join(at, "type"), type, 'expected "kind" (a local kind cluster this stack creates) or "existing" (a cluster reached through a kubeconfig)');
    return undefined;
}

function readRegion(problems: Problems, at: string, value: unknown): Region | undefined {
    const entry = readObject(problems, at, value, [
        "name", "cluster", "namespace", "replicas", "retention", "antiAffinity", "resources", "components",
    ]);
    if (!entry) {
        return undefined;
    }
    const name = requiredString(problems, join(at, "name"), entry.name, dns1123Label);
    const resources = readObject(problems, join(at, "resources"), entry.resources, ["prometheus", "sidecar"]) ?? {};
    const components = readObject(problems, join(at, "components"), entry.components, Object.keys(defaults.region.components)) ?? {};
    const regionDefaults = defaults.region;
    return {
        name,
        cluster: requiredString(problems, join(at, "cluster"), entry.cluster, { valid: "the name of a cluster under clusters" }),
        namespace: readString(problems, join(at, "namespace"), entry.namespace, dns1123Label, name),
        replicas: readInteger(problems, join(at, "replicas"), entry.replicas, 1, regionDefaults.replicas),
        retention: readString(problems, join(at, "retention"), entry.retention, duration, regionDefaults.retention),
        antiAffinity: readChoice(problems, join(at, "antiAffinity"), entry.antiAffinity, ["hard", "soft"], regionDefaults.antiAffinity),
        resources: {
            prometheus: readResources(problems, join(at, "resources.prometheus"), resources.prometheus, regionDefaults.resources.prometheus),
            sidecar: readResources(problems, join(at, "resources.sidecar"), resources.sidecar, regionDefaults.resources.sidecar),
        },
        components: {
            grafana: readBoolean(problems, join(at, "components.grafana"), components.grafana, false),
            alertmanager: readBoolean(problems, join(at, "components.alertmanager"), components.alertmanager, false),
            nodeExporter: readBoolean(problems, join(at, "components.nodeExporter"), components.nodeExporter, false),
            kubeStateMetrics: readBoolean(problems, join(at, "components.kubeStateMetrics"), components.kubeStateMetrics, false),
        },
    };
}

function readGlobalQuery(problems: Problems, value: unknown): GlobalQuery | undefined {
    const at = "globalQuery";
    if (isMissing(value)) {
        problems.report(at, "missing; expected an object with at least `cluster`, the cluster the global query runs in");
        return undefined;
    }
    const entry = readObject(problems, at, value, [
        "cluster", "namespace", "queryReplicas", "frontendReplicas", "resources", "frontend", "chart",
    ]);
    if (!entry) {
        return undefined;
    }
    const fallback = defaults.globalQuery;
    const resources = readObject(problems, join(at, "resources"), entry.resources, ["query", "frontend"]) ?? {};
    const frontend = readObject(problems, join(at, "frontend"), entry.frontend, Object.keys(fallback.frontend)) ?? {};
    return {
        cluster: requiredString(problems, join(at, "cluster"), entry.cluster, { valid: "the name of a cluster under clusters" }),
        namespace: readString(problems, join(at, "namespace"), entry.namespace, dns1123Label, fallback.namespace),
        queryReplicas: readInteger(problems, join(at, "queryReplicas"), entry.queryReplicas, 1, fallback.queryReplicas),
        frontendReplicas: readInteger(problems, join(at, "frontendReplicas"), entry.frontendReplicas, 1, fallback.frontendReplicas),
        resources: {
            query: readResources(problems, join(at, "resources.query"), resources.query, fallback.resources.query),
            frontend: readResources(problems, join(at, "resources.frontend"), resources.frontend, fallback.resources.frontend),
        },
        frontend: {
            splitInterval: readString(problems, join(at, "frontend.splitInterval"), frontend.splitInterval, duration, fallback.frontend.splitInterval),
            maxRetries: readInteger(problems, join(at, "frontend.maxRetries"), frontend.maxRetries, 0, fallback.frontend.maxRetries),
            cacheMaxSize: readString(problems, join(at, "frontend.cacheMaxSize"), frontend.cacheMaxSize, cacheSize, fallback.frontend.cacheMaxSize),
            slowQueryThreshold: readString(problems, join(at, "frontend.slowQueryThreshold"), frontend.slowQueryThreshold, duration, fallback.frontend.slowQueryThreshold),
        },
        chart: readChartSource(problems, join(at, "chart"), entry.chart),
    };
}

const chartSourceKeys = {
    git: ["source", "gitRepository", "gitCommit"],
    local: ["source", "path"],
    repository: ["source", "url", "version"],
} as const;

function readChartSource(problems: Problems, at: string, value: unknown): ChartSource {
    const pinned: ChartSource = {
        source: "git",
        gitRepository: banzaicloudThanosChart.gitRepository,
        gitCommit: banzaicloudThanosChart.gitCommit,
    };
    const source = readChoice(problems, join(at, "source"), isRecord(value) ? value.source : undefined, ["git", "local", "repository"], "git");
    const entry = readObject(problems, at, value, chartSourceKeys[source]);
    if (!entry) {
        return pinned;
    }
    switch (source) {
        case "git":
            return {
                source,
                gitRepository: readString(problems, join(at, "gitRepository"), entry.gitRepository, { valid: "a git URL" }, pinned.gitRepository),
                gitCommit: readString(problems, join(at, "gitCommit"), entry.gitCommit, { pattern: /^[0-9a-f]{40}$/, valid: "a full 40-character commit hash" }, pinned.gitCommit),
            };
        case "local":
            return {
                source,
                path: requiredString(problems, join(at, "path"), entry.path, {
                    valid: "a chart directory (with Chart.yaml) or a packaged chart .tgz",
                    check: (chartPath) => {
                        const resolved = expandHome(chartPath);
                        if (/\.tgz$/.test(resolved) ? !isFile(resolved) : !isFile(path.join(resolved, "Chart.yaml"))) {
                            return `expected a chart directory (with Chart.yaml) or a packaged chart .tgz; nothing like that is at ${resolved}`;
                        }
                        return undefined;
                    },
                }),
            };
        case "repository":
            return {
                source,
                url: requiredString(problems, join(at, "url"), entry.url, {
                    pattern: /^(https?|oci):\/\/\S+$/,
                    valid: "a Helm repository URL (https://…) or an OCI registry path (oci://registry/path, the chart name `thanos` is appended)",
                }),
                version: readString(problems, join(at, "version"), entry.version, { pattern: /^\d+\.\d+\.\d+$/, valid: "a chart version X.Y.Z" }, banzaicloudThanosChart.version),
            };
    }
}

function readLabels(problems: Problems, value: unknown): Labels {
    const entry = readObject(problems, "labels", value, ["replica", "region"]) ?? {};
    const labels = {
        replica: readString(problems, "labels.replica", entry.replica, labelName, defaults.labels.replica),
        region: readString(problems, "labels.region", entry.region, labelName, defaults.labels.region),
    };
    if (labels.replica === labels.region) {
        problems.bad("labels.region", labels.region, "must differ from labels.replica: deduplication drops the replica label, the region label must survive it");
    }
    return labels;
}

function readVersions(problems: Problems, value: unknown): Versions {
    const entry = readObject(problems, "versions", value, Object.keys(defaultVersions)) ?? {};
    return {
        thanos: readString(problems, "versions.thanos", entry.thanos, {
            pattern: /^v\d+\.\d+\.\d+$/,
            valid: `a Thanos release vX.Y.Z from ${supportedThanos.oldest} to ${supportedThanos.newest}`,
            check: (version) =>
                compareVersions(version, supportedThanos.oldest) < 0
                    ? `Thanos older than ${supportedThanos.oldest} cannot read the external labels of Prometheus 3; supported: ${supportedThanos.oldest} to ${supportedThanos.newest}`
                    : compareVersions(version, supportedThanos.newest) > 0
                      ? `the Thanos flags this program sets are checked up to ${supportedThanos.newest}; supported: ${supportedThanos.oldest} to ${supportedThanos.newest}`
                      : undefined,
        }, defaultVersions.thanos),
        kubePrometheusStack: readString(problems, "versions.kubePrometheusStack", entry.kubePrometheusStack, {
            pattern: /^\d+\.\d+\.\d+$/,
            valid: `a kube-prometheus-stack chart version X.Y.Z (default ${defaultVersions.kubePrometheusStack})`,
            // The values and the operator CRDs chart are known only for these.
            check: (version) => (version in operatorCrdsChartFor
                ? undefined
                : `the values and the matching prometheus-operator-crds chart are checked for kube-prometheus-stack ${Object.keys(operatorCrdsChartFor).join(", ")} only; use one of those`),
        }, defaultVersions.kubePrometheusStack),
    };
}

function readVerification(problems: Problems, value: unknown): Verification {
    const entry = readObject(problems, "verification", value, ["enabled", "timeout"]) ?? {};
    const timeout = readString(problems, "verification.timeout", entry.timeout,
        { pattern: /^\d+(s|m)$/, valid: "a time in seconds or minutes such as 600s or 10m", check: (text) => (parseInt(text, 10) > 0 ? undefined : "must be longer than 0") },
        defaults.verification.timeout);
    return {
        enabled: readBoolean(problems, "verification.enabled", entry.enabled, defaults.verification.enabled),
        timeoutSeconds: parseInt(timeout, 10) * (timeout.endsWith("m") ? 60 : 1),
    };
}

function readResources(problems: Problems, at: string, value: unknown, fallback: ContainerResources): ContainerResources {
    const entry = readObject(problems, at, value, ["requests", "limits"]) ?? {};
    const read = (kind: "requests" | "limits"): Quantities => {
        const quantities = readObject(problems, join(at, kind), entry[kind], ["cpu", "memory"]) ?? {};
        return {
            cpu: readString(problems, join(at, `${kind}.cpu`), quantities.cpu, quantity, fallback[kind].cpu),
            memory: readString(problems, join(at, `${kind}.memory`), quantities.memory, quantity, fallback[kind].memory),
        };
    };
    return { requests: read("requests"), limits: read("limits") };
}

/** Cross-entry rules: names unique, references resolve, nothing collides in a cluster. */
function checkReferences(
    problems: Problems,
    clusters: Cluster[],
    /** Every entry's name by its index, "" where it has none. */
    clusterNames: string[],
    indexedRegions: { index: number; region: Region }[],
    globalQuery: GlobalQuery | undefined,
): void {
    const at = (index: number, key: string) => `regions[${index}].${key}`;
    reportDuplicates(problems, "clusters", clusterNames.map((name, index) => ({ index, name })));
    reportDuplicates(problems, "regions", indexedRegions.map(({ index, region }) => ({ index, name: region.name })));

    const declared = clusterNames.filter((name) => name !== "");
    for (const { index, region } of indexedRegions) {
        if (region.cluster !== "" && !declared.includes(region.cluster)) {
            problems.bad(at(index, "cluster"), region.cluster, `expected one of the clusters: ${declared.join(", ") || "(none declared)"}`);
        }
    }
    if (globalQuery === undefined) {
        return;
    }
    if (globalQuery.cluster !== "" && !declared.includes(globalQuery.cluster)) {
        problems.bad("globalQuery.cluster", globalQuery.cluster, `expected one of the clusters: ${declared.join(", ") || "(none declared)"}`);
    }

    // The global query finds sidecars through in-cluster DNS, so today every
    // region must live in its cluster; the model already names a cluster per
    // region for when cross-cluster endpoints arrive.
    for (const { index, region } of indexedRegions) {
        if (declared.includes(region.cluster) && region.cluster !== globalQuery.cluster) {
            problems.bad(at(index, "cluster"), region.cluster, `must be "${globalQuery.cluster}", the cluster of the global query: it reaches the sidecars through in-cluster DNS`);
        }
    }
    clusterNames.forEach((name, index) => {
        if (name !== "" && name !== globalQuery.cluster && !indexedRegions.some(({ region }) => region.cluster === name)) {
            problems.report(`clusters[${index}]`, `cluster "${name}" is declared but no region and not the global query run in it`);
        }
    });

    for (const { index, region } of indexedRegions) {
        const first = indexedRegions.find((other) => other.region.namespace === region.namespace)!;
        if (first.index !== index) {
            problems.bad(at(index, "namespace"), region.namespace, `already used by region "${first.region.name}": each region needs a namespace of its own`);
        }
        if (region.namespace === globalQuery.namespace) {
            problems.bad(at(index, "namespace"), region.namespace, "already used by globalQuery.namespace: the global query needs a namespace of its own");
        }
    }

    for (const { index, region } of indexedRegions) {
        // Node-exporter binds host port 9100 on every node: one per cluster.
        const exporter = indexedRegions.find((other) => other.region.cluster === region.cluster && other.region.components.nodeExporter);
        if (region.components.nodeExporter && exporter !== undefined && exporter.index !== index) {
            problems.bad(at(index, "components.nodeExporter"), true,
                `node-exporter already comes from region "${exporter.region.name}" (it binds host port 9100 on every node): enable it for one region per cluster`);
        }

        const cluster = clusters.find((c) => c.name === region.cluster);
        if (cluster?.type === "kind" && region.antiAffinity === "hard") {
            // kind lets pods onto its control plane only when there are no workers.
            const schedulableNodes = cluster.workerNodes > 0 ? cluster.workerNodes : cluster.controlPlaneNodes;
            if (region.replicas > schedulableNodes) {
                problems.bad(at(index, "replicas"), region.replicas,
                    `hard anti-affinity puts each replica on its own node and kind cluster "${cluster.name}" schedules on ${schedulableNodes}: use at most ${schedulableNodes} replicas, more workerNodes, or antiAffinity "soft"`);
            }
        }
    }
}

function reportDuplicates(problems: Problems, list: string, entries: { index: number; name: string }[]): void {
    for (const { index, name } of entries) {
        const first = entries.find((other) => other.name === name)!;
        if (name !== "" && first.index !== index) {
            problems.bad(`${list}[${index}].name`, name, `already used by ${list}[${first.index}]: each name must be unique`);
        }
    }
}

const kindNodeImage = {
    valid: `a kind node image tagged with its Kubernetes version, such as ${defaultKindNodeImage}`,
    check: (image: string) => {
        const tag = /:(v[^:@/]+)(@sha256:[0-9a-f]{64})?$/.exec(image)?.[1];
        if (tag === undefined || parseVersion(tag) === undefined) {
            return `expected a kind node image tagged vX.Y.Z (its Kubernetes version), such as ${defaultKindNodeImage}`;
        }
        if (compareVersions(tag, oldestKubernetes) < 0) {
            return `Kubernetes ${tag} is older than ${oldestKubernetes}, the oldest kube-prometheus-stack 88 installs on`;
        }
        return undefined;
    },
};

const settingName = { pattern: /^[A-Za-z][A-Za-z0-9_-]*$/, valid: "the name of a secret stack setting, such as prodKubeconfig" };

const existingFile = {
    valid: "a path to a kubeconfig file",
    check: (file: string) => (isFile(expandHome(file)) ? undefined : `no file at ${expandHome(file)}; expected a path to a kubeconfig file`),
};

function optionalString(
    problems: Problems,
    at: string,
    value: unknown,
    rule: Parameters<typeof readString>[3],
): string | undefined {
    return isMissing(value) ? undefined : readString(problems, at, value, rule);
}

export function expandHome(file: string): string {
    return file === "~" || file.startsWith("~/") ? path.join(os.homedir(), file.slice(1)) : file;
}

function isFile(file: string): boolean {
    try {
        return fs.statSync(file).isFile();
    } catch {
        return false;
    }
}

function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}
