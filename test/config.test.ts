import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { StackConfigError, parseStackConfig } from "../lib/config/validate";
import { StackConfig, defaults } from "../lib/config/schema";
import { readStackConfig, readStackFileConfig } from "../lib/config/stackFile";
import { banzaicloudThanosChart, defaultKindNodeImage, defaultVersions } from "../lib/versions";
import { projectDirectory } from "./harness";

const project = "thanos-global-view";

/** A minimal valid config: one kind cluster, one region, the global query; `edit` breaks it. */
function minimal(edit: (raw: Record<string, any>) => void = () => undefined): Record<string, any> {
    const raw: Record<string, any> = {
        clusters: [{ name: "lab", type: "kind" }],
        regions: [{ name: "europe", cluster: "lab", replicas: 2 }],
        globalQuery: { cluster: "lab" },
    };
    edit(raw);
    return raw;
}

/** Parses settings written without the project prefix, as in the YAML under `thanos-global-view:`. */
function parse(raw: Record<string, unknown>, secretKeys: string[] = []): StackConfig {
    return parseStackConfig(project, {
        values: Object.fromEntries(Object.entries(raw).map(([key, value]) => [key.includes(":") ? key : `${project}:${key}`, value])),
        secretKeys: new Set(secretKeys.map((key) => `${project}:${key}`)),
    });
}

function problemsOf(raw: Record<string, unknown>, secretKeys: string[] = []): string[] {
    try {
        parse(raw, secretKeys);
    } catch (error) {
        assert.ok(error instanceof StackConfigError, `expected a StackConfigError, got ${error}`);
        return [...error.problems];
    }
    assert.fail("the config was accepted");
}

function assertOneProblem(raw: Record<string, unknown>, expected: string): void {
    assert.deepStrictEqual(problemsOf(raw), [expected]);
}

