// What prometheus-operator v0.93 makes of a region's Prometheus values: the
// data-plane tier runs no operator, so this turns the values the program
// gives kube-prometheus-stack (prometheus.prometheusSpec, over the chart's own
// defaults) into the Prometheus external labels and storage config, the
// Prometheus flags that matter to Thanos, and the Thanos sidecar's arguments,
// as the operator's code does (cited from prometheus-operator v0.93.0;
// v0.93.1, which the chart ships, is a patch release with no change to these
// files). The control tier runs the real operator binary on the same values
// and compares what it makes with this (control.e2e.ts). Paths stay the
// container's; the tier maps them (addresses.ts).
import { compareVersions, prometheusVersion } from "../../lib/versions";

export interface PrometheusSpecValues {
    replicas: number;
    retention: string;
    retentionSize?: string;
    walCompression?: boolean;
    logLevel?: string;
    logFormat?: string;
    tsdb?: { outOfOrderTimeWindow?: string };
    externalLabels: Record<string, string>;
    prometheusExternalLabelNameClear?: boolean;
    replicaExternalLabelName?: string;
    replicaExternalLabelNameClear?: boolean;
    thanos?: {
        version: string;
        logLevel?: string;
        logFormat?: string;
        grpcServerTlsConfig?: { certFile: string; keyFile: string; caFile: string };
        objectStorageConfig?: { existingSecret: { name: string; key: string } };
    };
    [other: string]: unknown;
}

/**
 * What kube-prometheus-stack 88.5.3's values.yaml gives prometheusSpec where
 * the program says nothing, and the operator turns into flags and config:
 * tsdb.outOfOrderTimeWindow 0s (values.yaml:4575-4576), walCompression
 * (:4580), logLevel and logFormat (:4605, :4609). Helm merges the program's
 * values over these.
 */
const chartDefaults = { walCompression: true, logLevel: "info", logFormat: "logfmt", tsdb: { outOfOrderTimeWindow: "0s" } };

/** The prometheusSpec the operator gets: the program's values merged over the chart's defaults. Every function below takes this. */
export function withChartDefaults(spec: PrometheusSpecValues): PrometheusSpecValues {
    return { ...chartDefaults, ...spec, tsdb: { ...chartDefaults.tsdb, ...spec.tsdb } };
}

/** The operator's --localhost, which kube-prometheus-stack always passes (templates/prometheus-operator/deployment.yaml:89): the sidecar's way to Prometheus. */
const operatorLocalhost = "127.0.0.1";

/** From Prometheus v3.11.0 the operator puts retention in the config file instead of flags (server/statefulset.go:439-447, promcfg.go:1142-1152). */
const retentionInConfig = compareVersions(prometheusVersion, "v3.11.0") >= 0;

/** Where the operator keeps the TSDB in the pod (pkg/prometheus/common.go StorageDir). */
export const storageDirectory = "/prometheus";

/** The sidecar's HTTP client config for Prometheus, a Secret the operator writes (pkg/prometheus/server/thanos_sidecar_config.go:28-56). */
export const sidecarHttpClientConfig = { path: "/etc/thanos/config/prometheus.http-client-file.yaml", content: "tls_config:\n  insecure_skip_verify: true\n" };

/**
 * The external labels of one replica (pkg/prometheus/promcfg.go:767-815):
 * `prometheus: <namespace>/<name>` unless its name is cleared, the replica
 * label (`prometheus_replica` unless renamed, none when cleared) valued with
 * the pod's name, then the user's labels, a user label never overriding those two.
 */
export function externalLabels(spec: PrometheusSpecValues, namespace: string, prometheusName: string, podName: string): Record<string, string> {
    const labels: Record<string, string> = {};
    if (!spec.prometheusExternalLabelNameClear) {
        labels.prometheus = `${namespace}/${prometheusName}`;
    }
    if (!spec.replicaExternalLabelNameClear) {
        labels[spec.replicaExternalLabelName ?? "prometheus_replica"] = podName;
    }
    for (const [name, value] of Object.entries(spec.externalLabels ?? {})) {
        labels[name] ??= value;
    }
    return labels;
}

/**
 * With an objstore config, the operator lets Prometheus compact only blocks
 * the sidecar has uploaded from Prometheus v3.9.0 with Thanos v0.41.0
 * ("delayed"), and else fixes blocks at 2h (statefulset.go:41-46, 804-828).
 */
