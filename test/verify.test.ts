// `npm run verify`, against local stand-ins for the Query Frontend and Grafana
// that answer like Thanos and Grafana.
import * as assert from "assert";
import { dashboardInputs, panelQueries } from "../lib/grafana/dashboards";
import { readStackConfig } from "../lib/config/stackFile";
import { dashboardChecks } from "../lib/verification/checks";
import { verificationScript } from "../lib/verification/jobScript";
import { queryFrontend, runChecks } from "../lib/verification/prover";
import { grafanaPasswordMissing, main, parseArguments } from "../scripts/verify";
import { devStackSeries } from "./fakeThanos";
import { projectDirectory } from "./harness";
import { closedPort, devChecks, devGrafanaChecks, fleetChecks, grafanaPassword, healthyFleetStorage, mismatchedEuropeReplica, withThanos } from "./standIns";

async function verifyCli(args: string[], env: NodeJS.ProcessEnv = { GRAFANA_ADMIN_PASSWORD: grafanaPassword }): Promise<{ code: number; output: string }> {
    const lines: string[] = [];
    const code = await main(args, (text) => lines.push(text), env);
    return { code, output: lines.join("\n") };
}

/**
 * One round asked in full, then the verdict: the rounds are counted, not
 * timed, so a loaded machine reaches the same verdict (the default 60s
 * deadline is never near).
 */
const oneRound = ["--attempts", "1"];

describe("verification checks", () => {
    it("come from the stack config: per region, its replicas without and with deduplication; then the replica label", () => {
        assert.deepStrictEqual(
            devChecks.map((check) => [check.region, check.query, check.dedup, check.expect]),
            [
                ["europe", 'count by (instance) (up{job="apiserver",cluster="europe"})', false, { kind: "everyValue", value: 2 }],
                ["europe", 'count by (instance) (up{job="apiserver",cluster="europe"})', true, { kind: "everyValue", value: 1 }],
                ["united-states", 'count by (instance) (up{job="apiserver",cluster="united-states"})', false, { kind: "everyValue", value: 1 }],
                ["united-states", 'count by (instance) (up{job="apiserver",cluster="united-states"})', true, { kind: "everyValue", value: 1 }],
                [undefined, "count by (replica) (up)", true, { kind: "labelAbsent", label: "replica" }],
            ],
        );
    });
});

describe("asking the frontend near the deadline", () => {
    it("waits what is left, in whole milliseconds (AbortSignal.timeout refuses 2045.9999999999998)", async () => {
        const samples = await withThanos(devStackSeries(), (thanos) =>
            queryFrontend(thanos.url)(devChecks[0].query, false, { seconds: 2.0459999999999998, description: "before the deadline" }),
        );
        assert.deepStrictEqual([...new Set(samples.map((sample) => sample.value[1]))], ["2"]);
    });
});

