// A stand-in for Thanos Query Frontend on loopback: it holds `up` series as
// the sidecars would serve them (external labels included) and answers
// /api/v1/query the way Thanos does, deduplicating on its replica labels
// unless asked for dedup=false. It understands the query shapes the
// verification uses: `count by (labels) (up{name="value",...})`, the same with
// `sum` (every `up` here is 1), and `1+1`, Grafana's health check of a
// Prometheus data source.
import * as http from "http";
import { listenOnLoopback } from "./loopback";

export type Labels = Record<string, string>;

export interface FakeThanosOptions {
    /** `up` series, each with its full label set. */
    series: Labels[];
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
        if (url.pathname !== "/api/v1/query" && url.pathname !== "/api/v1/query_range") {
            answer(404, { status: "error", errorType: "not_found", error: `no route ${url.pathname}` });
            return;
        }
        const query = url.searchParams.get("query") ?? "";
        const dedup = url.searchParams.get("dedup") !== "false";
        asked.push(`${query} dedup=${dedup}`);
        const evaluated = evaluate(query, dedup ? deduplicate(options.series, options.replicaLabels) : options.series);
        const result = evaluated ?? options.dashboardData?.(query).map((metric) => ({ metric, value: [Date.now() / 1000, "1"] as [number, string] }));
        if (url.pathname === "/api/v1/query_range" && Array.isArray(result)) {
            // A range query: every series with a value at the start and at the end.
            const [start, end] = [Number(url.searchParams.get("start")), Number(url.searchParams.get("end"))];
            answer(200, { status: "success", data: { resultType: "matrix", result: result.map(({ metric, value }) => ({ metric, values: [[start, value[1]], [end, value[1]]] })) } });
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

/** What Thanos does with dedup on: drop the replica labels, merge what is then identical. */
function deduplicate(series: Labels[], replicaLabels: string[]): Labels[] {
    const merged = new Map<string, Labels>();
    for (const labels of series) {
        const kept = Object.fromEntries(Object.entries(labels).filter(([name]) => !replicaLabels.includes(name)));
        merged.set(JSON.stringify(Object.entries(kept).sort()), kept);
    }
    return [...merged.values()];
}

function evaluate(query: string, series: Labels[]): { metric: Labels; value: [number, string] }[] | { scalar: [number, string] } | undefined {
    if (query === "1+1") {
        return { scalar: [Date.now() / 1000, "2"] };
    }
    const match = /^(?:count|sum) by \(([\w, ]*)\) \(up(?:\{([^}]*)\})?\)$/.exec(query);
    if (!match) {
        return undefined;
    }
    const by = match[1].split(",").map((label) => label.trim()).filter(Boolean);
    const matchers = (match[2] ?? "").split(",").filter(Boolean).map((matcher) => /^(\w+)="([^"]*)"$/.exec(matcher.trim()));
    if (matchers.some((matcher) => matcher === null)) {
        return undefined;
    }
    const groups = new Map<string, { metric: Labels; count: number }>();
    for (const labels of series) {
        if (!matchers.every((matcher) => labels[matcher![1]] === matcher![2])) {
            continue;
        }
        const metric = Object.fromEntries(by.filter((label) => label in labels).map((label) => [label, labels[label]]));
        const key = JSON.stringify(metric);
        const group = groups.get(key) ?? { metric, count: 0 };
        group.count++;
        groups.set(key, group);
    }
    const now = Date.now() / 1000;
    return [...groups.values()].map(({ metric, count }) => ({ metric, value: [now, String(count)] }));
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
                job: `kps-${region}-prometheus`, container: "prometheus", pod: replicaName(region, pod), cluster: region, replica: replicaName(region, index),
            })),
        ]).flat(),
    );
}
