// The global rules as Prometheus' own tool reads them: `promtool check rules`
// on what the program generates for each shipped stack, and `promtool test
// rules` on synthetic series for the alerts that matter most. promtool comes
// from E2E_BIN (the pinned Prometheus) or the machine (Debian's `prometheus`
// package, which .ci/run installs); without it these tests are skipped, with
// the reason, unless PROMTOOL_REQUIRED=1 (CI) makes that a failure.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as os from "os";
import * as path from "path";
import { AlertRule, globalRuleGroups, ruleInputs, rulesYaml } from "../lib/alerting/rules";
import { readStackConfig } from "../lib/config/stackFile";
import { projectDirectory } from "./harness";

/** promtool from E2E_BIN, then /root/e2e-bin, then PATH. */
function findPromtool(): string | undefined {
    const candidates = [process.env.E2E_BIN && path.join(process.env.E2E_BIN, "promtool"), "/root/e2e-bin/promtool"].filter((file): file is string => !!file);
    const found = candidates.find((file) => fs.existsSync(file));
    if (found !== undefined) {
        return found;
    }
    const which = spawnSync("sh", ["-c", "command -v promtool"], { encoding: "utf8" });
    return which.status === 0 ? which.stdout.trim() : undefined;
}

function promtool(binary: string, args: string[], cwd: string) {
    const result = spawnSync(binary, args, { cwd, encoding: "utf8" });
    return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

describe("the global alert rules under promtool", function () {
    let binary: string;
    let folder: string;

    before(function () {
        const found = findPromtool();
        if (found === undefined) {
            const reason = "promtool not found (E2E_BIN, /root/e2e-bin or PATH): install Debian's prometheus package, as .ci/run does";
            if (process.env.PROMTOOL_REQUIRED === "1") {
                throw new Error(reason);
            }
            console.warn(`skipped: ${reason}`);
            this.skip();
        }
        binary = found!;
        folder = fs.mkdtempSync(path.join(os.tmpdir(), "global-rules-"));
    });

    after(() => folder && fs.rmSync(folder, { recursive: true, force: true }));

    // prod's regions are dev's in kind; fleet adds long-term storage.
    for (const stack of ["dev", "fleet"]) {
        it(`${stack}: promtool check rules accepts every rule the program generates`, () => {
            const file = path.join(folder, `${stack}.rules.yaml`);
            fs.writeFileSync(file, rulesYaml(globalRuleGroups(ruleInputs(readStackConfig(projectDirectory, stack)))));
            const result = promtool(binary, ["check", "rules", file], folder);
            assert.strictEqual(result.code, 0, result.output);
            assert.match(result.output, /SUCCESS: \d+ rules found/);
        });
    }

    it("fleet: region missing, fewer replicas and a halted compactor fire after `for` on synthetic series, and nothing else fires", () => {
        const inputs = ruleInputs(readStackConfig(projectDirectory, "fleet"));
        const groups = globalRuleGroups(inputs);
        const rules = groups.flatMap((group) => group.rules);
        const rule = (name: string, region?: string) =>
            rules.find((each) => each.alert === name && (region === undefined || each.expr.includes(`"${region}"`)))!;
        const expected = (each: AlertRule, labels: Record<string, string>, value?: string) => ({
            exp_labels: { ...each.labels, ...labels },
            exp_annotations: Object.fromEntries(
                Object.entries(each.annotations).map(([name, text]) => [name, value === undefined ? text : text.replace("{{ $value }}", value)]),
            ),
        });
        fs.writeFileSync(path.join(folder, "fleet.rules.yaml"), rulesYaml(groups));
        const region = inputs.regionLabel;
        const prometheus = (pod: string, values: string) => ({
            series: `up{${region}="europe", namespace="europe", container="prometheus", pod="${pod}"}`,
            values,
        });
        // One sample every 30s; `_` is no sample. For 5m (alerting.for) after the 5m lookback, a series gone at 2m is missing from 7m and fires from 12m.
        const tests = {
            rule_files: ["fleet.rules.yaml"],
            evaluation_interval: inputs.interval,
            tests: [
                {
                    interval: "30s",
                    input_series: [
                        prometheus("prometheus-europe-0", "1x4 _x40"),
                        prometheus("prometheus-europe-1", "1x4 _x40"),
                        { series: `up{${region}="united-states", namespace="united-states", container="prometheus", pod="prometheus-us-0"}`, values: "1x44" },
                        { series: 'thanos_compact_halted{job="thanos-compactor"}', values: "0x4 1x40" },
                        { series: 'thanos_compact_iterations_total{job="thanos-compactor"}', values: "0+1x44" },
                        { series: 'up{job="thanos-compactor"}', values: "1x44" },
                    ],
                    alert_rule_test: [
                        { eval_time: "6m", alertname: "GlobalViewRegionMissing", exp_alerts: [] },
                        {
                            eval_time: "13m",
                            alertname: "GlobalViewRegionMissing",
                            exp_alerts: [expected(rule("GlobalViewRegionMissing", "europe"), { [region]: "europe" })],
                        },
                        { eval_time: "6m", alertname: "CompactorHalted", exp_alerts: [] },
                        { eval_time: "8m", alertname: "CompactorHalted", exp_alerts: [expected(rule("CompactorHalted"), {})] },
                        { eval_time: "13m", alertname: "CompactorNotRunning", exp_alerts: [] },
                    ],
                },
                {
                    interval: "30s",
                    input_series: [
                        // Both replicas scrape both: one stays up, the other reports its twin down from 1m.
                        prometheus("prometheus-europe-0", "1x30"),
                        prometheus("prometheus-europe-1", "1 1 0x28"),
                    ],
                    alert_rule_test: [
                        { eval_time: "5m", alertname: "GlobalViewRegionReplicasDown", exp_alerts: [] },
                        {
                            eval_time: "7m",
                            alertname: "GlobalViewRegionReplicasDown",
                            exp_alerts: [expected(rule("GlobalViewRegionReplicasDown", "europe"), { [region]: "europe" }, "1")],
                        },
                    ],
                },
            ],
        };
        fs.writeFileSync(path.join(folder, "fleet.tests.yaml"), yaml.dump(tests, { lineWidth: -1 }));
        const result = promtool(binary, ["test", "rules", "fleet.tests.yaml"], folder);
        assert.strictEqual(result.code, 0, result.output);
    });
});
