// The rules that relate one setting to another: references resolve, names are
// unique, nothing collides in a cluster, a container's limits are not below its
// requests. Each judges the fields that passed on their own (lib/config/validate.ts salvages
// them from an object with a bad field elsewhere), and
// blames the setting the user wrote, so that one mistake gives one message.
import { chartProblems } from "../kubernetes/charts";
import { Problem, SettingPath, isRecord, valueAt } from "./problems";
import { rulerReplicaLabel } from "../alerting/rules";
import { Alerting, GlobalQuery, KindCluster, Labels, ParsedSettings, StackConfig, Storage, byteSizeBytes, frontendCache } from "./schema";
import { ContainerResources } from "./settings";
import { parseQuantity } from "../kubernetes/quantity";

/** A region as it parsed, before its retention default is filled in (no rule here reads it). */
type ParsedRegion = ParsedSettings["regions"][number];

export interface ValidParts {
    clusters: Map<number, StackConfig["clusters"][number]>;
    regions: Map<number, ParsedRegion>;
    globalQuery?: GlobalQuery;
    storage?: Storage;
    labels?: Labels;
    charts?: StackConfig["charts"];
    versions?: StackConfig["versions"];
    grafana?: StackConfig["grafana"];
    alerting?: Alerting;
}

export function consistencyProblems(raw: Record<string, unknown>, parts: ValidParts): Problem[] {
    const problems: Problem[] = [];
    const wasSet = (path: SettingPath) => valueAt(raw, path) !== undefined;
    const rawEntries = (key: string) => (Array.isArray(raw[key]) ? (raw[key] as unknown[]) : []);
    // A name YAML read as a number stands for its digits, as the schema takes it (lib/config/schema.ts, text).
    const asText = (value: unknown) => (typeof value === "string" ? value : Number.isSafeInteger(value) && (value as number) >= 0 ? String(value) : undefined);
    const rawName = (entry: unknown) => (isRecord(entry) ? asText(entry.name) : undefined);

    // Names of clusters that failed their own checks still count as declared,
    // so that a broken entry is reported once, not once per reference.
    const clusterNames = rawEntries("clusters").map(rawName);
    const declared = clusterNames.filter((name): name is string => name !== undefined);
    const regionNames = rawEntries("regions").map(rawName);
    problems.push(...duplicates("clusters", clusterNames), ...duplicates("regions", regionNames));
    const duplicateRegion = (index: number) => regionNames.indexOf(regionNames[index]) !== index;

    const { globalQuery } = parts;
    // Without a list of named clusters, nothing can be checked against it: the list's own message says why.
    const clustersKnown = Array.isArray(raw.clusters) && raw.clusters.length > 0 && clusterNames.every((name) => name !== undefined);
    const globalCluster = globalQuery !== undefined && declared.includes(globalQuery.cluster) ? globalQuery.cluster : undefined;
    if (globalQuery !== undefined && globalCluster === undefined && clustersKnown) {
        problems.push({ path: ["globalQuery", "cluster"], message: `expected one of the clusters: ${declared.join(", ")}` });
    }
    for (const [index, region] of parts.regions) {
        if (!clustersKnown) {
            continue;
        }
        if (!declared.includes(region.cluster)) {
            problems.push({ path: ["regions", index, "cluster"], message: `expected one of the clusters: ${declared.join(", ")}` });
        } else if (globalCluster !== undefined && region.cluster !== globalCluster) {
            const unreachable = unreachableFrom(parts, region, globalCluster);
            if (unreachable !== undefined) {
                problems.push({ path: ["regions", index, "cluster"], message: unreachable });
            }
        }
    }
    // The global tier is scraped by a region of its own cluster (components/region.ts, globalTierServiceMonitors).
    if (
        globalCluster !== undefined &&
        parts.regions.size > 0 &&
        parts.regions.size === rawEntries("regions").length &&
        [...parts.regions.values()].every((region) => declared.includes(region.cluster)) &&
        ![...parts.regions.values()].some((region) => region.cluster === globalCluster)
    ) {
        problems.push({
            path: ["globalQuery", "cluster"],
            message: `no region runs in "${globalCluster}": one must, to scrape Thanos Query, Query Frontend and Grafana there (their dashboards would show No data)`,
        });
    }
    if (globalCluster !== undefined) {
        clusterNames.forEach((name, index) => {
            const runsSomething = name === globalCluster || rawEntries("regions").some((region) => isRecord(region) && asText(region.cluster) === name);
            if (name !== undefined && !runsSomething && clusterNames.indexOf(name) === index) {
                problems.push({
                    path: ["clusters", index],
                    message: `cluster "${name}" is declared but no region and not the global query run in it`,
                    showValue: false,
                });
            }
        });
    }

    const seenNamespaces = new Map<string, { index: number; region: ParsedRegion }>();
    for (const [index, region] of parts.regions) {
        const namespacePath = ["regions", index, "namespace"];
        const first = seenNamespaces.get(region.namespace);
        // A namespace taken from a duplicate name is that name's problem, already reported.
        if (first !== undefined && (wasSet(namespacePath) || !duplicateRegion(index))) {
            // Blame the namespace someone wrote: this one, or else the first region's.
            const firstPath = ["regions", first.index, "namespace"];
            problems.push(
                wasSet(namespacePath) || !wasSet(firstPath)
                    ? {
                          path: namespacePath,
                          message: `already used by region "${first.region.name}": each region needs a namespace of its own`,
                          showValue: wasSet(namespacePath),
                      }
                    : { path: firstPath, message: `already the namespace of region "${region.name}" (its name): each region needs a namespace of its own` },
            );
        }
        seenNamespaces.set(region.namespace, first ?? { index, region });
        if (globalQuery !== undefined && region.namespace === globalQuery.namespace) {
            const blamed = wasSet(namespacePath)
                ? namespacePath
                : wasSet(["globalQuery", "namespace"])
                  ? ["globalQuery", "namespace"]
                  : ["regions", index, "name"];
            problems.push({
                path: blamed,
                message:
                    blamed[0] === "globalQuery"
                        ? `already the namespace of region "${region.name}": the global query needs a namespace of its own`
                        : "already used by globalQuery.namespace: the global query needs a namespace of its own",
            });
        }
    }

    for (const [index, region] of parts.regions) {
        problems.push(...addressProblems(index, region, parts, globalCluster));
    }

    const exporters = new Map<string, ParsedRegion>();
    for (const [index, region] of parts.regions) {
        // Node-exporter binds host port 9100 on every node: one per cluster.
        const exporter = exporters.get(region.cluster);
        if (region.components.nodeExporter && exporter !== undefined) {
            problems.push({
                path: ["regions", index, "components", "nodeExporter"],
                message: `node-exporter already comes from region "${exporter.name}" (it binds host port 9100 on every node): enable it for one region per cluster`,
            });
        } else if (region.components.nodeExporter) {
            exporters.set(region.cluster, region);
        }
        const cluster = [...parts.clusters.values()].find(
            (candidate): candidate is KindCluster => candidate.name === region.cluster && candidate.type === "kind",
        );
        if (cluster !== undefined && region.antiAffinity === "hard") {
            // kind lets pods onto its control plane only when there are no workers.
            const schedulableNodes = cluster.workerNodes > 0 ? cluster.workerNodes : cluster.controlPlaneNodes;
            if (region.replicas > schedulableNodes) {
                const replicasPath = ["regions", index, "replicas"];
                const advice = `hard anti-affinity puts each replica on its own node and kind cluster "${cluster.name}" schedules on ${schedulableNodes}: use at most ${schedulableNodes} replicas, more workerNodes, or antiAffinity "soft"`;
                problems.push(
                    wasSet(replicasPath)
                        ? { path: replicasPath, message: advice }
                        : { path: replicasPath, message: `${region.replicas} replicas, the default: ${advice}`, showValue: false },
                );
            }
        }
        for (const container of ["prometheus", "sidecar"] as const) {
            problems.push(...limitsBelowRequests(["regions", index, "resources", container], region.resources[container], wasSet));
        }
    }

    if (parts.labels !== undefined && parts.labels.replica === parts.labels.region) {
        const [blamed, other] = wasSet(["labels", "region"]) ? ["region", "replica"] : ["replica", "region"];
        problems.push({
            path: ["labels", blamed],
            message: `must differ from labels.${other}: deduplication drops the replica label, the region label must survive it`,
        });
    }

    for (const which of ["replica", "region"] as const) {
        if (parts.labels?.[which] === rulerReplicaLabel) {
            problems.push({
                path: ["labels", which],
                message: `${rulerReplicaLabel} is the Thanos Ruler's own replica label (the global query deduplicates the Ruler pair on it): choose another name`,
            });
        }
    }
    if (parts.alerting !== undefined) {
        problems.push(...limitsBelowRequests(["alerting", "ruler", "resources"], parts.alerting.ruler.resources, wasSet));
    }

    if (globalQuery !== undefined) {
        for (const container of ["query", "frontend"] as const) {
            problems.push(...limitsBelowRequests(["globalQuery", "resources", container], globalQuery.resources[container], wasSet));
        }
        if (frontendCache(globalQuery) === "inMemory") {
            problems.push(...cacheAboveMemory(globalQuery, wasSet));
        } else {
            problems.push(...limitsBelowRequests(["globalQuery", "memcached", "resources"], globalQuery.memcached.resources, wasSet));
        }
    }
    // Every chart the stack installs must be in a mirror on this machine; which ones depends on the versions, Grafana and the thanos chart's own setting.
    if (parts.charts !== undefined && parts.versions !== undefined && parts.grafana !== undefined && globalQuery !== undefined) {
        problems.push(...chartProblems({ charts: parts.charts, versions: parts.versions, grafana: parts.grafana, globalQuery }));
    }
    if (parts.storage !== undefined && parts.storage.type !== "none") {
        for (const component of ["storeGateway", "compactor"] as const) {
            problems.push(...limitsBelowRequests(["storage", component, "resources"], parts.storage[component].resources, wasSet));
        }
        if (parts.storage.type === "inCluster" && globalCluster !== undefined) {
            problems.push(...inClusterStoreReach(parts, globalCluster));
        }
        if (parts.storage.type === "inCluster") {
            const storeNamespace = parts.storage.namespace;
            const taken =
                globalQuery?.namespace === storeNamespace
                    ? "the global query's namespace"
                    : [...parts.regions.values()]
                          .filter((region) => region.cluster === globalCluster && region.namespace === storeNamespace)
                          .map((region) => `the namespace of region "${region.name}"`)[0];
            if (taken !== undefined) {
                problems.push({
                    path: ["storage", "namespace"],
                    showValue: wasSet(["storage", "namespace"]),
                    message: `${wasSet(["storage", "namespace"]) ? "" : `"${storeNamespace}", the default, is `}already ${taken}: the store needs a namespace of its own`,
                });
            }
        }
    }
    return problems;
}

