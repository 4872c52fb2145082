// The dashboards' JSON: valid, laid out, every panel on the provisioned data
// source, and every query built only from series this stack produces, with
// labels those series carry. The catalogue below is what each source exports,
// read from its code at the pinned versions.
import * as assert from "assert";
import { DashboardInputs, dashboardInputs, dashboards, datasourceUid, globalViewProbeQuery } from "../lib/grafana/dashboards";
import { alertingServices, globalRuleGroups, ruleInputs } from "../lib/alerting/rules";
import { longTermServices } from "../lib/thanos/objectStorage";
import { grafanaReleaseName, regionReleaseName, thanosServices } from "../lib/kubernetes/releases";
import { readStackConfig } from "../lib/config/stackFile";
import { projectDirectory } from "./harness";

/** The dev stack, with the fleet's long-term storage so that its dashboard, and its alerts, are there too. */
const devConfig = readStackConfig(projectDirectory, "dev");
const fleetStorage = readStackConfig(projectDirectory, "fleet").storage;
const inputs: DashboardInputs = { ...dashboardInputs({ ...devConfig, storage: fleetStorage }) };
/** The generated rules' alert names, with long-term storage's. */
const devAlertNames = globalRuleGroups(ruleInputs({ ...devConfig, storage: fleetStorage }))
    .flatMap((group) => group.rules.map((rule) => rule.alert))
    .filter((name, index, all) => all.indexOf(name) === index);

/**
 * Labels prometheus-operator gives every target of a ServiceMonitor
 * (v0.93 pkg/prometheus/promcfg.go: namespace, service, pod, container,
 * endpoint, job, instance), and the region's external label the sidecar adds.
 * The replica label is not here: the querier drops it.
 */
const targetLabels = ["job", "instance", "namespace", "service", "pod", "container", "endpoint", "cluster"];

const catalogue: Record<string, string[]> = {
    // Prometheus itself (kube-prometheus-stack's Prometheus ServiceMonitor, every region).
    up: [],
    prometheus_tsdb_head_series: [],
    prometheus_tsdb_head_samples_appended_total: ["type"],
    // The sidecars (prometheus.thanosServiceMonitor): Thanos cmd/thanos/sidecar.go:178 (v0.37.0), :183 (v0.42.4).
    thanos_sidecar_prometheus_up: [],
    // Thanos Query: pkg/query/endpointset.go:135 (v0.37.0), :146 (v0.42.4).
    thanos_store_nodes_grpc_connections: ["external_labels", "store_type"],
    // Long-term storage. The sidecars' shipper: pkg/shipper/shipper.go:55, 59 (v0.37.0), 56, 60 (v0.42.4).
    thanos_shipper_uploads_total: [],
    thanos_shipper_upload_failures_total: [],
    // Every bucket user, wrapped by objstore (objstore.go:478-487 at d1dd89d41f97; the thanos_ prefix from the wrapping registerer).
    thanos_objstore_bucket_operation_failures_total: ["bucket", "operation"],
    // The Store Gateway: pkg/store/bucket.go:194 (v0.37.0), :199 (v0.42.4). The compactor: cmd/thanos/compact.go:125, 134 (v0.37.0), 126, 135 (v0.42.4).
    thanos_bucket_store_blocks_loaded: [],
    thanos_compact_halted: [],
    thanos_compact_iterations_total: [],
    // Query and Query Frontend HTTP: pkg/extprom/http/metrics.go:29-76, both versions.
    http_requests_total: ["code", "handler", "method", "tenant"],
    http_request_duration_seconds_bucket: ["code", "handler", "method", "tenant", "le"],
    http_request_duration_seconds_count: ["code", "handler", "method", "tenant"],
    // Query Frontend: pkg/queryfrontend/roundtrip.go:109, split_by_interval.go:30,
    // internal/cortex/querier/queryrange/retry.go:26, internal/cortex/chunk/cache/instrumented.go:19-53.
    thanos_query_frontend_queries_total: ["op"],
    thanos_frontend_split_queries_total: ["tripperware"],
    cortex_query_frontend_retries_sum: ["tripperware"],
    cortex_cache_hits_total: ["name", "tripperware"],
    cortex_cache_fetched_keys_total: ["name", "tripperware"],
    // cAdvisor through the kubelet ServiceMonitor, with its metrics_path relabeling (kube-prometheus-stack 88.5.3 values.yaml:1940-1950).
    container_cpu_usage_seconds_total: ["metrics_path", "id", "image", "name", "cpu"],
    container_memory_working_set_bytes: ["metrics_path", "id", "image", "name"],
    container_network_receive_bytes_total: ["metrics_path", "id", "image", "name", "interface"],
    container_network_transmit_bytes_total: ["metrics_path", "id", "image", "name", "interface"],
    // The global rules' alerts, from the Ruler's StoreAPI: Prometheus' ALERTS, with each rule's labels.
    ALERTS: ["alertname", "alertstate", "severity"],
    // The Ruler's rule groups (Prometheus rules/group.go, labelled by Thanos pkg/rules/manager.go:150) and its alert sender (pkg/alert/alert.go:245).
    prometheus_rule_group_last_evaluation_timestamp_seconds: ["rule_group", "strategy"],
    prometheus_rule_evaluation_failures_total: ["rule_group", "strategy"],
    thanos_alert_sender_errors_total: ["alertmanager"],
};

