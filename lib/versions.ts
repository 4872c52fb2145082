// Every version this program pins, in one place. A stack may override the
// ones under `versions:` in its config; the rest are facts of the sources the
// Helm values were checked against, and change only together with that code.

/** Defaults for the stack setting `versions`. */
export const defaultVersions = {
    /** One Thanos for the whole stack: the sidecars and Query/Query Frontend. */
    thanos: "v0.42.4",
    /** kube-prometheus-stack chart; 88.5.3 also defaults its sidecar to Thanos v0.42.4. */
    kubePrometheusStack: "88.5.3",
} as const;

/**
 * kube-prometheus-stack versions whose values this program was checked
 * against, each with the prometheus-operator-crds chart of the same operator
 * (88.5.3 and 31.0.1 both ship operator v0.93.1; the operator code this
 * program cites is v0.93.0's, file and line, since v0.93.1's source is in no
 * snapshot we could read: the release-0.93 branch there ends at v0.93.0):
 * the CRDs are installed from
 * that chart once per cluster, so the two move together, from here.
 */
export const operatorCrdsChartFor: Readonly<Record<string, string>> = {
    "88.5.3": "31.0.1",
};

/** The prometheus-operator kube-prometheus-stack 88.5.3 runs: its appVersion (Chart.yaml:33), the tag its values leave empty. */
export const prometheusOperatorVersion = "v0.93.1";

/**
 * The Prometheus kube-prometheus-stack 88.5.3 runs: its values pin the image
 * tag `v3.14.0-distroless` (values.yaml:4344-4347), rather than leave it to
 * prometheus-operator, whose v0.93.0 default is v3.13.1. It decides how
 * the operator lets Prometheus compact beside an uploading sidecar (delayed
 * compaction from Prometheus v3.9.0 with Thanos v0.41.0), and it is the
 * Prometheus the data-plane e2e tier runs.
 */
export const prometheusVersion = "v3.14.0";

/**
 * Thanos releases whose flags the GlobalQuery arguments were checked against.
 * Older sidecars cannot read the external labels of Prometheus 3 (what
 * kube-prometheus-stack 88 runs); newer releases may drop flags we rely on.
 */
export const supportedThanos = { oldest: "v0.37.0", newest: "v0.42.4" } as const;

/** The node image kind v0.32.0 ships: Kubernetes v1.36.1, pinned by digest. */
export const defaultKindNodeImage = "kindest/node:v1.36.1@sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5";

/**
 * The oldest Kubernetes the stack runs on. kube-prometheus-stack 88 declares
 * `kubeVersion: >=1.25.0-0`, but the compactor's volume is deleted with its
 * StatefulSet through `persistentVolumeClaimRetentionPolicy`,
 * which the API server drops without a word where the StatefulSetAutoDeletePVC
 * feature gate is off: alpha and off in v1.23 to v1.26, beta and on by default
 * from v1.27 (kubernetes pkg/features/kube_features.go).
 */
export const oldestKubernetes = "v1.27.0";

/** Why oldestKubernetes is what it is, for the message that refuses an older one. */
export const oldestKubernetesReason = "the volume clean-up of StatefulSets (persistentVolumeClaimRetentionPolicy) is off by default before it";

/** An image as the charts' values spell it: registry, repository and tag apart. */
export interface Image {
    registry: string;
    repository: string;
    tag: string;
}

/** Thanos, without its tag: the stack's `versions.thanos` is the tag. */
export const thanosImage = { registry: "quay.io", repository: "thanos/thanos" } as const;

/**
 * The global tier's Alertmanager: the image kube-prometheus-stack 88.5.3 gives
 * each region's Alertmanager (values.yaml:1019-1021), so that one Alertmanager
 * release runs in the whole stack.
 */
export const alertmanagerImage: Image = { registry: "quay.io", repository: "prometheus/alertmanager", tag: "v0.34.0" };

/**
 * The Query Frontend's shared results cache: the official memcached image,
 * whose user is memcache, uid and gid 11211 (docker-library/memcached
 * Dockerfile: `groupadd --system --gid 11211 memcache`, `USER memcache`).
 */
export const memcachedImage = { registry: "docker.io", repository: "library/memcached", tag: "1.6.38", uid: 11211 } as const;

/**
 * The global view's Grafana: the grafana-community chart kube-prometheus-stack
 * 88.5.3 itself depends on; its appVersion, Grafana 13.2.0, is the image
 * (charts/grafana/Chart.yaml:3-5, values.yaml:108-116 at grafana-12.11.1).
 */