describe("npm run verify", () => {
    it("a complete global view: a table of the regions, exit code 0", async () => {
        const { code, output } = await withThanos(devStackSeries(), (thanos) =>
            verifyCli(["--url", thanos.url, "--grafana-url", thanos.grafanaUrl, ...oneRound]),
        );
        assert.strictEqual(code, 0, output);
        assert.ok(
            output.includes(
                [
                    "REGION         EXPECTED REPLICAS  REPLICAS SEEN  DEDUPLICATED OK",
                    "europe         2                  2              yes",
                    "united-states  1                  1              yes",
                    "",
                    "ok: no series carries replica with deduplication on",
                ].join("\n"),
            ),
            output,
        );
        assert.match(output, /The global view is complete \(attempt 1\)\.$/);
    });

    it("the Thanos Ruler: passes with the global rule group loaded, fails when the rules API lacks it, naming what it lists", async () => {
        const loaded = await withThanos(devStackSeries(), (thanos) => verifyCli(["--url", thanos.url, "--grafana-url", thanos.grafanaUrl, ...oneRound]));
        assert.strictEqual(loaded.code, 0, loaded.output);
        assert.match(loaded.output, /^ok: the Thanos Ruler has loaded every global rule group: thanos-global-view$/m);
        const missing = await withThanos(devStackSeries(), (thanos) => verifyCli(["--url", thanos.url, "--grafana-url", thanos.grafanaUrl, ...oneRound]), {
            ruleGroups: ["kubernetes-apps"],
        });
        assert.strictEqual(missing.code, 1, missing.output);
        assert.match(
            missing.output,
            /^FAILED: expected the Thanos Ruler's rule groups thanos-global-view in the global view's rules API \(\/api\/v1\/rules\)$/m,
        );
        assert.match(
            missing.output,
            /^- expected the Thanos Ruler's rule groups thanos-global-view in the global view's rules API \(\/api\/v1\/rules\); saw: kubernetes-apps$/m,
        );
    });

    it("asks exactly the shared checks' queries", async () => {
        const asked = await withThanos(devStackSeries(), async (thanos) => {
            await verifyCli(["--url", `${thanos.url}/`, "--grafana-url", thanos.grafanaUrl, ...oneRound]);
            return thanos.asked;
        });
        // Then Grafana asks the frontend: its data source health check, and the global-view panel.
        assert.deepStrictEqual(asked, [
            ...devChecks.map((check) => `${check.query} dedup=${check.dedup}`),
            "rules ?type=alert",
            "1+1 dedup=true",
            'sum by (cluster) (up{namespace=~"europe|united-states", job=~"kps-europe-prometheus|kps-united-states-prometheus", container="prometheus"}) dedup=true',
        ]);
    });

    it("a missing region: names it, and what was seen", async () => {
        const series = devStackSeries({ europe: 2 });
        const { code, output } = await withThanos(series, (thanos) => verifyCli(["--url", thanos.url, "--grafana-url", thanos.grafanaUrl, ...oneRound]));
        assert.strictEqual(code, 1);
        assert.match(output, /^united-states {2}1 {18}0 {14}no$/m);
        assert.ok(
            output.includes(
                '- region united-states: expected each API-server target 1 time(s) without deduplication (once per replica, under cluster="united-states"); saw: nothing; replica values present: none',
            ),
            output,
        );
        assert.match(output, /at most 1 round\(s\) for up to 60s/);
        assert.match(output, /The global view is NOT complete after 1 attempt\(s\)\.$/);
    });

    it("a replica not deduplicated (its labels differ in more than the replica label)", async () => {
        const { code, output } = await withThanos(mismatchedEuropeReplica(devStackSeries()), (thanos) =>
            verifyCli(["--url", thanos.url, "--grafana-url", thanos.grafanaUrl, ...oneRound]),
        );
        assert.strictEqual(code, 1);
        assert.match(output, /^europe {9}2 {18}2 {14}no$/m);
        assert.ok(
            output.includes(
                "- region europe: expected each API-server target exactly once with deduplication (replicas must differ only in replica); saw: 2; replica values present: prometheus-kps-europe-prometheus-0 prometheus-kps-europe-prometheus-1",
            ),
            output,
        );
    });

    it("a querier that does not deduplicate on the replica label", async () => {
        const { code, output } = await withThanos(
            devStackSeries(),
            (thanos) => verifyCli(["--url", thanos.url, "--grafana-url", thanos.grafanaUrl, ...oneRound]),
            { replicaLabels: [] },
        );
        assert.strictEqual(code, 1);
        assert.ok(output.includes("FAILED: expected no series to carry replica with deduplication on (the querier must deduplicate on it)"), output);
        assert.ok(
            output.includes("saw: prometheus-kps-europe-prometheus-0 prometheus-kps-europe-prometheus-1 prometheus-kps-united-states-prometheus-0"),
            output,
        );
    });

    it("waits for a replica that appears later, then passes", async () => {
        const series = devStackSeries();
        const late = series.filter((labels) => labels.replica === "prometheus-kps-europe-prometheus-1");
        const early = series.filter((labels) => !late.includes(labels));
        // The replica turns up once the first round has been asked in full (its last check is the
        // whole-view one), whatever the machine's speed.
        const lastCheck = devChecks[devChecks.length - 1];
        const { code, output } = await withThanos(
            early,
            (thanos) => verifyCli(["--url", thanos.url, "--grafana-url", thanos.grafanaUrl, "--attempts", "2", "--interval", "0.1"]),
            {
                afterQuery: (asked) => {
                    if (asked.filter((query) => query === `${lastCheck.query} dedup=${lastCheck.dedup}`).length === 1 && !early.includes(late[0])) {
                        early.push(...late);
                    }
                },
            },
        );
        assert.strictEqual(code, 0, output);
        assert.match(output, /The global view is complete \(attempt 2\)\.$/);
    });

    it("an unreachable endpoint: says which, and fails", async () => {
        const url = await closedPort();
        const { code, output } = await verifyCli(["--url", url, "--grafana-url", url, ...oneRound]);
        assert.strictEqual(code, 1);
        assert.match(output, /^europe {9}2 {18}\? {14}no$/m);
        assert.ok(output.includes(`cannot query ${url}: ECONNREFUSED`), output);
    });

    it("a slow endpoint: gives up at the deadline instead of waiting for it", async () => {
        // The stand-in never answers within the test's own timeout: returning at all proves the deadline cut the wait.
        const { code, output } = await withThanos(
            devStackSeries(),
            (thanos) => verifyCli(["--url", thanos.url, "--grafana-url", thanos.grafanaUrl, "--timeout", "1"]),
            { delayMs: 600_000 },
        );
        assert.strictEqual(code, 1);
        assert.ok(output.includes(`- ${devChecks[0].fails}; cannot query `), output);
        assert.ok(output.includes(": no answer before the deadline"), output);
        assert.ok(!/no answer within/.test(output), output);
    });

    it("a slow endpoint with a deadline to spare: the request timeout cuts the wait, and says so", async () => {
        const failures: string[] = [];
        const outcomes = await withThanos(
            devStackSeries(),
            (thanos) => runChecks(devChecks.slice(0, 1), queryFrontend(thanos.url), Date.now() + 600_000, 0.2),
            { delayMs: 600_000 },
        );
        failures.push(...outcomes.map((outcome) => outcome.detail));
        assert.deepStrictEqual(
            failures.map((detail) => detail.replace(/127\.0\.0\.1:\d+/, "HOST")),
            [`${devChecks[0].fails}; cannot query http://HOST: no answer within 0.2s`],
        );
    });

    it("expectations of another stack come from that stack's file: fleet's regions, and its long-term storage", async () => {
        const { code, output } = await withThanos(
            devStackSeries(),
            (thanos) => verifyCli(["--url", thanos.url, "--grafana-url", thanos.grafanaUrl, "--stack", "fleet", ...oneRound]),
            { metrics: healthyFleetStorage() },
        );
        assert.strictEqual(code, 0, output);
        assert.match(output, /^europe {9}2 {18}2 {14}yes {14}yes$/m);
        assert.match(output, /^ok: each of the 2 querier\(s\) holds a healthy StoreAPI connection to all 2 Store Gateway replica\(s\)$/m);
        assert.match(output, /^ok: the compactor runs and has not halted$/m);
    });

    it("long-term storage that is not right: a sidecar without its bucket, a querier missing a gateway, a halted compactor, each named", async () => {
        const broken = healthyFleetStorage()
            // europe's second sidecar never opened a bucket: it has no objstore series.
            .filter((series) => !(series.labels.container === "thanos-sidecar" && series.labels.pod === "prometheus-kps-europe-prometheus-1"))
            .map((series) =>
                series.labels.__name__ === "thanos_compact_halted"
                    ? { ...series, value: 1 }
                    : series.labels.__name__ === "thanos_store_nodes_grpc_connections" && series.labels.pod.endsWith("-1")
                      ? { ...series, value: 1 }
                      : series,
            );
        const { code, output } = await withThanos(
            devStackSeries(),
            (thanos) => verifyCli(["--url", thanos.url, "--grafana-url", thanos.grafanaUrl, "--stack", "fleet", ...oneRound]),
            { metrics: broken },
        );
        assert.strictEqual(code, 1, output);
        assert.match(output, /^europe {9}2 {18}2 {14}yes {14}no$/m);
        const failed = output.split("\n").filter((line) => line.startsWith("- "));
        assert.deepStrictEqual(failed, [
            `- ${fleetChecks.find((check) => check.query.includes("grpc_connections"))!.fails}; saw: 2 1; store_type values present: store`,
            `- ${fleetChecks.find((check) => check.query.includes("compact_halted"))!.fails}; saw: 1`,
            `- ${fleetChecks.find((check) => check.region === "europe" && check.query.includes("objstore"))!.fails}; saw: 0`,
        ]);
    });

    it("Grafana too: healthy, its data source reaching the frontend, the global-view panel showing every region", async () => {
        const { code, output } = await withThanos(devStackSeries(), (thanos) =>
            verifyCli(["--url", thanos.url, "--grafana-url", thanos.grafanaUrl, ...oneRound]),
        );
        assert.strictEqual(code, 0, output);
        for (const check of devGrafanaChecks) {
            assert.ok(output.includes(`ok: ${check.passes}`), output);
        }
        assert.ok(output.includes("ok: Grafana's global-view panel shows every region: europe, united-states"), output);
    });

    it("Grafana's panel without a region: names the region list and what it showed", async () => {
        const { code, output } = await withThanos(devStackSeries({ europe: 2 }), (thanos) =>
            verifyCli(["--url", thanos.url, "--grafana-url", thanos.grafanaUrl, ...oneRound]),
        );
        assert.strictEqual(code, 1);
        assert.ok(output.includes(`- ${devGrafanaChecks[2].fails}; saw: europe`), output);
    });

    it("a wrong Grafana password: Grafana refuses, and the output says so without the password", async () => {
        const { code, output } = await withThanos(devStackSeries(), (thanos) =>
            verifyCli(["--url", thanos.url, "--grafana-url", thanos.grafanaUrl, ...oneRound], { GRAFANA_ADMIN_PASSWORD: "not-it" }),
        );
        assert.strictEqual(code, 1);
        assert.ok(output.includes(`- ${devGrafanaChecks[1].fails}; Grafana answered api/datasources/uid/thanos-global-view/health with HTTP 401`), output);
        assert.ok(output.includes(`ok: ${devGrafanaChecks[0].passes}`), "its health needs no password");
        assert.ok(!output.includes("not-it"));
    });

    it("no Grafana password: says where to get it before asking anything", async () => {
        const { code, output } = await withThanos(devStackSeries(), (thanos) => verifyCli(["--url", thanos.url, "--grafana-url", thanos.grafanaUrl], {}));
        assert.deepStrictEqual([code, output], [2, grafanaPasswordMissing]);
    });

    it("--dashboards: asks every panel of every dashboard through Grafana, as the dashboard would", async () => {
        const panels = panelQueries(dashboardInputs(readStackConfig(projectDirectory, "dev")));
        const { code, output } = await withThanos(
            devStackSeries(),
            (thanos) => verifyCli(["--url", thanos.url, "--grafana-url", thanos.grafanaUrl, "--dashboards", ...oneRound]),
            { dashboardData: () => [{ cluster: "europe", pod: "prometheus-kps-europe-prometheus-0" }] },
        );
        assert.strictEqual(code, 0, output);
        const shown = output.split("\n").filter((line) => line.endsWith(" shows data"));
        assert.deepStrictEqual(
            shown,
            panels.map(({ dashboard, panel }) => `ok: ${dashboard}: "${panel}" shows data`),
        );
        // The global view's 6, the query path's 10, Kubernetes' 6, the global alerts' 7.
        assert.strictEqual(shown.length, 29);
    });

    it("--dashboards: a panel that would show No data fails, named with its dashboard", async () => {
        const { code, output } = await withThanos(
            devStackSeries(),
            (thanos) => verifyCli(["--url", thanos.url, "--grafana-url", thanos.grafanaUrl, "--dashboards", ...oneRound]),
            { dashboardData: (query) => (query.includes("cortex_cache_hits_total") ? [] : [{ cluster: "europe" }]) },
        );
        assert.strictEqual(code, 1);
        assert.deepStrictEqual(
            output.split("\n").filter((line) => line.startsWith("- ")),
            ['- Query path: expected "Results cache hit ratio" to show data; saw: query A returned no data'],
        );
        // The Job's shell cannot read data frames: it proves the probe panel only, and says so if asked for more.
        assert.throws(
            () =>
                verificationScript(
                    [],
                    { deadlineSeconds: 1, intervalSeconds: 1, requestTimeoutSeconds: 1 },
                    dashboardChecks(panelQueries(dashboardInputs(readStackConfig(projectDirectory, "dev")))),
                ),
            /npm run verify -- --dashboards/,
        );
    });

    it("bad arguments: usage and exit code 2", async () => {
        assert.strictEqual((await verifyCli(["--bogus"])).code, 2);
        assert.throws(() => parseArguments(["--timeout", "soon"]), /--timeout takes a number of seconds above 0, got soon/);
        assert.deepStrictEqual(parseArguments(["--url=http://q:1", "--stack", "prod"]), {
            url: "http://q:1",
            grafanaUrl: "http://localhost:3000",
            dashboards: false,
            stack: "prod",
            timeoutSeconds: 60,
            intervalSeconds: 5,
            attempts: Infinity,
        });
        assert.throws(() => parseArguments(["--attempts", "0.5"]), /--attempts takes a whole number of rounds, 1 or more, got 0.5/);
        assert.strictEqual(parseArguments(["--dashboards", "--stack", "dev"]).dashboards, true);
    });
});
