// A stand-in for Thanos Query Frontend on loopback: it holds `up` series as
// the sidecars would serve them (external labels included), and other metrics
// with their value and their increase over the last minutes, and answers
// /api/v1/query the way Thanos does, deduplicating on its replica labels
// unless asked for dedup=false. It understands the query shapes the
// verification uses: `<count|sum|max|min> by (labels) (<metric>{matchers})`,
// the same over `increase(<metric>{matchers}[<window>])`, matchers `=` and
// `=~`, and `1+1`, Grafana's health check of a Prometheus data source. Its
// /api/v1/rules lists the rule groups it is given, as the querier lists the
// Ruler's (pkg/rules/rulespb/rpc.pb.go:280-282 at v0.42.4: name, file, rules).
import * as http from "http";
import { listenOnLoopback } from "./loopback";

export type Labels = Record<string, string>;

/** A series of another metric than `up`: its labels (`__name__` included), its value, and its increase over the query's window, if it has samples enough for one. */
export interface MetricSeries {
    labels: Labels;
    value: number;
    increase?: number;
}

export interface FakeThanosOptions {
    /** `up` series, each with its full label set. */
    series: Labels[];
    /** Series of other metrics. */
    metrics?: MetricSeries[];
    /** The labels the querier deduplicates on (its --query.replica-label). */
    replicaLabels: string[];
    /** Answer this much later. */
    delayMs?: number;
    /** Told every query asked so far, after each one is answered: lets a test change the series at a known point. */
    afterQuery?: (asked: readonly string[]) => void;
    /**
     * A Thanos with data for the dashboards' queries, which this stand-in cannot
     * evaluate: the series (each valued 1) it answers a query with, [] for none.
     */
    dashboardData?: (query: string) => Labels[];
    /** The rule groups the rules API lists, each with one alerting rule. */
    ruleGroups?: string[];
}

export interface FakeThanos {
    url: string;
    /** Every query asked, as `<query> dedup=<bool>`. */
    asked: string[];
    close(): Promise<void>;
}

export async function startFakeThanos(options: FakeThanosOptions): Promise<FakeThanos> {
    const asked: string[] = [];
    const delayed = new Set<NodeJS.Timeout>();
    const server = http.createServer((request, response) => {
        const url = new URL(request.url ?? "/", "http://localhost");
        const answer = (status: number, body: object) => {
            const timer = setTimeout(() => {
                delayed.delete(timer);
                response.writeHead(status, { "Content-Type": "application/json" });
                response.end(JSON.stringify(body));
            }, options.delayMs ?? 0);
            delayed.add(timer);
        };
        if (url.pathname === "/api/v1/rules") {
            asked.push(`rules ${url.search}`);
            const groups = (options.ruleGroups ?? []).map((name) => ({
                name,
                file: "/etc/thanos/rules/global.rules.yaml",
                rules: [{ state: "inactive", name: `${name}-alert`, health: "ok", type: "alerting" }],
                interval: 30,
            }));
            answer(200, { status: "success", data: { groups } });
            return;
        }
        if (url.pathname !== "/api/v1/query" && url.pathname !== "/api/v1/query_range") {
            answer(404, { status: "error", errorType: "not_found", error: `no route ${url.pathname}` });
            return;
        }
        const query = url.searchParams.get("query") ?? "";
        const dedup = url.searchParams.get("dedup") !== "false";
        asked.push(`${query} dedup=${dedup}`);
        const everything = [...options.series.map((labels) => ({ labels: { __name__: "up", ...labels }, value: 1, increase: 0 })), ...(options.metrics ?? [])];
        const evaluated = evaluate(query, dedup ? deduplicate(everything, options.replicaLabels) : everything);
        // What the held series leave empty, the dashboards' data may answer.
        const unanswered = evaluated === undefined || (Array.isArray(evaluated) && evaluated.length === 0 && options.dashboardData !== undefined);
        const result = unanswered
            ? options.dashboardData?.(query).map((metric) => ({ metric, value: [Date.now() / 1000, "1"] as [number, string] }))
            : evaluated;
        if (url.pathname === "/api/v1/query_range" && Array.isArray(result)) {
            // A range query: every series with a value at the start and at the end.
            const [start, end] = [Number(url.searchParams.get("start")), Number(url.searchParams.get("end"))];
            answer(200, {
                status: "success",
                data: {
                    resultType: "matrix",
                    result: result.map(({ metric, value }) => ({
                        metric,
                        values: [
                            [start, value[1]],
                            [end, value[1]],
                        ],
                    })),
                },
            });
            return;
        }
        if (result === undefined) {
            answer(400, { status: "error", errorType: "bad_data", error: `1:1: parse error: unexpected query ${JSON.stringify(query)}` });
            return;
        }
        if (!Array.isArray(result)) {
            answer(200, { status: "success", data: { resultType: "scalar", result: result.scalar } });
            options.afterQuery?.(asked);
            return;
        }
        answer(200, { status: "success", data: { resultType: "vector", result } });
        options.afterQuery?.(asked);
    });
    // Answers still waiting out their delay are cleared, so a slow stand-in never keeps the test process alive.
    const loopback = await listenOnLoopback(server, () => delayed.forEach((timer) => clearTimeout(timer)));
    return { ...loopback, asked };
}

