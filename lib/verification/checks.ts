// What proves the global view, in one place for both provers: the Job that
// runs after every deploy (jobScript.ts, a busybox shell script) and `npm run
// verify` (prover.ts, in Node). Both run these queries against the Query
// Frontend and judge them by these expectations, which come from the stack config.
import { kubectlArgs } from "../kubernetes/clusterAccess";
import { DashboardRegion, PanelQueries, dashboardRegion, datasourceUid, globalViewProbeQuery } from "../grafana/dashboards";
import { StackConfig } from "../config/schema";
import { globalRuleGroups, ruleInputs } from "../alerting/rules";
import { longTermServices } from "../thanos/objectStorage";
import { thanosServices } from "../kubernetes/releases";

/**
 * The verification Job's fixed name: every run replaces the one before
 * (pulumi-kubernetes deletes a named object before re-creating it,
 * provider/pkg/provider/provider.go:1647-1658 at v4.32.0), so its logs are
 * always those of the last run, also when the first `pulumi up` failed and
 * left no stack outputs.
 */
export const verificationJobName = "global-view-check";

/** Reads the last verification run, from the stack config alone. */
export function verificationLogsCommandFor(config: StackConfig): string {
    const cluster = config.clusters.find((candidate) => candidate.name === config.globalQuery.cluster)!;
    return ["kubectl", ...kubectlArgs(cluster), "--namespace", config.globalQuery.namespace, "logs", `job/${verificationJobName}`].join(" ");
}

export interface RegionExpectation extends DashboardRegion {
    region: string;
    replicas: number;
}

export interface VerificationPlan {
    regionLabel: string;
    replicaLabel: string;
    regions: RegionExpectation[];
    /** Whether Grafana runs and is proven too. */
    grafana: boolean;
    queryReplicas: number;
    /** Set when the sidecars upload to a bucket, which a Store Gateway serves and a compactor compacts. */
    longTermStorage?: { namespace: string; storeGatewayReplicas: number };
    /** Set when the Thanos Ruler pair evaluates the global rules: the groups it must have loaded. */
    alerting?: { ruleGroups: string[] };
}

export function verificationPlan(config: StackConfig): VerificationPlan {
    return {
        regionLabel: config.labels.region,
        replicaLabel: config.labels.replica,
        regions: config.regions.map((region) => ({ region: region.name, replicas: region.replicas, ...dashboardRegion(region) })),
        grafana: config.grafana.enabled,
        queryReplicas: config.globalQuery.queryReplicas,
        longTermStorage:
            config.storage.type === "none"
                ? undefined
                : { namespace: config.globalQuery.namespace, storeGatewayReplicas: config.storage.storeGateway.replicas },
        alerting: config.alerting.enabled ? { ruleGroups: globalRuleGroups(ruleInputs(config)).map((group) => group.name) } : undefined,
    };
}

/**
 * Targets every replica of a region scrapes identically: the Kubernetes API
 * servers (kube-prometheus-stack's apiserver ServiceMonitor, on in every
 * region). Each is seen once per replica, and once after deduplication.
 */
export const verificationProbeJob = "apiserver";

export type Expectation =
    /** A non-empty result whose every sample has this value; exactly `samples` of them when that is set. */
    | { kind: "everyValue"; value: number; samples?: number }
    /** No sample carries this label. */
    | { kind: "labelAbsent"; label: string };

export interface Check {
    /** The region it is about; absent for checks of the whole view. */
    region?: string;
    query: string;
    dedup: boolean;
    expect: Expectation;
    /** What passing proves, and what failing means. */
    passes: string;
    fails: string;
    /** Asked after a failure: the values of `label` in its answer say what was there. */
    diagnosis?: { query: string; dedup: boolean; label: string };
}

export function verificationChecks(plan: VerificationPlan): Check[] {
    const { regionLabel, replicaLabel } = plan;
    const checks: Check[] = plan.regions.flatMap(({ region, replicas }) => {
        const perTarget = `count by (instance) (up{job="${verificationProbeJob}",${regionLabel}="${region}"})`;
        const diagnosis = { query: `count by (${replicaLabel}) (up{${regionLabel}="${region}"})`, dedup: false, label: replicaLabel };
        return [
            {
                region,
                query: perTarget,
                dedup: false,
                expect: { kind: "everyValue", value: replicas } as const,
                passes: `region ${region}: each API-server target seen ${replicas} time(s) without deduplication, once per replica`,
                fails: `region ${region}: expected each API-server target ${replicas} time(s) without deduplication (once per replica, under ${regionLabel}="${region}")`,
                diagnosis,
            },
            {
                region,
                query: perTarget,
                dedup: true,
                expect: { kind: "everyValue", value: 1 } as const,
                passes: `region ${region}: each API-server target seen exactly once with deduplication`,
                fails: `region ${region}: expected each API-server target exactly once with deduplication (replicas must differ only in ${replicaLabel})`,
                diagnosis,
            },
        ];
    });
    if (plan.longTermStorage !== undefined) {
        checks.push(...longTermStorageChecks(plan, plan.longTermStorage));
    }
    checks.push({
        query: `count by (${replicaLabel}) (up)`,
        dedup: true,
        expect: { kind: "labelAbsent", label: replicaLabel },
        passes: `no series carries ${replicaLabel} with deduplication on`,
        fails: `expected no series to carry ${replicaLabel} with deduplication on (the querier must deduplicate on it)`,
    });
    return checks;
}

