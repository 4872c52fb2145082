// What the banzaicloud `thanos` chart 0.4.9 renders into the Query and Query
// Frontend containers, and whether Thanos accepts it. The chart cannot live
// in this repository, so its args templates are modelled here: the chart's
// defaults from its values.yaml and the order and conditions of each arg in
// query-deployment.yaml and query-frontend-deployment.yaml at commit
// 51352f61 (checked against `helm template` of the real chart). Thanos
// exits at start-up on an unknown flag, and on a repeated one unless it may
// repeat.
import * as assert from "assert";
import { ProgramRun, key, runStack } from "./harness";
import { refused, thanosFlags } from "./thanosFlags";

type Values = Record<string, any>;

/** Chart defaults (values.yaml), deep-merged under the release's values like Helm does. */
const chartDefaults: Values = {
    query: {
        logLevel: "info", logFormat: "logfmt", grpc: { port: 10901 }, http: { port: 10902 }, replicaLabels: [],
        autoDownsampling: true, storeDNSResolver: "miekgdns", storeDNSDiscovery: true, sidecarDNSDiscovery: true,
        ruleDNSDiscovery: false, stores: [], serviceDiscoveryInterval: "5m", extraArgs: [],
    },
    queryFrontend: {
        log: { level: "info", format: "logfmt", request: { decision: "LogFinishCall" } }, http: { port: 10902 },
        queryRange: { splitInterval: "24h", maxRetriesPerRequest: 5, maxQueryLength: 0, maxQueryParallelism: 14, responseCacheMaxFreshness: "1m", noPartialResponse: false, cache: { inMemory: false } },
        downstreamUrl: null, compressResponses: true, logQueriesLongerThan: 0,
        qflabels: { splitInterval: "24h", maxRetriesPerRequest: 5, maxQueryParallelism: 14, responseCacheMaxFreshness: "1m" },
        extraArgs: [],
    },
};

function merge(base: Values, over: Values): Values {
    const merged: Values = { ...base };
    for (const [name, value] of Object.entries(over)) {
        merged[name] = value !== null && typeof value === "object" && !Array.isArray(value) && typeof base[name] === "object" && base[name] !== null
            ? merge(base[name], value)
            : value;
    }
    return merged;
}

/** Go templates treat 0, "", false, null and empty lists as false. */
const truthy = (value: unknown) => !(value === undefined || value === null || value === false || value === 0 || value === "" || (Array.isArray(value) && value.length === 0));