/** What Thanos does with dedup on: drop the replica labels, merge what is then identical (keeping one replica's samples). */
function deduplicate(series: MetricSeries[], replicaLabels: string[]): MetricSeries[] {
    const merged = new Map<string, MetricSeries>();
    for (const one of series) {
        const kept = Object.fromEntries(Object.entries(one.labels).filter(([name]) => !replicaLabels.includes(name)));
        const key = JSON.stringify(Object.entries(kept).sort());
        if (!merged.has(key)) {
            merged.set(key, { ...one, labels: kept });
        }
    }
    return [...merged.values()];
}

function evaluate(query: string, series: MetricSeries[]): { metric: Labels; value: [number, string] }[] | { scalar: [number, string] } | undefined {
    if (query === "1+1") {
        return { scalar: [Date.now() / 1000, "2"] };
    }
    const match = /^(count|sum|max|min) by \(([\w, ]*)\) \((?:(increase)\((\w+)(?:\{([^}]*)\})?\[\d+[smh]\]\)|(\w+)(?:\{([^}]*)\})?)\)$/.exec(query);
    if (!match) {
        return undefined;
    }
    const [, aggregation, byList, increase, increasedName, increasedMatchers, name, plainMatchers] = match;
    const by = byList
        .split(",")
        .map((label) => label.trim())
        .filter(Boolean);
    const matchers = [`__name__="${increasedName ?? name}"`, ...(increasedMatchers ?? plainMatchers ?? "").split(",").filter(Boolean)].map((matcher) =>
        /^(\w+)(=~|=)"([^"]*)"$/.exec(matcher.trim()),
    );
    if (matchers.some((matcher) => matcher === null)) {
        return undefined;
    }
    const matches = (labels: Labels) =>
        matchers.every((matcher) => {
            const [, label, operator, value] = matcher!;
            return operator === "=" ? labels[label] === value : new RegExp(`^(?:${value})$`).test(labels[label] ?? "");
        });
    const groups = new Map<string, { metric: Labels; values: number[] }>();
    for (const one of series) {
        // increase() needs two samples in its window: a series too young has none.
        const value = increase ? one.increase : one.value;
        if (!matches(one.labels) || value === undefined) {
            continue;
        }
        const metric = Object.fromEntries(by.filter((label) => label in one.labels).map((label) => [label, one.labels[label]]));
        const key = JSON.stringify(metric);
        const group = groups.get(key) ?? { metric, values: [] };
        group.values.push(value);
        groups.set(key, group);
    }
    const aggregate = {
        count: (values: number[]) => values.length,
        sum: (values: number[]) => values.reduce((a, b) => a + b, 0),
        max: (values: number[]) => Math.max(...values),
        min: (values: number[]) => Math.min(...values),
    }[aggregation as "count" | "sum" | "max" | "min"];
    const now = Date.now() / 1000;
    return [...groups.values()].map(({ metric, values }) => ({ metric, value: [now, String(aggregate(values))] }));
}