/**
 * What a fresh deploy can prove of long-term storage (the sidecars upload
 * their first block about three hours after Prometheus starts, so no history yet),
 * from the metrics the regions scrape:
 * - every querier holds a healthy connection to every Store Gateway replica:
 *   `thanos_store_nodes_grpc_connections` counts the endpoints whose last
 *   health check passed, by component (pkg/query/endpointset.go:363-379 at
 *   v0.37.0, 440-458 at v0.42.4; a gateway is "store", pkg/component/component.go:89);
 *   a gateway answers only after its first sync of the bucket;
 * - no bucket operation failed in the last 3 minutes (gone pods drop out of the window as fast), per sidecar, gateway
 *   and compactor: objstore registers the failure counter of every operation
 *   at 0 when the bucket is opened (objstore.go:544-556 at d1dd89d41f97), so
 *   a sidecar without that series has no bucket at all. A sidecar makes its
 *   first call at its first block, hours away: that each region reaches the
 *   bucket with its sidecars' config is proven at deploy by the region's
 *   bucket check Job (components/region.ts), not here;
 * - the compactor runs and has not halted (`thanos_compact_halted`, cmd/thanos/compact.go:125).
 * Every check counts its samples: one per querier, per pod that uses the bucket.
 */
function longTermStorageChecks(plan: VerificationPlan, storage: { namespace: string; storeGatewayReplicas: number }): Check[] {
    const { namespace, storeGatewayReplicas } = storage;
    const failures = (selector: string) => `sum by (pod) (increase(thanos_objstore_bucket_operation_failures_total{${selector}}[3m]))`;
    const gateways = `${storeGatewayReplicas} Store Gateway replica(s)`;
    return [
        {
            query: `sum by (pod) (thanos_store_nodes_grpc_connections{namespace="${namespace}",job="${thanosServices.queryHttp}",store_type="store"})`,
            dedup: true,
            expect: { kind: "everyValue", value: storeGatewayReplicas, samples: plan.queryReplicas },
            passes: `each of the ${plan.queryReplicas} querier(s) holds a healthy StoreAPI connection to all ${gateways}`,
            fails: `expected each of the ${plan.queryReplicas} querier(s) to hold a healthy StoreAPI connection to all ${gateways}`,
            diagnosis: {
                query: `sum by (store_type) (thanos_store_nodes_grpc_connections{namespace="${namespace}",job="${thanosServices.queryHttp}"})`,
                dedup: true,
                label: "store_type",
            },
        },
        {
            query: failures(`namespace="${namespace}",job=~"${longTermServices.storeGateway}|${longTermServices.compactor}"`),
            dedup: true,
            expect: { kind: "everyValue", value: 0, samples: storeGatewayReplicas + 1 },
            passes: `the ${gateways} and the compactor reach the bucket: no failed operation in 3 minutes`,
            fails: `expected the ${gateways} and the compactor to reach the bucket with no failed operation in 3 minutes`,
        },
        {
            query: `max by (pod) (thanos_compact_halted{namespace="${namespace}",job="${longTermServices.compactor}"})`,
            dedup: true,
            expect: { kind: "everyValue", value: 0, samples: 1 },
            passes: "the compactor runs and has not halted",
            fails: "expected the one compactor to run and not be halted (thanos_compact_halted 0)",
        },
        ...plan.regions.map(({ region, replicas }) => ({
            region,
            query: failures(`${plan.regionLabel}="${region}",container="thanos-sidecar"`),
            dedup: true,
            expect: { kind: "everyValue", value: 0, samples: replicas } as const,
            passes: `region ${region}: all ${replicas} sidecar(s) have the bucket, no failed operation in 3 minutes`,
            fails: `region ${region}: expected all ${replicas} sidecar(s) to have the bucket (objstore metrics) and no failed operation in 3 minutes`,
        })),
    ];
}

