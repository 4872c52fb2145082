// The size of every container the stack starts that the stack config does
// not size itself (those are under `resources:` of regions and the global
// query, lib/config/schema.ts). Requests are what the scheduler reserves, so their
// sum is what Docker must have for a kind cluster; memory limits stop one
// component from starving the rest of the node.
import { frontendCache, type KindCluster, type StackConfig } from "../config/schema";
import { type ContainerResources } from "../config/settings";
import { parseQuantity } from "./quantity";

export const fixedResources = {
    /** prometheus-operator, watching one namespace: a few dozen objects. */
    operator: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
    /** The operator's config reloader, beside every Prometheus and Alertmanager (one setting per operator). */
    configReloader: { requests: { cpu: "10m", memory: "32Mi" }, limits: { cpu: "100m", memory: "64Mi" } },
    /** kube-prometheus-stack's admission webhook certificate jobs (create and patch share one setting). */
    admissionJobs: { requests: { cpu: "10m", memory: "32Mi" }, limits: { cpu: "100m", memory: "64Mi" } },
    kubeStateMetrics: { requests: { cpu: "20m", memory: "64Mi" }, limits: { cpu: "200m", memory: "256Mi" } },
    nodeExporter: { requests: { cpu: "20m", memory: "32Mi" }, limits: { cpu: "200m", memory: "64Mi" } },
    alertmanager: { requests: { cpu: "20m", memory: "64Mi" }, limits: { cpu: "200m", memory: "256Mi" } },
    /** Grafana of a region (components.grafana). */
    regionGrafana: { requests: { cpu: "50m", memory: "128Mi" }, limits: { cpu: "500m", memory: "512Mi" } },
    /** Each of its two sidecars that load dashboards and data sources (one setting for both). */
    regionGrafanaSidecar: { requests: { cpu: "10m", memory: "32Mi" }, limits: { cpu: "100m", memory: "64Mi" } },
    /** The global view's Grafana: a few dashboards, a handful of users; its SQLite lives in an emptyDir, rebuilt at each start. */
    grafana: { requests: { cpu: "100m", memory: "192Mi" }, limits: { cpu: "1", memory: "512Mi" } },
    /** The in-cluster S3 store (SeaweedFS mini: master, volume server, filer and S3 in one process). */
    objectStore: { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "1", memory: "1Gi" } },
    /** Each region's bucket check Job: one `thanos tools bucket ls`. */
    bucketCheck: { requests: { cpu: "10m", memory: "32Mi" }, limits: { cpu: "200m", memory: "128Mi" } },
    /** The verification Job: busybox sh and wget. */
    verification: { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "100m", memory: "64Mi" } },
} satisfies Record<string, ContainerResources>;

/**
 * What kind's own pods and node agents need besides our pods (kind's node
 * image: API server, etcd, controller manager, scheduler, CoreDNS on a
 * control plane; kubelet, containerd, kindnet and kube-proxy on every node).
 */
export const kindNodeOverheadBytes = { controlPlane: 1024 * 1024 ** 2, worker: 256 * 1024 ** 2 };

/** What Docker must hold for one kind cluster: its pods' requests and kind's own components. */
export function kindClusterMemoryBytes(config: StackConfig, cluster: KindCluster): number {
    return (
        clusterMemoryRequestBytes(config, cluster.name, cluster.controlPlaneNodes + cluster.workerNodes) +
        cluster.controlPlaneNodes * kindNodeOverheadBytes.controlPlane +
        cluster.workerNodes * kindNodeOverheadBytes.worker
    );
}

/** The memory every long-running pod of one cluster requests, in bytes (transient hook Jobs run one at a time and are left out). */
export function clusterMemoryRequestBytes(config: StackConfig, cluster: string, nodes: number): number {
    const memory = (resources: ContainerResources) => parseQuantity(resources.requests.memory);
    let total = 0;
    for (const region of config.regions.filter((candidate) => candidate.cluster === cluster)) {
        const { components } = region;
        total += memory(fixedResources.operator);
        total += region.replicas * (memory(region.resources.prometheus) + memory(region.resources.sidecar) + memory(fixedResources.configReloader));
        total += components.kubeStateMetrics ? memory(fixedResources.kubeStateMetrics) : 0;
        total += components.alertmanager ? memory(fixedResources.alertmanager) + memory(fixedResources.configReloader) : 0;
        total += components.nodeExporter ? nodes * memory(fixedResources.nodeExporter) : 0;
        total += components.grafana ? memory(fixedResources.regionGrafana) + 2 * memory(fixedResources.regionGrafanaSidecar) : 0;
    }
    if (config.globalQuery.cluster === cluster) {
        const { globalQuery } = config;
        total += globalQuery.queryReplicas * memory(globalQuery.resources.query);
        total += globalQuery.frontendReplicas * memory(globalQuery.resources.frontend);
        total += config.verification.enabled ? memory(fixedResources.verification) : 0;
        total += config.grafana.enabled ? memory(fixedResources.grafana) : 0;
        // The alerting tier's pairs (components/globalAlerting.ts) and the shared cache (components/queryCache.ts).
        if (config.alerting.enabled) {
            total += 2 * memory(config.alerting.ruler.resources);
            total += config.alerting.receiver.type === "alertmanager" ? 0 : 2 * memory(fixedResources.alertmanager);
        }
        total += frontendCache(globalQuery) === "memcached" ? globalQuery.memcached.replicas * memory(globalQuery.memcached.resources) : 0;
        const { storage } = config;
        if (storage.type !== "none") {
            total += storage.storeGateway.replicas * memory(storage.storeGateway.resources) + memory(storage.compactor.resources);
            total += storage.type === "inCluster" ? memory(fixedResources.objectStore) : 0;
        }
    }
    return total;
}

/**
 * The Go runtime's soft memory limit for a container: four fifths of its
 * memory limit. Go does not see the cgroup's limit by itself, so without it a
 * busy Thanos or SeaweedFS grows its heap to the limit and is killed; the
 * fifth left over holds what the Go runtime does not count (goroutine stacks,
 * cgo, the page cache of mapped index headers). Go reads the value as bytes
 * with an optional B, KiB, MiB, GiB or TiB (runtime/mgcpacer.go readGOMEMLIMIT,
 * parseByteCount in runtime/string.go).
 */
export function goMemoryLimit(memoryLimit: string): string {
    return `${Math.floor((parseQuantity(memoryLimit) * 0.8) / 1024 ** 2)}MiB`;
}
