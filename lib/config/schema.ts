// The stack config, declared once: the typed model, every default, every rule
// a value must pass, and the words that explain it (the leaves every setting
// is built from are in lib/config/settings.ts). The checks (lib/config/validate.ts),
// the editor's JSON Schema (schema/stack.schema.json) and the README's
// configuration reference are all derived from what is declared here.
//
// A rule belongs here when the component a value ends up in would refuse it
// at start: Kubernetes, the Prometheus CRD, kind, Thanos. The sources each
// rule was read from are cited beside it.
import * as fs from "fs";
import { isIP } from "net";
import * as os from "os";
import * as path from "path";
import { z } from "zod";
import { parseQuantity } from "../kubernetes/quantity";
import {
    Leaf,
    choice,
    containerResources,
    dns1123Label,
    dns1123Subdomain,
    flag,
    labelName,
    positiveDuration,
    prometheusDurationSeconds,
    settings,
    text,
    wholeNumber,
} from "./settings";
import {
    banzaicloudThanosChart,
    compareVersions,
    defaultKindNodeImage,
    defaultVersions,
    oldestKubernetes,
    oldestKubernetesReason,
    operatorCrdsChartFor,
    parseVersion,
    supportedThanos,
} from "../versions";

// ---------------------------------------------------------------- defaults

