// What proves the global view, in one place for both provers: the Job that
// runs after every deploy (a busybox shell script) and `npm run verify` (this
// module, in Node). Both run the same queries against the Query Frontend and
// judge them by the same expectations, which come from the stack config.
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
        longTermStorage: config.storage.type === "none"
            ? undefined
            : { namespace: config.globalQuery.namespace, storeGatewayReplicas: config.storage.storeGateway.replicas },
        alerting: config.alerting.enabled
            ? { ruleGroups: globalRuleGroups(ruleInputs(config)).map((group) => group.name) }
            : undefined,
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
            diagnosis: { query: `sum by (store_type) (thanos_store_nodes_grpc_connections{namespace="${namespace}",job="${thanosServices.queryHttp}"})`, dedup: true, label: "store_type" },
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
    return [{
        path: "api/v1/rules?type=alert",
        expect: { kind: "ruleGroups", groups },
        passes: `the Thanos Ruler has loaded every global rule group: ${groups.join(", ")}`,
        fails: `expected the Thanos Ruler's rule groups ${groups.join(", ")} in the global view's rules API (/api/v1/rules)`,
    }];
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
type GrafanaExpectation =
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
                refId, datasource: { type: "prometheus", uid: datasourceUid }, expr, instant, range: !instant, intervalMs: 30_000, maxDataPoints: 100,
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
function judgeGrafana(expect: GrafanaExpectation, text: string): Judgement {
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
            const seen = [...new Set(frames.flatMap((frame) => (frame?.schema?.fields ?? [])
                .map((field) => field?.labels?.[expect.label])
                .filter((value: unknown): value is string => typeof value === "string")))].sort();
            return { ok: expect.values.every((value) => seen.includes(value)), seen };
        }
        case "everyQueryHasData": {
            const empty = expect.refIds.filter((refId) => !(answer?.results?.[refId]?.frames ?? [])
                .some((frame) => (frame?.data?.values?.[1]?.length ?? 0) > 0));
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
    const found = diagnosed === undefined || check.diagnosis === undefined
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
const grafanaAnswerShown = 300;

/**
 * The same checks as a POSIX shell script for busybox (the Thanos image):
 * wget asks, grep and sed read the JSON (compact, as Thanos writes it), and
 * every check is retried until all pass or the deadline passes. Queries are
 * URL-encoded here so the script never has to.
 */
export function verificationScript(checks: Check[], timing: Timing, grafana: GrafanaCheck[] = [], rules: RulesCheck[] = []): string {
    const quote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;
    const url = (query: string, dedup: boolean) => quote(`api/v1/query?query=${encodeURIComponent(query)}&dedup=${dedup}`);
    // One check in the round: ask, judge, and on failure say what was seen (after `whenFailed` has found it).
    const block = (ask: string, test: string, check: Check | GrafanaCheck | RulesCheck, whenFailed: string[], saw: string) => [
        `  if ${ask}; then`,
        `    if ${test}; then`,
        `      echo ${quote(`ok: ${check.passes}`)}`,
        "    else",
        ...whenFailed,
        `      failures="$failures\n- "${quote(check.fails)}"; saw: ${saw}"`,
        "    fi",
        "  else",
        `    failures="$failures\n- "${quote(check.fails)}"; $body"`,
        "  fi",
    ].join("\n");
    const blocks = checks.map((check) => {
        const test = check.expect.kind === "everyValue"
            ? `every_value ${check.expect.value}${check.expect.samples === undefined ? "" : ` ${check.expect.samples}`}`
            : `label_absent ${quote(check.expect.label)}`;
        const seen = check.expect.kind === "everyValue" ? "values" : `label_values ${quote(check.expect.label)}`;
        const diagnose = check.diagnosis === undefined ? [] : [
            `      if ask ${url(check.diagnosis.query, check.diagnosis.dedup)}; then present=$(label_values ${quote(check.diagnosis.label)}); diagnosed="; ${check.diagnosis.label} values present: \${present:-none}"; fi`,
        ];
        return block(`ask ${url(check.query, check.dedup)}`, test, check, [`      seen=$(${seen})`, '      diagnosed=""', ...diagnose], "${seen:-nothing}$diagnosed");
    });
    const rulesBlocks = rules.map((check) => block(`ask ${quote(check.path)}`, `has_groups ${check.expect.groups.map(quote).join(" ")}`, check, ["      seen=$(group_names)"], "${seen:-no group}"));
    const rulesFunctions = rules.length === 0 ? "" : `
# The rules API's groups: each group's name comes first, then its file (rulespb.RuleGroup's
# fields in order, pkg/rules/rulespb/rpc.pb.go:280-282 at v0.42.4); a rule's name is never followed by one.
group_names() { printf '%s' "$body" | grep -o '"name":"[^"]*","file"' | sed 's/^"name":"\\([^"]*\\)".*/\\1/' | sort -u | tr '\\n' ' ' | sed 's/ $//'; }
has_groups() {
  listed=" $(group_names) "
  for group in "$@"; do case "$listed" in *" $group "*) ;; *) return 1 ;; esac; done
}
`;
    const grafanaBlocks = grafana.map((check) => {
        const ask = check.body === undefined ? `ask_grafana ${quote(check.path)}` : `ask_grafana ${quote(check.path)} ${quote(check.body)}`;
        const [test, seen] = shellJudgement(check.expect, quote);
        return block(ask, test, check, [], seen);
    });
    const grafanaFunctions = grafana.length === 0 ? "" : `
# Grafana, with the admin's basic auth. busybox wget has --header and
# --post-data, and there is nc (docker-library/busybox builds it from defconfig,
# latest-1/glibc/Dockerfile.builder:87; the Thanos image's busybox is that one).
grafana="\${GRAFANA_URL%/}"
auth=$(printf '%s:%s' "$GRAFANA_USER" "$GRAFANA_PASSWORD" | base64 -w 0)
# ask_grafana PATH [JSON]: GET, or POST the JSON; Grafana's answer into $body; fails unless it
# answered 2xx, with what it said.
ask_grafana() {
  if [ $# -gt 1 ]; then
    body=$(timeout ${timing.requestTimeoutSeconds} wget -q -O - --header "Authorization: Basic $auth" --header 'Content-Type: application/json' --post-data "$2" "$grafana/$1" 2>&1)
  else
    body=$(timeout ${timing.requestTimeoutSeconds} wget -q -O - --header "Authorization: Basic $auth" "$grafana/$1" 2>&1)
  fi || {
    case "$body" in
      *'server returned error: '*) body="Grafana answered $1 with $(printf '%s' "\${body##*server returned error: }" | tr -d '\\n'): $(grafana_said "$@")" ;;
      *) body="no answer from $grafana/$1: $(printf '%s' "$body" | tr '\\n' ' ')" ;;
    esac
    return 1
  }
}
# grafana_said PATH [JSON]: the body of Grafana's answer, asked again over nc. busybox wget stops
# at a status other than 2xx or 3xx before it reads headers or body, so -S shows the status line
# alone (networking/wget.c:1305-1383 at 1_35_0, 1_36_1 and on master as of July 2024). nc
# half-closes when its input ends (nc_bloaty.c:677 at 1_36_1), and Grafana (Go's net/http)
# cancels a request whose client stopped sending: the input stays open a second, long enough
# for an error.
grafana_said() {
  address=\${grafana#*://}; address=\${address%%/*}
  host=\${address%:*}; port=\${address##*:}; [ "$port" = "$address" ] && port=80
  {
    if [ $# -gt 1 ]; then
      printf 'POST /%s HTTP/1.0\\r\\nHost: %s\\r\\nAuthorization: Basic %s\\r\\nContent-Type: application/json\\r\\nContent-Length: %s\\r\\n\\r\\n%s' "$1" "$address" "$auth" "$(printf '%s' "$2" | wc -c)" "$2"
    else
      printf 'GET /%s HTTP/1.0\\r\\nHost: %s\\r\\nAuthorization: Basic %s\\r\\n\\r\\n' "$1" "$address" "$auth"
    fi
    sleep 1
  } | timeout ${timing.requestTimeoutSeconds} nc "$host" "$port" 2>/dev/null | tr -d '\\r' | sed '1,/^$/d' | tr '\\n' ' ' | cut -c 1-${grafanaAnswerShown}
}
# Grafana writes JSON compact or indented: a space may follow the colon.
json_has() { printf '%s' "$body" | grep -q "\\"$1\\": *\\"$2\\""; }
json_values() { printf '%s' "$body" | grep -o "\\"$1\\": *\\"[^\\"]*\\"" | sed 's/.*"\\([^"]*\\)"$/\\1/' | sort -u | tr '\\n' ' ' | sed 's/ $//'; }
has_every() {
  label=$1; shift
  for value in "$@"; do json_has "$label" "$value" || return 1; done
}
`;
    return `set -u
base="\${FRONTEND_URL%/}"
deadline=$(( $(date +%s) + ${timing.deadlineSeconds} ))
${grafanaFunctions}
# ask URL: GET base/URL into $body; fails unless Thanos answered with success.
ask() {
  body=$(timeout ${timing.requestTimeoutSeconds} wget -q -O - "$base/$1" 2>&1) || { body="no answer from $base: $(printf '%s' "$body" | tr '\\n' ' ')"; return 1; }
  case "$body" in *'"status":"success"'*) return 0 ;; *) return 1 ;; esac
}
# The sample values of the answer, and the distinct values of one label: space-separated.
values() { printf '%s' "$body" | grep -o '"value":\\[[^]]*\\]' | sed 's/.*,"\\([^"]*\\)"\\]$/\\1/' | tr '\\n' ' ' | sed 's/ $//'; }
label_values() { printf '%s' "$body" | grep -o "\\"$1\\":\\"[^\\"]*\\"" | sed 's/.*:"\\(.*\\)"$/\\1/' | sort -u | tr '\\n' ' ' | sed 's/ $//'; }
# every_value VALUE [COUNT]: a non-empty answer (of exactly COUNT samples, if given), every sample VALUE.
every_value() {
  found=$(values)
  [ -n "$found" ] || return 1
  if [ $# -gt 1 ]; then [ "$(echo $found | wc -w)" -eq "$2" ] || return 1; fi
  for value in $found; do [ "$value" = "$1" ] || return 1; done
}
label_absent() { ! printf '%s' "$body" | grep -q "\\"$1\\":"; }
${rulesFunctions}
round() {
  failures=""
${[...blocks, ...rulesBlocks, ...grafanaBlocks].join("\n")}
  [ -z "$failures" ]
}

attempt=1
while :; do
  echo "attempt $attempt against $base"
  if round; then
    echo "the global view is complete: every region present, every HA pair deduplicated"
    exit 0
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    printf 'FAILED after %s attempts:%b\\n' "$attempt" "$failures" >&2
    exit 1
  fi
  printf 'not yet:%b\\n' "$failures"
  attempt=$((attempt + 1))
  sleep ${timing.intervalSeconds}
done
`;
}

/** The shell's test of a Grafana answer, and what it reports seeing. */
function shellJudgement(expect: GrafanaExpectation, quote: (text: string) => string): [string, string] {
    switch (expect.kind) {
        case "healthy":
            return ["json_has database ok", "database $(json_values database)"];
        case "datasourceOk":
            return ["json_has status OK", "$(json_values status) $(json_values message)"];
        case "labelValues":
            return [`has_every ${quote(expect.label)} ${expect.values.map(quote).join(" ")}`, `$(json_values ${quote(expect.label)})`];
        case "everyQueryHasData":
            // Data frames need a JSON reader; the Job proves the probe panel, `npm run verify -- --dashboards` every panel.
            throw new Error("every panel's data is checked by npm run verify -- --dashboards, not by the Job");
    }
}

/** How long one answer may take, and how a timeout reads: the request timeout or the overall deadline, whichever is nearer. */
export interface AnswerLimit {
    seconds: number;
    /** "within 10s" or "before the deadline": says which limit cut the wait, independent of how much of it was left. */
    description: string;
}

/** A request's time limit: AbortSignal.timeout takes whole milliseconds, and what is left before the deadline seldom is one. */
function abortAfter(limit: AnswerLimit): AbortSignal {
    return AbortSignal.timeout(Math.ceil(limit.seconds * 1000));
}

/** fetch hides why behind "fetch failed": the cause says ECONNREFUSED, ENOTFOUND, bad port... */
function whyNoAnswer(error: unknown, limit: AnswerLimit): string {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return (error as Error).name === "TimeoutError" ? `no answer ${limit.description}` : cause?.code ?? cause?.message ?? (error as Error).message;
}

/** Asks the Query Frontend one instant query, waiting at most `limit.seconds`; rejects when there is no good answer. */
export type Ask = (query: string, dedup: boolean, limit: AnswerLimit) => Promise<Sample[]>;

export function queryFrontend(baseUrl: string): Ask {
    const base = baseUrl.replace(/\/+$/, "");
    return async (query, dedup, limit) => {
        const url = `${base}/api/v1/query?query=${encodeURIComponent(query)}&dedup=${dedup}`;
        let response: Response;
        try {
            response = await fetch(url, { signal: abortAfter(limit) });
        } catch (error) {
            throw new Error(`cannot query ${base}: ${whyNoAnswer(error, limit)}`, { cause: error });
        }
        const text = await response.text();
        let answer: { status?: string; error?: string; data?: { resultType?: string; result?: Sample[] } };
        try {
            answer = JSON.parse(text);
        } catch {
            throw new Error(`${base} answered HTTP ${response.status} with something other than the Prometheus API: ${text.slice(0, 120)}`);
        }
        if (answer.status !== "success") {
            throw new Error(`${base} answered HTTP ${response.status}: ${answer.error ?? text.slice(0, 120)}`);
        }
        if (answer.data?.resultType !== "vector" || !Array.isArray(answer.data.result)) {
            throw new Error(`${base} answered a ${answer.data?.resultType} where an instant vector was expected`);
        }
        return answer.data.result;
    };
}

export interface Outcome {
    check: Check | RulesCheck | GrafanaCheck;
    ok: boolean;
    seen: string[];
    /** Why the check could not even be asked. */
    error?: string;
    detail: string;
}

const notAsked = "not asked: the deadline had passed";

/** How long the next answer may take: the request timeout or what is left before the deadline; undefined once it has passed. */
function answerLimit(deadline: number, requestTimeoutSeconds: number): AnswerLimit | undefined {
    const remainingSeconds = (deadline - Date.now()) / 1000;
    if (remainingSeconds <= 0) {
        return undefined;
    }
    return remainingSeconds < requestTimeoutSeconds
        ? { seconds: remainingSeconds, description: "before the deadline" }
        : { seconds: requestTimeoutSeconds, description: `within ${requestTimeoutSeconds}s` };
}

/**
 * One round of checks, in turn: a check whose turn comes after the deadline
 * is not asked, and one that cannot be asked fails with why.
 */
async function runRound<C extends Check | RulesCheck | GrafanaCheck>(
    checks: C[],
    deadline: number,
    requestTimeoutSeconds: number,
    askAndJudge: (check: C, limit: AnswerLimit) => Promise<{ ok: boolean; seen: string[]; detail: string }>,
): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
    for (const check of checks) {
        const limit = answerLimit(deadline, requestTimeoutSeconds);
        if (limit === undefined) {
            outcomes.push({ check, ok: false, seen: [], error: notAsked, detail: `${check.fails}; ${notAsked}` });
            continue;
        }
        try {
            outcomes.push({ check, ...await askAndJudge(check, limit) });
        } catch (error) {
            const message = (error as Error).message;
            outcomes.push({ check, ok: false, seen: [], error: message, detail: `${check.fails}; ${message}` });
        }
    }
    return outcomes;
}

