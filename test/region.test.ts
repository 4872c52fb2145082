import * as assert from "assert";
import { kubePrometheusStackValues, kubeletServiceName, storeApiAddress } from "../components/region";
import { regionReleaseName } from "../lib/kubernetes/releases";
import { Region, defaults } from "../lib/config/schema";
import { ProgramRun, key, runStack, withAsia } from "./harness";

const release = "kubernetes:helm.sh/v3:Release";

function region(overrides: Partial<Region> = {}): Region {
    return {
        name: "europe",
        cluster: "lab",
        namespace: "europe",
        replicas: 2,
        retention: "10d",
        antiAffinity: "hard",
        volume: { size: "10Gi" },
        resources: defaults.region.resources,
        components: defaults.region.components,
        ...overrides,
    };
}

describe("Region on the dev stack", () => {
    let run: ProgramRun;
    before(async () => {
        run = await runStack("dev");
    });

    it("europe: the exact values of its kube-prometheus-stack release", () => {
        const europe = run.one(release, "europe");
        assert.deepStrictEqual(
            {
                name: europe.inputs.name,
                namespace: europe.inputs.namespace,
                chart: europe.inputs.chart,
                version: europe.inputs.version,
                repositoryOpts: europe.inputs.repositoryOpts,
                timeout: europe.inputs.timeout,
            },
            {
                name: "kps-europe",
                namespace: "europe",
                chart: "kube-prometheus-stack",
                version: "88.5.3",
                repositoryOpts: { repo: "https://prometheus-community.github.io/helm-charts" },
                timeout: 900,
            },
        );
        assert.deepStrictEqual(europe.inputs.values, {
            fullnameOverride: "kps-europe",
            crds: { enabled: false },
            grafana: {
                enabled: false,
                resources: { requests: { cpu: "50m", memory: "128Mi" }, limits: { cpu: "500m", memory: "512Mi" } },
                sidecar: { resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { cpu: "100m", memory: "64Mi" } } },
                testFramework: { enabled: false },
                initChownData: { enabled: false },
            },
            alertmanager: {
                enabled: false,
                alertmanagerSpec: { resources: { requests: { cpu: "20m", memory: "64Mi" }, limits: { cpu: "200m", memory: "256Mi" } } },
            },
            nodeExporter: { enabled: false },
            "prometheus-node-exporter": { resources: { requests: { cpu: "20m", memory: "32Mi" }, limits: { cpu: "200m", memory: "64Mi" } } },
            kubeStateMetrics: { enabled: false },
            "kube-state-metrics": { resources: { requests: { cpu: "20m", memory: "64Mi" }, limits: { cpu: "200m", memory: "256Mi" } } },
            defaultRules: { rules: { alertmanager: false, kubeStateMetrics: false, nodeExporterAlerting: false, nodeExporterRecording: false } },
            prometheusOperator: {
                namespaces: { releaseNamespace: true },
                kubeletService: { enabled: true, name: "thanos-global-view-kubelet" },
                resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
                prometheusConfigReloader: { resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { cpu: "100m", memory: "64Mi" } } },
                admissionWebhooks: {
                    namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "europe" } },
                    patch: { resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { cpu: "100m", memory: "64Mi" } } },
                },
            },
            prometheus: {
                podDisruptionBudget: { enabled: true, minAvailable: 1 },
                thanosService: { enabled: true },
                thanosServiceMonitor: { enabled: true },
                // europe is the dev stack's first region in the global query's cluster: it watches the global tier.
                additionalServiceMonitors: [
                    {
                        name: "global-thanos-query",
                        selector: {
                            matchLabels: { "app.kubernetes.io/name": "thanos", "app.kubernetes.io/instance": "thanos", "app.kubernetes.io/component": "query" },
                        },
                        namespaceSelector: { matchNames: ["monitoring"] },
                        endpoints: [{ port: "http", path: "/metrics", interval: "30s" }],
                    },
                    {
                        name: "global-thanos-query-frontend",
                        selector: {
                            matchLabels: {
                                "app.kubernetes.io/name": "thanos",
                                "app.kubernetes.io/instance": "thanos",
                                "app.kubernetes.io/component": "query-frontend",
                            },
                        },
                        namespaceSelector: { matchNames: ["monitoring"] },
                        endpoints: [{ port: "http", path: "/metrics", interval: "30s" }],
                    },
                    {
                        name: "global-grafana",
                        selector: { matchLabels: { "app.kubernetes.io/name": "grafana", "app.kubernetes.io/instance": "grafana" } },
                        namespaceSelector: { matchNames: ["monitoring"] },
                        endpoints: [{ port: "service", path: "/metrics", interval: "30s" }],
                    },
                    {
                        name: "global-thanos-rule",
                        selector: {
                            matchLabels: {
                                "app.kubernetes.io/name": "thanos",
                                "app.kubernetes.io/component": "rule",
                                "app.kubernetes.io/part-of": "thanos-global-view",
                            },
                        },
                        namespaceSelector: { matchNames: ["monitoring"] },
                        endpoints: [{ port: "http", path: "/metrics", interval: "30s" }],
                    },
                    {
                        name: "global-alertmanager",
                        selector: {
                            matchLabels: {
                                "app.kubernetes.io/name": "alertmanager",
                                "app.kubernetes.io/component": "alertmanager",
                                "app.kubernetes.io/part-of": "thanos-global-view",
                            },
                        },
                        namespaceSelector: { matchNames: ["monitoring"] },
                        endpoints: [{ port: "web", path: "/metrics", interval: "30s" }],
                    },
                ],
                prometheusSpec: {
                    replicas: 2,
                    retention: "2d",
                    storageSpec: { volumeClaimTemplate: { spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "10Gi" } } } } },
                    retentionSize: "8192MB",
                    resources: { requests: { cpu: "200m", memory: "512Mi" }, limits: { cpu: "1", memory: "2Gi" } },
                    podAntiAffinity: "hard",
                    podAntiAffinityTopologyKey: "kubernetes.io/hostname",
                    externalLabels: { cluster: "europe" },
                    prometheusExternalLabelNameClear: true,
                    replicaExternalLabelName: "replica",
                    replicaExternalLabelNameClear: false,
                    thanos: {
                        image: "quay.io/thanos/thanos:v0.42.4",
                        version: "v0.42.4",
                        resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
                    },
                    containers: [{ name: "thanos-sidecar", env: [{ name: "GOMEMLIMIT", value: "204MiB" }] }],
                },
            },
        });
    });

    it("united-states: one replica, no kubelet Service of its own, and it waits for the cluster's CRDs, not for europe", () => {
        const unitedStates = run.one(release, "united-states");
        const values = unitedStates.inputs.values;
        assert.strictEqual(unitedStates.inputs.name, "kps-united-states");
        assert.strictEqual(values.fullnameOverride, "kps-united-states");
        assert.deepStrictEqual(values.crds, { enabled: false });
        assert.deepStrictEqual(values.prometheusOperator.kubeletService, { enabled: false, name: kubeletServiceName });
        assert.deepStrictEqual(values.prometheusOperator.admissionWebhooks.namespaceSelector.matchLabels, { "kubernetes.io/metadata.name": "united-states" });
        assert.strictEqual(values.prometheus.prometheusSpec.replicas, 1);
        assert.strictEqual(values.prometheus.prometheusSpec.podAntiAffinity, "");
        assert.deepStrictEqual(values.prometheus.podDisruptionBudget, { enabled: false, minAvailable: 1 });
        assert.deepStrictEqual(values.prometheus.prometheusSpec.externalLabels, { cluster: "united-states" });
        const crds = run.one(release, "thanos-dev-operator-crds").urn;
        assert.deepStrictEqual(
            unitedStates.dependencies.filter((urn) => urn.includes("helm.sh/v3:Release")),
            [crds],
        );
        assert.deepStrictEqual(
            run.one(release, "europe").dependencies.filter((urn) => urn.includes("helm.sh/v3:Release")),
            [crds],
        );
    });

    it("every Prometheus has its own (region, replica) label set", () => {
        const spec = (name: string) => run.one(release, name).inputs.values.prometheus.prometheusSpec;
        const regionLabels = ["europe", "united-states"].map((name) => JSON.stringify(spec(name).externalLabels));
        assert.strictEqual(new Set(regionLabels).size, 2);
        for (const name of ["europe", "united-states"]) {
            // The operator fills the replica label with the pod name, unique within the region.
            assert.strictEqual(spec(name).replicaExternalLabelName, "replica");
            assert.ok(!("replica" in spec(name).externalLabels));
        }
    });

    it("exports each region's StoreAPI address, release and replicas for the global view", () => {
        assert.deepStrictEqual(run.exports.regionSummaries, [
            {
                name: "europe",
                namespace: "europe",
                releaseName: "kps-europe",
                regionLabel: { name: "cluster", value: "europe" },
                replicas: 2,
                storeApiEndpoints: ["dnssrv+_grpc._tcp.prometheus-operated.europe.svc.cluster.local"],
            },
            {
                name: "united-states",
                namespace: "united-states",
                releaseName: "kps-united-states",
                regionLabel: { name: "cluster", value: "united-states" },
                replicas: 1,
                storeApiEndpoints: ["dnssrv+_grpc._tcp.prometheus-operated.united-states.svc.cluster.local"],
            },
        ]);
    });
});