/** PromQL that is not a series: functions, aggregations, keywords. */
const promql = ["sum", "max", "count", "rate", "increase", "histogram_quantile", "clamp_min", "by", "on", "and", "or", "label_values", "vector", "time"];

interface Target {
    refId: string;
    expr: string;
    datasource: { uid: string };
    format?: string;
    instant: boolean;
    range: boolean;
    legendFormat: string;
}
interface Panel {
    id: number;
    type: string;
    title: string;
    datasource: { uid: string };
    gridPos: { x: number; y: number; w: number; h: number };
    targets: Target[];
    transformations?: { id: string; options: any }[];
}
interface Variable {
    name: string;
    multi: boolean;
    query: { query: string };
    datasource: { uid: string };
    current: unknown;
}

const all = dashboards(inputs) as Record<string, { uid: string; schemaVersion: number; panels: Panel[]; templating: { list: Variable[] } }>;
const queriesOf = (dashboard: (typeof all)[string]) => [
    ...dashboard.panels.flatMap((panel) => panel.targets.map((target) => target.expr)),
    ...dashboard.templating.list.map((variable) => variable.query.query),
];

/** Every `metric{matchers}` of an expression, and the labels its `by (...)` groups use. */
function parse(expr: string): { selectors: { metric: string; labels: string[] }[]; groupings: string[]; leftover: string[] } {
    const selectors = [...expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}/g)].map(([, metric, matchers]) => ({
        metric,
        labels: [...matchers.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)].map(([, label]) => label),
    }));
    const groupings = [...expr.matchAll(/by \(([^)]*)\)/g)].flatMap(([, labels]) => labels.split(",").map((label) => label.trim()));
    // label_values(metric{...}, label): the label is a grouping too.
    groupings.push(...[...expr.matchAll(/label_values\([^,]+,\s*([a-zA-Z_]+)\)/g)].map(([, label]) => label));
    const leftover =
        expr
            .replace(/label_values\((.+),\s*[a-zA-Z_]+\)$/, "label_values($1)")
            .replace(/"[^"]*"/g, "")
            .replace(/([a-zA-Z_:][a-zA-Z0-9_:]*)\{[^}]*\}/g, "")
            .replace(/by \([^)]*\)/g, "")
            .replace(/\[\d+[smhdwy]\]/g, "")
            .replace(/\b\d+(\.\d+)?(e-?\d+)?\b/g, "")
            .match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)
            ?.filter((word) => !promql.includes(word) && !/^\d/.test(word)) ?? [];
    return { selectors, groupings, leftover: leftover.filter((word) => !/^[0-9]+[smhd]$/.test(word) && word !== "m") };
}

