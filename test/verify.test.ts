// `npm run verify` and the verification Job's script, against a local
// stand-in for the Query Frontend that answers like Thanos.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { readStackConfig } from "../lib/stackConfig";
import { datasourceUid } from "../lib/dashboards";
import { grafanaAdmin } from "../lib/releases";
import { describeFailure, grafanaChecks, queryFrontend, runChecks, verificationChecks, verificationPlan, verificationScript } from "../lib/verification";
import { grafanaPasswordMissing, main, parseArguments } from "../scripts/verify";
import { startFakeGrafana } from "./fakeGrafana";
import { FakeThanos, Labels, devStackSeries, startFakeThanos } from "./fakeThanos";
import { projectDirectory } from "./harness";

const devPlan = verificationPlan(readStackConfig(projectDirectory, "dev"));
const devChecks = verificationChecks(devPlan);
const devGrafanaChecks = grafanaChecks(devPlan);
const grafanaPassword = "s3cr3t-admin-password";

/** The frontend stand-in, and Grafana's in front of it, its data source pointing at the frontend. */
interface StandIns extends FakeThanos {
    grafanaUrl: string;
}

/** A replica whose external labels differ in more than the replica label: Thanos cannot merge it with its twin. */
function mismatchedEuropeReplica(series: Labels[]): Labels[] {
    return series.map((labels) => (labels.replica === "prometheus-kps-europe-prometheus-1" ? { ...labels, environment: "staging" } : labels));
}

async function withThanos<T>(
    series: Labels[],
    use: (thanos: StandIns) => Promise<T>,
    options: { replicaLabels?: string[]; delayMs?: number; afterQuery?: (asked: readonly string[]) => void } = {},
): Promise<T> {
    const thanos = await startFakeThanos({ series, replicaLabels: options.replicaLabels ?? ["replica"], ...options });
    const grafana = await startFakeGrafana({ datasourceUrl: thanos.url, datasourceUid, user: grafanaAdmin.user, password: grafanaPassword });
    try {
        return await use({ ...thanos, grafanaUrl: grafana.url });
    } finally {
        await grafana.close();
        await thanos.close();
    }
}

async function verifyCli(args: string[], env: NodeJS.ProcessEnv = { GRAFANA_ADMIN_PASSWORD: grafanaPassword }): Promise<{ code: number; output: string }> {
    const lines: string[] = [];
    const code = await main(args, (text) => lines.push(text), env);
    return { code, output: lines.join("\n") };
}

/** A port nothing listens on. */
async function closedPort(): Promise<string> {
    const thanos = await startFakeThanos({ series: [], replicaLabels: [] });
    await thanos.close();
    return thanos.url;
}

describe("verification checks", () => {
    it("come from the stack config: per region, its replicas without and with deduplication; then the replica label", () => {
        assert.deepStrictEqual(devChecks.map((check) => [check.region, check.query, check.dedup, check.expect]), [
            ["europe", 'count by (instance) (up{job="apiserver",cluster="europe"})', false, { kind: "everyValue", value: 2 }],
            ["europe", 'count by (instance) (up{job="apiserver",cluster="europe"})', true, { kind: "everyValue", value: 1 }],
            ["united-states", 'count by (instance) (up{job="apiserver",cluster="united-states"})', false, { kind: "everyValue", value: 1 }],
            ["united-states", 'count by (instance) (up{job="apiserver",cluster="united-states"})', true, { kind: "everyValue", value: 1 }],
            [undefined, "count by (replica) (up)", true, { kind: "labelAbsent", label: "replica" }],
        ]);
    });
});