describe("Region with more regions in one cluster", () => {
    it("three regions: none installs CRDs, one keeps the kubelet Service, all wait only for the cluster's CRDs", async () => {
        const run = await runStack("dev", withAsia);
        const crds = run.one(release, "thanos-dev-operator-crds");
        const releases = run.ofType(release).filter((r) => !["global", "grafana", crds.name].includes(r.name));
        assert.deepStrictEqual(releases.map((r) => [r.name, r.inputs.values.crds.enabled, r.inputs.values.prometheusOperator.kubeletService.enabled]).sort(), [
            ["asia", false, false],
            ["europe", false, true],
            ["united-states", false, false],
        ]);
        for (const region of releases) {
            assert.deepStrictEqual(
                region.dependencies.filter((urn) => urn.includes("helm.sh/v3:Release")),
                [crds.urn],
                region.name,
            );
        }
        assert.deepStrictEqual(
            releases.map((r) => r.inputs.values.prometheusOperator.namespaces),
            Array(3).fill({ releaseNamespace: true }),
        );
    });

    it("the kubelet Service moves to the next region when the first one is removed", async () => {
        const run = await runStack("dev", (config) => config[key("regions")].shift());
        assert.strictEqual(run.one(release, "united-states").inputs.values.prometheusOperator.kubeletService.enabled, true);
    });
});