/**
 * The in-cluster store runs beside the global query; a sidecar in another
 * cluster uploads to it through a NodePort of a kind node, which only kind
 * clusters on the same Docker network reach (as with the StoreAPI, above).
 */
function inClusterStoreReach(parts: ValidParts, globalCluster: string): Problem[] {
    const clusterOf = (name: string) => [...parts.clusters.values()].find((candidate) => candidate.name === name);
    const global = clusterOf(globalCluster);
    const outside = [...parts.regions.values()]
        .filter((region) => region.cluster !== globalCluster && clusterOf(region.cluster) !== undefined)
        .filter((region) => global?.type !== "kind" || clusterOf(region.cluster)?.type !== "kind");
    return outside.length === 0
        ? []
        : [
              {
                  path: ["storage", "type"],
                  message: `the in-cluster store runs in "${globalCluster}" and the sidecars of ${outside.map((region) => `"${region.name}" (cluster "${region.cluster}")`).join(", ")} could not upload to it: only kind clusters reach each other's nodes; use an existing bucket (s3, gcs or azure)`,
              },
          ];
}

/**
 * Why the global query could not reach the sidecars of a region in another
 * cluster, if it could not. A kind cluster's NodePorts are reachable only
 * from the kind network, by node container name (kind v0.32.0
 * images/base/files/usr/local/bin/entrypoint:446-486 points pods at Docker's
 * embedded DNS); an existing cluster needs a way out it has to be told.
 */
