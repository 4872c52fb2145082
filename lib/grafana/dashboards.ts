// The global view's Grafana dashboards, as code: built from the stack config
// so that they follow its labels (`labels.region` names the region selector
// everywhere), provisioned from ConfigMaps at start (no download: clusters
// may be air-gapped). Every query goes through the one provisioned data
// source, the Query Frontend, and uses only series this stack produces:
// - Prometheus' own metrics and `up`, scraped by each region (kube-prometheus-stack's
//   Prometheus ServiceMonitor); the sidecars', scraped by each region
//   (`prometheus.thanosServiceMonitor`); cAdvisor's, from the kubelets every
//   region scrapes;
// - Thanos Query, Query Frontend and Grafana, with long-term storage the
//   Store Gateway and the compactor, with alerting the Thanos Ruler and the
//   Alertmanager, scraped by the region that shares their cluster
//   (components/region.ts, `globalTierServiceMonitors`);
// - the global rules' ALERTS, from the Ruler's own StoreAPI (lib/alerting/rules.ts).
// The names were read from Thanos v0.37.0 and v0.42.4 (pkg/extprom/http/metrics.go,
// pkg/query/endpointset.go, pkg/queryfrontend, internal/cortex); test/dashboards.test.ts
// holds that catalogue and fails on a query outside it.

import { alertingServices, globalRuleGroups, ruleInputs } from "../alerting/rules";
import { longTermServices } from "../thanos/objectStorage";
import { grafanaReleaseName, regionReleaseName, thanosServices } from "../kubernetes/releases";
import { StackConfig } from "../config/schema";

export const datasourceUid = "thanos-global-view";

/** A region as its metrics name it: the namespace it runs in, the release its Services are named after. */
export interface DashboardRegion {
    namespace: string;
    releaseName: string;
}

export interface DashboardInputs {
    regionLabel: string;
    regions: DashboardRegion[];
    /** The namespace of the global query and Grafana. */
    globalNamespace: string;
    /** Query Frontend's slow-query threshold, drawn on its latency panel. */
    slowQueryThreshold: string;
    /** Whether the stack has long-term storage, and so its dashboard. */
    longTermStorage: boolean;
    /** With alerting on, the global rules' alert names, and whether the stack runs its own Alertmanager: the global alerts' dashboard. */
    alerting?: { alertNames: string[]; alertmanager: boolean };
}

/** The Services the global tier's metrics come from: the operator names a job after its Service. */
const globalTierJobs = {
    query: thanosServices.queryHttp,
    frontend: thanosServices.frontendHttp,
    storeGateway: longTermServices.storeGateway,
    compactor: longTermServices.compactor,
    ruler: alertingServices.ruler,
    alertmanager: alertingServices.alertmanager,
} as const;

/** The jobs the region in the global tier's cluster scrapes there (components/region.ts, globalTierServiceMonitors); Grafana's, since these dashboards are its. */
function globalTierTargets(longTermStorage: boolean): string[] {
    return [
        globalTierJobs.query,
        globalTierJobs.frontend,
        grafanaReleaseName,
        ...(longTermStorage ? [globalTierJobs.storeGateway, globalTierJobs.compactor] : []),
    ];
}

/**
 * Every region's own series, by namespace and job, so that no panel counts a
 * Prometheus or sidecar someone else runs in a cluster a region scrapes. The
 * operator names a job after its Service (prometheus-operator v0.93.0
 * pkg/prometheus/promcfg.go:2176-2183); kube-prometheus-stack names the
 * Prometheus Service `<fullname>-prometheus` and the sidecars'
 * `<fullname>-thanos-discovery` (templates/prometheus/service.yaml,
 * serviceThanosSidecar.yaml, servicemonitorThanosSidecar.yaml), the
 * fullname being the region's release (components/region.ts). The Prometheus
 * Service also serves the config reloader: container="prometheus" keeps
 * Prometheus itself.
 */