describe("kube-prometheus-stack values", () => {
    const values = (r: Region, owner = true) =>
        kubePrometheusStackValues({ region: r, labels: defaults.labels, thanosVersion: "v0.40.1", ownsKubeletService: owner }) as any;

    it("spreads replicas and guards them with a PodDisruptionBudget only from two replicas on", () => {
        for (const [replicas, antiAffinity, pdb] of [
            [1, "", false],
            [2, "hard", true],
            [3, "hard", true],
        ] as const) {
            const v = values(region({ replicas }));
            assert.strictEqual(v.prometheus.prometheusSpec.podAntiAffinity, antiAffinity, `replicas ${replicas}`);
            assert.strictEqual(v.prometheus.podDisruptionBudget.enabled, pdb, `replicas ${replicas}`);
        }
        assert.strictEqual(values(region({ antiAffinity: "soft" })).prometheus.prometheusSpec.podAntiAffinity, "soft");
    });

    it("the sidecar runs the stack's one Thanos version", () => {
        assert.deepStrictEqual(values(region()).prometheus.prometheusSpec.thanos.image, "quay.io/thanos/thanos:v0.40.1");
        assert.deepStrictEqual(values(region()).prometheus.prometheusSpec.thanos.version, "v0.40.1");
    });

    it("switches each optional component, and its rules, per region", () => {
        const v = values(region({ components: { grafana: true, alertmanager: true, nodeExporter: true, kubeStateMetrics: false } }));
        assert.deepStrictEqual([v.grafana.enabled, v.alertmanager.enabled, v.nodeExporter.enabled, v.kubeStateMetrics.enabled], [true, true, true, false]);
        assert.deepStrictEqual(v.defaultRules.rules, { alertmanager: true, kubeStateMetrics: false, nodeExporterAlerting: true, nodeExporterRecording: true });
    });

    it("passes the configured resources to Prometheus and the sidecar", () => {
        const resources = {
            prometheus: { requests: { cpu: "1", memory: "4Gi" }, limits: { cpu: "2", memory: "8Gi" } },
            sidecar: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "1", memory: "512Mi" } },
        };
        const spec = values(region({ resources })).prometheus.prometheusSpec;
        assert.deepStrictEqual(spec.resources, resources.prometheus);
        assert.deepStrictEqual(spec.thanos.resources, resources.sidecar);
    });
});

