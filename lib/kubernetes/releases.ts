// Every Helm release the stack installs, by cluster, namespace and name: what
// the components name them, and what `npm run up` looks after when a run was
// interrupted, and how long Helm may take for each.
import * as crypto from "crypto";
import { StackConfig } from "../config/schema";

/** kube-prometheus-stack truncates its `fullname` to 26 characters; cluster-scoped names derive from it. */
const chartFullnameLimit = 26;

/** Release name and `fullnameOverride`: short, distinct per region, never truncated by the chart. */
export function regionReleaseName(regionName: string): string {
    const name = `kps-${regionName}`;
    if (name.length <= chartFullnameLimit) {
        return name;
    }
    const hash = crypto.createHash("sha256").update(regionName).digest("hex").slice(0, 6);
    const head = name.slice(0, chartFullnameLimit - hash.length - 1).replace(/-+$/, "");
    return `${head}-${hash}`;
}

/** The thanos chart names every object after this; a release called `thanos` keeps the names short. */
export const thanosReleaseName = "thanos";

/** The global view's Grafana, beside the global query; its Service and the job of its metrics take this name. */
export const grafanaReleaseName = "grafana";

/** Grafana's admin: the user, and the keys the chart reads from `admin.existingSecret` (charts/grafana/values.yaml:575-579 at grafana-12.11.1). */
export const grafanaAdmin = { user: "admin", secretKeys: { user: "admin-user", password: "admin-password" } } as const;

/** Where the exported port-forward command puts Grafana on the user's machine. */
export const grafanaLocalPort = 3000;

/** Services of the `thanos` chart: `<release>-query-http`, `<release>-query-frontend-http` (banzai-charts 51352f61 thanos/templates/query-service.yaml, query-frontend-service.yaml). */
export const thanosServices = {
    queryHttp: `${thanosReleaseName}-query-http`,
    frontendHttp: `${thanosReleaseName}-query-frontend-http`,
} as const;

/** The operator CRDs: cluster-scoped, one release per cluster; Helm keeps its record in kube-system, which every cluster has. */
export const operatorCrdsRelease = { name: "prometheus-operator-crds", namespace: "kube-system" } as const;

/** How long Helm may take, per release: a cold kind cluster pulls every image first. */
export const releaseTimeoutSeconds = {
    operatorCrds: 300,
    /** Prometheus, the operator, the config reloader, Thanos and the webhook cert generator. */
    region: 900,
    /** Two small images; the sidecars it queries may still be starting, which DNS SRV discovery picks up later. */
    globalQuery: 600,
    /** One image; it waits for nothing but its own readiness. */
    grafana: 600,
} as const;

export interface ManagedRelease {
    cluster: string;
    namespace: string;
    name: string;
}

/** The clusters that run regions: each gets the operator CRDs once. */
export function clustersWithRegions(config: StackConfig): string[] {
    return [...new Set(config.regions.map((region) => region.cluster))];
}

export function managedReleases(config: StackConfig): ManagedRelease[] {
    return [
        ...clustersWithRegions(config).map((cluster) => ({ cluster, ...operatorCrdsRelease })),
        ...config.regions.map((region) => ({ cluster: region.cluster, namespace: region.namespace, name: regionReleaseName(region.name) })),
        { cluster: config.globalQuery.cluster, namespace: config.globalQuery.namespace, name: thanosReleaseName },
        ...(config.grafana.enabled ? [{ cluster: config.globalQuery.cluster, namespace: config.globalQuery.namespace, name: grafanaReleaseName }] : []),
    ];
}