function regionSelectors(regions: DashboardRegion[]): { prometheus: string; sidecars: string } {
    const oneOf = (values: string[]) => `=~"${[...new Set(values)].join("|")}"`;
    const namespaces = `namespace${oneOf(regions.map((region) => region.namespace))}`;
    return {
        prometheus: `${namespaces}, job${oneOf(regions.map((region) => `${region.releaseName}-prometheus`))}, container="prometheus"`,
        sidecars: `${namespaces}, job${oneOf(regions.map((region) => `${region.releaseName}-thanos-discovery`))}`,
    };
}

const datasource = { type: "prometheus", uid: datasourceUid };

interface Target {
    expr: string;
    /** The series' legend; in a table, the title of this query's value column. */
    legend: string;
}

interface PanelSpec {
    title: string;
    description: string;
    type?: "timeseries" | "stat" | "table";
    unit?: string;
    targets: Target[];
    width?: number;
}

/**
 * One table of a table panel's queries: one row per series, a column per
 * label and one per query. Grafana turns each `format: "table"` query into one
 * frame, its value column named "Value", or "Value #<refId>" when the panel
 * has several queries (packages/grafana-prometheus/src/result_transformer.ts:195-280,
 * @grafana/prometheus 13.2.1); `merge` joins the frames on their equal
 * columns (the labels, and Time: instant queries share one evaluation time),
 * `organize` hides Time and any __name__, and names each value column after
 * its query.
 */
function tableTransformations(targets: { refId: string; legendFormat: string }[]): Record<string, unknown>[] {
    const valueColumn = (refId: string) => (targets.length > 1 ? `Value #${refId}` : "Value");
    return [
        ...(targets.length > 1 ? [{ id: "merge", options: {} }] : []),
        {
            id: "organize",
            options: {
                excludeByName: { Time: true, __name__: true },
                renameByName: Object.fromEntries(targets.map(({ refId, legendFormat }) => [valueColumn(refId), legendFormat])),
            },
        },
    ];
}

/** Panels flow left to right in rows of 24 columns. */
function layout(panels: PanelSpec[]): Record<string, unknown>[] {
    let x = 0;
    let y = 0;
    return panels.map((panel, index) => {
        const width = panel.width ?? 12;
        if (x + width > 24) {
            x = 0;
            y += 8;
        }
        const gridPos = { h: 8, w: width, x, y };
        x += width;
        const instant = panel.type === "table" || panel.type === "stat";
        const targets = panel.targets.map((target, i) => ({
            refId: String.fromCharCode(65 + i),
            datasource,
            expr: target.expr,
            legendFormat: target.legend,
            instant,
            range: !instant,
            ...(panel.type === "table" ? { format: "table" } : {}),
        }));
        return {
            id: index + 1,
            type: panel.type ?? "timeseries",
            title: panel.title,
            description: panel.description,
            datasource,
            gridPos,
            fieldConfig: { defaults: { unit: panel.unit ?? "short" }, overrides: [] },
            options: panel.type === "table" ? { showHeader: true } : {},
            targets,
            ...(panel.type === "table" ? { transformations: tableTransformations(targets) } : {}),
        };
    });
}

function variable(name: string, label: string, query: string): Record<string, unknown> {
    return {
        name,
        label,
        type: "query",
        datasource,
        query: { query, refId: name },
        definition: query,
        refresh: 2,
        includeAll: true,
        multi: true,
        allValue: ".+",
        // A multi-value variable's selection is a list (VariableOption, packages/grafana-schema/src/raw/dashboard/x/types.gen.ts:238-255 at v13.2.0).
        current: { text: ["All"], value: ["$__all"] },
        sort: 1,
    };
}