describe("npm run verify", () => {
    it("a complete global view: a table of the regions, exit code 0", async () => {
        const { code, output } = await withThanos(devStackSeries(), (thanos) => verifyCli(["--url", thanos.url, "--grafana-url", thanos.grafanaUrl, "--timeout", "2", "--interval", "0.1"]));
        assert.strictEqual(code, 0, output);
        assert.ok(output.includes([
            "REGION         EXPECTED REPLICAS  REPLICAS SEEN  DEDUPLICATED OK",
            "europe         2                  2              yes",
            "united-states  1                  1              yes",
            "",
            "ok: no series carries replica with deduplication on",
        ].join("\n")), output);
        assert.match(output, /The global view is complete \(attempt 1\)\.$/);
    });

    it("asks exactly the shared checks' queries", async () => {
        const asked = await withThanos(devStackSeries(), async (thanos) => {
            await verifyCli(["--url", `${thanos.url}/`, "--grafana-url", thanos.grafanaUrl, "--timeout", "2"]);
            return thanos.asked;
        });
        // Then Grafana asks the frontend: its data source health check, and the global-view panel.
        assert.deepStrictEqual(asked, [
            ...devChecks.map((check) => `${check.query} dedup=${check.dedup}`),
            "1+1 dedup=true",
            'sum by (cluster) (up{container="prometheus"}) dedup=true',
        ]);
    });

    it("a missing region: names it, and what was seen", async () => {
        const series = devStackSeries({ europe: 2 });
        const { code, output } = await withThanos(series, (thanos) => verifyCli(["--url", thanos.url, "--grafana-url", thanos.grafanaUrl, "--timeout", "0.3", "--interval", "0.1"]));
        assert.strictEqual(code, 1);
        assert.match(output, /^united-states {2}1 {18}0 {14}no$/m);
        assert.ok(output.includes('- region united-states: expected each API-server target 1 time(s) without deduplication (once per replica, under cluster="united-states"); saw: nothing; replica values present: none'), output);
        assert.match(output, /The global view is NOT complete after \d+ attempt\(s\)\.$/);
    });

    it("a replica not deduplicated (its labels differ in more than the replica label)", async () => {
        const { code, output } = await withThanos(mismatchedEuropeReplica(devStackSeries()), (thanos) => verifyCli(["--url", thanos.url, "--grafana-url", thanos.grafanaUrl, "--timeout", "0.2"]));
        assert.strictEqual(code, 1);
        assert.match(output, /^europe {9}2 {18}2 {14}no$/m);
        assert.ok(output.includes("- region europe: expected each API-server target exactly once with deduplication (replicas must differ only in replica); saw: 2; replica values present: prometheus-kps-europe-prometheus-0 prometheus-kps-europe-prometheus-1"), output);
    });

    it("a querier that does not deduplicate on the replica label", async () => {
        const { code, output } = await withThanos(devStackSeries(), (thanos) => verifyCli(["--url", thanos.url, "--grafana-url", thanos.grafanaUrl, "--timeout", "0.2"]), { replicaLabels: [] });
        assert.strictEqual(code, 1);
        assert.ok(output.includes("FAILED: expected no series to carry replica with deduplication on (the querier must deduplicate on it)"), output);
        assert.ok(output.includes("saw: prometheus-kps-europe-prometheus-0 prometheus-kps-europe-prometheus-1 prometheus-kps-united-states-prometheus-0"), output);
    });

    it("waits for a replica that appears later, then passes", async () => {
        const series = devStackSeries();
        const late = series.filter((labels) => labels.replica === "prometheus-kps-europe-prometheus-1");
        const early = series.filter((labels) => !late.includes(labels));
        // The replica turns up once the first round has been asked in full (its last check is the
        // whole-view one), whatever the machine's speed.
        const lastCheck = devChecks[devChecks.length - 1];
        const { code, output } = await withThanos(early, (thanos) => verifyCli(["--url", thanos.url, "--grafana-url", thanos.grafanaUrl, "--timeout", "15", "--interval", "0.1"]), {
            afterQuery: (asked) => {
                if (asked.filter((query) => query === `${lastCheck.query} dedup=${lastCheck.dedup}`).length === 1 && !early.includes(late[0])) {
                    early.push(...late);
                }
            },
        });
        assert.strictEqual(code, 0, output);
        assert.match(output, /The global view is complete \(attempt 2\)\.$/);
    });

    it("an unreachable endpoint: says which, and fails", async () => {
        const url = await closedPort();
        const { code, output } = await verifyCli(["--url", url, "--grafana-url", url, "--timeout", "0.2", "--interval", "0.1"]);
        assert.strictEqual(code, 1);
        assert.match(output, /^europe {9}2 {18}\? {14}no$/m);
        assert.ok(output.includes(`cannot query ${url}: ECONNREFUSED`), output);
    });

    it("a slow endpoint: gives up at the deadline instead of waiting for it", async () => {
        // The stand-in never answers within the test's own timeout: returning at all proves the deadline cut the wait.
        const { code, output } = await withThanos(devStackSeries(), (thanos) => verifyCli(["--url", thanos.url, "--grafana-url", thanos.grafanaUrl, "--timeout", "1"]), { delayMs: 600_000 });
        assert.strictEqual(code, 1);
        assert.ok(output.includes(`- ${devChecks[0].fails}; cannot query `), output);
        assert.ok(output.includes(": no answer before the deadline"), output);
        assert.ok(!/no answer within/.test(output), output);
    });

    it("a slow endpoint with a deadline to spare: the request timeout cuts the wait, and says so", async () => {
        const failures: string[] = [];
        const outcomes = await withThanos(devStackSeries(), (thanos) => runChecks(devChecks.slice(0, 1), queryFrontend(thanos.url), Date.now() + 600_000, 0.2), { delayMs: 600_000 });
        failures.push(...outcomes.map((outcome) => outcome.detail));
        assert.deepStrictEqual(failures.map((detail) => detail.replace(/127\.0\.0\.1:\d+/, "HOST")), [
            `${devChecks[0].fails}; cannot query http://HOST: no answer within 0.2s`,
        ]);
    });

    it("expectations of another stack come from that stack's file", async () => {
        const { code, output } = await withThanos(devStackSeries({ "eu-west": 2, "us-east": 2 }), (thanos) => verifyCli(["--url", thanos.url, "--grafana-url", thanos.grafanaUrl, "--stack", "prod", "--timeout", "1"]));
        assert.strictEqual(code, 0, output);
        assert.match(output, /^eu-west {2}2 {18}2 {14}yes$/m);
    });

    it("Grafana too: healthy, its data source reaching the frontend, the global-view panel showing every region", async () => {
        const { code, output } = await withThanos(devStackSeries(), (thanos) => verifyCli(["--url", thanos.url, "--grafana-url", thanos.grafanaUrl, "--timeout", "2"]));
        assert.strictEqual(code, 0, output);
        for (const check of devGrafanaChecks) {
            assert.ok(output.includes(`ok: ${check.passes}`), output);
        }
        assert.ok(output.includes("ok: Grafana's global-view panel shows every region: europe, united-states"), output);
    });

    it("Grafana's panel without a region: names the region list and what it showed", async () => {
        const { code, output } = await withThanos(devStackSeries({ europe: 2 }), (thanos) => verifyCli(["--url", thanos.url, "--grafana-url", thanos.grafanaUrl, "--timeout", "0.2"]));
        assert.strictEqual(code, 1);
        assert.ok(output.includes(`- ${devGrafanaChecks[2].fails}; saw: europe`), output);
    });

    it("a wrong Grafana password: Grafana refuses, and the output says so without the password", async () => {
        const { code, output } = await withThanos(devStackSeries(), (thanos) => verifyCli(
            ["--url", thanos.url, "--grafana-url", thanos.grafanaUrl, "--timeout", "0.2"], { GRAFANA_ADMIN_PASSWORD: "not-it" }));
        assert.strictEqual(code, 1);
        assert.ok(output.includes(`- ${devGrafanaChecks[1].fails}; Grafana answered api/datasources/uid/thanos-global-view/health with HTTP 401`), output);
        assert.ok(output.includes(`ok: ${devGrafanaChecks[0].passes}`), "its health needs no password");
        assert.ok(!output.includes("not-it"));
    });

    it("no Grafana password: says where to get it before asking anything", async () => {
        const { code, output } = await withThanos(devStackSeries(), (thanos) => verifyCli(["--url", thanos.url, "--grafana-url", thanos.grafanaUrl], {}));
        assert.deepStrictEqual([code, output], [2, grafanaPasswordMissing]);
    });

    it("bad arguments: usage and exit code 2", async () => {
        assert.strictEqual((await verifyCli(["--bogus"])).code, 2);
        assert.throws(() => parseArguments(["--timeout", "soon"]), /--timeout takes a number of seconds above 0, got soon/);
        assert.deepStrictEqual(parseArguments(["--url=http://q:1", "--stack", "prod"]), { url: "http://q:1", grafanaUrl: "http://localhost:3000", stack: "prod", timeoutSeconds: 60, intervalSeconds: 5 });
    });
});