function compactionMode(spec: PrometheusSpecValues): "default" | "delayed" | "disabled" {
    if (spec.thanos?.objectStorageConfig === undefined) {
        return "default";
    }
    return compareVersions(prometheusVersion, "v3.9.0") >= 0 && compareVersions(spec.thanos.version, "v0.41.0") >= 0 ? "delayed" : "disabled";
}

/**
 * The TSDB flags the operator gives Prometheus (server/statefulset.go:248-287,
 * :426-450, :492-498): the path, retention while it is a flag, compaction as
 * the sidecar's uploads need it, no overlapping compaction of out-of-order
 * blocks beside an uploading sidecar, and WAL compression.
 */
export function prometheusFlags(spec: PrometheusSpecValues): string[] {
    const mode = compactionMode(spec);
    return [
        ...(retentionInConfig ? [] : [`--storage.tsdb.retention.time=${spec.retention}`]),
        ...(retentionInConfig || spec.retentionSize === undefined ? [] : [`--storage.tsdb.retention.size=${spec.retentionSize}`]),
        `--storage.tsdb.path=${storageDirectory}`,
        ...(mode === "delayed" ? [`--storage.tsdb.delay-compact-file.path=${storageDirectory}/thanos.shipper.json`] : []),
        ...(mode === "disabled" ? ["--storage.tsdb.max-block-duration=2h", "--storage.tsdb.min-block-duration=2h"] : []),
        ...(spec.tsdb?.outOfOrderTimeWindow !== undefined && mode !== "default" ? ["--no-storage.tsdb.allow-overlapping-compaction"] : []),
        ...(spec.walCompression === undefined ? [] : [spec.walCompression ? "--storage.tsdb.wal-compression" : "--no-storage.tsdb.wal-compression"]),
    ];
}

/** The `storage` section of the config the operator writes (promcfg.go:1095-1163): the out-of-order window, and retention from v3.11.0. */
export function prometheusStorageConfig(spec: PrometheusSpecValues): Record<string, unknown> {
    return {
        tsdb: {
            ...(spec.tsdb?.outOfOrderTimeWindow === undefined ? {} : { out_of_order_time_window: spec.tsdb.outOfOrderTimeWindow }),
            ...(retentionInConfig ? { retention: { time: spec.retention, ...(spec.retentionSize === undefined ? {} : { size: spec.retentionSize }) } } : {}),
        },
    };
}

/**
 * The Thanos sidecar's arguments (statefulset.go:578-727): Prometheus on
 * the operator's --localhost, gRPC and HTTP on every address, the gRPC
 * server's TLS, the objstore config from the environment variable the
 * operator fills from the Secret, the shipper's meta file under delayed
 * compaction, the log level and format (the sidecar's own, else
 * Prometheus'), and the HTTP client config.
 */
export function sidecarArgs(spec: PrometheusSpecValues): string[] {
    const thanos = spec.thanos;
    if (thanos === undefined) {
        throw new Error("no sidecar: prometheusSpec.thanos is not set");
    }
    const tls = thanos.grpcServerTlsConfig;
    return [
        "sidecar",
        `--prometheus.url=http://${operatorLocalhost}:9090/`,
        "--grpc-address=:10901",
        "--http-address=:10902",
        ...(tls === undefined
            ? []
            : [`--grpc-server-tls-cert=${tls.certFile}`, `--grpc-server-tls-key=${tls.keyFile}`, `--grpc-server-tls-client-ca=${tls.caFile}`]),
        ...(thanos.objectStorageConfig === undefined
            ? []
            : [
                  "--objstore.config=$(OBJSTORE_CONFIG)",
                  `--tsdb.path=${storageDirectory}`,
                  ...(compactionMode(spec) === "delayed" ? ["--shipper.meta-file-name=thanos.shipper.json", "--shipper.ignore-unequal-block-size"] : []),
              ]),
        ...((thanos.logLevel ?? spec.logLevel) ? [`--log.level=${thanos.logLevel ?? spec.logLevel}`] : []),
        ...((thanos.logFormat ?? spec.logFormat) ? [`--log.format=${thanos.logFormat ?? spec.logFormat}`] : []),
        `--prometheus.http-client-file=${sidecarHttpClientConfig.path}`,
    ];
}
