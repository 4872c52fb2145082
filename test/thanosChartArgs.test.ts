// Whether Thanos accepts what the banzaicloud `thanos` chart 0.4.9 renders
// into the Query and Query Frontend containers (modelled in
// thanosChartModel.ts). Thanos exits at start-up on an unknown flag, and on a
// repeated one unless it may repeat.
import * as assert from "assert";
import { ProgramRun, key, runStack } from "./harness";
import { refused, thanosFlags } from "./thanosFlags";
import { Values, frontendArgs, queryArgs } from "./thanosChartModel";

/** The querier's client TLS flags: query.go:89-94 at v0.37.0, config.go:76-81 at v0.41.0 (deprecated after v0.43 at v0.42.4, config.go:87-92). */
const clientTlsFlags = {
    "grpc-client-tls-secure": false,
    "grpc-client-tls-cert": false,
    "grpc-client-tls-key": false,
    "grpc-client-tls-ca": false,
    "grpc-client-server-name": false,
};

/** Flags of `thanos query` / `thanos query-frontend` that the chart can render, per release (from each release's generated flag docs and source); true where the flag may repeat. */
const queryFlags = {
    "v0.37": {
        "log.level": false,
        "log.format": false,
        "grpc-address": false,
        "http-address": false,
        "query.replica-label": true,
        "query.auto-downsampling": false,
        "web.route-prefix": false,
        "web.external-prefix": false,
        "web.prefix-header": false,
        "store.sd-dns-resolver": false,
        store: true,
        "store.sd-files": true,
        "store.sd-interval": false,
        endpoint: true,
        ...clientTlsFlags,
    },
    // --endpoint.sd-config from v0.38.0 (query.go:191 at v0.41.0), still without TLS of its own.
    "v0.41": {
        "log.level": false,
        "log.format": false,
        "grpc-address": false,
        "http-address": false,
        "query.replica-label": true,
        "query.auto-downsampling": false,
        "web.route-prefix": false,
        "web.external-prefix": false,
        "web.prefix-header": false,
        "store.sd-dns-resolver": false,
        "store.sd-files": true,
        "store.sd-interval": false,
        endpoint: true,
        "endpoint.sd-config": false,
        ...clientTlsFlags,
    },
    // v0.38.0 removed --store and added --endpoint.sd-config; unchanged for these flags up to v0.42.4.
    "v0.42": {
        "log.level": false,
        "log.format": false,
        "grpc-address": false,
        "http-address": false,
        "query.replica-label": true,
        "query.auto-downsampling": false,
        "web.route-prefix": false,
        "web.external-prefix": false,
        "web.prefix-header": false,
        "store.sd-dns-resolver": false,
        "store.sd-files": true,
        "store.sd-interval": false,
        endpoint: true,
        "endpoint.sd-config": false,
    },
};
/** The same from v0.37.0 to v0.42.4; --log.request.decision went in v0.33.0. */
const frontendFlags: Record<string, boolean> = Object.fromEntries(
    [
        "log.level",
        "log.format",
        "http-address",
        "query-range.split-interval",
        "query-range.max-retries-per-request",
        "query-range.max-query-length",
        "query-range.max-query-parallelism",
        "query-range.response-cache-max-freshness",
        "query-range.partial-response",
        "query-frontend.downstream-url",
        "query-frontend.compress-responses",
        "query-frontend.log-queries-longer-than",
        "query-range.response-cache-config",
        "labels.split-interval",
        "labels.max-retries-per-request",
        "labels.max-query-parallelism",
        "labels.response-cache-max-freshness",
    ].map((flag) => [flag, false]),
);

const globalValues = (run: ProgramRun) => run.one("kubernetes:helm.sh/v3:Release", "global").inputs.values as Values;