describe("region names", () => {
    it("release names fit the chart's 26-character fullname and stay distinct", () => {
        assert.strictEqual(regionReleaseName("europe"), "kps-europe");
        assert.strictEqual(regionReleaseName("asia-pacific-southeast"), "kps-asia-pacific-southeast");
        const long = ["asia-pacific-southeast-1", "asia-pacific-southeast-2", "north-america-east-coast-primary"].map(regionReleaseName);
        for (const name of long) {
            assert.ok(name.length <= 26, `${name} is ${name.length} characters`);
            assert.match(name, /^kps-[a-z0-9-]+[a-z0-9]$/);
        }
        assert.strictEqual(new Set(long).size, long.length);
        assert.strictEqual(regionReleaseName("asia-pacific-southeast-1"), regionReleaseName("asia-pacific-southeast-1"), "stable across runs");
    });

    it("the StoreAPI address is the DNS SRV record of the operator's Service", () => {
        assert.strictEqual(storeApiAddress("eu-west"), "dnssrv+_grpc._tcp.prometheus-operated.eu-west.svc.cluster.local");
    });
});

describe("Region: each Prometheus keeps its TSDB on a volume of its own", () => {
    const storageOf = (overrides: Partial<Region>) =>
        (kubePrometheusStackValues({ region: region(overrides), labels: defaults.labels, thanosVersion: "v0.42.4", ownsKubeletService: true }) as any)
            .prometheus.prometheusSpec;

    it("sized from the retention by default, with a storage class only when one is set", async () => {
        const run = await runStack("dev", (config) => {
            config[key("regions")][0].retention = "30d";
            config[key("regions")][1].volume = { size: "50Gi", storageClass: "fast-ssd.example.com" };
        });
        const spec = (name: string) => run.one(release, name).inputs.values.prometheus.prometheusSpec;
        assert.deepStrictEqual(spec("europe").storageSpec.volumeClaimTemplate.spec, {
            accessModes: ["ReadWriteOnce"],
            resources: { requests: { storage: "17Gi" } },
        });
        assert.strictEqual(spec("europe").retentionSize, "13926MB");
        assert.deepStrictEqual(spec("united-states").storageSpec.volumeClaimTemplate.spec, {
            accessModes: ["ReadWriteOnce"],
            resources: { requests: { storage: "50Gi" } },
            storageClassName: "fast-ssd.example.com",
        });
        assert.strictEqual(spec("united-states").retentionSize, "40960MB");
    });

    it("a short retention still gets 10Gi; the claims outlive a re-created StatefulSet (no retention policy), going with the namespace", () => {
        assert.strictEqual(storageOf({ retention: "3d", volume: { size: "10Gi" } }).storageSpec.volumeClaimTemplate.spec.resources.requests.storage, "10Gi");
        assert.strictEqual(storageOf({}).persistentVolumeClaimRetentionPolicy, undefined);
    });
});