/** What the frontend's rules API must list: it passes the request to the querier, which asks every endpoint with rules over gRPC, the Ruler pair among them. */
export interface RulesCheck {
    region?: undefined;
    /** Below the frontend's URL. */
    path: string;
    /** Every one of these rule groups is listed. */
    expect: { kind: "ruleGroups"; groups: string[] };
    passes: string;
    fails: string;
}

/**
 * The Ruler is up and has loaded every generated group: the global view's
 * rules API (`/api/v1/rules`, which the frontend forwards as it is,
 * pkg/queryfrontend/roundtrip.go:123-137 at v0.42.4) lists each group by name.
 * A Ruler that is down, or that refused its rules file, lists none.
 */
export function rulerChecks(plan: VerificationPlan): RulesCheck[] {
    if (plan.alerting === undefined) {
        return [];
    }
    const groups = plan.alerting.ruleGroups;
    return [
        {
            path: "api/v1/rules?type=alert",
            expect: { kind: "ruleGroups", groups },
            passes: `the Thanos Ruler has loaded every global rule group: ${groups.join(", ")}`,
            fails: `expected the Thanos Ruler's rule groups ${groups.join(", ")} in the global view's rules API (/api/v1/rules)`,
        },
    ];
}

/** The rule groups a rules API answer lists, or why it is no answer. */
export function judgeRules(expect: RulesCheck["expect"], text: string): Judgement {
    let answer: { status?: string; data?: { groups?: { name?: unknown }[] } };
    try {
        answer = JSON.parse(text);
    } catch {
        return { ok: false, seen: [text.slice(0, 120)] };
    }
    const seen = [...new Set((answer.data?.groups ?? []).map((group) => group.name).filter((name): name is string => typeof name === "string"))].sort();
    return { ok: answer.status === "success" && expect.groups.every((group) => seen.includes(group)), seen };
}

/**
 * What Grafana must show, asked through its HTTP API with the admin's basic
 * auth: it is up, its one data source answers (Grafana asks the frontend
 * itself), and a global-view panel's query returns every region.
 */
export type GrafanaExpectation =
    /** `/api/health`: `"database": "ok"`. */
    | { kind: "healthy" }
    /** `/api/datasources/uid/<uid>/health`: `"status": "OK"`. */
    | { kind: "datasourceOk" }
    /** `/api/ds/query`: among the frames' labels, `label` takes every one of `values`. */
    | { kind: "labelValues"; label: string; values: string[] }
    /** `/api/ds/query`: every query of a panel answered with at least one value. */
    | { kind: "everyQueryHasData"; refIds: string[] };

export interface GrafanaCheck {
    region?: undefined;
    path: string;
    /** JSON to POST; a GET without. */
    body?: string;
    expect: GrafanaExpectation;
    passes: string;
    fails: string;
}

export function grafanaChecks(plan: VerificationPlan): GrafanaCheck[] {
    if (!plan.grafana) {
        return [];
    }
    const regions = plan.regions.map(({ region }) => region);
    const probe = globalViewProbeQuery(plan);
    return [
        {
            path: "api/health",
            expect: { kind: "healthy" },
            passes: "Grafana is up and its database answers",
            fails: "expected Grafana's /api/health to report its database ok",
        },
        {
            path: `api/datasources/uid/${datasourceUid}/health`,
            expect: { kind: "datasourceOk" },
            passes: `Grafana's data source ${datasourceUid} reaches the Query Frontend`,
            fails: `expected Grafana's data source ${datasourceUid} to pass its health check (it queries the Query Frontend)`,
        },
        {
            path: "api/ds/query",
            body: JSON.stringify({
                from: "now-5m",
                to: "now",
                queries: [{ refId: "A", datasource: { type: "prometheus", uid: datasourceUid }, expr: probe, instant: true, range: false }],
            }),
            expect: { kind: "labelValues", label: plan.regionLabel, values: regions },
            passes: `Grafana's global-view panel shows every region: ${regions.join(", ")}`,
            fails: `expected Grafana's global-view panel (${probe}) to show every region (${regions.join(", ")})`,
        },
    ];
}

/**
 * Every panel of the provisioned dashboards, asked through Grafana as the
 * dashboard asks it (the last 15 minutes, every variable on "All"): a panel
 * that shows "No data" fails. For `npm run verify -- --dashboards`, once the
 * stack has run a few minutes (rates need two scrapes).
 */
