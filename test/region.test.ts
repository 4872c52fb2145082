import * as assert from "assert";
import { kubePrometheusStackValues, kubeletServiceName, storeApiAddress } from "../components/region";
import { regionReleaseName } from "../lib/releases";
import { Region, defaults } from "../lib/config";
import { ProgramRun, key, runStack, withAsia } from "./harness";

const release = "kubernetes:helm.sh/v3:Release";

function region(overrides: Partial<Region> = {}): Region {
    return {
        name: "europe", cluster: "lab", namespace: "europe", replicas: 2, retention: "10d", antiAffinity: "hard",
        resources: defaults.region.resources, components: defaults.region.components, ...overrides,
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
            { name: europe.inputs.name, namespace: europe.inputs.namespace, chart: europe.inputs.chart, version: europe.inputs.version, repositoryOpts: europe.inputs.repositoryOpts, timeout: europe.inputs.timeout },
            { name: "kps-europe", namespace: "europe", chart: "kube-prometheus-stack", version: "88.5.3", repositoryOpts: { repo: "https://prometheus-community.github.io/helm-charts" }, timeout: 900 },
        );
        assert.deepStrictEqual(europe.inputs.values, {
            fullnameOverride: "kps-europe",
            crds: {
                enabled: true,
                upgradeJob: { enabled: true, image: { busybox: { registry: "quay.io", repository: "thanos/thanos", tag: "v0.42.4" } } },
            },
            grafana: { enabled: false },
            alertmanager: { enabled: false },
            nodeExporter: { enabled: false },
            kubeStateMetrics: { enabled: false },
            defaultRules: { rules: { alertmanager: false, kubeStateMetrics: false, nodeExporterAlerting: false, nodeExporterRecording: false } },
            prometheusOperator: {
                namespaces: { releaseNamespace: true },
                kubeletService: { enabled: true, name: "thanos-global-view-kubelet" },
                admissionWebhooks: { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "europe" } } },
            },
            prometheus: {
                podDisruptionBudget: { enabled: true, minAvailable: 1 },
                prometheusSpec: {
                    replicas: 2,
                    retention: "2d",
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
                },
            },
        });
    });

    it("united-states: one replica, no CRDs and no kubelet Service of its own, and it waits for the region that installs them", () => {
        const unitedStates = run.one(release, "united-states");
        const values = unitedStates.inputs.values;
        assert.strictEqual(unitedStates.inputs.name, "kps-united-states");
        assert.strictEqual(values.fullnameOverride, "kps-united-states");
        assert.deepStrictEqual(values.crds, { enabled: false, upgradeJob: { enabled: false, image: { busybox: { registry: "quay.io", repository: "thanos/thanos", tag: "v0.42.4" } } } });
        assert.deepStrictEqual(values.prometheusOperator.kubeletService, { enabled: false, name: kubeletServiceName });
        assert.deepStrictEqual(values.prometheusOperator.admissionWebhooks.namespaceSelector.matchLabels, { "kubernetes.io/metadata.name": "united-states" });
        assert.strictEqual(values.prometheus.prometheusSpec.replicas, 1);
        assert.strictEqual(values.prometheus.prometheusSpec.podAntiAffinity, "");
        assert.deepStrictEqual(values.prometheus.podDisruptionBudget, { enabled: false, minAvailable: 1 });
        assert.deepStrictEqual(values.prometheus.prometheusSpec.externalLabels, { cluster: "united-states" });
        assert.ok(unitedStates.dependencies.includes(run.one(release, "europe").urn), "united-states must wait for the CRDs from europe");
        assert.ok(!run.one(release, "europe").dependencies.some((urn) => urn.includes("helm.sh/v3:Release")));
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
            { name: "europe", namespace: "europe", releaseName: "kps-europe", regionLabel: { name: "cluster", value: "europe" }, replicas: 2, storeApiAddress: "dnssrv+_grpc._tcp.prometheus-operated.europe.svc.cluster.local" },
            { name: "united-states", namespace: "united-states", releaseName: "kps-united-states", regionLabel: { name: "cluster", value: "united-states" }, replicas: 1, storeApiAddress: "dnssrv+_grpc._tcp.prometheus-operated.united-states.svc.cluster.local" },
        ]);
    });
});

describe("Region with more regions in one cluster", () => {
    it("three regions: exactly one installs the CRDs and the kubelet Service, the others wait for it", async () => {
        const run = await runStack("dev", withAsia);
        const releases = run.ofType(release).filter((r) => r.name !== "global");
        assert.deepStrictEqual(releases.map((r) => [r.name, r.inputs.values.crds.enabled, r.inputs.values.crds.upgradeJob.enabled, r.inputs.values.prometheusOperator.kubeletService.enabled]), [
            ["europe", true, true, true],
            ["united-states", false, false, false],
            ["asia", false, false, false],
        ]);
        const owner = run.one(release, "europe").urn;
        for (const name of ["united-states", "asia"]) {
            assert.ok(run.one(release, name).dependencies.includes(owner), name);
        }
        assert.deepStrictEqual(releases.map((r) => r.inputs.values.prometheusOperator.namespaces), Array(3).fill({ releaseNamespace: true }));
    });

    it("the owner moves to the next region when the first one is removed", async () => {
        const run = await runStack("dev", (config) => config[key("regions")].shift());
        assert.strictEqual(run.one(release, "united-states").inputs.values.crds.enabled, true);
        assert.strictEqual(run.one(release, "united-states").inputs.values.prometheusOperator.kubeletService.enabled, true);
    });

    it("a region label named otherwise carries the region name under that name", async () => {
        const run = await runStack("dev", (config) => (config[key("labels")] = { region: "site", replica: "prometheus_replica" }));
        const spec = run.one(release, "europe").inputs.values.prometheus.prometheusSpec;
        assert.deepStrictEqual(spec.externalLabels, { site: "europe" });
        assert.strictEqual(spec.replicaExternalLabelName, "prometheus_replica");
    });
});

describe("kube-prometheus-stack values", () => {
    const values = (r: Region, owner = true) =>
        kubePrometheusStackValues({ region: r, labels: defaults.labels, thanosVersion: "v0.40.1", ownsClusterSharedObjects: owner }) as any;

    it("spreads replicas and guards them with a PodDisruptionBudget only from two replicas on", () => {
        for (const [replicas, antiAffinity, pdb] of [[1, "", false], [2, "hard", true], [3, "hard", true]] as const) {
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
        assert.deepStrictEqual([v.grafana, v.alertmanager, v.nodeExporter, v.kubeStateMetrics],
            [{ enabled: true }, { enabled: true }, { enabled: true }, { enabled: false }]);
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
