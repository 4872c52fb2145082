import * as assert from "assert";
import { queryEndpointArgs, thanosChartValues } from "../components/globalQuery";
import { memcachedCacheConfig } from "../components/queryCache";
import { defaults } from "../lib/config/schema";
import { cachedChartDirectory } from "./setup";
import { ProgramRun, key, runStack, withAsia } from "./harness";

const release = "kubernetes:helm.sh/v3:Release";
const europe = "dnssrv+_grpc._tcp.prometheus-operated.europe.svc.cluster.local";
const unitedStates = "dnssrv+_grpc._tcp.prometheus-operated.united-states.svc.cluster.local";
const ruler = "dnssrv+_grpc._tcp.thanos-rule.monitoring.svc.cluster.local";

/** Every Thanos release in the supported range. */
const supportedReleases = [
    "v0.37.0",
    "v0.37.1",
    "v0.37.2",
    "v0.38.0",
    "v0.39.0",
    "v0.39.1",
    "v0.39.2",
    "v0.40.0",
    "v0.40.1",
    "v0.41.0",
    "v0.42.0",
    "v0.42.1",
    "v0.42.2",
    "v0.42.3",
    "v0.42.4",
];

const endpointArgs = (run: ProgramRun) => run.one(release, "global").inputs.values.query.extraArgs as string[];

describe("GlobalQuery on the dev stack", () => {
    let run: ProgramRun;
    before(async () => {
        run = await runStack("dev");
    });

    it("installs the chart from the pinned git source in the per-user cache, as release thanos in monitoring", () => {
        const global = run.one(release, "global");
        assert.strictEqual(global.inputs.chart, cachedChartDirectory);
        assert.strictEqual(global.inputs.repositoryOpts, undefined);
        assert.strictEqual(global.inputs.name, "thanos");
        assert.strictEqual(global.inputs.namespace, "monitoring");
        assert.strictEqual(global.inputs.timeout, 600);
    });

    it("the exact values: only Query and Query Frontend, only flags Thanos v0.42.4 accepts", () => {
        assert.deepStrictEqual(run.one(release, "global").inputs.values, {
            fullnameOverride: "thanos",
            image: { repository: "quay.io/thanos/thanos", tag: "v0.42.4", pullPolicy: "IfNotPresent" },
            store: { enabled: false },
            compact: { enabled: false },
            bucket: { enabled: false },
            rule: { enabled: false },
            sidecar: { enabled: false },
            query: {
                enabled: true,
                replicaCount: 2,
                replicaLabels: ["replica", "rule_replica"],
                storeDNSDiscovery: false,
                sidecarDNSDiscovery: false,
                ruleDNSDiscovery: false,
                stores: [],
                storeDNSResolver: "",
                serviceDiscoveryInterval: "",
                extraArgs: [`--endpoint.sd-config={"endpoints":[{"address":"${europe}"},{"address":"${unitedStates}"},{"address":"${ruler}"}]}`],
                resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "1", memory: "1Gi" } },
                extraEnv: [{ name: "GOMEMLIMIT", value: "819MiB" }],
                affinity: spread("query"),
                podDisruptionBudget: { enabled: true, minAvailable: 1 },
                livenessProbe: { httpGet: { path: "/-/healthy", port: "http" } },
                readinessProbe: { httpGet: { path: "/-/ready", port: "http" } },
                securityContext: { runAsNonRoot: true, runAsUser: 1001, runAsGroup: 1001, seccompProfile: { type: "RuntimeDefault" } },
            },
            queryFrontend: {
                enabled: true,
                replicaCount: 2,
                http: { port: 10902 },
                log: { request: { decision: "" } },
                // Two frontends: the shared cache, memcached.
                queryRange: { splitInterval: "24h", maxRetriesPerRequest: 5, cache: { inMemory: false } },
                extraArgs: [`--query-range.response-cache-config=${memcachedCacheConfig("monitoring")}`],
                compressResponses: true,
                logQueriesLongerThan: "10s",
                resources: { requests: { cpu: "50m", memory: "128Mi" }, limits: { cpu: "500m", memory: "512Mi" } },
                extraEnv: [{ name: "GOMEMLIMIT", value: "409MiB" }],
                affinity: spread("query-frontend"),
                podDisruptionBudget: { enabled: true, minAvailable: 1 },
                securityContext: { runAsNonRoot: true, runAsUser: 1001, runAsGroup: 1001, seccompProfile: { type: "RuntimeDefault" } },
            },
        });
    });

    it("reaches every region through the regions' own outputs, one endpoint each, and the Ruler pair", () => {
        const configured = JSON.parse(endpointArgs(run)[0].replace("--endpoint.sd-config=", ""));
        assert.deepStrictEqual(
            configured.endpoints.map((e: { address: string }) => e.address),
            [...(run.exports.regionSummaries as { storeApiEndpoints: string[] }[]).flatMap((r) => r.storeApiEndpoints), ruler],
        );
    });

    it("deduplicates on the replica label the regions set and the Ruler's, never on the region label", () => {
        const values = run.one(release, "global").inputs.values;
        const sidecarReplicaLabel = run.one(release, "europe").inputs.values.prometheus.prometheusSpec.replicaExternalLabelName;
        const rulerLabel = /^--label=(\w+)=/.exec(
            run
                .one("kubernetes:apps/v1:StatefulSet", "global-alerting-ruler")
                .inputs.spec.template.spec.containers[0].args.find((arg: string) => arg.startsWith("--label=")),
        )![1];
        assert.deepStrictEqual(values.query.replicaLabels, [sidecarReplicaLabel, rulerLabel]);
        assert.ok(!JSON.stringify(values).includes("replica-label=cluster"));
    });

    it("runs beside the regions: it waits for their namespaces, never for their releases", () => {
        const dependencies = run.one(release, "global").dependencies;
        assert.deepStrictEqual(
            dependencies.filter((urn) => urn.includes(":Release::")),
            [],
        );
        assert.ok(dependencies.includes(run.one("kubernetes:core/v1:Namespace", "europe").urn));
    });

    it("exports the frontend's service, URL and a port-forward command", () => {
        assert.strictEqual(run.exports.queryFrontendService, "thanos-query-frontend-http");
        assert.strictEqual(run.exports.queryFrontendPort, 10902);
        assert.strictEqual(run.exports.queryFrontendUrl, "http://thanos-query-frontend-http.monitoring.svc.cluster.local:10902");
    });
});