const apiServers = ["172.18.0.2:6443"];
const replicaName = (region: string, index: number) => `prometheus-kps-${region}-prometheus-${index}`;

/**
 * `up` series of the dev stack as its sidecars serve them, per replica: the
 * API server, the kubelets, and every Prometheus pod of the region (each
 * replica scrapes them all, kube-prometheus-stack's Prometheus ServiceMonitor).
 */
export function devStackSeries(replicasByRegion: Record<string, number> = { europe: 2, "united-states": 1 }): Labels[] {
    return Object.entries(replicasByRegion).flatMap(([region, replicas]) =>
        Array.from({ length: replicas }, (_, index) => [
            ...apiServers.map((instance) => ({ job: "apiserver", instance, cluster: region, replica: replicaName(region, index) })),
            ...["172.18.0.3:10250", "172.18.0.4:10250"].map((instance) => ({ job: "kubelet", instance, cluster: region, replica: replicaName(region, index) })),
            ...Array.from({ length: replicas }, (_, pod) => ({
                namespace: region,
                job: `kps-${region}-prometheus`,
                container: "prometheus",
                pod: replicaName(region, pod),
                cluster: region,
                replica: replicaName(region, index),
            })),
        ]).flat(),
    );
}

/**
 * The long-term tier's metrics of a healthy stack with storage, as the
 * regions' Prometheus replicas scrape them (each series once per scraping
 * replica, told apart by the replica label): every querier connected to every
 * Store Gateway, no failed bucket operation, the compactor running, every
 * sidecar with its bucket. `change` edits the list, to break it.
 */
export function longTermStorageMetrics({
    namespace,
    queryReplicas,
    storeGatewayReplicas,
    sidecars,
    observer,
}: {
    namespace: string;
    queryReplicas: number;
    storeGatewayReplicas: number;
    sidecars: Record<string, number>;
    observer: { region: string; replicas: number };
}): MetricSeries[] {
    const scrapedBy = (region: string, replicas: number, labels: Labels, value: number, increase?: number): MetricSeries[] =>
        Array.from({ length: replicas }, (_, index) => ({ labels: { ...labels, cluster: region, replica: replicaName(region, index) }, value, increase }));
    const inTier = (labels: Labels, value: number, increase?: number) =>
        scrapedBy(observer.region, observer.replicas, { namespace, ...labels }, value, increase);
    const gateways = Array.from({ length: storeGatewayReplicas }, (_, index) => `thanos-store-gateway-5d8f9c-${index}`);
    return [
        ...Array.from({ length: queryReplicas }, (_, index) =>
            inTier(
                {
                    __name__: "thanos_store_nodes_grpc_connections",
                    job: "thanos-query-http",
                    pod: `thanos-query-7c9d-${index}`,
                    store_type: "store",
                    external_labels: "{}",
                },
                storeGatewayReplicas,
            ),
        ).flat(),
        ...[...gateways.map((pod) => ({ pod, job: "thanos-store-gateway" })), { pod: "thanos-compactor-0", job: "thanos-compactor" }].flatMap(({ pod, job }) =>
            ["iter", "get", "upload"].flatMap((operation) =>
                inTier({ __name__: "thanos_objstore_bucket_operation_failures_total", job, pod, operation, bucket: "thanos" }, 0, 0),
            ),
        ),
        ...inTier({ __name__: "thanos_compact_halted", job: "thanos-compactor", pod: "thanos-compactor-0" }, 0),
        ...Object.entries(sidecars).flatMap(([region, replicas]) =>
            Array.from({ length: replicas }, (_, pod) =>
                scrapedBy(
                    region,
                    replicas,
                    {
                        __name__: "thanos_objstore_bucket_operation_failures_total",
                        namespace: region,
                        container: "thanos-sidecar",
                        pod: replicaName(region, pod),
                        operation: "upload",
                        bucket: "thanos",
                    },
                    0,
                    0,
                ),
            ).flat(),
        ),
    ];
}