describe("stack config", () => {
    describe("the committed stack files", () => {
        it("dev: the tutorial's topology on a kind cluster with the pinned defaults", () => {
            const config = readStackConfig(projectDirectory, "dev");
            assert.deepStrictEqual(config.clusters, [
                { type: "kind", name: "thanos-dev", nodeImage: defaultKindNodeImage, controlPlaneNodes: 1, workerNodes: 2 },
            ]);
            assert.deepStrictEqual(
                config.regions.map((r) => [r.name, r.cluster, r.namespace, r.replicas, r.retention]),
                [
                    ["europe", "thanos-dev", "europe", 2, "2d"],
                    ["united-states", "thanos-dev", "united-states", 1, "2d"],
                ],
            );
            assert.deepStrictEqual(config.regions[0].components, { grafana: false, alertmanager: false, nodeExporter: false, kubeStateMetrics: false });
            assert.strictEqual(config.globalQuery.namespace, "monitoring");
            assert.strictEqual(config.globalQuery.cluster, "thanos-dev");
            // Unset: from charts.mirror when there is one, else from git (lib/kubernetes/charts.ts, thanosChartSource).
            assert.strictEqual(config.globalQuery.chart, undefined);
            assert.deepStrictEqual(config.charts, {});
            assert.deepStrictEqual(config.images, {});
            assert.deepStrictEqual(config.labels, { replica: "replica", region: "cluster" });
            assert.deepStrictEqual(config.versions, { thanos: "v0.42.4", kubePrometheusStack: "88.5.3" });
            assert.deepStrictEqual(config.verification, { enabled: true, timeoutSeconds: 600 });
        });

        it("prod: names the bucket's secret key it needs, and nothing else, until it is set", () => {
            assert.throws(
                () => readStackConfig(projectDirectory, "prod"),
                (error: unknown) => {
                    assert.ok(error instanceof StackConfigError);
                    assert.deepStrictEqual(error.problems, [
                        "thanos-global-view:bucketSecretKey: missing; storage.credentialsSecret names it: set it with `pulumi config set --secret bucketSecretKey <secret access key>`",
                    ]);
                    return true;
                },
            );
        });

        it("prod: an existing cluster reached through a named context, versions pinned in the stack, an S3 bucket", () => {
            const config = parse({ ...readStackFileConfig(projectDirectory, "prod"), bucketSecretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" }, [
                "bucketSecretKey",
            ]);
            assert.deepStrictEqual(config.storage, {
                type: "s3",
                bucket: "example-thanos-blocks",
                endpoint: "s3.eu-west-1.amazonaws.com",
                region: "eu-west-1",
                accessKeyId: "AKIAIOSFODNN7EXAMPLE",
                credentialsSecret: "bucketSecretKey",
                insecure: false,
                pathStyle: false,
                retention: { raw: "30d", fiveMinutes: "180d", oneHour: "2y" },
                downsampling: true,
                storeGateway: defaults.storage.storeGateway,
                compactor: { volumeSize: "100Gi", resources: defaults.storage.compactor.resources },
            });
            // With a bucket behind it, Prometheus keeps less by default.
            assert.deepStrictEqual(
                config.regions.map((region) => region.retention),
                ["3d", "3d"],
            );
            assert.deepStrictEqual(config.clusters, [{ type: "existing", name: "prod", context: "prod-admin" }]);
            assert.deepStrictEqual(
                config.regions.map((r) => r.name),
                ["eu-west", "us-east"],
            );
            assert.deepStrictEqual(config.regions[0].resources.prometheus, { requests: { cpu: "1", memory: "4Gi" }, limits: { cpu: "2", memory: "8Gi" } });
            // Unset fields keep their defaults, per field.
            assert.deepStrictEqual(config.regions[0].resources.sidecar, defaults.region.resources.sidecar);
            assert.strictEqual(config.globalQuery.queryReplicas, 3);
            assert.deepStrictEqual(config.versions, defaultVersions);
        });
    });

    describe("defaults", () => {
        it("fills every optional setting with the documented default", () => {
            const config = parse(minimal((raw) => delete raw.regions[0].replicas));
            const [region] = config.regions;
            assert.strictEqual(region.replicas, 2);
            assert.strictEqual(region.namespace, "europe");
            assert.strictEqual(region.retention, "10d");
            assert.strictEqual(region.antiAffinity, "hard");
            assert.deepStrictEqual(region.resources, defaults.region.resources);
            assert.deepStrictEqual(config.globalQuery.frontend, { splitInterval: "24h", maxRetries: 5, cacheMaxSize: "128MB", slowQueryThreshold: "10s" });
            assert.strictEqual(config.globalQuery.queryReplicas, 2);
            assert.strictEqual(config.globalQuery.frontendReplicas, 2);
            assert.deepStrictEqual(config.clusters[0], { type: "kind", name: "lab", nodeImage: defaultKindNodeImage, controlPlaneNodes: 1, workerNodes: 2 });
        });

        it("accepts numbers and booleans as Pulumi stores them from the command line: as strings", () => {
            const config = parse(
                minimal((raw) => {
                    raw.regions[0].replicas = "2";
                    raw.regions[0].components = { grafana: "true" };
                }),
            );
            assert.strictEqual(config.regions[0].replicas, 2);
            assert.strictEqual(config.regions[0].components.grafana, true);
        });
    });

    describe("bad input: each problem names the setting, the bad value and what is valid", () => {
        it("an unknown top-level key (a typo)", () => {
            assertOneProblem(
                minimal((raw) => (raw.region = [])),
                'thanos-global-view:region: unknown setting (did you mean "regions"?); valid settings: clusters, regions, globalQuery, grafana, storage, labels, versions, verification, charts, images, alerting',
            );
        });

        it("a Prometheus volume in the wrong unit and a storage class that is no Kubernetes name", () => {
            assert.deepStrictEqual(problemsOf(minimal((raw) => (raw.regions[0].volume = { size: "10GB", storageClass: "Fast_SSD" }))), [
                'thanos-global-view:regions[0].volume.size: got "10GB"; expected a volume size in Mi, Gi or Ti such as 20Gi, at least 1Gi',
                "thanos-global-view:regions[0].volume.storageClass: got \"Fast_SSD\"; expected a StorageClass name: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit",
            ]);
        });

        it("load balancers of an exposed cluster: public only by choice, CIDRs and annotation names checked", () => {
            const exposed = (loadBalancer?: unknown) =>
                minimal((raw) => {
                    raw.clusters.push({
                        name: "far",
                        type: "existing",
                        context: "far",
                        storeApiExposure: "loadBalancer",
                        ...(loadBalancer === undefined ? {} : { loadBalancer }),
                    });
                    raw.regions.push({ name: "asia", cluster: "far", replicas: 1 });
                });
            assert.deepStrictEqual(problemsOf(exposed()), [
                "thanos-global-view:clusters[1].loadBalancer.cloud: a load balancer is public unless the cloud is told otherwise: set loadBalancer.cloud to aws, gcp or azure for its internal load balancer, give your own annotations with cloud: other, or set internal: false with sourceRanges",
            ]);
            assert.deepStrictEqual(problemsOf(exposed({ cloud: "azure", internal: false })), [
                "thanos-global-view:clusters[1].loadBalancer.sourceRanges: a public load balancer without sourceRanges opens the StoreAPI port (10901) to the whole internet, mutual TLS or not: list the global query's egress CIDRs, or [0.0.0.0/0, ::/0] to choose that openly",
            ]);
            assert.deepStrictEqual(
                problemsOf(
                    exposed({
                        cloud: "other",
                        annotations: { "example.com/internal": "yes", "bad key!": "x" },
                        sourceRanges: ["10.0.0.0/33", "10.0.0.1", "fd00::/8"],
                    }),
                ),
                [
                    'thanos-global-view:clusters[1].loadBalancer.sourceRanges[0]: got "10.0.0.0/33"; expected a prefix length of at most 32 for an IPv4 address',
                    'thanos-global-view:clusters[1].loadBalancer.sourceRanges[1]: got "10.0.0.1"; expected a CIDR: an IPv4 or IPv6 address and a prefix length, such as 10.0.0.0/8 or fd00::/8',
                    "thanos-global-view:clusters[1].loadBalancer.annotations.bad key!: expected an annotation name such as example.com/name: a DNS subdomain prefix and a name of letters, digits, '-', '_' and '.'",
                ],
            );
            assert.deepStrictEqual(
                problemsOf(minimal((raw) => raw.clusters.push({ name: "far", type: "existing", context: "far", loadBalancer: { cloud: "gcp" } }))).filter(
                    (problem) => problem.includes("loadBalancer"),
                ),
                ["thanos-global-view:clusters[1].loadBalancer: only with storeApiExposure: loadBalancer"],
            );
        });

        it("an unknown nested key, with the closest valid one", () => {
            assertOneProblem(
                minimal((raw) => (raw.regions[0].replica = 3)),
                'thanos-global-view:regions[0].replica: unknown setting (did you mean "replicas"?); valid here: name, cluster, namespace, replicas, retention, antiAffinity, resources, storeApiAddresses, volume, components',
            );
        });

        it("a wrong type", () => {
            assertOneProblem(
                minimal((raw) => (raw.regions[0].replicas = "two")),
                'thanos-global-view:regions[0].replicas: got "two"; expected a whole number ≥ 1',
            );
            assertOneProblem(
                minimal((raw) => (raw.regions = { europe: {} })),
                'thanos-global-view:regions: got {"europe":{}}; expected a list of regions',
            );
        });

        it("an empty region list", () => {
            assertOneProblem(
                minimal((raw) => (raw.regions = [])),
                "thanos-global-view:regions: got []; expected at least one entry: a list of regions",
            );
        });

        it("a missing region list", () => {
            assertOneProblem(
                minimal((raw) => delete raw.regions),
                "thanos-global-view:regions: missing; expected a list of regions",
            );
        });

        it("duplicate region names", () => {
            assertOneProblem(
                minimal((raw) => raw.regions.push({ name: "europe", cluster: "lab", namespace: "europe-2" })),
                'thanos-global-view:regions[1].name: got "europe"; already used by regions[0]: each name must be unique',
            );
        });

        it("names that are not DNS-1123 labels", () => {
            const problems = problemsOf(
                minimal((raw) => {
                    raw.regions[0].name = "Europe_West";
                    raw.regions[0].namespace = "eu";
                }),
            );
            assert.deepStrictEqual(problems, [
                "thanos-global-view:regions[0].name: got \"Europe_West\"; expected a DNS-1123 label: lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters",
            ]);
            assert.match(problemsOf(minimal((raw) => (raw.regions[0].name = `a${"b".repeat(63)}`)))[0], /regions\[0\]\.name: got "abbb.*DNS-1123 label/);
            assert.match(
                problemsOf(minimal((raw) => (raw.clusters[0].name = "-lab")))[0],
                /^thanos-global-view:clusters\[0\]\.name: got "-lab"; expected a DNS-1123 label/,
            );
        });

        it("replicas below 1", () => {
            assertOneProblem(
                minimal((raw) => (raw.regions[0].replicas = 0)),
                "thanos-global-view:regions[0].replicas: got 0; expected a whole number ≥ 1",
            );
            assertOneProblem(
                minimal((raw) => (raw.globalQuery.queryReplicas = -1)),
                "thanos-global-view:globalQuery.queryReplicas: got -1; expected a whole number ≥ 1",
            );
        });

        it("a Thanos version that is not vX.Y.Z", () => {
            assertOneProblem(
                minimal((raw) => (raw.versions = { thanos: "0.42.4" })),
                'thanos-global-view:versions.thanos: got "0.42.4"; expected a Thanos release vX.Y.Z from v0.37.0 to v0.42.4',
            );
        });

        it("a Thanos version older than v0.37.0", () => {
            assertOneProblem(
                minimal((raw) => (raw.versions = { thanos: "v0.36.1" })),
                'thanos-global-view:versions.thanos: got "v0.36.1"; Thanos older than v0.37.0 cannot read the external labels of Prometheus 3; supported: v0.37.0 to v0.42.4',
            );
        });

        it("a Thanos version newer than the flags were checked against", () => {
            assertOneProblem(
                minimal((raw) => (raw.versions = { thanos: "v0.43.0" })),
                'thanos-global-view:versions.thanos: got "v0.43.0"; the Thanos flags this program sets are checked up to v0.42.4; supported: v0.37.0 to v0.42.4',
            );
        });

        it("a kind node image older than Kubernetes v1.27, where StatefulSets would keep their volumes", () => {
            assertOneProblem(
                minimal((raw) => (raw.clusters[0].nodeImage = "kindest/node:v1.26.15")),
                'thanos-global-view:clusters[0].nodeImage: got "kindest/node:v1.26.15"; Kubernetes v1.26.15 is older than v1.27.0, the oldest this stack runs on: the volume clean-up of StatefulSets (persistentVolumeClaimRetentionPolicy) is off by default before it',
            );
        });

        it("a kind node image without a vX.Y.Z tag", () => {
            assertOneProblem(
                minimal((raw) => (raw.clusters[0].nodeImage = "kindest/node:latest")),
                `thanos-global-view:clusters[0].nodeImage: got "kindest/node:latest"; expected a kind node image tagged vX.Y.Z (its Kubernetes version), such as ${defaultKindNodeImage}`,
            );
        });

        it("accepts a node image with a registry port and a digest", () => {
            const image = "registry.local:5000/kindest/node:v1.30.0@sha256:" + "a".repeat(64);
            assert.strictEqual(parse(minimal((raw) => (raw.clusters[0].nodeImage = image))).clusters[0].type, "kind");
        });

        it("a kubePrometheusStack version that is not a chart version", () => {
            assertOneProblem(
                minimal((raw) => (raw.versions = { kubePrometheusStack: "v88.5.3" })),
                'thanos-global-view:versions.kubePrometheusStack: got "v88.5.3"; expected a kube-prometheus-stack chart version X.Y.Z (default 88.5.3)',
            );
        });

        it("a region in a cluster that is not declared", () => {
            assertOneProblem(
                minimal((raw) => (raw.regions[0].cluster = "lba")),
                'thanos-global-view:regions[0].cluster: got "lba"; expected one of the clusters: lab',
            );
        });

        it("a global query in a cluster no region runs in: nothing would scrape it", () => {
            assertOneProblem(
                minimal((raw) => {
                    raw.clusters.push({ name: "hub", type: "kind" });
                    raw.globalQuery.cluster = "hub";
                }),
                'thanos-global-view:globalQuery.cluster: got "hub"; no region runs in "hub": one must, to scrape Thanos Query, Query Frontend and Grafana there (their dashboards would show No data)',
            );
        });

        it("a region in a cluster the global query cannot reach", () => {
            // Two kind clusters share Docker's kind network: reachable.
            assert.strictEqual(
                parse(
                    minimal((raw) => {
                        raw.clusters.push({ name: "far", type: "kind" });
                        raw.regions.push({ name: "asia", cluster: "far", replicas: 1 });
                    }),
                ).regions[1].cluster,
                "far",
            );
            assertOneProblem(
                minimal((raw) => {
                    raw.clusters.push({ name: "far", type: "existing", context: "far" });
                    raw.regions.push({ name: "asia", cluster: "far" });
                }),
                'thanos-global-view:regions[1].cluster: got "far"; the global query runs in "lab" and cannot reach this cluster\'s sidecars: set storeApiExposure: loadBalancer on cluster "far", give the region storeApiAddresses, or run it in "lab"',
            );
            assert.strictEqual(
                parse(
                    minimal((raw) => {
                        raw.clusters.push({ name: "far", type: "existing", context: "far", storeApiExposure: "loadBalancer", loadBalancer: { cloud: "aws" } });
                        raw.regions.push({ name: "asia", cluster: "far" });
                    }),
                ).regions[1].cluster,
                "far",
            );
            assertOneProblem(
                minimal((raw) => {
                    raw.clusters.push({ name: "far", type: "existing", context: "far", storeApiExposure: "loadBalancer", loadBalancer: { cloud: "aws" } });
                    raw.regions.push({ name: "asia", cluster: "far", replicas: 1, storeApiAddresses: ["asia-0.example.com:443"] });
                }),
                'thanos-global-view:regions[1].storeApiAddresses: got ["asia-0.example.com:443"]; cluster "far" already exposes every replica with storeApiExposure: loadBalancer; set one or the other',
            );
            assertOneProblem(
                minimal((raw) => {
                    raw.clusters.push({ name: "far", type: "existing", context: "far" });
                    raw.regions.push({ name: "asia", cluster: "far", replicas: 2, storeApiAddresses: ["asia-0.example.com:443"] });
                }),
                'thanos-global-view:regions[1].storeApiAddresses: got ["asia-0.example.com:443"]; expected 2 addresses, one per replica: each replica must be reachable on its own for deduplication to be proven',
            );
            assertOneProblem(
                minimal((raw) => (raw.regions[0].storeApiAddresses = ["eu-0.example.com:443", "eu-1.example.com:443"])),
                'thanos-global-view:regions[0].storeApiAddresses: got ["eu-0.example.com:443","eu-1.example.com:443"]; only for a region in an existing cluster other than the global query\'s ("lab"): its sidecars are reached through in-cluster DNS',
            );
            assertOneProblem(
                minimal((raw) => {
                    raw.clusters = [
                        { name: "hub", type: "existing", context: "hub" },
                        { name: "lab", type: "kind" },
                    ];
                    raw.globalQuery.cluster = "hub";
                    raw.regions.push({ name: "asia", cluster: "hub" });
                }),
                'thanos-global-view:regions[0].cluster: got "lab"; a kind cluster\'s sidecars are reachable only from kind clusters on the same Docker network, and the global query runs in existing cluster "hub"',
            );
        });

        it("a declared cluster nothing runs in", () => {
            assertOneProblem(
                minimal((raw) => raw.clusters.push({ name: "spare", type: "kind" })),
                'thanos-global-view:clusters[1]: cluster "spare" is declared but no region and not the global query run in it',
            );
        });

        it("two regions in one namespace, or in the global query's namespace", () => {
            assertOneProblem(
                minimal((raw) => raw.regions.push({ name: "asia", cluster: "lab", namespace: "europe" })),
                'thanos-global-view:regions[1].namespace: got "europe"; already used by region "europe": each region needs a namespace of its own',
            );
            assertOneProblem(
                minimal((raw) => (raw.regions[0].namespace = "monitoring")),
                'thanos-global-view:regions[0].namespace: got "monitoring"; already used by globalQuery.namespace: the global query needs a namespace of its own',
            );
        });

        it("node-exporter in two regions of one cluster", () => {
            assertOneProblem(
                minimal((raw) => {
                    raw.regions[0].components = { nodeExporter: true };
                    raw.regions.push({ name: "asia", cluster: "lab", replicas: 1, components: { nodeExporter: true } });
                }),
                'thanos-global-view:regions[1].components.nodeExporter: got true; node-exporter already comes from region "europe" (it binds host port 9100 on every node): enable it for one region per cluster',
            );
        });

        it("more replicas with hard anti-affinity than a kind cluster has nodes for them", () => {
            assertOneProblem(
                minimal((raw) => (raw.regions[0].replicas = 3)),
                'thanos-global-view:regions[0].replicas: got 3; hard anti-affinity puts each replica on its own node and kind cluster "lab" schedules on 2: use at most 2 replicas, more workerNodes, or antiAffinity "soft"',
            );
            // Soft anti-affinity only prefers spreading.
            assert.strictEqual(parse(minimal((raw) => Object.assign(raw.regions[0], { replicas: 3, antiAffinity: "soft" }))).regions[0].replicas, 3);
        });

        it("a verification timeout that is not a time", () => {
            assertOneProblem(
                minimal((raw) => (raw.verification = { timeout: "10 minutes" })),
                'thanos-global-view:verification.timeout: got "10 minutes"; expected a time in seconds or minutes such as 600s or 10m',
            );
            assertOneProblem(
                minimal((raw) => (raw.verification = { timeout: "0s" })),
                'thanos-global-view:verification.timeout: got "0s"; must be longer than 0',
            );
            assert.deepStrictEqual(parse(minimal((raw) => (raw.verification = { enabled: false, timeout: "90s" }))).verification, {
                enabled: false,
                timeoutSeconds: 90,
            });
        });

        it("the same label for replica and region", () => {
            assertOneProblem(
                minimal((raw) => (raw.labels = { region: "replica" })),
                'thanos-global-view:labels.region: got "replica"; must differ from labels.replica: deduplication drops the replica label, the region label must survive it',
            );
        });

        it("a label name the scraped series already carry, for either external label", () => {
            assertOneProblem(
                minimal((raw) => (raw.labels = { region: "namespace" })),
                'thanos-global-view:labels.region: got "namespace"; scraped series already carry a namespace label: the sidecar would write this external label over it on every series, merging series that differ only in namespace and losing them from queries that select by it; choose another name, such as region or cluster',
            );
            for (const name of ["pod", "job", "instance", "container", "endpoint", "service", "node", "le"]) {
                const problems = problemsOf(minimal((raw) => (raw.labels = { replica: name })));
                assert.deepStrictEqual(
                    problems.map((problem) => problem.split(";")[0]),
                    [`thanos-global-view:labels.replica: got "${name}"`],
                    name,
                );
            }
        });

        it("a label name Prometheus would reject", () => {
            assertOneProblem(
                minimal((raw) => (raw.labels = { region: "__region" })),
                'thanos-global-view:labels.region: got "__region"; names starting with __ are reserved by Prometheus',
            );
            assertOneProblem(
                minimal((raw) => (raw.labels = { region: "region-name" })),
                'thanos-global-view:labels.region: got "region-name"; expected a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*) that scraped series do not carry (not job, instance, namespace, service, pod, container, endpoint, node, metrics_path, id, image, name, uid, le, quantile)',
            );
        });

        it("durations, quantities and sizes in the wrong form", () => {
            assert.deepStrictEqual(
                problemsOf(
                    minimal((raw) => {
                        raw.regions[0].retention = "10 days";
                        raw.regions[0].resources = { prometheus: { limits: { memory: "2GB" } } };
                        raw.globalQuery.frontend = { cacheMaxSize: "128 megabytes" };
                    }),
                ),
                [
                    'thanos-global-view:regions[0].retention: got "10 days"; expected a Prometheus duration such as 15d or 36h (units y, w, d, h, m, s, ms, largest first)',
                    'thanos-global-view:regions[0].resources.prometheus.limits.memory: got "2GB"; expected a memory size such as 64Mi, 512Mi or 2Gi, at least 16Mi',
                    'thanos-global-view:globalQuery.frontend.cacheMaxSize: got "128 megabytes"; expected a size such as 128MB or 256MiB, at least 1 byte',
                ],
            );
        });

        it("a cluster type that does not exist", () => {
            assertOneProblem(
                minimal((raw) => (raw.clusters[0].type = "minikube")),
                'thanos-global-view:clusters[0].type: got "minikube"; expected "kind" (a local kind cluster this stack creates) or "existing" (a cluster reached through a kubeconfig)',
            );
        });

        it("an existing cluster with no way to reach it", () => {
            assertOneProblem(
                minimal((raw) => (raw.clusters[0] = { name: "lab", type: "existing" })),
                "thanos-global-view:clusters[0]: an existing cluster needs kubeconfigPath, kubeconfigSecret or context, so that no stack silently uses whatever kubeconfig is current",
            );
        });

        it("an existing cluster whose kubeconfig file is not there", () => {
            assertOneProblem(
                minimal((raw) => (raw.clusters[0] = { name: "lab", type: "existing", kubeconfigPath: "/nonexistent/kubeconfig" })),
                'thanos-global-view:clusters[0].kubeconfigPath: got "/nonexistent/kubeconfig"; no such file; expected a path to a kubeconfig file',
            );
        });

        it("an existing cluster whose kubeconfigSecret names a setting that is not set", () => {
            assertOneProblem(
                minimal((raw) => (raw.clusters[0] = { name: "lab", type: "existing", kubeconfigSecret: "labKubeconfig" })),
                `thanos-global-view:labKubeconfig: missing; a cluster's kubeconfigSecret names it: set it with \`pulumi config set --secret labKubeconfig "$(cat kubeconfig.yaml)"\``,
            );
            // Once set, as a secret, the named setting is not an unknown key.
            const config = parse(
                minimal((raw) => {
                    raw.clusters[0] = { name: "lab", type: "existing", kubeconfigSecret: "labKubeconfig" };
                    raw.labKubeconfig = "apiVersion: v1\nclusters: []\ncontexts: []\n";
                }),
                ["labKubeconfig"],
            );
            assert.strictEqual(config.clusters[0].type === "existing" && config.clusters[0].kubeconfigSecret, "labKubeconfig");
        });

        it("a kubeconfig kept in plain text is refused, and not shown", () => {
            assertOneProblem(
                minimal((raw) => {
                    raw.clusters[0] = { name: "lab", type: "existing", kubeconfigSecret: "labKubeconfig" };
                    raw.labKubeconfig = "apiVersion: v1\nusers:\n- user:\n    token: SUPERSECRETTOKEN\nclusters: []\ncontexts: []\n";
                }),
                'thanos-global-view:labKubeconfig: holds a kubeconfig in plain text: store it encrypted, with `pulumi config set --secret labKubeconfig "$(cat kubeconfig.yaml)"`',
            );
        });

        it("a kubeconfigSecret that names one of this program's own settings", () => {
            assertOneProblem(
                minimal((raw) => (raw.clusters[0] = { name: "lab", type: "existing", kubeconfigSecret: "regions" })),
                'thanos-global-view:clusters[0].kubeconfigSecret: got "regions"; regions is a setting of its own: name a setting that holds only the kubeconfig, such as prodKubeconfig',
            );
        });

        it("reports several problems at once, in one error", () => {
            const raw = minimal((raw) => {
                raw.regions[0].replicas = 0;
                raw.regions[0].name = "EU";
                raw.versions = { thanos: "v0.30.0" };
                raw.extra = true;
            });
            assert.throws(
                () => parse(raw),
                (error: Error) => {
                    assert.strictEqual(
                        error.message,
                        [
                            "Invalid stack configuration (4 problems):",
                            "  - thanos-global-view:regions[0].name: got \"EU\"; expected a DNS-1123 label: lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters",
                            "  - thanos-global-view:regions[0].replicas: got 0; expected a whole number ≥ 1",
                            '  - thanos-global-view:versions.thanos: got "v0.30.0"; Thanos older than v0.37.0 cannot read the external labels of Prometheus 3; supported: v0.37.0 to v0.42.4',
                            "  - thanos-global-view:extra: unknown setting; valid settings: clusters, regions, globalQuery, grafana, storage, labels, versions, verification, charts, images, alerting",
                        ].join("\n"),
                    );
                    return true;
                },
            );
        });
    });

    describe("mistakes that used to get through (issue 9)", () => {
        it("every mistake in one run: rules across settings judge the valid fields of an object that has a bad one, with no follow-on noise", () => {
            assert.deepStrictEqual(
                problemsOf(
                    minimal((raw) => {
                        raw.regions[0].retention = "ten days";
                        raw.regions.push({
                            name: "asia",
                            cluster: "lab",
                            namespace: "europe",
                            replicas: 1,
                            resources: { prometheus: { limits: { memory: "2GB" } } },
                        });
                        raw.globalQuery = { cluster: "nowhere", queryReplicas: "two" };
                        raw.labels = { replica: "cluster", region: "not-a-label" };
                        raw.clusters[0].workerNodes = 1;
                    }),
                ),
                [
                    'thanos-global-view:regions[0].retention: got "ten days"; expected a Prometheus duration such as 15d or 36h (units y, w, d, h, m, s, ms, largest first)',
                    'thanos-global-view:regions[1].resources.prometheus.limits.memory: got "2GB"; expected a memory size such as 64Mi, 512Mi or 2Gi, at least 16Mi',
                    'thanos-global-view:globalQuery.queryReplicas: got "two"; expected a whole number ≥ 1',
                    'thanos-global-view:labels.region: got "not-a-label"; expected a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*) that scraped series do not carry (not job, instance, namespace, service, pod, container, endpoint, node, metrics_path, id, image, name, uid, le, quantile)',
                    'thanos-global-view:globalQuery.cluster: got "nowhere"; expected one of the clusters: lab',
                    'thanos-global-view:regions[1].namespace: got "europe"; already used by region "europe": each region needs a namespace of its own',
                    'thanos-global-view:regions[0].replicas: got 2; hard anti-affinity puts each replica on its own node and kind cluster "lab" schedules on 1: use at most 1 replicas, more workerNodes, or antiAffinity "soft"',
                ],
            );
        });

        it("text written as a YAML number: a retention of 0, a bucket or a region named with digits", () => {
            const config = parse(
                minimal((raw) => {
                    raw.regions[0].name = 2026;
                    raw.storage = {
                        type: "s3",
                        bucket: 20261203,
                        endpoint: "s3.example.com",
                        accessKeyId: 12345,
                        credentialsSecret: "bucketKey",
                        retention: { raw: 0, fiveMinutes: 0, oneHour: 0 },
                    };
                    raw.bucketKey = "secret";
                }),
                ["bucketKey"],
            );
            assert.deepStrictEqual([config.regions[0].name, config.regions[0].namespace], ["2026", "2026"]);
            const storage = config.storage as Extract<StackConfig["storage"], { type: "s3" }>;
            assert.deepStrictEqual([storage.bucket, storage.accessKeyId, storage.retention.raw], ["20261203", "12345", "0"]);
        });

        it("clusters named with digits still take part in the rules across settings", () => {
            assert.deepStrictEqual(
                problemsOf(
                    minimal((raw) => {
                        raw.clusters = [
                            { name: 2026, type: "kind" },
                            { name: 2027, type: "kind" },
                        ];
                        raw.regions[0].cluster = 2026;
                        raw.globalQuery.cluster = 2028;
                    }),
                ),
                ["thanos-global-view:globalQuery.cluster: got 2028; expected one of the clusters: 2026, 2027"],
            );
        });

        it("a YAML number that is not the text written: a fraction or an exponent, with the advice to quote it", () => {
            assert.deepStrictEqual(
                problemsOf(
                    minimal((raw) => {
                        raw.regions[0].retention = 1.5;
                        raw.storage = { type: "gcs", bucket: 1e21, credentialsSecret: "bucketKey" };
                        raw.bucketKey = "{}";
                    }),
                    ["bucketKey"],
                ).filter((problem) => !problem.includes("bucketKey")),
                [
                    "thanos-global-view:regions[0].retention: got 1.5; expected a Prometheus duration such as 15d or 36h (units y, w, d, h, m, s, ms, largest first); YAML read this as a number that is not a whole one: write the text in quotes",
                    "thanos-global-view:storage.bucket: got 1e+21; expected a bucket name: 3 to 63 lower-case letters, digits, '.', '_' and '-'; YAML read this as a number that is not a whole one: write the text in quotes",
                ],
            );
        });
        it("a typo in the project prefix, or a provider namespace nothing reads", () => {
            assert.deepStrictEqual(
                problemsOf(
                    minimal((raw) => {
                        raw["thanos-global-veiw:versions"] = { thanos: "v0.37.0" };
                        raw["kubernetes:context"] = "prod";
                        raw["aws:region"] = "eu-west-1";
                        raw["pulumi:disable-default-providers"] = ["kubernetes"];
                    }),
                ),
                [
                    'thanos-global-veiw:versions: unknown namespace "thanos-global-veiw" (did you mean thanos-global-view:versions?); this program reads thanos-global-view:… settings only, so this one would be ignored',
                    "kubernetes:context: never read: default providers are disabled and every Kubernetes provider is built from clusters (kubeconfigPath, kubeconfigSecret, context)",
                    "aws:region: never read: this program reads thanos-global-view:… and pulumi:… settings only",
                ],
            );
        });

        it("a limit below its request, blaming the one the user wrote", () => {
            assertOneProblem(
                minimal((raw) => (raw.regions[0].resources = { prometheus: { requests: { memory: "4Gi" } } })),
                'thanos-global-view:regions[0].resources.prometheus.requests.memory: got "4Gi"; above limits.memory (2Gi, the default): Kubernetes refuses a container whose limit is below its request; raise limits.memory too',
            );
            assertOneProblem(
                minimal((raw) => (raw.globalQuery.resources = { query: { requests: { cpu: 2 }, limits: { cpu: "1500m" } } })),
                'thanos-global-view:globalQuery.resources.query.limits.cpu: got "1500m"; below requests.cpu (2): Kubernetes refuses a container whose limit is below its request',
            );
            assertOneProblem(
                minimal((raw) => (raw.regions[0].resources = { sidecar: { limits: { memory: "32Mi" } } })),
                'thanos-global-view:regions[0].resources.sidecar.limits.memory: got "32Mi"; below requests.memory (64Mi, the default): Kubernetes refuses a container whose limit is below its request',
            );
        });

        it("memory in CPU units or too small to run, CPU in memory units", () => {
            assert.deepStrictEqual(
                problemsOf(
                    minimal(
                        (raw) =>
                            (raw.regions[0].resources = {
                                prometheus: { requests: { memory: "256m" }, limits: { memory: 4096 } },
                                sidecar: { requests: { cpu: "512Mi" }, limits: { cpu: "0.0001" } },
                            }),
                    ),
                ),
                [
                    'thanos-global-view:regions[0].resources.prometheus.requests.memory: got "256m"; expected a memory size such as 64Mi, 512Mi or 2Gi, at least 16Mi: m means thousandths (a CPU unit), so 256m of memory is 0.256 bytes; write Mi for mebibytes',
                    "thanos-global-view:regions[0].resources.prometheus.limits.memory: got 4096; expected a memory size such as 64Mi, 512Mi or 2Gi, at least 16Mi: 4096 bytes is too little for any container",
                    'thanos-global-view:regions[0].resources.sidecar.requests.cpu: got "512Mi"; expected CPU cores such as 2, 0.5 or 250m: Mi is a memory unit',
                    'thanos-global-view:regions[0].resources.sidecar.limits.cpu: got "0.0001"; expected CPU cores such as 2, 0.5 or 250m: Kubernetes counts CPU in steps of 1m, the least a container can get',
                ],
            );
        });

        it("CPU as a YAML number, memory in bytes: what Kubernetes takes, we take", () => {
            const config = parse(
                minimal(
                    (raw) =>
                        (raw.regions[0].resources = {
                            prometheus: { requests: { cpu: 0.5, memory: 1073741824 }, limits: { cpu: 2, memory: "1.5Gi" } },
                            sidecar: { requests: { cpu: ".25" }, limits: { cpu: "1." } },
                        }),
                ),
            );
            assert.deepStrictEqual(config.regions[0].resources.prometheus, {
                requests: { cpu: "0.5", memory: "1073741824" },
                limits: { cpu: "2", memory: "1.5Gi" },
            });
            assert.deepStrictEqual(config.regions[0].resources.sidecar.requests.cpu, ".25");
        });

        it("durations Thanos or the Prometheus CRD would refuse at start", () => {
            assert.deepStrictEqual(
                problemsOf(
                    minimal((raw) => {
                        raw.regions[0].retention = "0";
                        raw.regions.push({ name: "asia", cluster: "lab", replicas: 1, retention: "12h1d" });
                        raw.globalQuery.frontend = { splitInterval: "0s", slowQueryThreshold: "1d" };
                    }),
                ),
                [
                    'thanos-global-view:regions[0].retention: got "0"; must be longer than 0: Prometheus would keep its default instead',
                    'thanos-global-view:regions[1].retention: got "12h1d"; expected a Prometheus duration such as 15d or 36h (units y, w, d, h, m, s, ms, largest first)',
                    'thanos-global-view:globalQuery.frontend.splitInterval: got "0s"; must be at least 1s: the results cache needs split queries (Thanos refuses 0 at start) and Thanos divides by the interval',
                    'thanos-global-view:globalQuery.frontend.slowQueryThreshold: got "1d"; expected a duration in h, m and s such as 24h, 90m or 1h30m (Thanos v0.37 reads no d or w)',
                ],
            );
            assertOneProblem(
                minimal((raw) => (raw.globalQuery.frontend = { splitInterval: "1d" })),
                'thanos-global-view:globalQuery.frontend.splitInterval: got "1d"; expected a duration in h, m and s such as 24h, 90m or 1h30m (Thanos v0.37 reads no d or w)',
            );
            // 0 turns the slow-query log off, a negative value logs every query: Thanos takes both.
            for (const threshold of ["0", "-1s", "1m30s", "2.5s"]) {
                assert.strictEqual(
                    parse(minimal((raw) => (raw.globalQuery.frontend = { slowQueryThreshold: threshold }))).globalQuery.frontend.slowQueryThreshold,
                    threshold,
                );
            }
        });

        it("a malformed git repository or commit names that setting", () => {
            assert.deepStrictEqual(
                problemsOf(
                    minimal(
                        (raw) =>
                            (raw.globalQuery.chart = {
                                source: "git",
                                gitRepository: "github.com/banzaicloud/banzai-charts",
                                gitCommit: "51352F61C4DABFA9001E823181B6EB42E9E7803",
                            }),
                    ),
                ),
                [
                    'thanos-global-view:globalQuery.chart.gitRepository: got "github.com/banzaicloud/banzai-charts"; expected a git repository URL (https://, ssh://, git://, file:// or user@host:path)',
                    'thanos-global-view:globalQuery.chart.gitCommit: got "51352F61C4DABFA9001E823181B6EB42E9E7803"; expected a full 40-character commit hash',
                ],
            );
            assertOneProblem(
                minimal((raw) => (raw.globalQuery.chart = { source: "git", gitRepository: "https://git hub.com/banzai-charts.git" })),
                'thanos-global-view:globalQuery.chart.gitRepository: got "https://git hub.com/banzai-charts.git"; expected a git repository URL (https://, ssh://, git://, file:// or user@host:path)',
            );
            for (const repository of [
                "git@github.com:banzaicloud/banzai-charts.git",
                "ssh://git@git.internal:2222/charts.git",
                "file:///srv/mirrors/banzai-charts.git",
            ]) {
                const { chart } = parse(minimal((raw) => (raw.globalQuery.chart = { source: "git", gitRepository: repository }))).globalQuery;
                assert.deepStrictEqual(chart, { source: "git", gitRepository: repository, gitCommit: banzaicloudThanosChart.gitCommit });
            }
        });

        it("alert receivers: a webhook URL only as a secret and never echoed, an Alertmanager URL without credentials", () => {
            const webhook = (raw: any) => (raw.alerting = { receiver: { type: "webhook", urlSecret: "alertWebhookUrl" } });
            assert.deepStrictEqual(problemsOf(minimal(webhook)), [
                "thanos-global-view:alertWebhookUrl: missing; alerting.receiver.urlSecret names it: set it with `pulumi config set --secret alertWebhookUrl https://hooks.example.com/…`",
            ]);
            const token = "https://hooks.example.com/T0KEN-s3cret";
            const plain = problemsOf(
                minimal((raw) => {
                    webhook(raw);
                    raw.alertWebhookUrl = token;
                }),
            );
            assert.deepStrictEqual(plain, [
                "thanos-global-view:alertWebhookUrl: holds a webhook URL in plain text: store it encrypted, with `pulumi config set --secret alertWebhookUrl https://hooks.example.com/…`",
            ]);
            const notUrl = problemsOf(
                minimal((raw) => {
                    webhook(raw);
                    raw.alertWebhookUrl = "hooks.example.com/T0KEN-s3cret";
                }),
                ["alertWebhookUrl"],
            );
            assert.strictEqual(notUrl.length, 1);
            assert.match(notUrl[0], /^thanos-global-view:alertWebhookUrl: .*expected an http:\/\/ or https:\/\/ URL, on one line/);
            assert.ok(!notUrl[0].includes("T0KEN"), notUrl[0]);
            assert.deepStrictEqual(
                parse(
                    minimal((raw) => {
                        webhook(raw);
                        raw.alertWebhookUrl = token;
                    }),
                    ["alertWebhookUrl"],
                ).alerting.receiver,
                { type: "webhook", urlSecret: "alertWebhookUrl" },
            );
            assertOneProblem(
                minimal((raw) => (raw.alerting = { receiver: { type: "alertmanager", url: "http://admin:pw@alertmanager.example.com:9093" } })),
                'thanos-global-view:alerting.receiver.url: got "http://admin:pw@alertmanager.example.com:9093"; expected an http:// or https:// URL such as http://alertmanager.example.com:9093, without user:password@ (the URL is written into the Ruler\'s arguments)',
            );
            assertOneProblem(
                minimal((raw) => (raw.alerting = { receiver: { type: "pagerduty" } })),
                'thanos-global-view:alerting.receiver.type: got "pagerduty"; expected one of none, webhook, alertmanager',
            );
        });

        it("a results cache larger than half the frontend's memory limit", () => {
            assertOneProblem(
                minimal((raw) => (raw.globalQuery.frontend = { cache: "inMemory", cacheMaxSize: "300MB" })),
                'thanos-global-view:globalQuery.frontend.cacheMaxSize: got "300MB"; more than half of the frontend\'s memory limit (512Mi, the default): use at most 256MiB, or raise resources.frontend.limits.memory; the rest holds the results being merged',
            );
            assertOneProblem(
                minimal((raw) =>
                    Object.assign(raw.globalQuery, {
                        frontend: { cache: "inMemory" },
                        resources: { frontend: { requests: { memory: "128Mi" }, limits: { memory: "200Mi" } } },
                    }),
                ),
                'thanos-global-view:globalQuery.resources.frontend.limits.memory: got "200Mi"; leaves less than twice the results cache (128MB, the default): use at least 245Mi, or lower frontend.cacheMaxSize',
            );
            assert.strictEqual(
                parse(
                    minimal(
                        (raw) =>
                            (raw.globalQuery = {
                                cluster: "lab",
                                frontend: { cacheMaxSize: "512MiB" },
                                resources: { frontend: { limits: { memory: "1Gi" } } },
                            }),
                    ),
                ).globalQuery.frontend.cacheMaxSize,
                "512MiB",
            );
        });

        it("a kind cluster whose node names would be too long for a hostname", () => {
            const name = "a".repeat(50);
            assertOneProblem(
                minimal((raw) => {
                    raw.clusters[0].name = name;
                    raw.regions[0].cluster = name;
                    raw.globalQuery.cluster = name;
                }),
                `thanos-global-view:clusters[0].name: got "${name}"; kind names its nodes after the cluster and "${name}-control-plane" has 64 characters, more than a hostname may (63): use at most 49 characters`,
            );
        });

        it("one mistake, one message: no blame on what depends on it", () => {
            assertOneProblem(
                minimal((raw) => delete raw.globalQuery.cluster),
                "thanos-global-view:globalQuery.cluster: missing; expected the name of a cluster under clusters",
            );
            assertOneProblem(
                minimal((raw) => (raw.globalQuery.cluster = "elsewhere")),
                'thanos-global-view:globalQuery.cluster: got "elsewhere"; expected one of the clusters: lab',
            );
            assertOneProblem(
                minimal((raw) => raw.regions.push({ name: "europe", cluster: "lab" })),
                'thanos-global-view:regions[1].name: got "europe"; already used by regions[0]: each name must be unique',
            );
            assertOneProblem(
                minimal((raw) => (raw.labels = { replica: "cluster" })),
                'thanos-global-view:labels.replica: got "cluster"; must differ from labels.region: deduplication drops the replica label, the region label must survive it',
            );
        });
    });

    describe("blame what the user wrote (review of issue 9)", () => {
        it("too many default replicas for a kind cluster's nodes: says the count is the default", () => {
            assertOneProblem(
                minimal((raw) => {
                    raw.clusters[0].workerNodes = 0;
                    delete raw.regions[0].replicas;
                }),
                'thanos-global-view:regions[0].replicas: 2 replicas, the default: hard anti-affinity puts each replica on its own node and kind cluster "lab" schedules on 1: use at most 1 replicas, more workerNodes, or antiAffinity "soft"',
            );
        });

        it("a namespace clash blames the namespace that was written", () => {
            assertOneProblem(
                minimal((raw) => {
                    raw.regions[0].namespace = "asia";
                    raw.regions.push({ name: "asia", cluster: "lab", replicas: 1 });
                }),
                'thanos-global-view:regions[0].namespace: got "asia"; already the namespace of region "asia" (its name): each region needs a namespace of its own',
            );
            assertOneProblem(
                minimal((raw) => (raw.globalQuery.namespace = "europe")),
                'thanos-global-view:globalQuery.namespace: got "europe"; already the namespace of region "europe": the global query needs a namespace of its own',
            );
        });

        it("clusters that are not a list: one message, not one per reference", () => {
            assertOneProblem(
                minimal((raw) => (raw.clusters = "lab")),
                'thanos-global-view:clusters: got "lab"; expected a list of clusters',
            );
        });

        it("a key without a namespace, and a cache that would round to nothing", () => {
            assert.deepStrictEqual(
                problemsOf(
                    minimal((raw) => {
                        raw["versions"] = undefined;
                        raw.globalQuery.frontend = { cacheMaxSize: "0.5" };
                    }),
                ),
                ['thanos-global-view:globalQuery.frontend.cacheMaxSize: got "0.5"; expected a size such as 128MB or 256MiB, at least 1 byte'],
            );
            assert.throws(
                () =>
                    parseStackConfig(project, {
                        values: { "thanos-global-vie": "x", ...Object.fromEntries(Object.entries(minimal()).map(([k, v]) => [`${project}:${k}`, v])) },
                        secretKeys: new Set(),
                    }),
                /thanos-global-vie: no namespace; write it as thanos-global-view:thanos-global-vie/,
            );
        });
    });

    describe("judgement calls", () => {
        it("an even number of kind control planes is refused: etcd gains nothing from the second", () => {
            assertOneProblem(
                minimal((raw) => (raw.clusters[0].controlPlaneNodes = 2)),
                "thanos-global-view:clusters[0].controlPlaneNodes: got 2; an even number of control planes tolerates no more failures than 1 and loses etcd's majority more often: use 1 or 3",
            );
            assert.strictEqual(parse(minimal((raw) => (raw.clusters[0].controlPlaneNodes = 3))).clusters[0].type, "kind");
        });

        it("a setting present but empty is refused, never silently defaulted", () => {
            assert.deepStrictEqual(
                problemsOf(
                    minimal((raw) => {
                        raw.regions[0].replicas = null;
                        raw.regions[0].name = "";
                        raw.verification = "";
                    }),
                ),
                [
                    'thanos-global-view:regions[0].name: is empty: give it a value (README.md, "Configuration reference")',
                    'thanos-global-view:regions[0].replicas: is empty: give it a value, or delete the line to use its default (README.md, "Configuration reference")',
                    'thanos-global-view:verification: is empty: give it a value, or delete the line to use its default (README.md, "Configuration reference")',
                ],
            );
        });

        it("a kube-prometheus-stack version whose values were not checked is refused", () => {
            assertOneProblem(
                minimal((raw) => (raw.versions = { kubePrometheusStack: "88.6.0" })),
                'thanos-global-view:versions.kubePrometheusStack: got "88.6.0"; the values and the matching prometheus-operator-crds chart are checked for kube-prometheus-stack 88.5.3 only; use one of those',
            );
        });
    });

    describe("secrets", () => {
        const kubeconfig = "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t\n";

        it("a kubeconfig secret that is no kubeconfig: said without showing it", () => {
            const problems = problemsOf(
                minimal((raw) => {
                    raw.clusters[0] = { name: "lab", type: "existing", kubeconfigSecret: "labKubeconfig" };
                    raw.labKubeconfig = "/home/me/.kube/config-with-t0ken";
                }),
                ["labKubeconfig"],
            );
            assert.deepStrictEqual(problems, [
                'thanos-global-view:labKubeconfig: got a secret value; expected a whole kubeconfig (YAML with clusters, users and contexts), as `pulumi config set --secret labKubeconfig "$(cat kubeconfig.yaml)"` stores it',
            ]);
            assert.strictEqual(
                parse(
                    minimal((raw) => {
                        raw.clusters[0] = { name: "lab", type: "existing", kubeconfigSecret: "labKubeconfig" };
                        raw.labKubeconfig = "apiVersion: v1\nclusters: []\ncontexts: []\nusers: []\n";
                    }),
                    ["labKubeconfig"],
                ).clusters[0].type,
                "existing",
            );
        });

        it("a secret value is never shown, not even in part", () => {
            const problems = problemsOf(
                minimal((raw) => (raw.clusters[0] = { name: "lab", type: "existing", kubeconfigPath: kubeconfig })),
                ["clusters"],
            );
            assert.deepStrictEqual(problems, [
                "thanos-global-view:clusters[0].kubeconfigPath: got a secret value; no such file; expected a path to a kubeconfig file",
            ]);
        });
    });

    describe("thanos chart source", () => {
        it("a repository, https or oci, with the pinned chart version by default", () => {
            const chart = (value: unknown) => parse(minimal((raw) => (raw.globalQuery.chart = value))).globalQuery.chart;
            assert.deepStrictEqual(chart({ source: "repository", url: "oci://registry.example.com/charts" }), {
                source: "repository",
                url: "oci://registry.example.com/charts",
                version: "0.4.9",
            });
            assert.deepStrictEqual(chart({ source: "repository", url: "https://charts.example.com", version: "0.4.9" }), {
                source: "repository",
                url: "https://charts.example.com",
                version: "0.4.9",
            });
        });

        it("a local chart directory or .tgz that exists", () => {
            const directory = fs.mkdtempSync(path.join(os.tmpdir(), "chart-"));
            fs.writeFileSync(path.join(directory, "Chart.yaml"), "name: thanos\n");
            fs.writeFileSync(path.join(directory, "thanos-0.4.9.tgz"), "");
            for (const chartPath of [directory, path.join(directory, "thanos-0.4.9.tgz")]) {
                assert.deepStrictEqual(parse(minimal((raw) => (raw.globalQuery.chart = { source: "local", path: chartPath }))).globalQuery.chart, {
                    source: "local",
                    path: chartPath,
                });
            }
        });

        it("bad chart sources fail with a precise message", () => {
            assertOneProblem(
                minimal((raw) => (raw.globalQuery.chart = { source: "helm" })),
                'thanos-global-view:globalQuery.chart.source: got "helm"; expected one of git, local, repository',
            );
            assertOneProblem(
                minimal((raw) => (raw.globalQuery.chart = { source: "local", path: "/nonexistent/thanos" })),
                'thanos-global-view:globalQuery.chart.path: got "/nonexistent/thanos"; nothing like that there; expected a chart directory (with Chart.yaml) or a packaged chart .tgz',
            );
            assertOneProblem(
                minimal((raw) => (raw.globalQuery.chart = { source: "local" })),
                "thanos-global-view:globalQuery.chart.path: missing; expected a chart directory (with Chart.yaml) or a packaged chart .tgz",
            );
            assertOneProblem(
                minimal((raw) => (raw.globalQuery.chart = { source: "repository", url: "charts.example.com" })),
                'thanos-global-view:globalQuery.chart.url: got "charts.example.com"; no scheme; expected a Helm repository (https://, http:// or file:// with an index.yaml) or an OCI registry path (oci://registry/path)',
            );
            assertOneProblem(
                minimal((raw) => (raw.globalQuery.chart = { source: "git", gitCommit: "51352f6" })),
                'thanos-global-view:globalQuery.chart.gitCommit: got "51352f6"; expected a full 40-character commit hash',
            );
            assertOneProblem(
                minimal((raw) => (raw.globalQuery.chart = { source: "git", path: "./thanos" })),
                "thanos-global-view:globalQuery.chart.path: unknown setting; valid here: source, gitRepository, gitCommit",
            );
        });
    });
});