describe("GlobalQuery follows the stack config", () => {
    it("a third region adds a third endpoint, with no other change", async () => {
        const run = await runStack("dev", withAsia);
        const configured = JSON.parse(endpointArgs(run)[0].replace("--endpoint.sd-config=", ""));
        assert.deepStrictEqual(configured, {
            endpoints: [
                { address: europe },
                { address: unitedStates },
                { address: "dnssrv+_grpc._tcp.prometheus-operated.asia.svc.cluster.local" },
                { address: ruler },
            ],
        });
    });

    it("Thanos v0.37.2 across the stack: --endpoint flags, and the sidecars on the same version", async () => {
        const run = await runStack("dev", (config) => (config[key("versions")] = { thanos: "v0.37.2" }));
        assert.deepStrictEqual(endpointArgs(run), [`--endpoint=${europe}`, `--endpoint=${unitedStates}`, `--endpoint=${ruler}`]);
        assert.strictEqual(run.one(release, "global").inputs.values.image.tag, "v0.37.2");
        assert.strictEqual(run.one(release, "europe").inputs.values.prometheus.prometheusSpec.thanos.image, "quay.io/thanos/thanos:v0.37.2");
    });

    it("one replica each: no PodDisruptionBudget that would block every drain", async () => {
        const run = await runStack("dev", (config) => Object.assign(config[key("globalQuery")], { queryReplicas: 1, frontendReplicas: 1 }));
        const values = run.one(release, "global").inputs.values;
        assert.deepStrictEqual([values.query.replicaCount, values.query.podDisruptionBudget.enabled], [1, false]);
        assert.deepStrictEqual([values.queryFrontend.replicaCount, values.queryFrontend.podDisruptionBudget.enabled], [1, false]);
    });

    it("a chart mirror: the chart name and version go to Helm, no git", async () => {
        const run = await runStack("dev", (config) => (config[key("globalQuery")].chart = { source: "repository", url: "oci://registry.internal/charts/" }));
        assert.deepStrictEqual(
            [run.one(release, "global").inputs.chart, run.one(release, "global").inputs.version],
            ["oci://registry.internal/charts/thanos", "0.4.9"],
        );
    });

    it("frontend settings reach the chart", async () => {
        const run = await runStack("dev", (config) =>
            Object.assign(config[key("globalQuery")], {
                frontend: { splitInterval: "12h", maxRetries: 2, cache: "inMemory", cacheMaxSize: "512MB", slowQueryThreshold: "30s" },
                resources: { frontend: { limits: { memory: "1Gi" } } },
            }),
        );
        const frontend = run.one(release, "global").inputs.values.queryFrontend;
        assert.deepStrictEqual(frontend.queryRange, { splitInterval: "12h", maxRetriesPerRequest: 2, cache: { inMemory: true, maxSize: "512MB" } });
        assert.strictEqual(frontend.logQueriesLongerThan, "30s");
    });
});

