// What the banzaicloud `thanos` chart 0.4.9 renders into the Query and Query
// Frontend containers. The chart cannot live in this repository, so its args
// templates are modelled here: the chart's defaults from its values.yaml and
// the order and conditions of each arg in query-deployment.yaml and
// query-frontend-deployment.yaml at commit 51352f61 (checked against
// `helm template` of the real chart). The flag checks (thanosChartArgs.test.ts)
// and the data-plane e2e tier, which runs real Thanos with these args, share it.

export type Values = Record<string, any>;

/** Chart defaults (values.yaml), deep-merged under the release's values like Helm does. */
const chartDefaults: Values = {
    query: {
        logLevel: "info",
        logFormat: "logfmt",
        grpc: { port: 10901 },
        http: { port: 10902 },
        replicaLabels: [],
        autoDownsampling: true,
        storeDNSResolver: "miekgdns",
        storeDNSDiscovery: true,
        sidecarDNSDiscovery: true,
        ruleDNSDiscovery: false,
        stores: [],
        serviceDiscoveryInterval: "5m",
        extraArgs: [],
    },
    queryFrontend: {
        log: { level: "info", format: "logfmt", request: { decision: "LogFinishCall" } },
        http: { port: 10902 },
        queryRange: {
            splitInterval: "24h",
            maxRetriesPerRequest: 5,
            maxQueryLength: 0,
            maxQueryParallelism: 14,
            responseCacheMaxFreshness: "1m",
            noPartialResponse: false,
            cache: { inMemory: false },
        },
        downstreamUrl: null,
        compressResponses: true,
        logQueriesLongerThan: 0,
        qflabels: { splitInterval: "24h", maxRetriesPerRequest: 5, maxQueryParallelism: 14, responseCacheMaxFreshness: "1m" },
        extraArgs: [],
    },
};

function merge(base: Values, over: Values): Values {
    const merged: Values = { ...base };
    for (const [name, value] of Object.entries(over)) {
        merged[name] =
            value !== null && typeof value === "object" && !Array.isArray(value) && typeof base[name] === "object" && base[name] !== null
                ? merge(base[name], value)
                : value;
    }
    return merged;
}

/** Go templates treat 0, "", false, null and empty lists as false. */
const truthy = (value: unknown) =>
    !(value === undefined || value === null || value === false || value === 0 || value === "" || (Array.isArray(value) && value.length === 0));

export function queryArgs(values: Values, release: string, namespace: string): string[] {
    const q = merge(chartDefaults, values).query;
    const fullname = values.fullnameOverride ?? release;
    const discovery = (component: string) => `--store=dnssrv+_grpc._tcp.${fullname}-${component}-grpc.${namespace}.svc.cluster.local`;
    return [
        `--log.level=${q.logLevel}`,
        `--log.format=${q.logFormat}`,
        `--grpc-address=0.0.0.0:${q.grpc.port}`,
        `--http-address=0.0.0.0:${q.http.port}`,
        ...q.replicaLabels.map((label: string) => `--query.replica-label=${label}`),
        ...(truthy(q.autoDownsampling) ? ["--query.auto-downsampling"] : []),
        ...(truthy(q.storeDNSResolver) ? [`--store.sd-dns-resolver=${q.storeDNSResolver}`] : []),
        ...(truthy(q.storeDNSDiscovery) ? [discovery("store")] : []),
        ...(truthy(q.sidecarDNSDiscovery) ? [discovery("sidecar")] : []),
        ...(truthy(q.ruleDNSDiscovery) ? [discovery("rule")] : []),
        ...q.stores.map((store: string) => `--store=${store}`),
        ...(truthy(q.serviceDiscoveryInterval) ? [`--store.sd-interval=${q.serviceDiscoveryInterval}`] : []),
        ...q.extraArgs,
    ];
}

export function frontendArgs(values: Values, release: string): string[] {
    const merged = merge(chartDefaults, values);
    const f = merged.queryFrontend;
    const fullname = values.fullnameOverride ?? release;
    const range = f.queryRange;
    const labels = f.qflabels;
    return [
        `--log.level=${f.log.level}`,
        `--log.format=${f.log.format}`,
        ...(truthy(f.log.request.decision) ? [`--log.request.decision=${f.log.request.decision}`] : []),
        `--http-address=0.0.0.0:${f.http.port}`,
        ...(truthy(range.splitInterval) ? [`--query-range.split-interval=${range.splitInterval}`] : []),
        ...(truthy(range.maxRetriesPerRequest) ? [`--query-range.max-retries-per-request=${range.maxRetriesPerRequest}`] : []),
        ...(truthy(range.maxQueryLength) ? [`--query-range.max-query-length=${range.maxQueryLength}`] : []),
        ...(truthy(range.maxQueryParallelism) ? [`--query-range.max-query-parallelism=${range.maxQueryParallelism}`] : []),
        ...(truthy(range.responseCacheMaxFreshness) ? [`--query-range.response-cache-max-freshness=${range.responseCacheMaxFreshness}`] : []),
        ...(truthy(range.noPartialResponse) ? ["--no-query-range.partial-response"] : []),
        `--query-frontend.downstream-url=${f.downstreamUrl ?? `http://${fullname}-query-http:${merged.query.http.port}`}`,
        ...(truthy(f.compressResponses) ? ["--query-frontend.compress-responses"] : []),
        ...(truthy(f.logQueriesLongerThan) ? [`--query-frontend.log-queries-longer-than=${f.logQueriesLongerThan}`] : []),
        ...(truthy(range.cache?.inMemory)
            ? [`--query-range.response-cache-config="type": "IN-MEMORY"\n"config":\n  "max_size": "${range.cache.maxSize}"`]
            : []),
        ...(truthy(labels.splitInterval) ? [`--labels.split-interval=${labels.splitInterval}`] : []),
        ...(truthy(labels.maxRetriesPerRequest) ? [`--labels.max-retries-per-request=${labels.maxRetriesPerRequest}`] : []),
        ...(truthy(labels.maxQueryParallelism) ? [`--labels.max-query-parallelism=${labels.maxQueryParallelism}`] : []),
        ...(truthy(labels.responseCacheMaxFreshness) ? [`--labels.response-cache-max-freshness=${labels.responseCacheMaxFreshness}`] : []),
        ...f.extraArgs,
    ];
}