describe("the thanos chart's rendered args", () => {
    it("the dev stack: Thanos v0.42.4 accepts every flag Query and Query Frontend get", async () => {
        const values = globalValues(await runStack("dev"));
        const query = queryArgs(values, "thanos", "monitoring");
        const frontend = frontendArgs(values, "thanos");
        assert.deepStrictEqual(refused(query, queryFlags["v0.42"]), []);
        assert.deepStrictEqual(refused(frontend, frontendFlags), []);
        assert.deepStrictEqual(
            query.filter((arg) => /^--(endpoint|store|query\.replica-label)/.test(arg)),
            [
                "--query.replica-label=replica",
                "--query.replica-label=rule_replica",
                '--endpoint.sd-config={"endpoints":[{"address":"dnssrv+_grpc._tcp.prometheus-operated.europe.svc.cluster.local"},{"address":"dnssrv+_grpc._tcp.prometheus-operated.united-states.svc.cluster.local"},{"address":"dnssrv+_grpc._tcp.thanos-rule.monitoring.svc.cluster.local"}]}',
            ],
        );
        assert.ok(frontend.includes("--query-frontend.downstream-url=http://thanos-query-http:10902"));
        // Two frontends share memcached; the chart's in-memory cache flag is not rendered, so the flag is there once.
        assert.deepStrictEqual(
            frontend.filter((arg) => arg.startsWith("--query-range.response-cache-config=")).map((arg) => arg.split("\n")[0]),
            ["--query-range.response-cache-config=type: MEMCACHED"],
        );
        assert.ok(frontend.includes("--query-frontend.log-queries-longer-than=10s"));
    });

    it("a v0.37 stack: Thanos v0.37 accepts its --endpoint flags", async () => {
        const values = globalValues(await runStack("dev", (config) => (config[key("versions")] = { thanos: "v0.37.2" })));
        assert.deepStrictEqual(refused(queryArgs(values, "thanos", "monitoring"), queryFlags["v0.37"]), []);
        assert.deepStrictEqual(refused(frontendArgs(values, "thanos"), frontendFlags), []);
    });

    it("the fleet stack, with client TLS and long-term storage: every supported Thanos accepts the querier's, the gateway's and the compactor's flags", async () => {
        const releases = [
            ["v0.37.2", queryFlags["v0.37"], thanosFlags["v0.37.0"]],
            ["v0.41.0", queryFlags["v0.41"], thanosFlags["v0.41.0"]],
            ["v0.42.4", queryFlags["v0.42"], thanosFlags["v0.42.4"]],
        ] as const;
        for (const [version, flags, { store, compact, rule }] of releases) {
            const run = await runStack("fleet", (config) => (config[key("versions")] = { thanos: version }));
            assert.deepStrictEqual(refused(queryArgs(globalValues(run), "thanos", "monitoring"), flags), [], version);
            // Built by the program (components/storeGateway.ts, compactor.ts), as registered.
            const container = (type: string, name: string) => run.one(type, name).inputs.spec.template.spec.containers[0];
            const gateway = container("kubernetes:apps/v1:Deployment", "store-gateway");
            const compactor = container("kubernetes:apps/v1:StatefulSet", "compactor");
            assert.deepStrictEqual(
                [gateway.image, compactor.image, gateway.args[0], compactor.args[0]],
                [`quay.io/thanos/thanos:${version}`, `quay.io/thanos/thanos:${version}`, "store", "compact"],
            );
            assert.deepStrictEqual(refused(gateway.args.slice(1), store), [], version);
            assert.deepStrictEqual(refused(compactor.args.slice(1), compact), [], version);
            const ruler = container("kubernetes:apps/v1:StatefulSet", "global-alerting-ruler");
            assert.deepStrictEqual([ruler.image, ruler.args[0]], [`quay.io/thanos/thanos:${version}`, "rule"]);
            assert.deepStrictEqual(refused(ruler.args.slice(1), rule), [], version);
            if (version === "v0.37.2") {
                // The global client TLS flags, and one --endpoint per address: two remote replicas, the local region, the gateway, the Ruler pair.
                const args = queryArgs(globalValues(run), "thanos", "monitoring");
                assert.deepStrictEqual(args.slice(-5), [
                    "--grpc-client-tls-secure",
                    "--grpc-client-tls-cert=/etc/certs/tls.crt",
                    "--grpc-client-tls-key=/etc/certs/tls.key",
                    "--grpc-client-tls-ca=/etc/certs/ca.crt",
                    "--grpc-client-server-name=storeapi.thanos-global-view.internal",
                ]);
                assert.strictEqual(args.filter((arg) => arg.startsWith("--endpoint=")).length, 5);
            }
        }
        // v0.42 has no use for the deprecated flags: its endpoint config carries the client certificate.
        assert.ok(!queryArgs(globalValues(await runStack("fleet")), "thanos", "monitoring").some((arg) => arg.startsWith("--grpc-client")));
    });

    it("the tutorial's values (chart defaults, stores by hand) are refused by current Thanos, as users found", () => {
        const tutorial = { query: { stores: ["dnssrv+_grpc._tcp.prometheus-operated.europe.svc.cluster.local"] }, queryFrontend: { enabled: true } };
        assert.deepStrictEqual(refused(queryArgs(tutorial, "thanos", "monitoring"), queryFlags["v0.42"]), [
            "unknown flag --store",
            "unknown flag --store",
            "unknown flag --store",
        ]);
        assert.deepStrictEqual(refused(frontendArgs(tutorial, "thanos"), frontendFlags), ["unknown flag --log.request.decision"]);
    });

    it("a flag given both by the chart and in extraArgs is refused", () => {
        const twice = { queryFrontend: { extraArgs: ["--query-range.split-interval=12h"] } };
        assert.deepStrictEqual(refused(frontendArgs(twice, "thanos"), frontendFlags), [
            "unknown flag --log.request.decision",
            "repeated flag --query-range.split-interval",
        ]);
    });
});