function dashboard(uid: string, title: string, description: string, variables: Record<string, unknown>[], panels: PanelSpec[]): Record<string, unknown> {
    return {
        uid,
        title,
        description,
        tags: ["thanos-global-view"],
        timezone: "browser",
        // Grafana 13.2's latest dashboard schema (defaultDashboard, packages/grafana-schema/src/raw/dashboard/x/types.gen.ts:1384 at v13.2.0):
        // an older one is migrated on every load.
        schemaVersion: 42,
        version: 1,
        editable: false,
        refresh: "30s",
        time: { from: "now-1h", to: "now" },
        templating: { list: variables },
        panels: layout(panels),
    };
}

/** Zero for every group that exists instead of no answer: "no errors" must read 0, not "No data". */
const orZero = (errors: string, all: string) => `(${errors}) or (${all} * 0)`;

/** Every region and its replicas, as the global view sees them, and deduplication at work. */
function globalViewDashboard({ regionLabel: region, regions, globalNamespace }: DashboardInputs): Record<string, unknown> {
    const inRegion = `${region}=~"$region"`;
    const { prometheus, sidecars } = regionSelectors(regions);
    return dashboard(
        "global-view",
        "Global view",
        "Every region and its Prometheus replicas through the Query Frontend, deduplicated on the replica label.",
        [variable("region", "region", `label_values(up{${prometheus}}, ${region})`)],
        [
            {
                title: "Prometheus replicas up, per region",
                description: "Replicas whose Prometheus answers its own scrape. A region is served as long as one is up.",
                type: "stat",
                targets: [{ expr: globalViewProbeQuery({ regionLabel: region, regions }, inRegion), legend: `{{${region}}}` }],
            },
            {
                title: "Replicas: Prometheus and sidecar",
                description:
                    "One row per replica: 1 when its Prometheus is scraped and its Thanos sidecar sees Prometheus ready (it then serves the StoreAPI).",
                type: "table",
                targets: [
                    { expr: `max by (${region}, pod) (up{${prometheus}, ${inRegion}})`, legend: "Prometheus up" },
                    { expr: `max by (${region}, pod) (thanos_sidecar_prometheus_up{${sidecars}, ${inRegion}})`, legend: "Sidecar serving" },
                ],
            },
            {
                title: "Samples ingested per second, per region",
                description: "Every replica scrapes the same targets: this is what the region stores, all replicas together.",
                unit: "short",
                targets: [
                    { expr: `sum by (${region}) (rate(prometheus_tsdb_head_samples_appended_total{${prometheus}, ${inRegion}}[5m]))`, legend: `{{${region}}}` },
                ],
            },
            {
                title: "Head series per replica",
                description: "Series in each replica's head block; HA replicas of one region hold nearly the same.",
                targets: [{ expr: `max by (${region}, pod) (prometheus_tsdb_head_series{${prometheus}, ${inRegion}})`, legend: "{{pod}}" }],
            },
            {
                title: "Series stored by all replicas vs served after deduplication",
                description:
                    "Stored: the replicas' head series added up. Served: one replica's worth, what the querier returns once it drops the replica label. The gap is the HA copy deduplication hides.",
                targets: [
                    {
                        expr: `sum by (${region}) (prometheus_tsdb_head_series{${prometheus}, ${inRegion}})`,
                        legend: "{{" + region + "}} stored (all replicas)",
                    },
                    {
                        expr: `max by (${region}) (prometheus_tsdb_head_series{${prometheus}, ${inRegion}})`,
                        legend: "{{" + region + "}} served (deduplicated)",
                    },
                ],
            },
            {
                title: "StoreAPI endpoints seen by Thanos Query",
                description:
                    "Connections the querier holds, by the external labels of each endpoint: one per sidecar, each replica with its own replica label.",
                type: "table",
                targets: [
                    {
                        expr: `max by (external_labels, store_type) (thanos_store_nodes_grpc_connections{namespace="${globalNamespace}", job="${globalTierJobs.query}"})`,
                        legend: "Connections",
                    },
                ],
                width: 24,
            },
        ],
    );
}

