import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as yaml from "js-yaml";
import { parseQuantity } from "../lib/kubernetes/quantity";
import { restrictedContainerSecurityContext } from "../lib/kubernetes/podSecurity";
import { GlobalQuery } from "../lib/config/schema";
import { preferOneReplicaPerNode } from "../lib/thanos/workload";
import { memcachedImage } from "../lib/versions";
import { imageReference } from "../lib/kubernetes/images";

/** The headless Service of the cache: its SRV records list every replica. */
export const memcachedService = "thanos-query-cache";

/** memcached's port (its -p default). */
const memcachedPort = 11211;

/**
 * The largest item memcached stores, and so the largest result a frontend
 * caches: memcached's own default (-I 1m), which is also Thanos's default
 * max_item_size (pkg/queryfrontend/config.go:37-49 at v0.42.4). A larger
 * result is not cached, it is still answered.
 */
const maxItemBytes = 1024 * 1024;

/** Where the frontends find every memcached replica: DNS SRV over the headless Service, re-resolved every 10s. */
export function memcachedAddress(namespace: string): string {
    return `dnssrv+_memcached._tcp.${memcachedService}.${namespace}.svc.cluster.local`;
}

/**
 * The frontend's `--query-range.response-cache-config` for memcached. Keys as
 * Thanos v0.37.0 and v0.42.4 read them (UnmarshalStrict, pkg/queryfrontend/config.go:115-118
 * at v0.42.4): `type` and `config` (:84-85), `expiration` (:71), and the
 * memcached client's inline keys (pkg/cacheutil/memcached_client.go: addresses :115,
 * timeout :118, max_idle_connections :123, max_async_concurrency :126,
 * max_get_multi_concurrency :133, max_item_size :138, dns_provider_update_interval :147;
 * the same keys at v0.37.0 :111-143). Thanos keys each result by the query, its
 * step and its split interval, so every frontend replica finds what any one stored.
 */
export function memcachedCacheConfig(namespace: string): string {
    return yaml.dump(
        {
            type: "MEMCACHED",
            config: {
                addresses: [memcachedAddress(namespace)],
                // A cache slower than this is skipped, never waited for: the query runs instead.
                timeout: "500ms",
                max_idle_connections: 100,
                max_async_concurrency: 10,
                max_get_multi_concurrency: 100,
                max_item_size: `${maxItemBytes / 1024 / 1024}MiB`,
                dns_provider_update_interval: "10s",
                expiration: "24h",
            },
        },
        { lineWidth: -1 },
    );
}

/** What memcached may store: three quarters of its limit, the rest for connections, threads and the slab allocator's overhead. */
export function memcachedArgs(memoryLimit: string): string[] {
    return [
        `--memory-limit=${Math.floor((parseQuantity(memoryLimit) * 0.75) / 1024 ** 2)}`,
        `--port=${memcachedPort}`,
        `--max-item-size=${maxItemBytes / 1024 / 1024}m`,
        "--conn-limit=1024",
    ];
}

export const memcachedLabels = {
    "app.kubernetes.io/name": "memcached",
    "app.kubernetes.io/component": "query-cache",
    "app.kubernetes.io/part-of": "thanos-global-view",
} as const;

export interface QueryCacheArgs {
    namespace: pulumi.Input<string>;
    memcached: GlobalQuery["memcached"];
    /** images.registry: the mirror memcached is pulled from. */
    imageRegistry?: string;
    provider: k8s.Provider;
}

/**
 * The Query Frontend's shared results cache: memcached replicas behind a
 * headless Service. The frontends' client spreads keys over every replica
 * (jump hash over the SRV records), so a replica lost costs its share of the
 * cache, not all of it, and every frontend replica reads what any other wrote.
 * A Deployment: nothing of a cache outlives its pod anyway.
 */
export class QueryCache extends pulumi.ComponentResource {
    readonly deployment: k8s.apps.v1.Deployment;

    constructor(name: string, args: QueryCacheArgs, opts?: pulumi.ComponentResourceOptions) {
        super("thanos-global-view:monitoring:QueryCache", name, {}, opts);
        const child = { parent: this, provider: args.provider };
        const { memcached } = args;

        new k8s.core.v1.Service(
            name,
            {
                metadata: { name: memcachedService, namespace: args.namespace, labels: memcachedLabels },
                spec: { clusterIP: "None", selector: memcachedLabels, ports: [{ name: "memcached", port: memcachedPort, targetPort: "memcached" }] },
            },
            child,
        );

        this.deployment = new k8s.apps.v1.Deployment(
            name,
            {
                metadata: { namespace: args.namespace, labels: memcachedLabels },
                spec: {
                    replicas: memcached.replicas,
                    selector: { matchLabels: memcachedLabels },
                    template: {
                        metadata: { labels: memcachedLabels },
                        spec: {
                            automountServiceAccountToken: false,
                            securityContext: {
                                runAsNonRoot: true,
                                runAsUser: memcachedImage.uid,
                                runAsGroup: memcachedImage.uid,
                                seccompProfile: { type: "RuntimeDefault" },
                            },
                            affinity: preferOneReplicaPerNode(memcachedLabels),
                            containers: [
                                {
                                    name: "memcached",
                                    image: imageReference(memcachedImage, args.imageRegistry),
                                    args: memcachedArgs(memcached.resources.limits.memory),
                                    ports: [{ name: "memcached", containerPort: memcachedPort }],
                                    readinessProbe: { tcpSocket: { port: "memcached" }, periodSeconds: 10 },
                                    livenessProbe: { tcpSocket: { port: "memcached" }, periodSeconds: 10, failureThreshold: 6 },
                                    resources: memcached.resources,
                                    securityContext: restrictedContainerSecurityContext,
                                },
                            ],
                        },
                    },
                },
            },
            child,
        );

        if (memcached.replicas >= 2) {
            new k8s.policy.v1.PodDisruptionBudget(
                name,
                {
                    metadata: { namespace: args.namespace, labels: memcachedLabels },
                    spec: { minAvailable: 1, selector: { matchLabels: memcachedLabels } },
                },
                child,
            );
        }
        this.registerOutputs({});
    }
}