function unreachableFrom(parts: ValidParts, region: ParsedRegion, globalCluster: string): string | undefined {
    const regionCluster = region.cluster;
    const cluster = [...parts.clusters.values()].find((candidate) => candidate.name === regionCluster);
    const global = [...parts.clusters.values()].find((candidate) => candidate.name === globalCluster);
    if (cluster === undefined || global === undefined) {
        return undefined;
    }
    if (cluster.type === "kind" && global.type !== "kind") {
        return `a kind cluster's sidecars are reachable only from kind clusters on the same Docker network, and the global query runs in existing cluster "${globalCluster}"`;
    }
    if (cluster.type === "existing" && cluster.storeApiExposure === undefined && region.storeApiAddresses === undefined) {
        return `the global query runs in "${globalCluster}" and cannot reach this cluster's sidecars: set storeApiExposure: loadBalancer on cluster "${regionCluster}", give the region storeApiAddresses, or run it in "${globalCluster}"`;
    }
    return undefined;
}

/** Addresses the user gives stand for replicas of a region the global query reaches across clusters: one each. */
function addressProblems(index: number, region: ParsedRegion, parts: ValidParts, globalCluster: string | undefined): Problem[] {
    const path = ["regions", index, "storeApiAddresses"];
    if (region.storeApiAddresses === undefined || globalCluster === undefined) {
        return [];
    }
    const cluster = [...parts.clusters.values()].find((candidate) => candidate.name === region.cluster);
    if (cluster?.type === "existing" && cluster.storeApiExposure !== undefined) {
        return [
            {
                path,
                message: `cluster "${region.cluster}" already exposes every replica with storeApiExposure: ${cluster.storeApiExposure}; set one or the other`,
            },
        ];
    }
    if (region.cluster === globalCluster || cluster?.type !== "existing") {
        return [
            {
                path,
                message: `only for a region in an existing cluster other than the global query's ("${globalCluster}"): its sidecars are reached ${region.cluster === globalCluster ? "through in-cluster DNS" : "through kind's NodePorts"}`,
            },
        ];
    }
    if (region.storeApiAddresses.length !== region.replicas) {
        return [
            {
                path,
                message: `expected ${region.replicas} addresses, one per replica: each replica must be reachable on its own for deduplication to be proven`,
            },
        ];
    }
    return [];
}