/** Query and Query Frontend: load, latency, errors, splitting, retries and the results cache. */
function queryPathDashboard({ globalNamespace, slowQueryThreshold, longTermStorage }: DashboardInputs): Record<string, unknown> {
    const query = `namespace="${globalNamespace}", job="${globalTierJobs.query}"`;
    const frontend = `namespace="${globalNamespace}", job="${globalTierJobs.frontend}"`;
    // No request in the window makes every bucket's rate 0 and the quantile NaN, which Grafana
    // would plot: the quantile only while requests were answered, a gap otherwise.
    const quantiles = (selector: string) =>
        [0.5, 0.9, 0.99].map((q) => ({
            expr: `histogram_quantile(${q}, sum by (le) (rate(http_request_duration_seconds_bucket{${selector}}[5m]))) and on () (sum(rate(http_request_duration_seconds_count{${selector}}[5m])) > 0)`,
            legend: `p${q * 100}`,
        }));
    return dashboard(
        "query-path",
        "Query path",
        "Thanos Query Frontend and Thanos Query, as every dashboard query passes them.",
        [],
        [
            {
                title: "Query Frontend requests per second",
                description: "Every request through the frontend, by HTTP status.",
                unit: "reqps",
                targets: [{ expr: `sum by (code) (rate(http_requests_total{${frontend}}[5m]))`, legend: "{{code}}" }],
            },
            {
                title: "Query Frontend latency",
                description: `Percentiles of the frontend's answers. Queries slower than ${slowQueryThreshold} (globalQuery.frontend.slowQueryThreshold) are logged by the frontend: kubectl --namespace ${globalNamespace} logs -l app.kubernetes.io/component=query-frontend | grep "slow query detected".`,
                unit: "s",
                targets: quantiles(frontend),
            },
            {
                title: "Frontend queries per second, by operation",
                description: "What clients ask: instant, range, labels, series.",
                unit: "reqps",
                targets: [{ expr: `sum by (op) (rate(thanos_query_frontend_queries_total{${frontend}}[5m]))`, legend: "{{op}}" }],
            },
            {
                title: "Split queries per second",
                description: "Parts the frontend cuts range and label queries into (globalQuery.frontend.splitInterval), each run and cached on its own.",
                unit: "reqps",
                targets: [{ expr: `sum by (tripperware) (rate(thanos_frontend_split_queries_total{${frontend}}[5m]))`, legend: "{{tripperware}}" }],
            },
            {
                // The frontend observes, per query part, the attempts that failed before one succeeded
                // (Thanos internal/cortex/querier/queryrange/retry.go: Observe(tries)).
                title: "Retries per second",
                description:
                    "Query parts the frontend asked again after a failure (at most globalQuery.frontend.maxRetries attempts per part); 0 on a healthy stack.",
                unit: "reqps",
                targets: [{ expr: `sum by (tripperware) (rate(cortex_query_frontend_retries_sum{${frontend}}[5m]))`, legend: "{{tripperware}}" }],
            },
            {
                title: "Results cache hit ratio",
                description:
                    "Share of cached parts found in the frontend's in-memory cache (globalQuery.frontend.cacheMaxSize); 0 until something was looked up.",
                unit: "percentunit",
                // The counters exist from start (instrumented.go: plain counters), so no lookups is 0/0:
                // clamping the divisor reads that as 0 instead of NaN.
                targets: [
                    {
                        expr: `sum by (tripperware) (rate(cortex_cache_hits_total{${frontend}}[5m])) / clamp_min(sum by (tripperware) (rate(cortex_cache_fetched_keys_total{${frontend}}[5m])), 1e-9)`,
                        legend: "{{tripperware}}",
                    },
                ],
            },
            {
                title: "Thanos Query requests per second, by endpoint",
                description: "What reaches the querier behind the frontend, by API handler.",
                unit: "reqps",
                targets: [{ expr: `sum by (handler) (rate(http_requests_total{${query}}[5m]))`, legend: "{{handler}}" }],
            },
            {
                title: "Thanos Query latency",
                description: "Percentiles of the querier's answers, instant and range queries.",
                unit: "s",
                targets: quantiles(`${query}, handler=~"query|query_range"`),
            },
            {
                title: "Errors per second",
                description: "5xx answers of the frontend and the querier; 0 when there are none.",
                unit: "reqps",
                targets: [
                    {
                        expr: orZero(
                            `sum by (job) (rate(http_requests_total{namespace="${globalNamespace}", job=~"${globalTierJobs.query}|${globalTierJobs.frontend}", code=~"5.."}[5m]))`,
                            `sum by (job) (rate(http_requests_total{namespace="${globalNamespace}", job=~"${globalTierJobs.query}|${globalTierJobs.frontend}"}[5m]))`,
                        ),
                        legend: "{{job}}",
                    },
                ],
            },
            {
                title: "Global tier targets up",
                description:
                    "Thanos Query, Query Frontend and Grafana pods (with long-term storage, the Store Gateways and the compactor too), as the region in their cluster scrapes them.",
                type: "table",
                targets: [
                    { expr: `max by (job, pod) (up{namespace="${globalNamespace}", job=~"${globalTierTargets(longTermStorage).join("|")}"})`, legend: "Up" },
                ],
            },
        ],
    );
}