/** One round of the frontend's checks; a failed one is diagnosed with a second query. */
export function runChecks(checks: Check[], ask: Ask, deadline: number, requestTimeoutSeconds: number): Promise<Outcome[]> {
    return runRound(checks, deadline, requestTimeoutSeconds, async (check, limit) => {
        const { ok, seen } = judge(check.expect, await ask(check.query, check.dedup, limit));
        let diagnosed: string[] | undefined;
        if (!ok && check.diagnosis) {
            diagnosed = await ask(check.diagnosis.query, check.diagnosis.dedup, limit)
                .then((samples) => labelValues(samples, check.diagnosis!.label), () => undefined);
        }
        return { ok, seen, detail: ok ? check.passes : describeFailure(check, seen, diagnosed) };
    });
}

/** Asks Grafana what one check needs, waiting at most `limit.seconds`; resolves with its answer's text, rejects unless it answered 2xx. */
export type GrafanaAsk = (check: GrafanaCheck, limit: AnswerLimit) => Promise<string>;

export function grafanaApi(baseUrl: string, user: string, password: string): GrafanaAsk {
    const base = baseUrl.replace(/\/+$/, "");
    const authorization = `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
    return async (check, limit) => {
        let response: Response;
        try {
            response = await fetch(`${base}/${check.path}`, {
                method: check.body === undefined ? "GET" : "POST",
                headers: { authorization, ...(check.body === undefined ? {} : { "content-type": "application/json" }) },
                body: check.body,
                signal: abortAfter(limit),
            });
        } catch (error) {
            throw new Error(`cannot reach Grafana at ${base}: ${whyNoAnswer(error, limit)}`, { cause: error });
        }
        const text = await response.text();
        if (!response.ok) {
            throw new Error(`Grafana answered ${check.path} with HTTP ${response.status}: ${text.slice(0, grafanaAnswerShown)}`);
        }
        return text;
    };
}

/** Asks the frontend for a rules check's path, waiting at most `limit.seconds`; resolves with its answer's text, rejects unless it answered 2xx. */
export type RulesAsk = (check: RulesCheck, limit: AnswerLimit) => Promise<string>;

export function frontendRules(baseUrl: string): RulesAsk {
    const base = baseUrl.replace(/\/+$/, "");
    return async (check, limit) => {
        let response: Response;
        try {
            response = await fetch(`${base}/${check.path}`, { signal: abortAfter(limit) });
        } catch (error) {
            throw new Error(`cannot ask ${base}/${check.path}: ${whyNoAnswer(error, limit)}`, { cause: error });
        }
        const text = await response.text();
        if (!response.ok) {
            throw new Error(`${base} answered ${check.path} with HTTP ${response.status}: ${text.slice(0, 120)}`);
        }
        return text;
    };
}

/** One round of the rules API's checks. */
function runRulesChecks(checks: RulesCheck[], ask: RulesAsk, deadline: number, requestTimeoutSeconds: number): Promise<Outcome[]> {
    return runRound(checks, deadline, requestTimeoutSeconds, async (check, limit) => {
        const { ok, seen } = judgeRules(check.expect, await ask(check, limit));
        return { ok, seen, detail: ok ? check.passes : `${check.fails}; saw: ${seen.join(" ") || "no group"}` };
    });
}

/** One round of the Grafana checks. */
function runGrafanaChecks(checks: GrafanaCheck[], ask: GrafanaAsk, deadline: number, requestTimeoutSeconds: number): Promise<Outcome[]> {
    return runRound(checks, deadline, requestTimeoutSeconds, async (check, limit) => {
        const { ok, seen } = judgeGrafana(check.expect, await ask(check, limit));
        return { ok, seen, detail: ok ? check.passes : `${check.fails}; saw: ${seen.join(" ") || "nothing"}` };
    });
}

/** What one verification asks: the frontend's checks, the rules API's when the Ruler runs, and Grafana's when it runs. */
interface Provers {
    checks: Check[];
    ask: Ask;
    rules?: { checks: RulesCheck[]; ask: RulesAsk };
    grafana?: { checks: GrafanaCheck[]; ask: GrafanaAsk };
}

/** Runs every check in rounds until all pass or the deadline passes; returns the last round. */
export async function verifyUntilDeadline(
    { checks, ask, rules, grafana }: Provers,
    timing: Timing,
    onRound: (attempt: number, outcomes: Outcome[]) => void = () => undefined,
): Promise<{ attempts: number; outcomes: Outcome[] }> {
    const deadline = Date.now() + timing.deadlineSeconds * 1000;
    let previous: Outcome[] | undefined;
    for (let attempts = 1; ; attempts++) {
        const round = [
            ...await runChecks(checks, ask, deadline, timing.requestTimeoutSeconds),
            ...(rules === undefined ? [] : await runRulesChecks(rules.checks, rules.ask, deadline, timing.requestTimeoutSeconds)),
            ...(grafana === undefined ? [] : await runGrafanaChecks(grafana.checks, grafana.ask, deadline, timing.requestTimeoutSeconds)),
        ];
        // What the deadline cut off this round, the round before still knows.
        const outcomes = round.map((outcome, i) => (outcome.error === notAsked && previous ? previous[i] : outcome));
        onRound(attempts, outcomes);
        if (outcomes.every((outcome) => outcome.ok) || Date.now() >= deadline) {
            return { attempts, outcomes };
        }
        previous = outcomes;
        await new Promise((resolve) => setTimeout(resolve, Math.min(timing.intervalSeconds * 1000, deadline - Date.now())));
    }
}
