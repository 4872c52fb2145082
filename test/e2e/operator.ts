// What prometheus-operator v0.93 makes of a region's Prometheus values: the
// data-plane tier runs no operator, so this turns the values the program
// gives kube-prometheus-stack (prometheus.prometheusSpec) into the Prometheus
// external labels, the Prometheus flags that matter to Thanos, and the Thanos
// sidecar's arguments, as the operator's code does (cited from
// prometheus-operator v0.93.0; v0.93.1, which the chart ships, is a patch
// release with no change to these files). Paths stay the container's; the
// tier maps them (addresses.ts).
import { compareVersions, prometheusVersion } from "../../lib/versions";

export interface PrometheusSpecValues {
    replicas: number;
    retention: string;
    retentionSize?: string;
    externalLabels: Record<string, string>;
    prometheusExternalLabelNameClear?: boolean;
    replicaExternalLabelName?: string;
    replicaExternalLabelNameClear?: boolean;
    thanos?: {
        version: string;
        grpcServerTlsConfig?: { certFile: string; keyFile: string; caFile: string };
        objectStorageConfig?: { existingSecret: { name: string; key: string } };
    };
    [other: string]: unknown;
}

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

/** The flags the operator gives Prometheus that decide what the sidecar sees (statefulset.go:248-267, and the retention). */
export function prometheusFlags(spec: PrometheusSpecValues): string[] {
    const mode = compactionMode(spec);
    return [
        `--storage.tsdb.path=${storageDirectory}`,
        `--storage.tsdb.retention.time=${spec.retention}`,
        ...(spec.retentionSize === undefined ? [] : [`--storage.tsdb.retention.size=${spec.retentionSize}`]),
        ...(mode === "delayed" ? [`--storage.tsdb.delay-compact-file.path=${storageDirectory}/thanos.shipper.json`] : []),
        ...(mode === "disabled" ? ["--storage.tsdb.max-block-duration=2h", "--storage.tsdb.min-block-duration=2h"] : []),
    ];
}

/**
 * The Thanos sidecar's arguments (statefulset.go:578-727): Prometheus on
 * localhost, gRPC and HTTP on every address, the gRPC server's TLS, the
 * objstore config from the environment variable the operator fills from the
 * Secret, the shipper's meta file under delayed compaction, and the HTTP
 * client config.
 */
export function sidecarArgs(spec: PrometheusSpecValues): string[] {
    const thanos = spec.thanos;
    if (thanos === undefined) {
        throw new Error("no sidecar: prometheusSpec.thanos is not set");
    }
    const tls = thanos.grpcServerTlsConfig;
    return [
        "sidecar",
        "--prometheus.url=http://localhost:9090/",
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
        `--prometheus.http-client-file=${sidecarHttpClientConfig.path}`,
    ];
}
