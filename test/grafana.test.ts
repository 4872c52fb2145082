import * as assert from "assert";
import { grafanaValues } from "../components/grafana";
import { datasourceUid } from "../lib/grafana/dashboards";
import { managedReleases } from "../lib/kubernetes/releases";
import { grafanaChecks, verificationPlan } from "../lib/verification/checks";
import { readStackConfig } from "../lib/config/stackFile";
import { ProgramRun, key, projectDirectory, runStack } from "./harness";
import { restrictedViolations, unsizedContainers } from "./podSecurityStandard";

const release = "kubernetes:helm.sh/v3:Release";
const configMap = "kubernetes:core/v1:ConfigMap";
const secret = "kubernetes:core/v1:Secret";
/** The mock engine's name for an object left unnamed (test/harness.ts, like the provider's random suffix). */
const autoNamed = (name: string) => `${name}-x7k2p9`;

describe("Grafana on the dev stack", () => {
    let run: ProgramRun;
    before(async () => {
        run = await runStack("dev");
    });

    it("is the grafana-community chart 12.11.1, beside the global query", () => {
        const grafana = run.one(release, "grafana");
        assert.deepStrictEqual(
            [
                grafana.inputs.name,
                grafana.inputs.namespace,
                grafana.inputs.chart,
                grafana.inputs.version,
                grafana.inputs.repositoryOpts,
                grafana.inputs.timeout,
            ],
            ["grafana", "monitoring", "grafana", "12.11.1", { repo: "https://grafana-community.github.io/helm-charts" }, 600],
        );
        // No cluster-scoped objects (rbac.create false): a replacement may start before the old one goes.
        assert.strictEqual(grafana.deleteBeforeReplace, false);
        assert.deepStrictEqual(grafana.inputs.values.image, { registry: "docker.io", repository: "grafana/grafana", tag: "13.2.0" });
    });

    it("has one data source: the Query Frontend GlobalQuery exports, Thanos flavour, default, not editable", () => {
        const [datasource, ...others] = run.one(release, "grafana").inputs.values.datasources["datasources.yaml"].datasources;
        assert.deepStrictEqual(others, []);
        assert.strictEqual(datasource.url, run.exports.queryFrontendUrl);
        assert.deepStrictEqual(
            [datasource.uid, datasource.type, datasource.access, datasource.isDefault, datasource.editable, datasource.jsonData.prometheusType],
            [datasourceUid, "prometheus", "proxy", true, false, "Thanos"],
        );
    });

    it("tells the data source the stack's Thanos version, as Grafana writes versions (no v), from versions.thanos", async () => {
        const versionOf = (run: ProgramRun) =>
            run.one(release, "grafana").inputs.values.datasources["datasources.yaml"].datasources[0].jsonData.prometheusVersion;
        assert.strictEqual(versionOf(run), "0.42.4");
        const older = await runStack("dev", (config) => (config[key("versions")] = { thanos: "v0.39.2" }));
        assert.strictEqual(versionOf(older), "0.39.2");
    });

    it("generates the admin password, keeps it secret, and hands it to the chart only through a Secret", () => {
        const password = run.one("random:index/randomPassword:RandomPassword", "grafana-admin");
        assert.deepStrictEqual([password.inputs.length, password.inputs.special], [32, false]);
        const adminSecret = run.one(secret, "grafana-admin");
        assert.deepStrictEqual(adminSecret.secretInputs, ["stringData"]);
        assert.strictEqual(adminSecret.inputs.stringData["admin-user"], "admin");
        assert.strictEqual(adminSecret.inputs.stringData["admin-password"], run.exports.grafanaAdminPassword);
        assert.strictEqual((run.exports.grafanaAdminPassword as string).length, 32);
        assert.ok(run.isSecretExport("grafanaAdminPassword"));
        const values = run.one(release, "grafana").inputs.values;
        assert.deepStrictEqual(values.admin, { existingSecret: autoNamed("grafana-admin"), userKey: "admin-user", passwordKey: "admin-password" });
        assert.ok(!JSON.stringify(values).includes(run.exports.grafanaAdminPassword as string));
    });

    it("provisions its dashboards (the global alerts' with alerting on) from its ConfigMap, with no sidecar and no download", () => {
        const dashboards = run.one(configMap, "grafana-dashboards");
        assert.deepStrictEqual(Object.keys(dashboards.inputs.data).sort(), [
            "global-alerts.json",
            "global-view.json",
            "kubernetes-resources.json",
            "query-path.json",
        ]);
        const values = run.one(release, "grafana").inputs.values;
        assert.deepStrictEqual(values.dashboardsConfigMaps, { "thanos-global-view": autoNamed("grafana-dashboards") });
        assert.deepStrictEqual(values.dashboardProviders["dashboardproviders.yaml"].providers[0].options, {
            path: "/var/lib/grafana/dashboards/thanos-global-view",
        });
        assert.deepStrictEqual([values.dashboards, values.sidecar], [{}, { dashboards: { enabled: false }, datasources: { enabled: false } }]);
    });

    it("exports how to open it", () => {
        assert.strictEqual(
            run.exports.grafanaPortForwardCommand,
            "kubectl --context kind-thanos-dev --namespace monitoring port-forward service/grafana 3000:80",
        );
        assert.deepStrictEqual([run.exports.grafanaLocalUrl, run.exports.grafanaAdminUser], ["http://localhost:3000", "admin"]);
    });

    it("is scraped by europe, the first region in its cluster, with Thanos Query and Query Frontend; no other region scrapes the global tier", () => {
        const monitors = (name: string) =>
            (run.one(release, name).inputs.values.prometheus.additionalServiceMonitors as { name: string }[]).map((monitor) => monitor.name);
        assert.deepStrictEqual(monitors("europe"), [
            "global-thanos-query",
            "global-thanos-query-frontend",
            "global-grafana",
            "global-thanos-rule",
            "global-alertmanager",
        ]);
        assert.deepStrictEqual(monitors("united-states"), []);
    });
});