/** Runs the Job's script as the Thanos image would: busybox applets only on PATH. */
describe("the verification Job's script, under busybox", function () {
    let applets: string;
    before(function () {
        if (spawnSync("busybox", ["true"]).status !== 0) {
            if (process.env.CI) {
                throw new Error("busybox is missing: .ci/run installs it");
            }
            this.skip();
        }
        applets = fs.mkdtempSync(path.join(os.tmpdir(), "busybox-"));
        spawnSync("busybox", ["--install", "-s", applets]);
    });

    function runScript(url: string, timing = { deadlineSeconds: 1, intervalSeconds: 1, requestTimeoutSeconds: 2 }, checks = devChecks, grafana?: { url: string; password: string }) {
        const script = verificationScript(checks, timing, grafana === undefined ? [] : devGrafanaChecks);
        // The Job's environment: the admin's credentials come from their Secret.
        const grafanaEnv = grafana === undefined ? {} : { GRAFANA_URL: grafana.url, GRAFANA_USER: grafanaAdmin.user, GRAFANA_PASSWORD: grafana.password };
        return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
            const child = require("child_process").spawn(path.join(applets, "sh"), ["-c", script], { env: { PATH: applets, FRONTEND_URL: url, ...grafanaEnv } });
            let stdout = "";
            let stderr = "";
            child.stdout.on("data", (data: Buffer) => (stdout += data));
            child.stderr.on("data", (data: Buffer) => (stderr += data));
            child.on("close", (code: number | null) => resolve({ code, stdout, stderr }));
        });
    }

    it("passes on a complete global view", async () => {
        const result = await withThanos(devStackSeries(), (thanos) => runScript(thanos.url));
        assert.strictEqual(result.code, 0, result.stderr);
        assert.deepStrictEqual(result.stdout.split("\n").filter((line) => line.startsWith("ok: ")), devChecks.map((check) => `ok: ${check.passes}`));
        assert.match(result.stdout, /the global view is complete/);
    });

    it("asks Grafana too, with the admin's basic auth, and passes on a complete view", async () => {
        const result = await withThanos(devStackSeries(), (thanos) => runScript(thanos.url, undefined, devChecks, { url: thanos.grafanaUrl, password: grafanaPassword }));
        assert.strictEqual(result.code, 0, result.stderr);
        assert.deepStrictEqual(result.stdout.split("\n").filter((line) => line.startsWith("ok: ")),
            [...devChecks, ...devGrafanaChecks].map((check) => `ok: ${check.passes}`));
    });

    it("fails on Grafana refusing the password and on a panel missing a region, in the same words as npm run verify", async () => {
        const refused = await withThanos(devStackSeries(), (thanos) => runScript(thanos.url, undefined, [], { url: thanos.grafanaUrl, password: "not-it" }));
        assert.strictEqual(refused.code, 1);
        const refusedLines = refused.stderr.split("\n").filter((line) => line.startsWith("- "));
        assert.deepStrictEqual(refusedLines.map((line) => line.replace(/; no answer from .*$/, "")), [`- ${devGrafanaChecks[1].fails}`, `- ${devGrafanaChecks[2].fails}`]);
        assert.match(refusedLines[0], /no answer from http:\/\/127\.0\.0\.1:\d+\/api\/datasources\/uid\/thanos-global-view\/health: .*401/);
        assert.ok(!refused.stderr.includes("not-it") && !refused.stdout.includes("not-it"));

        const missing = await withThanos(devStackSeries({ europe: 2 }), (thanos) => runScript(thanos.url, undefined, [], { url: thanos.grafanaUrl, password: grafanaPassword }));
        assert.strictEqual(missing.code, 1);
        assert.deepStrictEqual(missing.stderr.split("\n").filter((line) => line.startsWith("- ")), [`- ${devGrafanaChecks[2].fails}; saw: europe`]);
    });

    it("fails on a missing region and a replica not deduplicated, in the same words as npm run verify", async () => {
        const series = mismatchedEuropeReplica(devStackSeries({ europe: 2 }));
        const result = await withThanos(series, (thanos) => runScript(thanos.url));
        assert.strictEqual(result.code, 1);
        const failed = result.stderr.split("\n").filter((line) => line.startsWith("- "));
        assert.deepStrictEqual(failed, [
            `- ${describeFailure(devChecks[1], ["2"], ["prometheus-kps-europe-prometheus-0", "prometheus-kps-europe-prometheus-1"])}`,
            `- ${describeFailure(devChecks[2], [], [])}`,
            `- ${describeFailure(devChecks[3], [], [])}`,
        ]);
        assert.match(result.stderr, /^FAILED after \d+ attempts:/);
    });

    it("fails on a querier that keeps the replica label", async () => {
        const result = await withThanos(devStackSeries(), (thanos) => runScript(thanos.url), { replicaLabels: [] });
        assert.strictEqual(result.code, 1);
        const europe = ["prometheus-kps-europe-prometheus-0", "prometheus-kps-europe-prometheus-1"];
        assert.deepStrictEqual(result.stderr.split("\n").filter((line) => line.startsWith("- ")), [
            `- ${describeFailure(devChecks[1], ["2"], europe)}`,
            `- ${describeFailure(devChecks[4], [...europe, "prometheus-kps-united-states-prometheus-0"])}`,
        ]);
    });

    it("fails when the frontend does not answer, and retries until its deadline", async () => {
        const result = await runScript(await closedPort(), { deadlineSeconds: 2, intervalSeconds: 1, requestTimeoutSeconds: 1 });
        assert.strictEqual(result.code, 1);
        assert.match(result.stderr, /no answer from http:\/\/127\.0\.0\.1:\d+: wget: can't connect to remote host/);
        // The script's clock counts whole seconds (date +%s), so its deadline is
        // between 1 and 2 s away: a second attempt is certain, a wall-clock bound is not.
        assert.match(result.stdout, /attempt 2 against/);
    });

    it("gives up on a slow frontend at its request timeout", async () => {
        // One check is enough: each would wait out the same request timeout.
        const result = await withThanos(devStackSeries(), (thanos) => runScript(thanos.url, { deadlineSeconds: 1, intervalSeconds: 1, requestTimeoutSeconds: 1 }, devChecks.slice(0, 1)), { delayMs: 3000 });
        assert.strictEqual(result.code, 1);
        assert.match(result.stderr, /no answer from http:\/\/127\.0\.0\.1:\d+/);
    });
});