export function dashboardChecks(panels: PanelQueries[]): GrafanaCheck[] {
    return panels.map(({ dashboard, panel, targets }) => ({
        path: "api/ds/query",
        body: JSON.stringify({
            from: "now-15m",
            to: "now",
            queries: targets.map(({ refId, expr, instant }) => ({
                refId,
                datasource: { type: "prometheus", uid: datasourceUid },
                expr,
                instant,
                range: !instant,
                intervalMs: 30_000,
                maxDataPoints: 100,
            })),
        }),
        expect: { kind: "everyQueryHasData", refIds: targets.map(({ refId }) => refId) },
        passes: `${dashboard}: "${panel}" shows data`,
        fails: `${dashboard}: expected "${panel}" to show data`,
    }));
}

/** What the checks read of Grafana's answers (/api/health, a datasource's health, /api/ds/query); any of it may be missing. */
interface GrafanaAnswer {
    database?: string;
    status?: string;
    message?: string;
    results?: Record<string, { frames?: GrafanaFrame[] } | undefined>;
}

interface GrafanaFrame {
    schema?: { fields?: { labels?: Record<string, unknown> }[] };
    data?: { values?: unknown[][] };
}

/** Judges a Grafana answer, given as the text it sent (JSON). */
export function judgeGrafana(expect: GrafanaExpectation, text: string): Judgement {
    let answer: GrafanaAnswer | undefined;
    try {
        answer = JSON.parse(text);
    } catch {
        return { ok: false, seen: [text.slice(0, 120)] };
    }
    switch (expect.kind) {
        case "healthy":
            return { ok: answer?.database === "ok", seen: [`database ${answer?.database}`] };
        case "datasourceOk":
            return { ok: answer?.status === "OK", seen: [`${answer?.status}: ${answer?.message}`] };
        case "labelValues": {
            const frames = Object.values(answer?.results ?? {}).flatMap((result) => result?.frames ?? []);
            const seen = [
                ...new Set(
                    frames.flatMap((frame) =>
                        (frame?.schema?.fields ?? [])
                            .map((field) => field?.labels?.[expect.label])
                            .filter((value: unknown): value is string => typeof value === "string"),
                    ),
                ),
            ].sort();
            return { ok: expect.values.every((value) => seen.includes(value)), seen };
        }
        case "everyQueryHasData": {
            const empty = expect.refIds.filter(
                (refId) => !(answer?.results?.[refId]?.frames ?? []).some((frame) => (frame?.data?.values?.[1]?.length ?? 0) > 0),
            );
            return { ok: empty.length === 0, seen: empty.map((refId) => `query ${refId} returned no data`) };
        }
    }
}

/** One sample of an instant-query vector, as the Prometheus HTTP API returns it. */
export interface Sample {
    metric: Record<string, string>;
    value: [number, string];
}

export interface Judgement {
    ok: boolean;
    /** The sample values, or the label values, that were seen. */
    seen: string[];
}

export function judge(expect: Expectation, samples: Sample[]): Judgement {
    if (expect.kind === "everyValue") {
        const seen = samples.map((sample) => sample.value[1]);
        const counted = expect.samples === undefined ? seen.length > 0 : seen.length === expect.samples;
        return { ok: counted && seen.every((value) => Number(value) === expect.value), seen };
    }
    const seen = labelValues(samples, expect.label);
    return { ok: samples.every((sample) => !(expect.label in sample.metric)), seen };
}

export function labelValues(samples: Sample[], label: string): string[] {
    return [...new Set(samples.flatMap((sample) => (label in sample.metric ? [sample.metric[label]] : [])))].sort();
}

/** How a failed check reads, with what was seen and, if asked, what the diagnosis found. */
export function describeFailure(check: Check, seen: string[], diagnosed?: string[]): string {
    const saw = seen.length > 0 ? seen.join(" ") : "nothing";
    const found =
        diagnosed === undefined || check.diagnosis === undefined
            ? ""
            : `; ${check.diagnosis.label} values present: ${diagnosed.length > 0 ? diagnosed.join(" ") : "none"}`;
    return `${check.fails}; saw: ${saw}${found}`;
}

export interface Timing {
    /** Give up after this long: sidecars and their DNS records appear over minutes on a cold cluster. */
    deadlineSeconds: number;
    /** Pause between rounds. */
    intervalSeconds: number;
    /** Longest wait for one answer. */
    requestTimeoutSeconds: number;
}

/** The Job's pace: a round every 10s, each answer awaited 10s at most. */
export function inClusterTiming(deadlineSeconds: number): Timing {
    return { deadlineSeconds, intervalSeconds: 10, requestTimeoutSeconds: 10 };
}

/** How much of a Grafana error answer a failure quotes: enough for its message, and the data source's error within. */
export const grafanaAnswerShown = 300;