/**
 * The bucket and its three users: are the sidecars uploading, does every
 * querier reach the Store Gateways, does the compactor run, do bucket
 * operations fail? Every metric here exists from the start of its component
 * (plain counters and gauges; objstore's per-operation series start at 0), so
 * a fresh stack shows 0, not "No data": thanos_shipper_* (pkg/shipper/shipper.go:55-62
 * at v0.37.0, 56-63 at v0.42.4), thanos_bucket_store_blocks_loaded (pkg/store/bucket.go:194,
 * :199), thanos_compact_halted and _iterations_total (cmd/thanos/compact.go:125-137, :126-138).
 */
function longTermStorageDashboard({ regionLabel: region, regions, globalNamespace }: DashboardInputs): Record<string, unknown> {
    const tier = (job: string) => `namespace="${globalNamespace}", job="${job}"`;
    const inRegion = `${region}=~"$region"`;
    const { sidecars } = regionSelectors(regions);
    // The sidecars in the regions' namespaces, the gateways and the compactor in the global one.
    const bucketUsers =
        `namespace=~"${[...new Set([...regions.map((r) => r.namespace), globalNamespace])].join("|")}", ` +
        `job=~"${[...regions.map((r) => `${r.releaseName}-thanos-discovery`), globalTierJobs.storeGateway, globalTierJobs.compactor].join("|")}"`;
    return dashboard(
        "long-term-storage",
        "Long-term storage",
        "Sidecars uploading to the bucket, the Store Gateways serving it to Thanos Query, the one compactor keeping it.",
        [variable("region", "region", `label_values(thanos_shipper_uploads_total{${sidecars}}, ${region})`)],
        [
            {
                title: "Compactor halted",
                description:
                    "1 when the compactor stopped on a block it will not touch: compaction, downsampling and retention have stopped. Its log names the block (README, Troubleshooting).",
                type: "stat",
                targets: [{ expr: `max(thanos_compact_halted{${tier(globalTierJobs.compactor)}})`, legend: "halted" }],
            },
            {
                title: "Store Gateways each querier is connected to",
                description: "Healthy StoreAPI connections from each Thanos Query pod to Store Gateway replicas (storage.storeGateway.replicas).",
                type: "stat",
                targets: [{ expr: `sum by (pod) (thanos_store_nodes_grpc_connections{${tier(globalTierJobs.query)}, store_type="store"})`, legend: "{{pod}}" }],
            },
            {
                title: "Blocks uploaded per hour, per region",
                description:
                    "Blocks the sidecars shipped to the bucket: each replica uploads one every 2 hours, the first about 3 hours after its Prometheus starts.",
                targets: [{ expr: `sum by (${region}) (increase(thanos_shipper_uploads_total{${sidecars}, ${inRegion}}[1h]))`, legend: `{{${region}}}` }],
            },
            {
                title: "Block uploads failed per hour, per region",
                description: "Uploads that failed (the sidecar retries); 0 on a healthy stack.",
                targets: [
                    { expr: `sum by (${region}) (increase(thanos_shipper_upload_failures_total{${sidecars}, ${inRegion}}[1h]))`, legend: `{{${region}}}` },
                ],
            },
            {
                title: "Bucket operations failed per second, by component",
                description:
                    "Failed bucket operations of the sidecars, the Store Gateways and the compactor (those scraped by the selected regions); 0 on a healthy stack.",
                unit: "ops",
                targets: [
                    {
                        expr: `sum by (job, operation) (rate(thanos_objstore_bucket_operation_failures_total{${bucketUsers}, ${inRegion}}[5m]))`,
                        legend: "{{job}} {{operation}}",
                    },
                ],
            },
            {
                title: "Blocks served by each Store Gateway",
                description: "Blocks each replica has loaded from the bucket; grows as uploads arrive, shrinks as the compactor merges and deletes them.",
                targets: [{ expr: `max by (pod) (thanos_bucket_store_blocks_loaded{${tier(globalTierJobs.storeGateway)}})`, legend: "{{pod}}" }],
            },
            {
                title: "Compactor iterations per hour",
                description: "Complete passes over the bucket (one every 5 minutes at most); 0 for long means it is stuck or halted.",
                targets: [{ expr: `sum(increase(thanos_compact_iterations_total{${tier(globalTierJobs.compactor)}}[1h]))`, legend: "iterations" }],
            },
        ],
    );
}

