// The verification Job's script under busybox, the shell of the image it runs
// in, against the same stand-ins as `npm run verify`.
import * as assert from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { grafanaAdmin } from "../lib/kubernetes/releases";
import { GrafanaCheck, RulesCheck, describeFailure } from "../lib/verification/checks";
import { verificationScript } from "../lib/verification/jobScript";
import { devStackSeries } from "./fakeThanos";
import {
    closedPort,
    devChecks,
    devGrafanaChecks,
    devRulesChecks,
    fleetChecks,
    grafanaPassword,
    healthyFleetStorage,
    mismatchedEuropeReplica,
    withThanos,
} from "./standIns";

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

    /** By default one round: its deadline is already there when the round ends (the tests of retrying set their own). */
    function runScript(
        url: string,
        timing = { deadlineSeconds: 0, intervalSeconds: 1, requestTimeoutSeconds: 2 },
        checks = devChecks,
        grafana?: { url: string; password: string; checks?: GrafanaCheck[] },
        rules: RulesCheck[] = [],
        /** A folder ahead of the applets on PATH, for a stand-in of one of them. */
        overrides?: string,
    ) {
        const script = verificationScript(checks, timing, grafana === undefined ? [] : (grafana.checks ?? devGrafanaChecks), rules);
        // The Job's environment: the admin's credentials come from their Secret.
        const grafanaEnv = grafana === undefined ? {} : { GRAFANA_URL: grafana.url, GRAFANA_USER: grafanaAdmin.user, GRAFANA_PASSWORD: grafana.password };
        return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
            const child = spawn(path.join(applets, "sh"), ["-c", script], {
                env: { PATH: overrides === undefined ? applets : `${overrides}:${applets}`, FRONTEND_URL: url, ...grafanaEnv },
            });
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
        assert.deepStrictEqual(
            result.stdout.split("\n").filter((line) => line.startsWith("ok: ")),
            devChecks.map((check) => `ok: ${check.passes}`),
        );
        assert.match(result.stdout, /the global view is complete/);
    });

    it("asks the rules API for the Ruler's groups: passes when every generated group is listed, fails naming them and what was listed, in the same words as npm run verify", async () => {
        assert.deepStrictEqual(
            devRulesChecks.map((check) => check.expect.groups),
            [["thanos-global-view"]],
        );
        const loaded = await withThanos(devStackSeries(), (thanos) => runScript(thanos.url, undefined, [], undefined, devRulesChecks));
        assert.strictEqual(loaded.code, 0, loaded.stderr);
        assert.deepStrictEqual(
            loaded.stdout.split("\n").filter((line) => line.startsWith("ok: ")),
            ["ok: the Thanos Ruler has loaded every global rule group: thanos-global-view"],
        );
        // A group of the regions' own Prometheus rules is listed too, and one whose name starts like the global one's.
        const others = await withThanos(devStackSeries(), (thanos) => runScript(thanos.url, undefined, [], undefined, devRulesChecks), {
            ruleGroups: ["kubernetes-apps", "thanos-global-view-long-term-storage"],
        });
        assert.strictEqual(others.code, 1);
        assert.deepStrictEqual(
            others.stderr.split("\n").filter((line) => line.startsWith("- ")),
            [`- ${devRulesChecks[0].fails}; saw: kubernetes-apps thanos-global-view-long-term-storage`],
        );
        const none = await withThanos(devStackSeries(), (thanos) => runScript(thanos.url, undefined, [], undefined, devRulesChecks), { ruleGroups: [] });
        assert.deepStrictEqual(
            none.stderr.split("\n").filter((line) => line.startsWith("- ")),
            [`- ${devRulesChecks[0].fails}; saw: no group`],
        );
    });

    it("asks Grafana too, with the admin's basic auth, and passes on a complete view", async () => {
        const result = await withThanos(devStackSeries(), (thanos) =>
            runScript(thanos.url, undefined, devChecks, { url: thanos.grafanaUrl, password: grafanaPassword }),
        );
        assert.strictEqual(result.code, 0, result.stderr);
        assert.deepStrictEqual(
            result.stdout.split("\n").filter((line) => line.startsWith("ok: ")),
            [...devChecks, ...devGrafanaChecks].map((check) => `ok: ${check.passes}`),
        );
    });

    it("fails on Grafana refusing the password and on a panel missing a region, in the same words as npm run verify", async () => {
        const refused = await withThanos(devStackSeries(), (thanos) => runScript(thanos.url, undefined, [], { url: thanos.grafanaUrl, password: "not-it" }));
        assert.strictEqual(refused.code, 1);
        const refusedLines = refused.stderr.split("\n").filter((line) => line.startsWith("- "));
        assert.deepStrictEqual(
            refusedLines.map((line) => line.replace(/; Grafana answered .*$/, "")),
            [`- ${devGrafanaChecks[1].fails}`, `- ${devGrafanaChecks[2].fails}`],
        );
        // What Grafana said, not only its status.
        assert.ok(
            refusedLines[0].endsWith(
                "; Grafana answered api/datasources/uid/thanos-global-view/health with HTTP/1.1 401 Unauthorized: " +
                    '{"message":"Invalid username or password","messageId":"password-auth.failed","statusCode":401,"traceID":""}',
            ),
            refusedLines[0],
        );
        assert.ok(!refused.stderr.includes("not-it") && !refused.stdout.includes("not-it"));

        const missing = await withThanos(devStackSeries({ europe: 2 }), (thanos) =>
            runScript(thanos.url, undefined, [], { url: thanos.grafanaUrl, password: grafanaPassword }),
        );
        assert.strictEqual(missing.code, 1);
        assert.deepStrictEqual(
            missing.stderr.split("\n").filter((line) => line.startsWith("- ")),
            [`- ${devGrafanaChecks[2].fails}; saw: europe`],
        );
    });

    it("shows what Grafana said when it refuses a request (busybox wget alone prints only the status)", async () => {
        const unbindable: GrafanaCheck = { ...devGrafanaChecks[2], body: "{" };
        const result = await withThanos(devStackSeries(), (thanos) =>
            runScript(thanos.url, undefined, [], { url: thanos.grafanaUrl, password: grafanaPassword, checks: [unbindable] }),
        );
        assert.strictEqual(result.code, 1);
        assert.deepStrictEqual(
            result.stderr.split("\n").filter((line) => line.startsWith("- ")),
            [`- ${unbindable.fails}; Grafana answered api/ds/query with HTTP/1.1 400 Bad Request: {"message":"bad request data","traceID":""}`],
        );
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

    it("proves long-term storage like npm run verify: passes when all is well, names a halted compactor in the same words", async () => {
        const healthy = await withThanos(devStackSeries(), (thanos) => runScript(thanos.url, undefined, fleetChecks), { metrics: healthyFleetStorage() });
        assert.strictEqual(healthy.code, 0, healthy.stderr);
        assert.deepStrictEqual(
            healthy.stdout.split("\n").filter((line) => line.startsWith("ok: ")),
            fleetChecks.map((check) => `ok: ${check.passes}`),
        );
        const halted = healthyFleetStorage().map((series) => (series.labels.__name__ === "thanos_compact_halted" ? { ...series, value: 1 } : series));
        const result = await withThanos(devStackSeries(), (thanos) => runScript(thanos.url, undefined, fleetChecks), { metrics: halted });
        assert.strictEqual(result.code, 1);
        const check = fleetChecks.find((candidate) => candidate.query.includes("compact_halted"))!;
        assert.deepStrictEqual(
            result.stderr.split("\n").filter((line) => line.startsWith("- ")),
            [`- ${describeFailure(check, ["1"])}`],
        );
        // One gateway too many is as wrong as one too few: the sample count is checked, not just the values.
        const extra = [
            ...healthyFleetStorage(),
            ...healthyFleetStorage()
                .filter((series) => series.labels.job === "thanos-store-gateway")
                .map((series) => ({ ...series, labels: { ...series.labels, pod: `${series.labels.pod}-old` } })),
        ];
        const counted = await withThanos(devStackSeries(), (thanos) => runScript(thanos.url, undefined, fleetChecks), { metrics: extra });
        assert.strictEqual(counted.code, 1);
        assert.deepStrictEqual(
            counted.stderr.split("\n").filter((line) => line.startsWith("- ")),
            [
                `- ${describeFailure(
                    fleetChecks.find((candidate) => candidate.query.includes("job=~"))!,
                    ["0", "0", "0", "0", "0"],
                )}`,
            ],
        );
    });

    it("fails on a querier that keeps the replica label", async () => {
        const result = await withThanos(devStackSeries(), (thanos) => runScript(thanos.url), { replicaLabels: [] });
        assert.strictEqual(result.code, 1);
        const europe = ["prometheus-kps-europe-prometheus-0", "prometheus-kps-europe-prometheus-1"];
        assert.deepStrictEqual(
            result.stderr.split("\n").filter((line) => line.startsWith("- ")),
            [
                `- ${describeFailure(devChecks[1], ["2"], europe)}`,
                `- ${describeFailure(devChecks[4], [...europe, "prometheus-kps-united-states-prometheus-0"])}`,
            ],
        );
    });

    it("fails when the frontend does not answer, and retries until its deadline", async () => {
        // The script's clock is `date +%s`: here one that moves a second each time it is read, so the
        // deadline 2s away is reached after exactly two rounds, whatever the machine's speed.
        const clock = fs.mkdtempSync(path.join(os.tmpdir(), "clock-"));
        fs.writeFileSync(
            path.join(clock, "date"),
            `#!${applets}/sh\nnow=$(cat ${clock}/now 2>/dev/null || echo 1000)\necho $((now + 1)) > ${clock}/now\necho $now\n`,
            {
                mode: 0o755,
            },
        );
        const result = await runScript(
            await closedPort(),
            { deadlineSeconds: 2, intervalSeconds: 0, requestTimeoutSeconds: 1 },
            devChecks,
            undefined,
            [],
            clock,
        );
        assert.strictEqual(result.code, 1);
        assert.match(result.stderr, /no answer from http:\/\/127\.0\.0\.1:\d+: wget: can't connect to remote host/);
        assert.deepStrictEqual(result.stdout.match(/^attempt \d+/gm), ["attempt 1", "attempt 2"]);
        assert.match(result.stderr, /^FAILED after 2 attempts:/m);
        fs.rmSync(clock, { recursive: true });
    });

    it("gives up on a slow frontend at its request timeout", async () => {
        // One check is enough: each would wait out the same request timeout.
        const result = await withThanos(
            devStackSeries(),
            (thanos) => runScript(thanos.url, { deadlineSeconds: 1, intervalSeconds: 1, requestTimeoutSeconds: 1 }, devChecks.slice(0, 1)),
            { delayMs: 3000 },
        );
        assert.strictEqual(result.code, 1);
        assert.match(result.stderr, /no answer from http:\/\/127\.0\.0\.1:\d+/);
    });
});