describe("Grafana follows the stack config", () => {
    it("off: no Grafana, nothing of it scraped, verified or exported", async () => {
        const run = await runStack("dev", (config) => (config[key("grafana")] = { enabled: false }));
        // What is left of Secrets and ConfigMaps is the alerting tier's.
        const ofGrafana = (type: string) => run.ofType(type).filter((resource) => !resource.name.startsWith("global-alerting-"));
        assert.deepStrictEqual(
            [
                run
                    .ofType(release)
                    .map((r) => r.name)
                    .sort(),
                ofGrafana(secret),
                ofGrafana(configMap),
            ],
            [["europe", "global", "thanos-dev-operator-crds", "united-states"], [], []],
        );
        const monitors = run.one(release, "europe").inputs.values.prometheus.additionalServiceMonitors as { name: string }[];
        assert.deepStrictEqual(
            monitors.map((monitor) => monitor.name),
            ["global-thanos-query", "global-thanos-query-frontend", "global-thanos-rule", "global-alertmanager"],
        );
        const env = run.one("kubernetes:batch/v1:Job", "global-view").inputs.spec.template.spec.containers[0].env as { name: string }[];
        assert.deepStrictEqual(
            env.map(({ name }) => name),
            ["FRONTEND_URL", "DEPLOYED_REVISIONS"],
        );
        assert.deepStrictEqual(
            Object.keys(run.exports).filter((name) => name.startsWith("grafana")),
            [],
        );
    });

    it("npm run up looks after its release after an interrupted run only while it runs", () => {
        const config = readStackConfig(projectDirectory, "dev");
        const grafanaRelease = (enabled: boolean) => managedReleases({ ...config, grafana: { enabled } }).filter((r) => r.name === "grafana");
        assert.deepStrictEqual(grafanaRelease(true), [{ cluster: "thanos-dev", namespace: "monitoring", name: "grafana" }]);
        assert.deepStrictEqual(grafanaRelease(false), []);
    });

    it("its dashboards and its verification follow labels.region", async () => {
        const run = await runStack("dev", (config) => (config[key("labels")] = { region: "region" }));
        const dashboards = Object.values(run.one(configMap, "grafana-dashboards").inputs.data as Record<string, string>).join("\n");
        assert.ok(dashboards.includes('region=~\\"$region\\"'), "the region selector uses the configured label");
        assert.ok(!/cluster[=!]~?\\"/.test(dashboards) && !dashboards.includes("by (cluster"), "and never the default one");
        const config = readStackConfig(projectDirectory, "dev");
        const checks = grafanaChecks(verificationPlan({ ...config, labels: { ...config.labels, region: "region" } }));
        assert.deepStrictEqual(checks[2].expect, { kind: "labelValues", label: "region", values: ["europe", "united-states"] });
    });
});

/**
 * The Grafana pod as the chart renders it from these values
 * (charts/grafana/templates/_pod.tpl at grafana-12.11.1): the token mounted
 * per `automountServiceAccountToken` (:8), pod securityContext from
 * `securityContext` (:13-14), init containers for persistence with
 * initChownData (:40) or a non-empty `dashboards` (:69), the grafana
 * container's securityContext from `containerSecurityContext` (:1265) and its
 * `resources` (:1541), the dashboard sidecar only when enabled (:736).
 */
function renderedGrafanaPod(values: any): any {
    const initContainers = [
        ...(values.persistence.enabled && values.initChownData.enabled
            ? [{ name: "init-chown-data", securityContext: { runAsNonRoot: false, runAsUser: 0 } }]
            : []),
        ...(Object.keys(values.dashboards).length > 0 ? [{ name: "download-dashboards" }] : []),
    ];
    const sidecars = values.sidecar.dashboards.enabled ? [{ name: "grafana-sc-dashboard" }] : [];
    return {
        automountServiceAccountToken: values.automountServiceAccountToken,
        securityContext: values.securityContext,
        initContainers,
        containers: [
            {
                name: "grafana",
                securityContext: values.containerSecurityContext,
                resources: values.resources,
                ports: [{ name: "grafana", containerPort: 3000 }],
            },
            ...sidecars,
        ],
        volumes: [
            { name: "config", configMap: { name: "grafana" } },
            { name: "storage", emptyDir: {} },
            { name: "dashboards-thanos-global-view", configMap: { name: values.dashboardsConfigMaps["thanos-global-view"] } },
        ],
    };
}

describe("the Grafana pod", () => {
    const values = grafanaValues({
        frontendUrl: "http://frontend:10902",
        thanosVersion: "v0.42.4",
        adminSecretName: "admin",
        dashboardsConfigMapName: "dashboards",
    }) as any;

    it("meets the restricted standard, is sized, and has no service account token", () => {
        const pod = renderedGrafanaPod(values);
        assert.deepStrictEqual(
            [restrictedViolations(pod), unsizedContainers(pod), pod.automountServiceAccountToken, values.rbac],
            [[], [], false, { create: false }],
        );
        assert.deepStrictEqual(values.resources, { requests: { cpu: "100m", memory: "192Mi" }, limits: { cpu: "1", memory: "512Mi" } });
    });
});