export const defaults = {
    region: {
        replicas: 2,
        retention: "10d",
        /**
         * With long-term storage the sidecar uploads every 2h block and the
         * Store Gateway serves it: Prometheus only needs to hold what a bucket
         * outage could keep from being uploaded, a weekend's worth.
         */
        retentionWithStorage: "3d",
        antiAffinity: "hard" as "hard" | "soft",
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
        /** Each memcached of the shared results cache: it stores what it is given, three quarters of its limit (lib/queryCache.ts). */
        memcached: {
            replicas: 2,
            // 96MB each, together more than the two 128MB in-memory caches they replace held of distinct results.
            resources: { requests: { cpu: "20m", memory: "64Mi" }, limits: { cpu: "200m", memory: "128Mi" } },
        },
    },
    kind: { controlPlaneNodes: 1, workerNodes: 2 },
    storage: {
        retention: { raw: "30d", fiveMinutes: "90d", oneHour: "1y" },
        downsampling: true,
        storeGateway: {
            replicas: 2,
            resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "1", memory: "1Gi" } },
        },
        compactor: {
            volumeSize: "20Gi",
            resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "1", memory: "2Gi" } },
        },
        inCluster: { namespace: "object-store", volumeSize: "20Gi" },
    },
    labels: { replica: "replica", region: "cluster" },
    verification: { enabled: true, timeout: "10m" },
    alerting: {
        enabled: true,
        evaluationInterval: "30s",
        /** Long enough that a rollout (a Prometheus restarting, a sidecar reconnecting) does not page. */
        for: "5m",
        /** A dozen rules over small answers, and a local TSDB holding their ALERTS. */
        ruler: { requests: { cpu: "20m", memory: "64Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
    },
};

// ---------------------------------------------------------------- clusters

/** kind sets each node container's hostname to its name (kind v0.32.0 pkg/cluster/internal/providers/docker/provision.go:217), a DNS label. */
const longestHostname = 63;

/** kind's node names: the first of a role has no number, then 2, 3, … (kind v0.32.0 pkg/cluster/internal/providers/common/namer.go:25-36). */
function kindNodeNames(name: string, controlPlaneNodes: number, workerNodes: number): string[] {
    const role = (kind: string, count: number) => Array.from({ length: count }, (_, i) => `${name}-${kind}${i === 0 ? "" : i + 1}`);
    return [...role("control-plane", controlPlaneNodes), ...role("worker", workerNodes)];
}

const kindNodeImageValid = `expected a kind node image tagged vX.Y.Z (its Kubernetes version), such as ${defaultKindNodeImage}`;

const kindNodeImage = {
    valid: kindNodeImageValid,
    check: (image: string) => {
        const tag = /:(v[^:@/]+)(@sha256:[0-9a-f]{64})?$/.exec(image)?.[1];
        if (tag === undefined || parseVersion(tag) === undefined) {
            return kindNodeImageValid;
        }
        if (compareVersions(tag, oldestKubernetes) < 0) {
            return `Kubernetes ${tag} is older than ${oldestKubernetes}, the oldest this stack runs on: ${oldestKubernetesReason}`;
        }
        return undefined;
    },
};

const clusterName = text({ description: "unique name; for kind also the kind cluster name (kubectl context kind-<name>)", ...dns1123Label }, dns1123Label);

const kindClusterSchema = settings(
    {
        name: clusterName,
        type: z.literal("kind").meta({ description: "a local kind cluster this stack creates and deletes" }),
        nodeImage: text({ description: "kind node image, tagged with its Kubernetes version", valid: kindNodeImage.valid }, kindNodeImage).default(
            defaultKindNodeImage,
        ),
        // etcd needs a majority of control planes: 2 survive no more failures than 1
        // and fail twice as often. kind itself accepts any count ≥ 1 (kind v0.32.0
        // pkg/internal/apis/config/validate.go:92-96).
        controlPlaneNodes: wholeNumber({ description: "control-plane nodes (1, or 3 and more, odd: etcd needs a majority)" }, 1, (count) =>
            count % 2 === 0
                ? `an even number of control planes tolerates no more failures than ${count - 1} and loses etcd's majority more often: use ${count - 1} or ${count + 1}`
                : undefined,
        ).default(defaults.kind.controlPlaneNodes),
        workerNodes: wholeNumber({ description: "worker nodes; with hard anti-affinity a region needs one per replica" }, 0).default(defaults.kind.workerNodes),
    },
    "a local kind cluster",
).superRefine((cluster, ctx) => {
    const longest = kindNodeNames(cluster.name, cluster.controlPlaneNodes, cluster.workerNodes).reduce((a, b) => (b.length > a.length ? b : a));
    if (longest.length > longestHostname) {
        ctx.addIssue({
            code: "custom",
            path: ["name"],
            message: `kind names its nodes after the cluster and "${longest}" has ${longest.length} characters, more than a hostname may (${longestHostname}): use at most ${cluster.name.length - (longest.length - longestHostname)} characters`,
        });
    }
});

export function isFile(file: string): boolean {
    try {
        return fs.statSync(file).isFile();
    } catch {
        return false;
    }
}

/** Where `~` led, for a path that was not found. */
const homeNote = (file: string) => (file === "~" || file.startsWith("~/") ? ` (~ is ${os.homedir()})` : "");

export function expandHome(file: string): string {
    return file === "~" || file.startsWith("~/") ? path.join(os.homedir(), file.slice(1)) : file;
}

/** What `pulumi config set` takes as a key: the setting an existing cluster's kubeconfigSecret names. */
export const secretSettingName = /^[A-Za-z][A-Za-z0-9_-]*$/;

/** Clouds whose annotation for an internal load balancer the program knows (components/region.ts, internalLoadBalancerAnnotations). */
export const loadBalancerClouds = ["aws", "gcp", "azure", "other"] as const;

/** Kubernetes annotation names: an optional DNS-subdomain prefix and `/`, then a name of at most 63 characters (apimachinery validation IsQualifiedName). */
const qualifiedName =
    /^(?:(?=[^/]{1,253}\/)[a-z0-9]([-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?(?=.{1,63}$)[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

const annotationNameValid = "expected an annotation name such as example.com/name: a DNS subdomain prefix and a name of letters, digits, '-', '_' and '.'";

/** What is wrong with a CIDR, as Kubernetes validates loadBalancerSourceRanges (an address and a prefix length within its family), if anything. */
function cidrProblem(value: string): string | undefined {
    const [address, prefix, ...rest] = value.split("/");
    const family = isIP(address);
    if (family === 0 || prefix === undefined || rest.length > 0 || !/^\d{1,3}$/.test(prefix)) {
        return "expected a CIDR: an IPv4 or IPv6 address and a prefix length, such as 10.0.0.0/8 or fd00::/8";
    }
    const longest = family === 4 ? 32 : 128;
    return Number(prefix) > longest ? `expected a prefix length of at most ${longest} for an IPv${family} address` : undefined;
}

const existingClusterSchema = settings(
    {
        name: clusterName,
        type: z.literal("existing").meta({ description: "a cluster you run, reached through a kubeconfig" }),
        kubeconfigPath: text(
            { description: "a kubeconfig file (~ allowed)", valid: "expected a path to a kubeconfig file" },
            {
                secretable: true,
                // The value itself is never quoted here: it may be a secret, and "got" masks it.
                check: (file) => (isFile(expandHome(file)) ? undefined : `no such file${homeNote(file)}; expected a path to a kubeconfig file`),
            },
        ).optional(),
        kubeconfigSecret: text(
            {
                description: 'the name of a secret setting holding a whole kubeconfig (pulumi config set --secret prodKubeconfig "$(cat prod.yaml)")',
                valid: "expected the name of a secret stack setting, such as prodKubeconfig",
            },
            {
                pattern: secretSettingName,
                // Read when parsing, after the shape below exists.
                check: (name: string): string | undefined =>
                    Object.keys(stackConfigShape).includes(name)
                        ? `${name} is a setting of its own: name a setting that holds only the kubeconfig, such as prodKubeconfig`
                        : undefined,
            },
        ).optional(),
        context: text(
            { description: "kubeconfig context; alone, looked up in $KUBECONFIG or ~/.kube/config", valid: "expected a kubeconfig context name" },
            { pattern: /^\S+$/, secretable: true },
        ).optional(),
        storeApiExposure: choice(
            {
                description:
                    "how a global query in another cluster reaches this cluster's sidecars: loadBalancer, one LoadBalancer Service per Prometheus replica (mutual TLS)",
            },
            ["loadBalancer"],
        ).optional(),
        loadBalancer: settings(
            {
                cloud: choice(
                    { description: "the cloud whose annotation makes the load balancers internal (aws, gcp, azure), or other: your annotations alone" },
                    loadBalancerClouds,
                ).optional(),
                internal: flag({
                    description:
                        "internal load balancers, reachable only from the cloud network (peered networks, VPN), which the global query's cluster must share",
                }).default(true),
                sourceRanges: z
                    .array(
                        text({ description: "a CIDR allowed to connect", valid: "expected a CIDR such as 10.0.0.0/8 or fd00::/8" }, { check: cidrProblem }),
                        { error: "expected a list of CIDRs such as [10.0.0.0/8]" },
                    )
                    .meta({
                        description:
                            "the only networks that may connect (spec.loadBalancerSourceRanges): the global query's egress addresses. Valid: a list of CIDRs",
                    })
                    .optional(),
                annotations: z
                    .record(z.string(), z.string({ error: "expected text (quote numbers and true/false)" }), {
                        error: "expected a map of annotation names to text",
                    })
                    .superRefine((annotations, ctx) => {
                        for (const name of Object.keys(annotations).filter((each) => !qualifiedName.test(each))) {
                            ctx.addIssue({ code: "custom", path: [name], params: { showValue: false }, message: annotationNameValid });
                        }
                    })
                    .meta({
                        description:
                            "annotations for each load balancer Service, added to (and overriding) the internal one. Valid: a map of annotation names to text",
                        propertyNames: { pattern: qualifiedName.source },
                    })
                    .optional(),
            },
            "the load balancers of storeApiExposure: loadBalancer",
        ).optional(),
    },
    "an existing cluster: at least one of kubeconfigPath, kubeconfigSecret or context",
).superRefine((cluster, ctx) => {
    const balancer = cluster.loadBalancer;
    if (balancer !== undefined && cluster.storeApiExposure !== "loadBalancer") {
        ctx.addIssue({ code: "custom", path: ["loadBalancer"], params: { showValue: false }, message: "only with storeApiExposure: loadBalancer" });
    }
    if (cluster.storeApiExposure === "loadBalancer") {
        const internal = balancer?.internal ?? true;
        if (internal && (balancer?.cloud === undefined || (balancer.cloud === "other" && Object.keys(balancer.annotations ?? {}).length === 0))) {
            ctx.addIssue({
                code: "custom",
                path: ["loadBalancer", "cloud"],
                params: { showValue: false },
                message:
                    "a load balancer is public unless the cloud is told otherwise: set loadBalancer.cloud to aws, gcp or azure for its internal load balancer, give your own annotations with cloud: other, or set internal: false with sourceRanges",
            });
        }
        if (!internal && (balancer?.sourceRanges ?? []).length === 0) {
            ctx.addIssue({
                code: "custom",
                path: ["loadBalancer", "sourceRanges"],
                params: { showValue: false },
                message:
                    "a public load balancer without sourceRanges opens the StoreAPI port (10901) to the whole internet, mutual TLS or not: list the global query's egress CIDRs, or [0.0.0.0/0, ::/0] to choose that openly",
            });
        }
    }
    if (cluster.kubeconfigPath !== undefined && cluster.kubeconfigSecret !== undefined) {
        ctx.addIssue({ code: "custom", path: [], message: "set kubeconfigPath or kubeconfigSecret, not both", params: { showValue: false } });
    }
    if (cluster.kubeconfigPath === undefined && cluster.kubeconfigSecret === undefined && cluster.context === undefined) {
        ctx.addIssue({
            code: "custom",
            path: [],
            params: { showValue: false },
            message: "an existing cluster needs kubeconfigPath, kubeconfigSecret or context, so that no stack silently uses whatever kubeconfig is current",
        });
    }
});

const clusterTypeMessage = 'expected "kind" (a local kind cluster this stack creates) or "existing" (a cluster reached through a kubeconfig)';

const clusterSchema = z
    .discriminatedUnion("type", [kindClusterSchema, existingClusterSchema], { error: clusterTypeMessage })
    .meta({ description: "a cluster: type kind or existing" });

// ---------------------------------------------------------------- regions

const regionSchema = settings(
    {
        name: text({ description: "unique; the value of the region label", ...dns1123Label }, dns1123Label),
        cluster: text({
            description: "the cluster it runs in; outside the global query's cluster its sidecars are reached over mutual TLS",
            valid: "expected the name of a cluster under clusters",
        }),
        namespace: text({ description: "its own namespace (default: the region's name)", ...dns1123Label }, dns1123Label).optional(),
        replicas: wholeNumber({ description: "Prometheus replicas, each with a Thanos sidecar" }, 1).default(defaults.region.replicas),
        // Its default depends on storage (regionRetentionDefault), filled in by lib/config/validate.ts.
        retention: positiveDuration(
            {
                description: `how long Prometheus keeps data (default ${defaults.region.retention}; ${defaults.region.retentionWithStorage} with long-term storage, which keeps the rest)`,
            },
            "15d or 36h",
            "Prometheus would keep its default instead",
        ).optional(),
        antiAffinity: choice({ description: "hard: one replica per node, guaranteed; soft: preferred (when replicas may outnumber nodes)" }, [
            "hard",
            "soft",
        ]).default(defaults.region.antiAffinity),
        resources: settings(
            {
                prometheus: containerResources("each Prometheus", defaults.region.resources.prometheus),
                sidecar: containerResources("each Thanos sidecar", defaults.region.resources.sidecar),
            },
            "container sizes",
        ).prefault({}),
        storeApiAddresses: z
            .array(
                text(
                    {
                        description:
                            "for a region in an existing cluster the global query is not in: the address (host:port) that reaches each replica's sidecar Service, in replica order; each must reach exactly one replica",
                        valid: "expected host:port",
                    },
                    { pattern: /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?:\d{1,5}$/ },
                ),
                { error: "expected a list of host:port, one per replica" },
            )
            .meta({
                description:
                    "for a region in an existing cluster the global query is not in: host:port reaching each replica's sidecar Service, one per replica, in order. Valid: a list of host:port",
            })
            .optional(),
        // Its size's default depends on the retention (prometheusVolumeDefault), filled in by lib/config/validate.ts.
        volume: settings(
            {
                size: volumeSize({
                    description:
                        "each Prometheus replica's volume, where its TSDB outlives pod restarts, drains and rollouts (default from the retention: 2Gi plus 0.5Gi a day, at least 10Gi); Prometheus deletes its oldest blocks past four fifths of it",
                }).optional(),
                storageClass: text(
                    { description: "the StorageClass of the volumes (default: the cluster's default StorageClass)", ...dns1123Subdomain },
                    dns1123Subdomain,
                ).optional(),
            },
            "each Prometheus replica's persistent volume",
        ).prefault({}),
        components: settings(
            {
                grafana: flag({ description: "kube-prometheus-stack's own Grafana in the region" }).default(false),
                alertmanager: flag({ description: "Alertmanager and its alerting rules" }).default(false),
                nodeExporter: flag({ description: "node-exporter (host port 9100: one region per cluster)" }).default(false),
                kubeStateMetrics: flag({ description: "kube-state-metrics and its rules" }).default(false),
            },
            "optional parts of kube-prometheus-stack",
        ).prefault({}),
    },
    "a region: one kube-prometheus-stack with HA Prometheus and Thanos sidecars",
).transform((region) => ({ ...region, namespace: region.namespace ?? region.name }));

// ---------------------------------------------------------------- global query

/**
 * Go durations: what every supported Thanos reads its query frontend's
 * duration flags with. v0.37 parses them with time.ParseDuration (kingpin
 * values.go:140-141); v0.42 also takes d and w (kingpin v2.4.0 values.go:141-142,
 * str2duration), so only the common ground works on both.
 */
const goDuration = /^[+-]?(?:0|(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/;

function goDurationSeconds(value: string): number | undefined {
    if (!goDuration.test(value)) {
        return undefined;
    }
    const scale: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, μs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
    const sign = value.startsWith("-") ? -1 : 1;
    return sign * [...value.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)].reduce((sum, [, number, unit]) => sum + Number(number) * scale[unit], 0);
}

const cacheSizeValid = "expected a size such as 128MB or 256MiB, at least 1 byte";

const goDurationValid = "expected a duration in h, m and s such as 24h, 90m or 1h30m (Thanos v0.37 reads no d or w)";

/**
 * The frontend's in-memory cache size, read with go-humanize's ParseBytes
 * (Thanos internal/cortex/chunk/cache/fifo_cache.go:50-64, v0.37.0 and
 * v0.42.4): case-insensitive, K/KB/M/MB/G/GB decimal, Ki/KiB/Mi/MiB/Gi/GiB binary.
 */
const byteSize = /^(\d+(?:\.\d+)?) ?(b|k|kb|ki|kib|m|mb|mi|mib|g|gb|gi|gib)?$/i;

export function byteSizeBytes(value: string): number | undefined {
    const match = byteSize.exec(value);
    if (match === null) {
        return undefined;
    }
    const unit = (match[2] ?? "b").toLowerCase().replace(/b$/, "").replace(/^$/, "b");
    const scale: Record<string, number> = { b: 1, k: 1e3, ki: 1024, m: 1e6, mi: 1024 ** 2, g: 1e9, gi: 1024 ** 3 };
    return Number(match[1]) * scale[unit];
}

const gitRepositoryValid = "expected a git repository URL (https://, ssh://, git://, file:// or user@host:path)";

const gitRepository = {
    valid: gitRepositoryValid,
    check: (url: string) => {
        if (/^[\w.-]+@[\w.-]+:[^\s]+$/.test(url)) {
            return undefined;
        }
        try {
            const parsed = new URL(url);
            return ["https:", "http:", "ssh:", "git:", "file:"].includes(parsed.protocol) &&
                (parsed.protocol === "file:" || parsed.hostname !== "") &&
                !/\s/.test(url)
                ? undefined
                : gitRepositoryValid;
        } catch {
            return gitRepositoryValid;
        }
    },
};

// ---------------------------------------------------------------- charts and images from a mirror

const absolutePathNote = "an absolute path or one starting with ~/ (the program runs in the project directory, the provider elsewhere)";

/** An absolute path (or ~/…) on this machine, checked by `exists`; relative paths are refused, being relative to nobody knows what. */
function localPath(leaf: Leaf, exists: (resolved: string) => boolean) {
    return text(leaf, {
        secretable: true,
        check: (value) => {
            const resolved = expandHome(value);
            if (!path.isAbsolute(resolved)) {
                return `a relative path; expected ${absolutePathNote}`;
            }
            return exists(resolved) ? undefined : `nothing like that there${homeNote(value)}; ${leaf.valid}`;
        },
    });
}

function isDirectory(directory: string): boolean {
    try {
        return fs.statSync(directory).isDirectory();
    } catch {
        return false;
    }
}

/** A chart on disk: a packaged .tgz, or a directory with Chart.yaml. */
const chartPath = () =>
    localPath(
        { description: "a packaged chart .tgz or an unpacked chart directory", valid: "expected a chart directory (with Chart.yaml) or a packaged chart .tgz" },
        (resolved) => (/\.tgz$/.test(resolved) ? isFile(resolved) : isFile(path.join(resolved, "Chart.yaml"))),
    );

/**
 * The repositories Helm, embedded in pulumi-kubernetes, can read: http(s)
 * Helm repositories and OCI registries (helm v3.20.2 pkg/getter/getter.go:199-217,
 * no other scheme without a plugin). A file:// repository is read by the program
 * itself (lib/kubernetes/charts.ts), which hands the provider the .tgz its index.yaml names.
 */
const chartRepositoryValid = "expected a Helm repository (https://, http:// or file:// with an index.yaml) or an OCI registry path (oci://registry/path)";

function chartRepositoryProblem(url: string): string | undefined {
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
    if (scheme === undefined) {
        return /^[\w.-]+\.[a-z]{2,}(:\d+)?(\/|$)/i.test(url) ? `no scheme; ${chartRepositoryValid}` : chartRepositoryValid;
    }
    if (!["https", "http", "file", "oci"].includes(scheme)) {
        return `${scheme}:// is not a chart repository Helm reads; ${chartRepositoryValid}`;
    }
    if (/\s/.test(url)) {
        return chartRepositoryValid;
    }
    if (scheme === "file") {
        const directory = url.slice("file://".length);
        if (!path.isAbsolute(directory)) {
            return `expected file:///absolute/path (three slashes: file:// and an absolute path); ${chartRepositoryValid}`;
        }
        return isFile(path.join(directory, "index.yaml"))
            ? undefined
            : `no index.yaml in ${directory} (helm repo index ${directory} writes it); ${chartRepositoryValid}`;
    }
    return /^[a-z]+:\/\/[^\s/]+/i.test(url) ? undefined : `no host; ${chartRepositoryValid}`;
}

const chartRepositoryUrl = (description: string) => text({ description, valid: chartRepositoryValid }, { secretable: true, check: chartRepositoryProblem });

/** One chart's own source, over the mirror: a chart on disk or a repository holding it at the pinned version. */
const chartOverride = (chart: string) =>
    z
        .discriminatedUnion(
            "source",
            [
                settings(
                    {
                        source: z.literal("local").meta({ description: "a chart on disk" }),
                        path: chartPath(),
                    },
                    `${chart} from a directory or .tgz`,
                ),
                settings(
                    {
                        source: z.literal("repository").meta({ description: "a Helm repository or OCI registry holding the chart at its pinned version" }),
                        url: chartRepositoryUrl(`the repository; for oci:// the registry path the chart name ${chart} is appended to`),
                    },
                    `${chart} from a repository`,
                ),
            ],
            { error: "expected one of local, repository" },
        )
        .meta({ description: `where the ${chart} chart comes from (default: charts.mirror, else its public repository)` });

const chartMirrorSchema = z
    .discriminatedUnion(
        "source",
        [
            settings(
                {
                    source: z
                        .literal("local")
                        .meta({ description: "a directory holding every chart as `helm pull` saves it, <chart>-<version>.tgz, or unpacked as <chart>/" }),
                    path: localPath({ description: "the directory", valid: "expected a directory of charts" }, isDirectory),
                },
                "every chart from a directory",
            ),
            settings(
                {
                    source: z.literal("repository").meta({ description: "a Helm repository or OCI registry holding every chart at its pinned version" }),
                    url: chartRepositoryUrl("the repository; for oci:// the registry path each chart's name is appended to"),
                },
                "every chart from a repository",
            ),
        ],
        { error: "expected one of local, repository" },
    )
    .meta({ description: "where every chart comes from, at the versions this program pins (npm run images -- --charts lists them)" });

export const chartsSchema = settings(
    {
        mirror: chartMirrorSchema.optional(),
        kubePrometheusStack: chartOverride("kube-prometheus-stack").optional(),
        prometheusOperatorCrds: chartOverride("prometheus-operator-crds").optional(),
        grafana: chartOverride("grafana").optional(),
    },
    "where the Helm charts come from: one mirror for all, or a source per chart (the thanos chart: globalQuery.chart)",
).prefault({});

/**
 * An image registry prefix as a container runtime reads the front of an image
 * reference: a host (with a dot or a port, or localhost, else the runtime takes
 * it for a Docker Hub namespace: distribution/reference normalize.go, splitDockerDomain)
 * and lower-case path components (reference regexp.go, the path component grammar).
 */
const registryHost = /^(?:localhost|\[[0-9a-fA-F:]+\]|[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*)(?::\d{1,5})?$/;
const registryPathComponent = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const registryPrefixValid =
    "expected a registry host with an optional path, without scheme or trailing /, such as registry.example.com/mirror or registry.example.com:5000";

function registryPrefixProblem(prefix: string): string | undefined {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(prefix)) {
        return `no scheme: images are pulled as host/path/name:tag; ${registryPrefixValid}`;
    }
    if (prefix.endsWith("/")) {
        return `no trailing /: the image's repository is appended after a /; ${registryPrefixValid}`;
    }
    const [host, ...components] = prefix.split("/");
    if (!registryHost.test(host) || !components.every((component) => registryPathComponent.test(component))) {
        return registryPrefixValid;
    }
    if (!host.includes(".") && !host.includes(":") && host !== "localhost") {
        return `"${host}" has no dot or port, so container runtimes read it as a Docker Hub namespace, not a registry; ${registryPrefixValid}`;
    }
    return undefined;
}

const imagesSchema = settings(
    {
        registry: text(
            {
                description:
                    "a registry prefix every image is pulled from instead of its own registry: quay.io/thanos/thanos:v0.42.4 becomes <registry>/thanos/thanos:v0.42.4 (npm run images lists them)",
                valid: registryPrefixValid,
            },
            { check: registryPrefixProblem },
        ).optional(),
    },
    "where the images come from",
).prefault({});

const chartSourceSchema = z
    .discriminatedUnion(
        "source",
        [
            settings(
                {
                    source: z.literal("git").meta({ description: "fetched once with git into ~/.cache/thanos-global-view/charts and reused" }),
                    gitRepository: text(
                        { description: "the banzai-charts repository or a mirror", valid: gitRepository.valid },
                        { ...gitRepository, secretable: true },
                    ).default(banzaicloudThanosChart.gitRepository),
                    gitCommit: text(
                        { description: "the commit whose thanos/ directory is the chart", valid: "expected a full 40-character commit hash" },
                        { pattern: /^[0-9a-f]{40}$/ },
                    ).default(banzaicloudThanosChart.gitCommit),
                },
                "the chart from a git repository",
            ),
            settings(
                {
                    source: z.literal("local").meta({ description: "a chart on disk (air-gapped machines)" }),
                    path: chartPath(),
                },
                "the chart from a directory or .tgz",
            ),
            settings(
                {
                    source: z.literal("repository").meta({ description: "a Helm or OCI repository that mirrors the chart" }),
                    url: chartRepositoryUrl("the repository; for oci:// the registry path the chart name thanos is appended to"),
                    version: text({ description: "the chart version", valid: "expected a chart version X.Y.Z" }, { pattern: /^\d+\.\d+\.\d+$/ }).default(
                        banzaicloudThanosChart.version,
                    ),
                },
                "the chart from a Helm repository",
            ),
        ],
        { error: "expected one of git, local, repository" },
    )
    .meta({
        description: `where the banzaicloud thanos chart comes from (default: charts.mirror if set, else git: ${banzaicloudThanosChart.gitRepository} at ${banzaicloudThanosChart.gitCommit})`,
    });

const globalQuerySchema = settings(
    {
        cluster: text({ description: "the cluster it runs in", valid: "expected the name of a cluster under clusters" }),
        namespace: text({ description: "its namespace", ...dns1123Label }, dns1123Label).default(defaults.globalQuery.namespace),
        queryReplicas: wholeNumber({ description: "Thanos Query replicas, spread over nodes" }, 1).default(defaults.globalQuery.queryReplicas),
        frontendReplicas: wholeNumber({ description: "Thanos Query Frontend replicas, spread over nodes" }, 1).default(defaults.globalQuery.frontendReplicas),
        resources: settings(
            {
                query: containerResources("each Thanos Query", defaults.globalQuery.resources.query),
                frontend: containerResources("each Thanos Query Frontend", defaults.globalQuery.resources.frontend),
            },
            "container sizes",
        ).prefault({}),
        frontend: settings(
            {
                // Thanos refuses to start with a results cache and no split
                // (pkg/queryfrontend/config.go:253-259 at v0.37.0, :262-273 at v0.42.4),
                // and divides by the interval in milliseconds (split_by_interval.go:116).
                splitInterval: text(
                    { description: "range queries are split into parts this long, run in parallel and cached per part", valid: goDurationValid },
                    {
                        check: (value) => {
                            const seconds = goDurationSeconds(value);
                            return seconds === undefined
                                ? goDurationValid
                                : seconds < 1
                                  ? "must be at least 1s: the results cache needs split queries (Thanos refuses 0 at start) and Thanos divides by the interval"
                                  : undefined;
                        },
                    },
                ).default(defaults.globalQuery.frontend.splitInterval),
                // The frontend makes this many attempts in all; 0 and 1 both mean one (Thanos retry.go:64, roundtrip.go:238).
                maxRetries: wholeNumber({ description: "attempts per query part before the query fails (0 or 1: no retry)" }, 0).default(
                    defaults.globalQuery.frontend.maxRetries,
                ),
                // go-humanize truncates to whole bytes: "0.5" would be a cache of 0.
                cacheMaxSize: text(
                    { description: "in-memory results cache of each frontend; at most half its memory limit", valid: cacheSizeValid },
                    { check: (value) => ((byteSizeBytes(value) ?? 0) >= 1 ? undefined : cacheSizeValid) },
                ).default(defaults.globalQuery.frontend.cacheMaxSize),
                // Resolved by frontendCache below: what is left unset follows the replica count.
                cache: choice(
                    {
                        description:
                            "the results cache: memcached, one cache all frontend replicas share (globalQuery.memcached); inMemory, one per replica (cacheMaxSize). Default: memcached with 2 or more frontend replicas, else inMemory",
                    },
                    ["memcached", "inMemory"] as const,
                ).optional(),
                // Thanos reads 0 as "log none" and a negative value as "log all"
                // (internal/cortex/frontend/transport/handler.go:151-153).
                slowQueryThreshold: text(
                    { description: "queries slower than this are logged (0: none, negative: all)", valid: goDurationValid },
                    { pattern: goDuration },
                ).default(defaults.globalQuery.frontend.slowQueryThreshold),
            },
            "Thanos Query Frontend behaviour",
        ).prefault({}),
        memcached: settings(
            {
                replicas: wholeNumber(
                    {
                        description:
                            "memcached replicas of the shared results cache; the frontends spread keys over all of them (2: a restart loses half the cache, not all)",
                    },
                    1,
                ).default(defaults.globalQuery.memcached.replicas),
                resources: containerResources("each memcached (it caches three quarters of its memory limit)", defaults.globalQuery.memcached.resources),
            },
            "the shared results cache, when frontend.cache is memcached",
        ).prefault({}),
        // Its default depends on charts.mirror (lib/kubernetes/charts.ts, thanosChartSource).
        chart: chartSourceSchema.optional(),
    },
    "Thanos Query over every region's sidecars, behind Query Frontend",
);

// ---------------------------------------------------------------- long-term storage

/** Volume sizes as a PersistentVolumeClaim asks for them. */
function volumeSize(leaf: Omit<Leaf, "valid">) {
    const valid = "expected a volume size in Mi, Gi or Ti such as 20Gi, at least 1Gi";
    return text(
        { ...leaf, valid },
        {
            pattern: /^\d+(Mi|Gi|Ti)$/,
            check: (value) => (parseQuantity(value) < parseQuantity("1Gi") ? valid : undefined),
        },
    );
}

/**
 * The compactor's retention flags are Prometheus durations (extkingpin
 * ModelDuration in cmd/thanos/compact.go); 0 keeps a resolution forever.
 */
function keptFor(leaf: Omit<Leaf, "valid">) {
    const valid = "expected a Prometheus duration such as 30d, 52w or 1y, or 0 to keep forever";
    return text({ ...leaf, valid }, { check: (value) => (prometheusDurationSeconds(value) === undefined ? valid : undefined) });
}

/**
 * With downsampling on, Thanos refuses raw retention under 40h and 5m
 * retention under 10d (they would delete blocks before they are downsampled:
 * cmd/thanos/compact.go, the check after flag parsing, at v0.37.0 and v0.42.4).
 */
const downsamplingMinimums = { raw: { seconds: 40 * 3600, text: "40h" }, fiveMinutes: { seconds: 10 * 86400, text: "10d" } } as const;

/** S3 bucket names: 3 to 63 lower-case letters, digits, dots and hyphens (AWS's rules, which S3-compatible stores follow). */
const s3BucketName = {
    pattern: /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
    valid: "expected a bucket name: 3 to 63 lower-case letters, digits, '.' and '-', starting and ending with a letter or digit",
};

const credentialsSecretSetting = (what: string) =>
    text(
        {
            description: `the name of a secret setting holding ${what} (pulumi config set --secret <name> …)`,
            valid: "expected the name of a secret stack setting, such as bucketCredentials",
        },
        {
            pattern: secretSettingName,
            check: (name: string): string | undefined =>
                Object.keys(stackConfigShape).includes(name)
                    ? `${name} is a setting of its own: name a setting that holds only the credentials, such as bucketCredentials`
                    : undefined,
        },
    );

const longTermStorageSettings = {
    retention: settings(
        {
            raw: keptFor({ description: "how long the compactor keeps raw samples in the bucket" }).default(defaults.storage.retention.raw),
            fiveMinutes: keptFor({ description: "how long it keeps 5-minute downsampled data" }).default(defaults.storage.retention.fiveMinutes),
            oneHour: keptFor({ description: "how long it keeps 1-hour downsampled data" }).default(defaults.storage.retention.oneHour),
        },
        "how long the bucket keeps each resolution",
    ).prefault({}),
    downsampling: flag({
        description:
            "the compactor downsamples blocks spanning 40h or more (after compaction) to 5m, and 5m blocks spanning 10d or more to 1h, for fast long-range queries",
    }).default(defaults.storage.downsampling),
    storeGateway: settings(
        {
            replicas: wholeNumber({ description: "Store Gateway replicas serving the bucket to the global query (2: HA)" }, 1).default(
                defaults.storage.storeGateway.replicas,
            ),
            resources: containerResources("each Store Gateway", defaults.storage.storeGateway.resources),
        },
        "the Store Gateway",
    ).prefault({}),
    compactor: settings(
        {
            volumeSize: volumeSize({ description: "the compactor's working volume: it downloads the blocks it compacts" }).default(
                defaults.storage.compactor.volumeSize,
            ),
            resources: containerResources("the compactor", defaults.storage.compactor.resources),
        },
        "the one compactor of the bucket",
    ).prefault({}),
};

/** The downsampling minimums, blamed on the retention the user set (or the flag, when both are defaults). */
function refineRetention(storage: { retention: Record<"raw" | "fiveMinutes" | "oneHour", string>; downsampling: boolean }, ctx: z.core.$RefinementCtx) {
    if (!storage.downsampling) {
        return;
    }
    for (const resolution of ["raw", "fiveMinutes"] as const) {
        const seconds = prometheusDurationSeconds(storage.retention[resolution])!;
        const minimum = downsamplingMinimums[resolution];
        if (seconds !== 0 && seconds < minimum.seconds) {
            ctx.addIssue({
                code: "custom",
                path: ["retention", resolution],
                message: `at least ${minimum.text} (or 0, forever) while downsampling is on: Thanos refuses to start, since blocks would be deleted before they are downsampled; raise it or set downsampling: false`,
            });
        }
    }
}

const storageSchema = z
    .discriminatedUnion(
        "type",
        [
            settings(
                {
                    type: z.literal("none").meta({ description: "no long-term storage: history reaches as far back as each Prometheus keeps it" }),
                },
                "no long-term storage",
            ),
            settings(
                {
                    type: z.literal("inCluster").meta({ description: "an S3-compatible store (SeaweedFS) in the global query's cluster, for laptops" }),
                    namespace: text(
                        { description: "the store's own namespace, like a bucket outside the stack's Thanos", ...dns1123Label },
                        dns1123Label,
                    ).default(defaults.storage.inCluster.namespace),
                    volumeSize: volumeSize({ description: "the store's volume, set when it is created" }).default(defaults.storage.inCluster.volumeSize),
                    ...longTermStorageSettings,
                },
                "an in-cluster S3-compatible store",
            ).superRefine(refineRetention),
            settings(
                {
                    type: z.literal("s3").meta({ description: "an existing S3 (or S3-compatible) bucket" }),
                    bucket: text({ description: "the bucket", ...s3BucketName }, s3BucketName),
                    endpoint: text(
                        {
                            description: "the S3 endpoint, host[:port] without scheme, such as s3.eu-west-1.amazonaws.com (HTTPS)",
                            valid: "expected host or host:port, without https://",
                        },
                        { pattern: /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:\d{1,5})?$/ },
                    ),
                    region: text(
                        { description: "the bucket's region (needed by AWS when the endpoint does not name it)", valid: "expected a region such as eu-west-1" },
                        { pattern: /^[a-z0-9-]+$/ },
                    ).optional(),
                    accessKeyId: text({ description: "the access key ID", valid: "expected an access key ID" }, { pattern: /^\S+$/, secretable: true }),
                    credentialsSecret: credentialsSecretSetting("the secret access key"),
                    // objstore providers/s3/s3.go: insecure :123, bucket_lookup_type :131 (d1dd89d41f97 and 71d60dfee488).
                    insecure: flag({ description: "plain HTTP instead of HTTPS, for an S3-compatible store inside your network" }).default(false),
                    pathStyle: flag({ description: "path-style requests (endpoint/bucket), for S3-compatible stores without per-bucket DNS names" }).default(
                        false,
                    ),
                    ...longTermStorageSettings,
                },
                "an existing S3 bucket",
            ).superRefine(refineRetention),
            settings(
                {
                    type: z.literal("gcs").meta({ description: "an existing Google Cloud Storage bucket" }),
                    bucket: text(
                        { description: "the bucket", valid: "expected a bucket name: 3 to 63 lower-case letters, digits, '.', '_' and '-'" },
                        { pattern: /^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/ },
                    ),
                    credentialsSecret: credentialsSecretSetting("a service account key, the whole JSON file"),
                    ...longTermStorageSettings,
                },
                "an existing GCS bucket",
            ).superRefine(refineRetention),
            settings(
                {
                    type: z.literal("azure").meta({ description: "an existing Azure Blob Storage container" }),
                    storageAccount: text(
                        { description: "the storage account", valid: "expected a storage account name: 3 to 24 lower-case letters and digits" },
                        { pattern: /^[a-z0-9]{3,24}$/ },
                    ),
                    container: text(
                        { description: "the blob container", valid: "expected a container name: 3 to 63 lower-case letters, digits and single '-'" },
                        { pattern: /^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/ },
                    ),
                    credentialsSecret: credentialsSecretSetting("the storage account key"),
                    ...longTermStorageSettings,
                },
                "an existing Azure container",
            ).superRefine(refineRetention),
        ],
        { error: "expected one of none, inCluster, s3, gcs, azure" },
    )
    .meta({ description: "long-term storage: sidecars upload to a bucket, a Store Gateway serves it, one compactor compacts it" })
    .default({ type: "none" });

export type Storage = z.output<typeof storageSchema>;
export type LongTermStorage = Exclude<Storage, { type: "none" }>;

// ---------------------------------------------------------------- the rest

const labelsSchema = settings(
    {
        replica: text(
            { description: "external label the operator fills with the pod name; the global query deduplicates on it", ...labelName },
            labelName,
        ).default(defaults.labels.replica),
        region: text({ description: "external label whose value is the region name (must differ from replica)", ...labelName }, labelName).default(
            defaults.labels.region,
        ),
    },
    "the external labels that identify series",
).prefault({});

const versionsSchema = settings(
    {
        thanos: text(
            {
                description: "one Thanos for sidecars, Query and Query Frontend",
                valid: `expected a Thanos release vX.Y.Z from ${supportedThanos.oldest} to ${supportedThanos.newest}`,
            },
            {
                pattern: /^v\d+\.\d+\.\d+$/,
                check: (version) =>
                    compareVersions(version, supportedThanos.oldest) < 0
                        ? `Thanos older than ${supportedThanos.oldest} cannot read the external labels of Prometheus 3; supported: ${supportedThanos.oldest} to ${supportedThanos.newest}`
                        : compareVersions(version, supportedThanos.newest) > 0
                          ? `the Thanos flags this program sets are checked up to ${supportedThanos.newest}; supported: ${supportedThanos.oldest} to ${supportedThanos.newest}`
                          : undefined,
            },
        ).default(defaultVersions.thanos),
        // Refused rather than warned about: each version needs its matching
        // prometheus-operator-crds chart, and its values were read against its
        // templates; an unchecked version would install CRDs of another operator.
        kubePrometheusStack: text(
            {
                description: `kube-prometheus-stack chart; only versions whose values and CRDs chart were checked: ${Object.keys(operatorCrdsChartFor).join(", ")}`,
                valid: `expected a kube-prometheus-stack chart version X.Y.Z (default ${defaultVersions.kubePrometheusStack})`,
            },
            {
                pattern: /^\d+\.\d+\.\d+$/,
                check: (version) =>
                    version in operatorCrdsChartFor
                        ? undefined
                        : `the values and the matching prometheus-operator-crds chart are checked for kube-prometheus-stack ${Object.keys(operatorCrdsChartFor).join(", ")} only; use one of those`,
            },
        ).default(defaultVersions.kubePrometheusStack),
    },
    "pinned versions",
).prefault({});

const verificationTimeout = /^(\d+)(s|m)$/;

const verificationSchema = settings(
    {
        enabled: flag({ description: "run the verification Job after every deploy" }).default(defaults.verification.enabled),
        timeout: text(
            { description: "how long it retries before it fails the deploy", valid: "expected a time in seconds or minutes such as 600s or 10m" },
            {
                pattern: verificationTimeout,
                check: (value) => (parseInt(value, 10) > 0 ? undefined : "must be longer than 0"),
            },
        ).default(defaults.verification.timeout),
    },
    "the in-cluster proof of the global view",
)
    .prefault({})
    .transform(({ enabled, timeout }) => ({
        enabled,
        timeoutSeconds: parseInt(timeout, 10) * (timeout.endsWith("m") ? 60 : 1),
    }));

const grafanaSchema = settings(
    {
        enabled: flag({ description: "Grafana beside the global query, wired to the Query Frontend, with the global-view dashboards" }).default(true),
    },
    "the global view's Grafana",
).prefault({});

/** http(s) URLs as Thanos and Alertmanager take them; credentials in a URL would be written into a pod's arguments. */
function httpUrlProblem(value: string): string | undefined {
    const valid = "expected an http:// or https:// URL such as http://alertmanager.example.com:9093";
    try {
        const url = new URL(value);
        if (!["http:", "https:"].includes(url.protocol) || url.hostname === "" || /\s/.test(value)) {
            return valid;
        }
        return url.username !== "" || url.password !== "" ? `${valid}, without user:password@ (the URL is written into the Ruler's arguments)` : undefined;
    } catch {
        return valid;
    }
}

const alertReceiverSchema = z
    .discriminatedUnion(
        "type",
        [
            settings(
                {
                    type: z
                        .literal("none")
                        .meta({ description: "the global Alertmanager keeps the alerts (its UI and the ALERTS series show them) and sends them nowhere" }),
                },
                "no receiver",
            ),
            settings(
                {
                    type: z.literal("webhook").meta({
                        description: "the global Alertmanager posts every alert to a webhook (Slack, PagerDuty, Opsgenie and chat bridges take its JSON)",
                    }),
                    urlSecret: text(
                        {
                            description:
                                "the name of a secret setting holding the webhook URL (pulumi config set --secret alertWebhookUrl https://…): it often carries a token",
                            valid: "expected the name of a secret stack setting, such as alertWebhookUrl",
                        },
                        {
                            pattern: secretSettingName,
                            check: (name: string): string | undefined =>
                                Object.keys(stackConfigShape).includes(name)
                                    ? `${name} is a setting of its own: name a setting that holds only the webhook URL, such as alertWebhookUrl`
                                    : undefined,
                        },
                    ),
                },
                "a webhook the global Alertmanager posts to",
            ),
            settings(
                {
                    type: z
                        .literal("alertmanager")
                        .meta({ description: "an Alertmanager you already run: the Ruler sends to it and no Alertmanager is deployed" }),
                    url: text(
                        {
                            description: "its URL, reachable from the global query's cluster (the Ruler appends /api/v2/alerts)",
                            valid: "expected an http:// or https:// URL",
                        },
                        { check: httpUrlProblem },
                    ),
                },
                "an existing Alertmanager",
            ),
        ],
        { error: "expected one of none, webhook, alertmanager" },
    )
    .meta({ description: "where the global alerts go" })
    .default({ type: "none" });

const alertingSchema = settings(
    {
        enabled: flag({
            description:
                "a Thanos Ruler HA pair beside the global query evaluates alerts on the global view itself (a region missing, replicas or sidecars down, the bucket's readers and compactor failing), with an Alertmanager HA pair",
        }).default(defaults.alerting.enabled),
        evaluationInterval: positiveDuration(
            { description: "how often the Ruler evaluates the global rules" },
            "30s or 1m",
            "the Ruler would never evaluate",
        ).default(defaults.alerting.evaluationInterval),
        for: positiveDuration({ description: "how long a problem must last before its alert fires" }, "5m or 10m", "every blip would page").default(
            defaults.alerting.for,
        ),
        receiver: alertReceiverSchema,
        ruler: settings(
            {
                resources: containerResources("each Thanos Ruler", defaults.alerting.ruler),
            },
            "the Thanos Ruler pair",
        ).prefault({}),
    },
    "alerts on the global view, from a Thanos Ruler in the global tier",
).prefault({});

/** Every top-level setting, each parsed on its own so one broken part does not hide the others' problems. */
export const stackConfigShape = {
    clusters: z
        .array(clusterSchema, { error: "expected a list of clusters" })
        .min(1, { error: "expected at least one entry: a list of clusters" })
        .meta({ description: "the Kubernetes clusters the stack runs in" }),
    regions: z
        .array(regionSchema, { error: "expected a list of regions" })
        .min(1, { error: "expected at least one entry: a list of regions" })
        .meta({ description: "the Prometheus regions; each is one HA kube-prometheus-stack" }),
    globalQuery: globalQuerySchema,
    grafana: grafanaSchema,
    storage: storageSchema,
    labels: labelsSchema,
    versions: versionsSchema,
    verification: verificationSchema,
    charts: chartsSchema,
    images: imagesSchema,
    alerting: alertingSchema,
};

/** The settings as the schema leaves them. */
export type ParsedSettings = { [Setting in keyof typeof stackConfigShape]: z.output<(typeof stackConfigShape)[Setting]> };

/** The parsed settings, every region's retention filled in (lib/config/validate.ts, regionRetentionDefault). */
export type StackConfig = Omit<ParsedSettings, "regions"> & { regions: Region[] };

/**
 * A region's Prometheus volume when it sets none, from the retention it keeps:
 * a region of this stack scrapes some tens of thousands of series every 30s,
 * 2,880 samples a series a day at 1 to 2 bytes each after compression (the
 * Prometheus storage docs' rule of thumb), about half a GiB a day with
 * kube-state-metrics and node-exporter on; plus 2Gi for the WAL and the head
 * (up to three hours of samples uncompressed) and for compaction's copy of the
 * blocks it merges. Never below 10Gi, the least most clouds provision well.
 */
export function prometheusVolumeDefault(retention: string): string {
    const days = Math.ceil(prometheusDurationSeconds(retention)! / 86400);
    return `${Math.max(10, 2 + Math.ceil(days / 2))}Gi`;
}

/** A region's retention when it sets none: shorter once a bucket keeps the history. */
export function regionRetentionDefault(storage: Storage): string {
    return storage.type === "none" ? defaults.region.retention : defaults.region.retentionWithStorage;
}
export type Cluster = StackConfig["clusters"][number];
export type KindCluster = Extract<Cluster, { type: "kind" }>;
export type ExistingCluster = Extract<Cluster, { type: "existing" }>;
export type Region = Omit<ParsedSettings["regions"][number], "retention" | "volume"> & { retention: string; volume: { size: string; storageClass?: string } };
export type GlobalQuery = StackConfig["globalQuery"];
export type ChartSource = NonNullable<GlobalQuery["chart"]>;
export type Charts = StackConfig["charts"];
export type ChartMirror = NonNullable<Charts["mirror"]>;
export type ChartOverride = NonNullable<Charts["kubePrometheusStack"]>;
export type Labels = StackConfig["labels"];
export type Alerting = StackConfig["alerting"];
export type AlertReceiver = Alerting["receiver"];

/** The frontend's results cache: as set, or shared (memcached) once more than one frontend would each keep its own. */
export function frontendCache(globalQuery: GlobalQuery): "memcached" | "inMemory" {
    return globalQuery.frontend.cache ?? (globalQuery.frontendReplicas >= 2 ? "memcached" : "inMemory");
}