/**
 * The global alerts and the pair that evaluates them: what fires now, and
 * whether the Rulers evaluate and reach Alertmanager. ALERTS are the Ruler's
 * own series, without job or namespace: the global rules' names tell them
 * from the regions' alerts. Every panel reads 0 rather than "No data" on a
 * healthy stack: the rule group metrics exist once a group is loaded
 * (Prometheus' rules/group.go, NewGroup, the manager's registry wrapped by
 * Thanos with a strategy label, pkg/rules/manager.go:150 at v0.42.4); the
 * alert sender's errors only after a failed send (pkg/alert/alert.go:245,
 * v0.37.0 and v0.42.4), hence its zero from `up`.
 */
function globalAlertsDashboard(
    { regionLabel: region, globalNamespace }: DashboardInputs,
    alerting: NonNullable<DashboardInputs["alerting"]>,
): Record<string, unknown> {
    const alerts = `alertname=~"${alerting.alertNames.join("|")}"`;
    const ruler = `namespace="${globalNamespace}", job="${globalTierJobs.ruler}"`;
    const countOrZero = (state: string) => `count(ALERTS{${alerts}, alertstate="${state}"}) or vector(0)`;
    const jobs = [globalTierJobs.ruler, ...(alerting.alertmanager ? [globalTierJobs.alertmanager] : [])];
    return dashboard(
        "global-alerts",
        "Global alerts",
        "The alerts on the global view itself (a region missing, replicas, sidecars or the bucket's users failing), and the Thanos Ruler pair that evaluates them through the Query Frontend.",
        [],
        [
            {
                title: "Global alerts firing",
                description: "Global alerts past their for, as the Ruler pair sends them to Alertmanager. Each one's description says what to check first.",
                type: "stat",
                targets: [{ expr: countOrZero("firing"), legend: "firing" }],
            },
            {
                title: "Global alerts pending (not yet past their for)",
                description: "Conditions that hold but not yet for alerting.for: a rollout passing, or an alert about to fire.",
                type: "stat",
                targets: [{ expr: countOrZero("pending"), legend: "pending" }],
            },
            {
                title: "Firing global alerts, by alert and region",
                description: "What fired when, and where: a region missing, replicas or sidecars down, the bucket's users failing. 0 while nothing fires.",
                targets: [
                    { expr: `count by (alertname, ${region}) (ALERTS{${alerts}, alertstate="firing"}) or vector(0)`, legend: `{{alertname}} {{${region}}}` },
                ],
                width: 24,
            },
            {
                title: "Seconds since each Ruler last evaluated each group",
                description:
                    "Rises past alerting.evaluationInterval when a Ruler stops evaluating: its pod is down, or it is stuck on a query the frontend does not answer.",
                unit: "s",
                targets: [
                    {
                        expr: `time() - max by (pod, rule_group) (prometheus_rule_group_last_evaluation_timestamp_seconds{${ruler}})`,
                        legend: "{{pod}} {{rule_group}}",
                    },
                ],
            },
            {
                title: "Rule evaluation failures per second",
                description: "Evaluations that failed: mostly the Ruler not reaching the Query Frontend. A rule that fails to evaluate cannot fire.",
                unit: "ops",
                targets: [{ expr: `sum by (pod) (rate(prometheus_rule_evaluation_failures_total{${ruler}}[5m]))`, legend: "{{pod}}" }],
            },
            {
                title: "Errors sending alerts to Alertmanager per second",
                description: "Alerts the Ruler could not deliver: the Alertmanager is down or unreachable, and nobody hears of what fires.",
                unit: "ops",
                targets: [
                    { expr: orZero(`sum by (pod) (rate(thanos_alert_sender_errors_total{${ruler}}[5m]))`, `max by (pod) (up{${ruler}})`), legend: "{{pod}}" },
                ],
            },
            {
                title: "Alerting targets up",
                description: "Each Thanos Ruler pod, and each Alertmanager pod where the stack runs its own, as the region in their cluster scrapes them.",
                type: "table",
                targets: [{ expr: `max by (job, pod) (up{namespace="${globalNamespace}", job=~"${jobs.join("|")}"})`, legend: "Up" }],
            },
        ],
    );
}