describe("the dashboards", () => {
    it("are the three the README describes, each with its own uid, a fourth with long-term storage and a fifth with alerting", () => {
        assert.deepStrictEqual(
            Object.entries(all).map(([file, dashboard]) => [file, dashboard.uid]),
            [
                ["global-view.json", "global-view"],
                ["query-path.json", "query-path"],
                ["kubernetes-resources.json", "kubernetes-resources"],
                ["long-term-storage.json", "long-term-storage"],
                ["global-alerts.json", "global-alerts"],
            ],
        );
        assert.deepStrictEqual(Object.keys(dashboards({ ...inputs, longTermStorage: false, alerting: undefined })), [
            "global-view.json",
            "query-path.json",
            "kubernetes-resources.json",
        ]);
    });

    it("global alerts: the generated rules' alerts, each state counted as 0 rather than nothing, and the Alertmanager's target only where the stack runs one", () => {
        const alerts = all["global-alerts.json"];
        const names = devAlertNames.join("|");
        assert.deepStrictEqual(
            alerts.panels.slice(0, 2).map((panel) => panel.targets[0].expr),
            [
                `count(ALERTS{alertname=~"${names}", alertstate="firing"}) or vector(0)`,
                `count(ALERTS{alertname=~"${names}", alertstate="pending"}) or vector(0)`,
            ],
        );
        // Every generated rule, and only those: a region's own alerts never count here.
        assert.ok(devAlertNames.includes("GlobalViewRegionMissing") && devAlertNames.includes("CompactorHalted"), names);
        const targetsUp = (dashboard: typeof alerts) => dashboard.panels.find((panel) => panel.title === "Alerting targets up")!.targets[0].expr;
        assert.match(targetsUp(alerts), /job=~"thanos-rule\|thanos-alertmanager"/);
        const yours = dashboards({ ...inputs, alerting: { ...inputs.alerting!, alertmanager: false } })["global-alerts.json"] as typeof alerts;
        assert.match(targetsUp(yours), /job=~"thanos-rule"\}/);
        const off = readStackConfig(projectDirectory, "dev");
        assert.strictEqual(dashboardInputs({ ...off, alerting: { ...off.alerting, enabled: false } }).alerting, undefined);
    });

    it("put every panel, target and variable on the provisioned data source", () => {
        for (const dashboard of Object.values(all)) {
            for (const panel of dashboard.panels) {
                assert.strictEqual(panel.datasource.uid, datasourceUid, panel.title);
                assert.ok(panel.targets.length > 0, panel.title);
                panel.targets.forEach((target) => assert.strictEqual(target.datasource.uid, datasourceUid, panel.title));
            }
            dashboard.templating.list.forEach((variable) => assert.strictEqual(variable.datasource.uid, datasourceUid));
        }
    });

    it("lay panels out on the 24-column grid without overlap, with unique ids", () => {
        for (const dashboard of Object.values(all)) {
            const cells = new Set<string>();
            for (const { gridPos, title } of dashboard.panels) {
                assert.ok(gridPos.x + gridPos.w <= 24, title);
                for (let x = gridPos.x; x < gridPos.x + gridPos.w; x++) {
                    for (let y = gridPos.y; y < gridPos.y + gridPos.h; y++) {
                        assert.ok(!cells.has(`${x},${y}`), `${title} overlaps at ${x},${y}`);
                        cells.add(`${x},${y}`);
                    }
                }
            }
            assert.strictEqual(new Set(dashboard.panels.map((panel) => panel.id)).size, dashboard.panels.length);
        }
    });

    it("query only series this stack produces, by labels those series carry", () => {
        const problems: string[] = [];
        for (const [file, dashboard] of Object.entries(all)) {
            for (const expr of queriesOf(dashboard)) {
                const { selectors, groupings, leftover } = parse(expr);
                if (leftover.length > 0) problems.push(`${file}: ${leftover.join(", ")} in ${expr} is neither PromQL nor a selector with labels`);
                const available = new Set([...targetLabels, ...selectors.flatMap(({ metric }) => catalogue[metric] ?? [])]);
                for (const { metric, labels } of selectors) {
                    if (!(metric in catalogue)) problems.push(`${file}: ${metric} is not produced by this stack`);
                    labels
                        .filter((label) => !targetLabels.includes(label) && !(catalogue[metric] ?? []).includes(label))
                        .forEach((label) => problems.push(`${file}: ${metric} has no label ${label}`));
                }
                groupings.filter((label) => !available.has(label)).forEach((label) => problems.push(`${file}: grouped by ${label}, which ${expr} cannot have`));
            }
        }
        assert.deepStrictEqual(problems, []);
    });

    it("the check above reads a made-up metric and its labels, and a metric with no selector", () => {
        assert.deepStrictEqual(parse('sum by (replica) (rate(thanos_made_up_total{handler="x"}[5m]))'), {
            selectors: [{ metric: "thanos_made_up_total", labels: ["handler"] }],
            groupings: ["replica"],
            leftover: [],
        });
        assert.deepStrictEqual(parse("sum(up) + prometheus_tsdb_head_series").leftover, ["up", "prometheus_tsdb_head_series"]);
    });

    it("show zero instead of nothing for errors, so a healthy stack has no empty panel", () => {
        const errors = all["query-path.json"].panels.find((panel) => panel.title === "Errors per second")!.targets[0].expr;
        assert.match(
            errors,
            /^\(sum by \(job\) \(rate\(http_requests_total\{.*code=~"5\.\."\}\[5m\]\)\)\) or \(sum by \(job\) \(rate\(http_requests_total\{[^}]*\}\[5m\]\)\) \* 0\)$/,
        );
    });

    it("the verification asks Grafana the global view's first panel query", () => {
        const first = all["global-view.json"].panels[0].targets[0].expr;
        assert.strictEqual(first.replace(', cluster=~"$region"', ""), globalViewProbeQuery(inputs));
    });

    it("tables: every query instant and as a table, merged into one table, Time and __name__ hidden, each value column named after its query", () => {
        const tables = Object.values(all)
            .flatMap((dashboard) => dashboard.panels)
            .filter((panel) => panel.type === "table");
        assert.deepStrictEqual(
            tables.map((panel) => panel.title),
            ["Replicas: Prometheus and sidecar", "StoreAPI endpoints seen by Thanos Query", "Global tier targets up", "Alerting targets up"],
        );
        for (const panel of tables) {
            panel.targets.forEach((target) => assert.deepStrictEqual([target.format, target.instant, target.range], ["table", true, false], panel.title));
            // Grafana names the value column "Value" for one query, "Value #<refId>" for several (result_transformer.ts:278-280).
            const valueColumns = panel.targets.map((target) => (panel.targets.length > 1 ? `Value #${target.refId}` : "Value"));
            assert.deepStrictEqual(
                panel.transformations,
                [
                    ...(panel.targets.length > 1 ? [{ id: "merge", options: {} }] : []),
                    {
                        id: "organize",
                        options: {
                            excludeByName: { Time: true, __name__: true },
                            renameByName: Object.fromEntries(valueColumns.map((column, i) => [column, panel.targets[i].legendFormat])),
                        },
                    },
                ],
                panel.title,
            );
            panel.targets.forEach((target) =>
                assert.match(target.legendFormat, /^[A-Z][a-z]+( [a-z]+)*$/, `${panel.title}: a column title, not a legend template`),
            );
        }
        const replicas = tables[0].transformations![1].options.renameByName;
        assert.deepStrictEqual(replicas, { "Value #A": "Prometheus up", "Value #B": "Sidecar serving" });
    });

    it("every selector of every panel and variable names the namespace and job it means, as the config makes them", () => {
        // Where each job lives, from the config: each region's Prometheus and sidecar Services
        // (kube-prometheus-stack <fullname>-prometheus, <fullname>-thanos-discovery), the global tier's.
        const home = new Map<string, string>([
            ...devConfig.regions.flatMap((region) =>
                [`${regionReleaseName(region.name)}-prometheus`, `${regionReleaseName(region.name)}-thanos-discovery`].map(
                    (job) => [job, region.namespace] as [string, string],
                ),
            ),
            ...[
                thanosServices.queryHttp,
                thanosServices.frontendHttp,
                grafanaReleaseName,
                longTermServices.storeGateway,
                longTermServices.compactor,
                alertingServices.ruler,
                alertingServices.alertmanager,
            ].map((job) => [job, devConfig.globalQuery.namespace] as [string, string]),
        ]);
        const values = (matchers: string, label: string) => {
            const found = new RegExp(`\\b${label}(=~|=)"([^"]*)"`).exec(matchers);
            return found === null ? undefined : found[2].split("|");
        };
        const problems: string[] = [];
        for (const dashboard of Object.values(all)) {
            for (const expr of queriesOf(dashboard)) {
                for (const [selector, metric, matchers] of expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}/g)) {
                    const jobs = values(matchers, "job");
                    if (metric === "ALERTS") {
                        // The Ruler's own series carry no job: the generated rules' names select them.
                        if (values(matchers, "alertname")?.join("|") !== devAlertNames.join("|"))
                            problems.push(`ALERTS of other rules than the global ones: ${selector}`);
                    } else if (jobs === undefined) {
                        problems.push(`no job in ${selector}`);
                    } else if (jobs.join() === "kubelet") {
                        // cAdvisor's series carry the namespace of the pod they measure (the kubelet's are honoured): the job and path are the filter.
                        if (!/metrics_path="\/metrics\/cadvisor"/.test(matchers)) problems.push(`kubelet, but not cAdvisor: ${selector}`);
                    } else {
                        const namespaces = values(matchers, "namespace") ?? [];
                        jobs.filter((job) => !home.has(job)).forEach((job) => problems.push(`${job}, not a job of this stack, in ${selector}`));
                        jobs.filter((job) => home.has(job) && !namespaces.includes(home.get(job)!)).forEach((job) =>
                            problems.push(`${job} runs in ${home.get(job)}, which ${selector} does not select`),
                        );
                        namespaces
                            .filter((namespace) => !jobs.some((job) => home.get(job) === namespace))
                            .forEach((namespace) => problems.push(`${namespace}, where none of its jobs runs, in ${selector}`));
                    }
                    if (metric === "up" && jobs?.some((job) => job.endsWith("-prometheus")) && !matchers.includes('container="prometheus"')) {
                        problems.push(`the Prometheus Service serves its config reloader too: ${selector}`);
                    }
                }
            }
        }
        assert.deepStrictEqual(problems, []);
        // Both regions, in their own namespaces.
        assert.match(
            all["global-view.json"].panels[0].targets[0].expr,
            /namespace=~"europe\|united-states", job=~"kps-europe-prometheus\|kps-united-states-prometheus"/,
        );
    });

    it("plot no NaN: a latency quantile only while requests were answered", () => {
        const quantiles = Object.values(all)
            .flatMap((dashboard) => dashboard.panels.flatMap((panel) => panel.targets.map((target) => target.expr)))
            .filter((expr) => expr.includes("histogram_quantile"));
        assert.strictEqual(quantiles.length, 6);
        for (const expr of quantiles) {
            const [, selector] = /_bucket\{([^}]*)\}/.exec(expr)!;
            assert.ok(expr.endsWith(` and on () (sum(rate(http_request_duration_seconds_count{${selector}}[5m])) > 0)`), expr);
        }
    });

    it("are written as Grafana 13.2 writes them: schema 42, a multi-value variable's selection as lists", () => {
        for (const dashboard of Object.values(all)) {
            assert.strictEqual(dashboard.schemaVersion, 42);
            dashboard.templating.list.forEach((variable) =>
                assert.deepStrictEqual([variable.multi, variable.current], [true, { text: ["All"], value: ["$__all"] }]),
            );
        }
    });
});