/** Kubernetes refuses a container whose limit is below its request, and the release then waits out its timeout. */
function limitsBelowRequests(at: SettingPath, resources: ContainerResources, wasSet: (path: SettingPath) => boolean): Problem[] {
    return (["cpu", "memory"] as const).flatMap((resource) => {
        const request = resources.requests[resource];
        const limit = resources.limits[resource];
        if (parseQuantity(request) <= parseQuantity(limit)) {
            return [];
        }
        const limitPath = [...at, "limits", resource];
        const requestPath = [...at, "requests", resource];
        // Blame the one the user wrote; if both, the limit.
        return wasSet(limitPath) || !wasSet(requestPath)
            ? [
                  {
                      path: limitPath,
                      message: `below requests.${resource} (${request}${wasSet(requestPath) ? "" : ", the default"}): Kubernetes refuses a container whose limit is below its request`,
                  },
              ]
            : [
                  {
                      path: requestPath,
                      message: `above limits.${resource} (${limit}, the default): Kubernetes refuses a container whose limit is below its request; raise limits.${resource} too`,
                  },
              ];
    });
}

/**
 * The cache lives in the frontend's memory next to the query results it is
 * merging: past half the limit, a busy frontend is killed for memory.
 */
function cacheAboveMemory(globalQuery: GlobalQuery, wasSet: (path: SettingPath) => boolean): Problem[] {
    const cachePath = ["globalQuery", "frontend", "cacheMaxSize"];
    const limitPath = ["globalQuery", "resources", "frontend", "limits", "memory"];
    const cache = byteSizeBytes(globalQuery.frontend.cacheMaxSize)!;
    const limit = globalQuery.resources.frontend.limits.memory;
    if (cache <= parseQuantity(limit) / 2) {
        return [];
    }
    const room = `${Math.floor(parseQuantity(limit) / 2 / 1024 ** 2)}MiB`;
    return wasSet(cachePath) || !wasSet(limitPath)
        ? [
              {
                  path: cachePath,
                  message: `more than half of the frontend's memory limit (${limit}${wasSet(limitPath) ? "" : ", the default"}): use at most ${room}, or raise resources.frontend.limits.memory; the rest holds the results being merged`,
              },
          ]
        : [
              {
                  path: limitPath,
                  message: `leaves less than twice the results cache (${globalQuery.frontend.cacheMaxSize}, the default): use at least ${Math.ceil((cache * 2) / 1024 ** 2)}Mi, or lower frontend.cacheMaxSize`,
              },
          ];
}

function duplicates(list: string, names: (string | undefined)[]): Problem[] {
    return names.flatMap((name, index) => {
        const first = names.indexOf(name);
        return name !== undefined && first !== index
            ? [{ path: [list, index, "name"], message: `already used by ${list}[${first}]: each name must be unique` }]
            : [];
    });
}