/** Cluster, namespace and pod resource use, per region, from the kubelets' cAdvisor. */
function kubernetesDashboard({ regionLabel: region }: DashboardInputs): Record<string, unknown> {
    const kubeletCadvisor = 'job="kubelet", metrics_path="/metrics/cadvisor"';
    const cadvisor = `${kubeletCadvisor}, ${region}=~"$region"`;
    const containers = `${cadvisor}, container!=""`;
    return dashboard(
        "kubernetes-resources",
        "Kubernetes resources per region",
        "CPU, memory and network of the clusters each region watches, by namespace and pod, from cAdvisor.",
        [
            variable("region", "region", `label_values(container_cpu_usage_seconds_total{${kubeletCadvisor}}, ${region})`),
            variable("namespace", "namespace", `label_values(container_cpu_usage_seconds_total{${cadvisor}}, namespace)`),
        ],
        [
            {
                title: "CPU by namespace",
                description: "Cores used, per namespace.",
                unit: "short",
                targets: [
                    {
                        expr: `sum by (${region}, namespace) (rate(container_cpu_usage_seconds_total{${containers}}[5m]))`,
                        legend: `{{${region}}} {{namespace}}`,
                    },
                ],
            },
            {
                title: "Memory by namespace",
                description: "Working set (what the kernel would not reclaim), per namespace.",
                unit: "bytes",
                targets: [{ expr: `sum by (${region}, namespace) (container_memory_working_set_bytes{${containers}})`, legend: `{{${region}}} {{namespace}}` }],
            },
            {
                title: "CPU by pod",
                description: "Cores used by each pod of the chosen namespaces.",
                unit: "short",
                targets: [
                    {
                        expr: `sum by (${region}, namespace, pod) (rate(container_cpu_usage_seconds_total{${containers}, namespace=~"$namespace"}[5m]))`,
                        legend: "{{namespace}}/{{pod}}",
                    },
                ],
            },
            {
                title: "Memory by pod",
                description: "Working set of each pod of the chosen namespaces.",
                unit: "bytes",
                targets: [
                    {
                        expr: `sum by (${region}, namespace, pod) (container_memory_working_set_bytes{${containers}, namespace=~"$namespace"})`,
                        legend: "{{namespace}}/{{pod}}",
                    },
                ],
            },
            {
                title: "Memory by container",
                description: "Working set of each container of the chosen namespaces: compare it with the limits in the stack config.",
                unit: "bytes",
                targets: [
                    {
                        expr: `max by (${region}, namespace, pod, container) (container_memory_working_set_bytes{${containers}, namespace=~"$namespace"})`,
                        legend: "{{pod}}/{{container}}",
                    },
                ],
            },
            {
                title: "Network received and sent by pod",
                description: "Bytes per second through each pod's network interfaces.",
                unit: "Bps",
                targets: [
                    {
                        expr: `sum by (${region}, namespace, pod) (rate(container_network_receive_bytes_total{${cadvisor}, namespace=~"$namespace"}[5m]))`,
                        legend: "{{pod}} received",
                    },
                    {
                        expr: `sum by (${region}, namespace, pod) (rate(container_network_transmit_bytes_total{${cadvisor}, namespace=~"$namespace"}[5m]))`,
                        legend: "{{pod}} sent",
                    },
                ],
            },
        ],
    );
}