function queryArgs(values: Values, release: string, namespace: string): string[] {
    const q = merge(chartDefaults, values).query;
    const fullname = values.fullnameOverride ?? release;
    const discovery = (component: string) => `--store=dnssrv+_grpc._tcp.${fullname}-${component}-grpc.${namespace}.svc.cluster.local`;
    return [
        `--log.level=${q.logLevel}`, `--log.format=${q.logFormat}`,
        `--grpc-address=0.0.0.0:${q.grpc.port}`, `--http-address=0.0.0.0:${q.http.port}`,
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

function frontendArgs(values: Values, release: string): string[] {
    const merged = merge(chartDefaults, values);
    const f = merged.queryFrontend;
    const fullname = values.fullnameOverride ?? release;
    const range = f.queryRange;
    const labels = f.qflabels;
    return [
        `--log.level=${f.log.level}`, `--log.format=${f.log.format}`,
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
        ...(truthy(range.cache?.inMemory) ? [`--query-range.response-cache-config="type": "IN-MEMORY"\n"config":\n  "max_size": "${range.cache.maxSize}"`] : []),
        ...(truthy(labels.splitInterval) ? [`--labels.split-interval=${labels.splitInterval}`] : []),
        ...(truthy(labels.maxRetriesPerRequest) ? [`--labels.max-retries-per-request=${labels.maxRetriesPerRequest}`] : []),
        ...(truthy(labels.maxQueryParallelism) ? [`--labels.max-query-parallelism=${labels.maxQueryParallelism}`] : []),
        ...(truthy(labels.responseCacheMaxFreshness) ? [`--labels.response-cache-max-freshness=${labels.responseCacheMaxFreshness}`] : []),
        ...f.extraArgs,
    ];
}

/** The querier's client TLS flags: query.go:89-94 at v0.37.0, config.go:76-81 at v0.41.0 (deprecated after v0.43 at v0.42.4, config.go:87-92). */
const clientTlsFlags = {
    "grpc-client-tls-secure": false, "grpc-client-tls-cert": false, "grpc-client-tls-key": false, "grpc-client-tls-ca": false, "grpc-client-server-name": false,
};

/** Flags of `thanos query` / `thanos query-frontend` that the chart can render, per release (from each release's generated flag docs and source); true where the flag may repeat. */
const queryFlags = {
    "v0.37": {
        "log.level": false, "log.format": false, "grpc-address": false, "http-address": false, "query.replica-label": true,
        "query.auto-downsampling": false, "web.route-prefix": false, "web.external-prefix": false, "web.prefix-header": false,
        "store.sd-dns-resolver": false, "store": true, "store.sd-files": true, "store.sd-interval": false, "endpoint": true,
        ...clientTlsFlags,
    },
    // --endpoint.sd-config from v0.38.0 (query.go:191 at v0.41.0), still without TLS of its own.
    "v0.41": {
        "log.level": false, "log.format": false, "grpc-address": false, "http-address": false, "query.replica-label": true,
        "query.auto-downsampling": false, "web.route-prefix": false, "web.external-prefix": false, "web.prefix-header": false,
        "store.sd-dns-resolver": false, "store.sd-files": true, "store.sd-interval": false, "endpoint": true, "endpoint.sd-config": false,
        ...clientTlsFlags,
    },
    // v0.38.0 removed --store and added --endpoint.sd-config; unchanged for these flags up to v0.42.4.
    "v0.42": {
        "log.level": false, "log.format": false, "grpc-address": false, "http-address": false, "query.replica-label": true,
        "query.auto-downsampling": false, "web.route-prefix": false, "web.external-prefix": false, "web.prefix-header": false,
        "store.sd-dns-resolver": false, "store.sd-files": true, "store.sd-interval": false, "endpoint": true, "endpoint.sd-config": false,
    },
};
/** The same from v0.37.0 to v0.42.4; --log.request.decision went in v0.33.0. */
const frontendFlags: Record<string, boolean> = Object.fromEntries([
    "log.level", "log.format", "http-address", "query-range.split-interval", "query-range.max-retries-per-request",
    "query-range.max-query-length", "query-range.max-query-parallelism", "query-range.response-cache-max-freshness",
    "query-range.partial-response", "query-frontend.downstream-url", "query-frontend.compress-responses",
    "query-frontend.log-queries-longer-than", "query-range.response-cache-config", "labels.split-interval",
    "labels.max-retries-per-request", "labels.max-query-parallelism", "labels.response-cache-max-freshness",
].map((flag) => [flag, false]));

const globalValues = (run: ProgramRun) => run.one("kubernetes:helm.sh/v3:Release", "global").inputs.values as Values;

describe("the thanos chart's rendered args", () => {
    it("the dev stack: Thanos v0.42.4 accepts every flag Query and Query Frontend get", async () => {
        const values = globalValues(await runStack("dev"));
        const query = queryArgs(values, "thanos", "monitoring");
        const frontend = frontendArgs(values, "thanos");
        assert.deepStrictEqual(refused(query, queryFlags["v0.42"]), []);
        assert.deepStrictEqual(refused(frontend, frontendFlags), []);
        assert.deepStrictEqual(query.filter((arg) => /^--(endpoint|store|query\.replica-label)/.test(arg)), [
            "--query.replica-label=replica",
            '--endpoint.sd-config={"endpoints":[{"address":"dnssrv+_grpc._tcp.prometheus-operated.europe.svc.cluster.local"},{"address":"dnssrv+_grpc._tcp.prometheus-operated.united-states.svc.cluster.local"}]}',
        ]);
        assert.ok(frontend.includes("--query-frontend.downstream-url=http://thanos-query-http:10902"));
        assert.ok(frontend.includes('--query-range.response-cache-config="type": "IN-MEMORY"\n"config":\n  "max_size": "128MB"'));
        assert.ok(frontend.includes("--query-frontend.log-queries-longer-than=10s"));
    });

    it("a v0.37 stack: Thanos v0.37 accepts its --endpoint flags", async () => {
        const values = globalValues(await runStack("dev", (config) => (config[key("versions")] = { thanos: "v0.37.2" })));
        assert.deepStrictEqual(refused(queryArgs(values, "thanos", "monitoring"), queryFlags["v0.37"]), []);
        assert.deepStrictEqual(refused(frontendArgs(values, "thanos"), frontendFlags), []);
    });

    it("the fleet stack, with client TLS and long-term storage: every supported Thanos accepts the querier's, the gateway's and the compactor's flags", async () => {
        const releases = [["v0.37.2", queryFlags["v0.37"], thanosFlags["v0.37.0"]], ["v0.41.0", queryFlags["v0.41"], thanosFlags["v0.41.0"]], ["v0.42.4", queryFlags["v0.42"], thanosFlags["v0.42.4"]]] as const;
        for (const [version, flags, { store, compact }] of releases) {
            const run = await runStack("fleet", (config) => (config[key("versions")] = { thanos: version }));
            assert.deepStrictEqual(refused(queryArgs(globalValues(run), "thanos", "monitoring"), flags), [], version);
            // Built by the program (components/storeGateway.ts, compactor.ts), as registered.
            const container = (type: string, name: string) => run.one(type, name).inputs.spec.template.spec.containers[0];
            const gateway = container("kubernetes:apps/v1:Deployment", "store-gateway");
            const compactor = container("kubernetes:apps/v1:StatefulSet", "compactor");
            assert.deepStrictEqual([gateway.image, compactor.image, gateway.args[0], compactor.args[0]], [`quay.io/thanos/thanos:${version}`, `quay.io/thanos/thanos:${version}`, "store", "compact"]);
            assert.deepStrictEqual(refused(gateway.args.slice(1), store), [], version);
            assert.deepStrictEqual(refused(compactor.args.slice(1), compact), [], version);
            if (version === "v0.37.2") {
                // The global client TLS flags, and one --endpoint per address: two remote replicas, the local region, the gateway.
                const args = queryArgs(globalValues(run), "thanos", "monitoring");
                assert.deepStrictEqual(args.slice(-5), [
                    "--grpc-client-tls-secure",
                    "--grpc-client-tls-cert=/etc/certs/tls.crt",
                    "--grpc-client-tls-key=/etc/certs/tls.key",
                    "--grpc-client-tls-ca=/etc/certs/ca.crt",
                    "--grpc-client-server-name=storeapi.thanos-global-view.internal",
                ]);
                assert.strictEqual(args.filter((arg) => arg.startsWith("--endpoint=")).length, 4);
            }
        }
        // v0.42 has no use for the deprecated flags: its endpoint config carries the client certificate.
        assert.ok(!queryArgs(globalValues(await runStack("fleet")), "thanos", "monitoring").some((arg) => arg.startsWith("--grpc-client")));
    });

    it("the tutorial's values (chart defaults, stores by hand) are refused by current Thanos, as users found", () => {
        const tutorial = { query: { stores: ["dnssrv+_grpc._tcp.prometheus-operated.europe.svc.cluster.local"] }, queryFrontend: { enabled: true } };
        assert.deepStrictEqual(refused(queryArgs(tutorial, "thanos", "monitoring"), queryFlags["v0.42"]),
            ["unknown flag --store", "unknown flag --store", "unknown flag --store"]);
        assert.deepStrictEqual(refused(frontendArgs(tutorial, "thanos"), frontendFlags), ["unknown flag --log.request.decision"]);
    });

    it("a flag given both by the chart and in extraArgs is refused", () => {
        const twice = { queryFrontend: { extraArgs: ["--query-range.split-interval=12h"] } };
        assert.deepStrictEqual(refused(frontendArgs(twice, "thanos"), frontendFlags), ["unknown flag --log.request.decision", "repeated flag --query-range.split-interval"]);
    });
});
