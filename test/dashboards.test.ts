// The dashboards' JSON: valid, laid out, every panel on the provisioned data
// source, and every query built only from series this stack produces, with
// labels those series carry. The catalogue below is what each source exports,
// read from its code at the pinned versions.
import * as assert from "assert";
import { DashboardInputs, dashboards, datasourceUid, globalViewProbeQuery } from "../lib/dashboards";

const inputs: DashboardInputs = { regionLabel: "cluster", globalNamespace: "monitoring", slowQueryThreshold: "10s", longTermStorage: true };

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
};

/** PromQL that is not a series: functions, aggregations, keywords. */
const promql = ["sum", "max", "rate", "increase", "histogram_quantile", "clamp_min", "by", "or", "label_values"];

interface Target { expr: string; datasource: { uid: string } }
interface Panel { id: number; title: string; datasource: { uid: string }; gridPos: { x: number; y: number; w: number; h: number }; targets: Target[] }

const all = dashboards(inputs) as Record<string, { uid: string; panels: Panel[]; templating: { list: { query: { query: string }; datasource: { uid: string } }[] } }>;
const queriesOf = (dashboard: typeof all[string]) => [
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
    const leftover = expr
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
    it("are the three the README describes, each with its own uid, and a fourth with long-term storage", () => {
        assert.deepStrictEqual(Object.entries(all).map(([file, dashboard]) => [file, dashboard.uid]),
            [["global-view.json", "global-view"], ["query-path.json", "query-path"], ["kubernetes-resources.json", "kubernetes-resources"], ["long-term-storage.json", "long-term-storage"]]);
        assert.deepStrictEqual(Object.keys(dashboards({ ...inputs, longTermStorage: false })), ["global-view.json", "query-path.json", "kubernetes-resources.json"]);
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
                    labels.filter((label) => !targetLabels.includes(label) && !(catalogue[metric] ?? []).includes(label))
                        .forEach((label) => problems.push(`${file}: ${metric} has no label ${label}`));
                }
                groupings.filter((label) => !available.has(label)).forEach((label) => problems.push(`${file}: grouped by ${label}, which ${expr} cannot have`));
            }
        }
        assert.deepStrictEqual(problems, []);
    });

    it("the check above reads a made-up metric and its labels, and a metric with no selector", () => {
        assert.deepStrictEqual(parse('sum by (replica) (rate(thanos_made_up_total{handler="x"}[5m]))'),
            { selectors: [{ metric: "thanos_made_up_total", labels: ["handler"] }], groupings: ["replica"], leftover: [] });
        assert.deepStrictEqual(parse("sum(up) + prometheus_tsdb_head_series").leftover, ["up", "prometheus_tsdb_head_series"]);
    });

    it("show zero instead of nothing for errors, so a healthy stack has no empty panel", () => {
        const errors = (all["query-path.json"].panels.find((panel) => panel.title === "Errors per second")!).targets[0].expr;
        assert.match(errors, /^\(sum by \(job\) \(rate\(http_requests_total\{.*code=~"5\.\."\}\[5m\]\)\)\) or \(sum by \(job\) \(rate\(http_requests_total\{[^}]*\}\[5m\]\)\) \* 0\)$/);
    });

    it("the verification asks Grafana the global view's first panel query", () => {
        const first = all["global-view.json"].panels[0].targets[0].expr;
        assert.strictEqual(first.replace(', cluster=~"$region"', ""), globalViewProbeQuery("cluster"));
    });
});