describe("Thanos Query endpoint flags by version", () => {
    const endpoints = [europe, unitedStates];

    for (const version of supportedReleases) {
        const sdConfig = !version.startsWith("v0.37.");
        it(`${version}: ${sdConfig ? "--endpoint.sd-config (--store is gone, --endpoint deprecated)" : "--endpoint per region (no --endpoint.sd-config yet)"}`, () => {
            const args = queryEndpointArgs(version, endpoints);
            if (sdConfig) {
                assert.deepStrictEqual(args, [`--endpoint.sd-config={"endpoints":[{"address":"${europe}"},{"address":"${unitedStates}"}]}`]);
            } else {
                assert.deepStrictEqual(args, [`--endpoint=${europe}`, `--endpoint=${unitedStates}`]);
            }
            assert.ok(args.every((arg) => !arg.startsWith("--store")));
        });
    }

    it("never a flag the chart also renders (Thanos refuses a repeated flag)", () => {
        const values = thanosChartValues({
            globalQuery: { ...defaults.globalQuery, cluster: "x", chart: { source: "local", path: "." } },
            labels: defaults.labels,
            thanosVersion: "v0.42.4",
            endpoints,
        }) as any;
        const chartRendered = ["--query.replica-label", "--query.auto-downsampling", "--log.", "--grpc-address", "--http-address", "--store.sd-"];
        for (const arg of values.query.extraArgs as string[]) {
            assert.ok(!chartRendered.some((flag) => arg.startsWith(flag)), arg);
        }
        // The frontend's one extra flag is the shared cache's, which the chart renders only for an in-memory cache.
        assert.deepStrictEqual(
            (values.queryFrontend.extraArgs as string[]).map((arg) => arg.split("=")[0]),
            ["--query-range.response-cache-config"],
        );
        assert.strictEqual(values.queryFrontend.queryRange.cache.inMemory, false);
    });
});

function spread(component: string) {
    return {
        podAntiAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [
                {
                    weight: 100,
                    podAffinityTerm: {
                        topologyKey: "kubernetes.io/hostname",
                        labelSelector: {
                            matchLabels: {
                                "app.kubernetes.io/name": "thanos",
                                "app.kubernetes.io/instance": "thanos",
                                "app.kubernetes.io/component": component,
                            },
                        },
                    },
                },
            ],
        },
    };
}