export const grafanaChart = {
    name: "grafana",
    version: "12.11.1",
    repository: "https://grafana-community.github.io/helm-charts",
    image: { registry: "docker.io", repository: "grafana/grafana", tag: "13.2.0" },
} as const;

/**
 * The in-cluster S3 store for laptops: SeaweedFS (Apache-2.0), `weed mini`,
 * one process with master, volume, filer and S3. Its flags and environment
 * were read at this tag (weed/command/mini.go, weed/s3api/auth_credentials.go:514-545);
 * Thanos's own e2e tests run their S3 client against SeaweedFS (thanos-io/thanos#9037).
 */
export const seaweedfsImage: Image = { registry: "docker.io", repository: "chrislusf/seaweedfs", tag: "4.44" };

export const kubePrometheusStackRepository = "https://prometheus-community.github.io/helm-charts";

/**
 * The images kube-prometheus-stack 88.5.3 runs with this program's values,
 * each under the switch that turns it on. Every template of the chart and of
 * its subcharts puts `global.imageRegistry` before the image's own registry
 * (lib/kubernetes/images.ts, chartImageRegistry), so these are listed for `npm run images`
 * only; the e2e charts tier renders the chart and compares. A tag the values
 * leave empty is the chart's appVersion.
 */
export const kubePrometheusStackImages = {
    /** values.yaml:3523-3528 and :3550-3555 (tags: the appVersion v0.93.1, Chart.yaml:33), :4344-4347, the webhook Jobs' :3129-3133. */
    always: [
        { registry: "quay.io", repository: "prometheus-operator/prometheus-operator", tag: prometheusOperatorVersion },
        { registry: "quay.io", repository: "prometheus-operator/prometheus-config-reloader", tag: prometheusOperatorVersion },
        { registry: "quay.io", repository: "prometheus/prometheus", tag: `${prometheusVersion}-distroless` },
        { registry: "ghcr.io", repository: "jkroepke/kube-webhook-certgen", tag: "1.8.7" },
    ],
    /** values.yaml:1018-1022. */
    alertmanager: [{ registry: "quay.io", repository: "prometheus/alertmanager", tag: "v0.34.0" }],
    /** kube-state-metrics 8.4.0 values.yaml:3-8 (tag: its appVersion 2.20.0). */
    kubeStateMetrics: [{ registry: "registry.k8s.io", repository: "kube-state-metrics/kube-state-metrics", tag: "v2.20.0" }],
    /** prometheus-node-exporter 4.56.1 values.yaml:4-12 (tag: its appVersion 1.12.1; kube-prometheus-stack asks for the distroless variant). */
    nodeExporter: [{ registry: "quay.io", repository: "prometheus/node-exporter", tag: "v1.12.1-distroless" }],
    /** grafana 12.11.1 values.yaml:108-116 and its dashboard and data source sidecars, :1041-1045. */
    grafana: [grafanaChart.image, { registry: "quay.io", repository: "kiwigrid/k8s-sidecar", tag: "2.10.1" }],
} as const satisfies Record<string, readonly Image[]>;

/**
 * The banzaicloud `thanos` chart. Its Helm repository is gone; the source
 * survives in the archived GitHub repository at this commit.
 */
export const banzaicloudThanosChart = {
    name: "thanos",
    version: "0.4.9",
    gitRepository: "https://github.com/banzaicloud/banzai-charts.git",
    gitCommit: "51352f61c4dabfa9001e823181b6eb42e9e7803b",
    gitDirectory: "thanos",
} as const;

/** Parses `vX.Y.Z` into its numbers; undefined for anything else. */
export function parseVersion(version: string): [number, number, number] | undefined {
    const match = /^v(\d+)\.(\d+)\.(\d+)$/.exec(version);
    return match ? [Number(match[1]), Number(match[2]), Number(match[3])] : undefined;
}

/** Orders two `vX.Y.Z` versions: negative when a is older than b. */
export function compareVersions(a: string, b: string): number {
    const [left, right] = [parseVersion(a), parseVersion(b)];
    if (left === undefined || right === undefined) {
        throw new Error(`not vX.Y.Z: ${left === undefined ? a : b}`);
    }
    return left[0] - right[0] || left[1] - right[1] || left[2] - right[2];
}