export function dashboardRegion(region: { name: string; namespace: string }): DashboardRegion {
    return { namespace: region.namespace, releaseName: regionReleaseName(region.name) };
}

/** What the dashboards follow in the stack config. */
export function dashboardInputs(config: StackConfig): DashboardInputs {
    return {
        regionLabel: config.labels.region,
        regions: config.regions.map(dashboardRegion),
        globalNamespace: config.globalQuery.namespace,
        slowQueryThreshold: config.globalQuery.frontend.slowQueryThreshold,
        longTermStorage: config.storage.type !== "none",
        alerting: config.alerting.enabled
            ? {
                  alertNames: [...new Set(globalRuleGroups(ruleInputs(config)).flatMap((group) => group.rules.map((rule) => rule.alert)))],
                  alertmanager: config.alerting.receiver.type !== "alertmanager",
              }
            : undefined,
    };
}

export interface PanelQueries {
    dashboard: string;
    panel: string;
    targets: { refId: string; expr: string; instant: boolean }[];
}

/** Every panel's queries, as Grafana sends them with every variable on "All". */
export function panelQueries(inputs: DashboardInputs): PanelQueries[] {
    return Object.values(dashboards(inputs)).flatMap((dashboard) =>
        (dashboard.panels as { title: string; targets: { refId: string; expr: string; instant: boolean }[] }[]).map((panel) => ({
            dashboard: dashboard.title as string,
            panel: panel.title,
            targets: panel.targets.map(({ refId, expr, instant }) => ({ refId, expr: expr.replace(/\$[a-zA-Z_]+/g, ".+"), instant })),
        })),
    );
}

/** The file name in the dashboards ConfigMap of each dashboard. */
export function dashboards(inputs: DashboardInputs): Record<string, Record<string, unknown>> {
    return {
        "global-view.json": globalViewDashboard(inputs),
        "query-path.json": queryPathDashboard(inputs),
        "kubernetes-resources.json": kubernetesDashboard(inputs),
        ...(inputs.longTermStorage ? { "long-term-storage.json": longTermStorageDashboard(inputs) } : {}),
        ...(inputs.alerting ? { "global-alerts.json": globalAlertsDashboard(inputs, inputs.alerting) } : {}),
    };
}

/**
 * The first panel of the global view: the query Grafana's verification asks
 * through the data source for every region, the panel for the chosen ones.
 */
export function globalViewProbeQuery({ regionLabel, regions }: Pick<DashboardInputs, "regionLabel" | "regions">, regionFilter?: string): string {
    return `sum by (${regionLabel}) (up{${regionSelectors(regions).prometheus}${regionFilter === undefined ? "" : `, ${regionFilter}`}})`;
}
