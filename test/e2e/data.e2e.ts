// `npm run e2e -- data`: the global view on real Thanos, Prometheus and
// SeaweedFS binaries, started with what the program deploys (dataPlane.ts says
// what stands in for Kubernetes). Two stacks:
// - dev, with united-states given a second replica so that both regions are
//   HA pairs, a verification timeout of 20s so that a failing check ends
//   within the tier (the shipped 10m is for clusters that are still starting),
//   two frontend replicas (which turns the shared memcached cache on, as in
//   prod), and alerting.for 10s and alerting.evaluationInterval 2s so that an
//   alert fires and resolves within the tier (5m and 30s shipped);
// - fleet as shipped: europe in a network namespace of its own behind mutual
//   TLS, long-term storage in a real `weed mini`.
import * as assert from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { datasourceUid } from "../../lib/grafana/dashboards";
import { key, projectDirectory } from "../harness";
import { startFakeGrafana } from "../fakeGrafana";
import { DataPlane } from "./dataPlane";
import { Deployment, deploymentOf } from "./deployment";
import { Lab, collect, eventually, getJson } from "./lab";
import { copyProject } from "./projectCopy";
import { alertmanager, busybox, iproute2, memcached, openssl, prometheus, thanos, toolsOrSkip, weed } from "./tools";

type Sample = { metric: Record<string, string>; value: [number, string] };
type Series = { metric: Record<string, string>; values: [number, string][] };

/** An instant query through the frontend, as users and both provers ask it. */
async function instant(plane: DataPlane, query: string, dedup: boolean, at?: number): Promise<Sample[]> {
    const time = at === undefined ? "" : `&time=${at}`;
    const answer = await getJson(`${plane.frontendUrl}/api/v1/query?query=${encodeURIComponent(query)}&dedup=${dedup}${time}`);
    return answer.data.result;
}

/** A range query through the frontend (its Service), or through one replica of it. */
async function range(
    plane: DataPlane,
    query: string,
    dedup: boolean,
    start: number,
    end: number,
    step: number,
    frontendUrl = plane.frontendUrl,
): Promise<Series[]> {
    const answer = await getJson(`${frontendUrl}/api/v1/query_range?query=${encodeURIComponent(query)}&dedup=${dedup}&start=${start}&end=${end}&step=${step}`);
    return answer.data.result;
}

/**
 * A frontend's results cache counters, by cache name: `cortex_cache_hits_total`
 * and `cortex_cache_fetched_keys_total`, registered for each cache with its
 * name as a constant label (internal/cortex/chunk/cache/instrumented.go:42-54
 * at v0.42.4), the memcached one named `<prefix>memcache` (cache.go:97).
 */
async function cacheCounters(frontendUrl: string): Promise<Record<string, { hits: number; fetched: number }>> {
    const metrics = await (await fetch(`${frontendUrl}/metrics`)).text();
    const counters: Record<string, { hits: number; fetched: number }> = {};
    for (const [, metric, name, value] of metrics.matchAll(/^cortex_cache_(hits|fetched_keys)_total\{[^}]*name="([^"]+)"[^}]*\} (\S+)$/gm)) {
        counters[name] ??= { hits: 0, fetched: 0 };
        counters[name][metric === "hits" ? "hits" : "fetched"] = Number(value);
    }
    return counters;
}

/** Alertmanager's alerts of one name: /api/v2/alerts lists the active ones (those not resolved; api/v2/api.go, alertFilter, at v0.25.0). */
async function alertsOf(alertmanagerWeb: string, alertname: string): Promise<{ labels: Record<string, string>; status: { state: string } }[]> {
    return getJson(`http://${alertmanagerWeb}/api/v2/alerts?filter=${encodeURIComponent(`alertname="${alertname}"`)}`);
}

/** A Go duration of whole seconds or minutes, as the stack's alerting settings take it, in seconds. */
const seconds = (duration: string) => Number(/^(\d+)([sm])$/.exec(duration)![1]) * (duration.endsWith("m") ? 60 : 1);

/** `{ europe: "2", … }` from a `count by (<label>)` answer. */
const byLabel = (samples: Sample[], label: string) => Object.fromEntries(samples.map((sample) => [sample.metric[label], sample.value[1]]).sort());

/** busybox's applets in a folder, the only commands on the Job's PATH (the Thanos image's shell). */
function busyboxApplets(lab: Lab, busyboxPath: string): string {
    const folder = lab.folder("busybox");
    spawnSync(busyboxPath, ["--install", "-s", folder]);
    return folder;
}

async function run(
    command: string,
    args: string[],
    options: { env?: Record<string, string>; cwd?: string },
): Promise<{ code: number | null; output: string; stderr: string }> {
    const { code, stdout, stderr } = await collect(spawn(command, args, { cwd: options.cwd, env: options.env })).done;
    return { code, output: stdout, stderr };
}

/**
 * The verification Job's script, as the program generated it, under busybox,
 * with the Job's environment: the frontend's and Grafana's Service URLs mapped
 * to the frontend here and a Grafana stand-in in front of it (no Grafana
 * binary in this tier), the admin's credentials from the program's Secret.
 */
async function runVerificationJob(lab: Lab, plane: DataPlane, busyboxPath: string) {
    const { script, env } = plane.deployment.verification!;
    const grafana =
        plane.deployment.grafanaAdmin === undefined
            ? undefined
            : await startFakeGrafana({
                  datasourceUrl: plane.frontendUrl,
                  datasourceUid,
                  user: plane.deployment.grafanaAdmin.user,
                  password: plane.deployment.grafanaAdmin.password,
              });
    try {
        // host:port as written (URL parsing would drop an explicit :80).
        const hostOf = (url: string) => /^https?:\/\/([^/]+)/.exec(url)![1];
        plane.addresses.host(hostOf(env.FRONTEND_URL), hostOf(plane.frontendUrl));
        if (grafana !== undefined && env.GRAFANA_URL !== undefined) {
            plane.addresses.host(hostOf(env.GRAFANA_URL), hostOf(grafana.url));
        }
        const mapped = Object.fromEntries(Object.entries(env).map(([name, value]) => [name, plane.addresses.text(value)]));
        const applets = busyboxApplets(lab, busyboxPath);
        return await run(path.join(applets, "sh"), ["-c", script], { env: { ...mapped, PATH: applets } });
    } finally {
        await grafana?.close();
    }
}

/**
 * `npm run verify` from the tier's copy of the project, against the frontend and a Grafana stand-in;
 * `limit` says when it gives up: `--timeout` to wait for a view still filling, `--attempts 1` for a verdict on what is there now.
 */
async function runNpmVerify(plane: DataPlane, project: string, stack: string, limit: string[]) {
    const admin = plane.deployment.grafanaAdmin!;
    const grafana = await startFakeGrafana({ datasourceUrl: plane.frontendUrl, datasourceUid, user: admin.user, password: admin.password });
    try {
        return await run(
            "npm",
            ["run", "--silent", "verify", "--", "--stack", stack, "--url", plane.frontendUrl, "--grafana-url", grafana.url, "--interval", "2", ...limit],
            { cwd: project, env: { ...(process.env as Record<string, string>), GRAFANA_ADMIN_PASSWORD: admin.password } },
        );
    } finally {
        await grafana.close();
    }
}

describe("data plane: the global view on real Thanos, Prometheus and SeaweedFS", function () {
    let tools: Record<string, string>;

    before(function () {
        tools = toolsOrSkip(this, "data", [thanos, prometheus, weed, busybox, openssl, iproute2, alertmanager, memcached]);
    });

    describe("dev: two HA regions in one cluster, behind the querier and the frontend", () => {
        let lab: Lab;
        let project: string;
        let deployment: Deployment;
        let plane: DataPlane;
        let regionLabel: string;
        let replicaLabel: string;
        /** When every replica had scraped every target: the global view's history starts here. */
        let completeSince: number;

        before(async function () {
            lab = new Lab("data-dev");
            project = copyProject(lab.folder("project"), "e2e", "dev", (config) => {
                config[key("regions")][1].replicas = 2;
                config[key("verification")] = { timeout: "20s" };
                config[key("globalQuery")].frontendReplicas = 2;
                config[key("alerting")] = { for: "10s", evaluationInterval: "2s" };
            });
            deployment = await deploymentOf(project, "e2e");
            ({ region: regionLabel, replica: replicaLabel } = deployment.config.labels);
            plane = new DataPlane(lab, tools, deployment, { scrapeInterval: "1s" }, tools.openssl);
            await plane.plan();
            await Promise.all(deployment.regions.map((region) => plane.startRegion(region.name)));
            await plane.startQueriers();
            await plane.startMemcached(tools.memcached);
            await plane.startFrontend();
            await plane.startAlertmanagers(tools["prometheus-alertmanager"]);
            await plane.startRulers();
            // Every replica has scraped every target of its region: 2 × 2 series per region without deduplication.
            await eventually("every replica's targets in the global view", async () => {
                const counts = byLabel(await instant(plane, `count by (${regionLabel}) (up{job="apiserver"})`, false), regionLabel);
                return counts.europe === "4" && counts["united-states"] === "4" ? counts : undefined;
            });
            completeSince = Math.floor(Date.now() / 1000);
        });

        after(async () => lab?.close());

        it("1. deduplicates each HA pair: one series per region per target with dedup, one per replica without, and no replica label", async () => {
            const query = `count by (${regionLabel}) (up{job="apiserver"})`;
            assert.deepStrictEqual(byLabel(await instant(plane, query, true), regionLabel), { europe: "2", "united-states": "2" });
            assert.deepStrictEqual(byLabel(await instant(plane, query, false), regionLabel), { europe: "4", "united-states": "4" });
            const deduplicated = await instant(plane, 'up{job="apiserver"}', true);
            assert.strictEqual(deduplicated.length, 4);
            assert.deepStrictEqual(
                deduplicated.filter((sample) => replicaLabel in sample.metric),
                [],
            );
            // Each series names its region, from the region's external label.
            assert.deepStrictEqual([...new Set(deduplicated.map((sample) => sample.metric[regionLabel]))].sort(), ["europe", "united-states"]);
        });

        it("5. the verification Job's script (under busybox) and npm run verify pass against the live frontend", async () => {
            const job = await runVerificationJob(lab, plane, tools.busybox);
            assert.strictEqual(job.code, 0, `${job.output}\n${job.stderr}`);
            assert.match(job.output, /the global view is complete/);
            // The real Ruler pair's groups, through the frontend and the querier's rules API.
            assert.match(job.output, /^ok: the Thanos Ruler has loaded every global rule group: thanos-global-view$/m);
            const verify = await runNpmVerify(plane, project, "e2e", ["--timeout", "20"]);
            assert.strictEqual(verify.code, 0, `${verify.output}\n${verify.stderr}`);
            assert.match(verify.output, /^europe +2 +2 +yes$/m);
            assert.match(verify.output, /^united-states +2 +2 +yes$/m);
            assert.match(verify.output, /^ok: the Thanos Ruler has loaded every global rule group: thanos-global-view$/m);
        });

        it("2. a replica killed mid-range and started again: its twin fills the gap, the querier marks it unhealthy meanwhile, nothing else stops", async () => {
            const europe = plane.region("europe");
            const [killed, twin] = europe.replicas.map((replica) => `${replica.host}:${replica.grpcPort}`);
            // History from both replicas before the kill, for the range to start in.
            await new Promise((resolve) => setTimeout(resolve, Math.max(0, (completeSince + 12) * 1000 - Date.now())));
            const killedAt = Math.floor(Date.now() / 1000);
            await plane.stopRegion("europe", "kill", 0);
            const stores = await eventually("the querier marking the killed sidecar unhealthy", async () => {
                const all = await plane.stores();
                return all.find((store) => store.name === killed && store.lastError) ? all : undefined;
            });
            assert.ok(
                stores.some((store) => store.name === twin && !store.lastError),
                JSON.stringify(stores),
            );
            const survivors = [
                "europe-prometheus-1",
                "europe-sidecar-1",
                "united-states-prometheus-0",
                "united-states-sidecar-0",
                "united-states-prometheus-1",
                "united-states-sidecar-1",
                "query-0",
                "query-1",
                "query-frontend",
            ];
            assert.deepStrictEqual(
                survivors.filter((name) => !lab.running(name)),
                [],
            );
            // A gap of several scrapes, then the replica is back with the samples it had before (its TSDB and WAL on disk).
            await new Promise((resolve) => setTimeout(resolve, Math.max(0, (killedAt + 8) * 1000 - Date.now())));
            await plane.startRegion("europe", 0);
            const restartedAt = Math.floor(Date.now() / 1000);
            const [start, end] = [killedAt - 5, restartedAt + 8];
            const steps = end - start + 1;
            // A 5s window, as a panel's rate would take over several scrapes: Thanos' penalty-based
            // deduplication skips up to twice the last scrape interval when it switches replicas
            // (pkg/dedup/iter.go:351-376 at v0.42.4), which a 1s step over a 3s window would count as a gap.
            const window = (replica = "") => `count_over_time(up{job="apiserver",${regionLabel}="europe"${replica}}[5s])`;
            // Prometheus scrapes its first targets about 5s after it starts (the scrape manager's reload interval).
            await eventually("the restarted replica's new samples in the global view", async () => {
                const own = await instant(
                    plane,
                    `max(timestamp(up{job="apiserver",${regionLabel}="europe",${replicaLabel}="${europe.replicas[0].pod}"}))`,
                    false,
                );
                return Number(own[0]?.value[1] ?? 0) > end ? true : undefined;
            });
            // Over the gap: from before the kill to after the restart.
            const overGap = restartedAt + 2 - start + 1;
            const deduplicated = await range(plane, window(), true, start, restartedAt + 2, 1);
            assert.strictEqual(deduplicated.length, 2, "one series per target");
            for (const series of deduplicated) {
                assert.strictEqual(
                    series.values.length,
                    overGap,
                    `a point at every step for ${series.metric.instance}: ${JSON.stringify(series.values.map(([time]) => time - killedAt))}`,
                );
            }
            // Without deduplication the killed replica's own series has the gap its twin filled.
            const own = await range(plane, window(`,${replicaLabel}="${europe.replicas[0].pod}"`), false, start, end, 1);
            assert.strictEqual(own.length, 2, JSON.stringify(own));
            assert.ok(
                own.every((series) => series.values.length < steps - 3 && Number(series.values.at(-1)![0]) === end),
                JSON.stringify(own.map((series) => series.values.map(([time]) => time - killedAt))),
            );
        });

        it("6. a range query repeated on the other frontend replica is served from the shared memcached: that replica's cache hits and memcached's get_hits rise", async () => {
            assert.ok(
                deployment.queryCache !== undefined && plane.frontendUrls.length === 2,
                "two frontend replicas run the shared memcached cache by default",
            );
            // Older than the frontend's max freshness (--query-range.response-cache-max-freshness, 1m by default,
            // cmd/thanos/query_frontend.go:114 at v0.42.4): newer results are never cached.
            const end = completeSince;
            await new Promise((resolve) => setTimeout(resolve, Math.max(0, (end + 65) * 1000 - Date.now())));
            const query = `count by (${regionLabel}) (up{job="apiserver"})`;
            const [first, second] = plane.frontendUrls;
            const cacheOf = async (url: string) => {
                const counters = await cacheCounters(url);
                const name = Object.keys(counters).find((each) => each.endsWith("memcache"));
                assert.ok(name !== undefined, `a memcached cache among the frontend's caches: ${JSON.stringify(counters)}`);
                return counters[name];
            };
            const [before, storedBefore] = [await cacheOf(second), await plane.memcachedStats()];
            const answer = await range(plane, query, true, completeSince - 10, end, 1, first);
            assert.deepStrictEqual(answer.map((series) => series.metric[regionLabel]).sort(), ["europe", "united-states"]);
            // The frontend stores in the background (the cache's write-back queue): wait for memcached to hold it.
            await eventually("the first frontend's result stored in memcached", async () =>
                (await plane.memcachedStats()).cmd_set > storedBefore.cmd_set ? true : undefined,
            );
            const statsBefore = await plane.memcachedStats();
            const repeated = await range(plane, query, true, completeSince - 10, end, 1, second);
            const after = await cacheOf(second);
            const statsAfter = await plane.memcachedStats();
            assert.deepStrictEqual(repeated, answer);
            assert.ok(after.hits > before.hits, `the second frontend's cache hits: ${before.hits} → ${after.hits}`);
            assert.ok(statsAfter.get_hits > statsBefore.get_hits, `memcached's get_hits: ${statsBefore.get_hits} → ${statsAfter.get_hits}`);
        });

        it("7. the Ruler pair fires GlobalViewRegionMissing for a stopped region to both Alertmanagers after its `for`, with ALERTS deduplicated in the global view, and resolves it when the region is back", async () => {
            const alerting = deployment.alerting!;
            const groups = (yaml.load(alerting.rules.content) as { groups: { rules: { alert: string; for: string; labels: Record<string, string> }[] }[] })
                .groups;
            const rule = groups
                .flatMap((group) => group.rules)
                .find((each) => each.alert === "GlobalViewRegionMissing" && each.labels[regionLabel] === "europe")!;
            assert.ok(rule !== undefined, "a GlobalViewRegionMissing rule for europe");
            const forSeconds = seconds(rule.for);
            assert.strictEqual(forSeconds, seconds(deployment.config.alerting.for));
            const alertmanagers = plane.alertmanagers.map((each) => each.web);
            assert.strictEqual(alertmanagers.length, 2);
            // The pair has formed its cluster over the program's --cluster.peer flags (api/v2 status, v0.25.0).
            for (const web of alertmanagers) {
                const status = await eventually(`${web} clustered with its peer`, async () => {
                    const answer = await getJson<{ cluster: { status: string; peers: unknown[] } }>(`http://${web}/api/v2/status`);
                    return answer.cluster.peers.length === alertmanagers.length ? answer : undefined;
                });
                assert.strictEqual(status.cluster.status, "ready", web);
            }
            // Both regions up: nothing fires (a rule with the wrong region would).
            await new Promise((resolve) => setTimeout(resolve, (forSeconds + 2 * seconds(deployment.config.alerting.evaluationInterval)) * 1000));
            for (const web of alertmanagers) {
                assert.deepStrictEqual(await alertsOf(web, rule.alert), [], `${web} before europe stopped`);
            }

            await plane.stopRegion("europe", "terminate");
            const stoppedAt = Date.now();
            // Both Rulers send to both Alertmanagers; their alerts are one: the replica label is dropped from them.
            const fired = await eventually(
                "GlobalViewRegionMissing for europe in both Alertmanagers",
                async () => {
                    const each = await Promise.all(alertmanagers.map((web) => alertsOf(web, rule.alert)));
                    return each.every((alerts) => alerts.length > 0) ? each : undefined;
                },
                forSeconds + 60,
            );
            const firedAfter = (Date.now() - stoppedAt) / 1000;
            for (const alerts of fired) {
                assert.deepStrictEqual(
                    alerts.map((alert) => alert.labels),
                    [{ alertname: rule.alert, [regionLabel]: "europe", severity: "critical" }],
                );
                assert.strictEqual(alerts[0].status.state, "active");
            }
            // Not before its `for`; within it, and the querier's noticing the sidecars gone (its 5s endpoint checks), and two evaluations.
            assert.ok(firedAfter >= forSeconds, `fired ${firedAfter}s after the stop, before its for of ${forSeconds}s`);
            assert.ok(firedAfter <= forSeconds + 30, `fired only ${firedAfter}s after the stop (for: ${forSeconds}s)`);

            // ALERTS from the Rulers' StoreAPI, through the frontend: one series deduplicated, one per Ruler replica without.
            const selector = `ALERTS{alertname="${rule.alert}",alertstate="firing"}`;
            const deduplicated = await eventually("the firing ALERTS in the global view", async () => {
                const samples = await instant(plane, selector, true);
                return samples.length > 0 ? samples : undefined;
            });
            assert.deepStrictEqual(
                deduplicated.map((sample) => sample.metric),
                [{ __name__: "ALERTS", alertname: rule.alert, alertstate: "firing", [regionLabel]: "europe", severity: "critical" }],
            );
            // Each Ruler evaluates at an offset of its own: the second fires up to an evaluation later.
            const perReplica = await eventually("the firing ALERTS of both Ruler replicas without deduplication", async () => {
                const samples = await instant(plane, selector, false);
                return samples.length === plane.rulers.length ? samples : undefined;
            });
            assert.deepStrictEqual(perReplica.map((sample) => sample.metric.rule_replica).sort(), plane.rulers.map((ruler) => ruler.pod).sort());

            await plane.startRegion("europe");
            // Resolved: the Rulers send the alert with its end, and Alertmanager lists only active alerts.
            await eventually(
                "GlobalViewRegionMissing for europe resolved in both Alertmanagers",
                async () => {
                    const each = await Promise.all(alertmanagers.map((web) => alertsOf(web, rule.alert)));
                    return each.every((alerts) => alerts.length === 0) ? true : undefined;
                },
                60,
            );
        });

        it("5. with one region's Prometheus and sidecars stopped, the Job's script and npm run verify fail naming that region", async () => {
            await plane.stopRegion("europe", "terminate");
            const job = await runVerificationJob(lab, plane, tools.busybox);
            assert.strictEqual(job.code, 1, job.output);
            const failed = job.stderr.split("\n").filter((line) => line.startsWith("- "));
            assert.ok(
                failed.some((line) => line.startsWith("- region europe: ")),
                job.stderr,
            );
            assert.ok(
                failed.every((line) => line.includes("europe") && !line.startsWith("- region united-states")),
                job.stderr,
            );
            const verify = await runNpmVerify(plane, project, "e2e", ["--attempts", "1"]);
            assert.strictEqual(verify.code, 1, verify.output);
            assert.match(verify.output, /^europe +2 +0 +no$/m);
            assert.match(verify.output, /^united-states +2 +2 +yes$/m);
            assert.match(verify.output, /^- region europe: expected each API-server target 2 time\(s\) without deduplication/m);
        });
    });

    describe("fleet: europe in its own network namespace behind mutual TLS, long-term storage in weed mini", () => {
        let lab: Lab;
        let deployment: Deployment;
        let plane: DataPlane;
        let regionLabel: string;
        const startedAt = Math.floor(Date.now() / 1000);

        before(async function () {
            lab = new Lab("data-fleet");
            deployment = await deploymentOf(projectDirectory, "fleet");
            regionLabel = deployment.config.labels.region;
            // Test-only: blocks of 20s instead of 2h, so that sidecars upload within the tier.
            plane = new DataPlane(lab, tools, deployment, { scrapeInterval: "1s", blockDuration: "20s" }, tools.openssl);
            await plane.plan();
            await plane.startObjectStore();
            await Promise.all(deployment.regions.map((region) => plane.startRegion(region.name)));
            await plane.startQueriers();
            await plane.startFrontend();
            await plane.startAlertmanagers(tools["prometheus-alertmanager"]);
            await plane.startRulers();
        });

        after(async () => lab?.close());

        it("3. the querier's mutual TLS handshake with europe's sidecars succeeds across the namespace, and europe's series appear", async () => {
            const europe = plane.region("europe");
            assert.ok(europe.netns !== undefined && europe.replicas.every((replica) => replica.host === europe.netns!.address));
            const names = europe.replicas.map((replica) => `${replica.host}:${replica.grpcPort}`);
            await eventually("europe's endpoints healthy in the querier", async () => {
                const stores = await plane.stores();
                return names.every((name) => stores.some((store) => store.name === name && !store.lastError)) ? stores : undefined;
            });
            const counts = await eventually("europe's series through the frontend", async () => {
                const answer = byLabel(await instant(plane, `count by (${regionLabel}) (up{job="apiserver"})`, true), regionLabel);
                return answer.europe === "2" ? answer : undefined;
            });
            assert.deepStrictEqual(counts, { europe: "2", "united-states": "1" });
        });

        it("3. a querier with a client certificate from another CA is refused by europe's sidecars", async () => {
            const stranger = {
                name: "query-stranger",
                pod: "thanos-query-stranger",
                grpc: `127.0.0.1:${await lab.freePort()}`,
                http: `127.0.0.1:${await lab.freePort()}`,
            };
            await plane.startQueriers({ strangerCa: true }, [stranger]);
            const europe = plane.region("europe").replicas.map((replica) => `${replica.host}:${replica.grpcPort}`);
            // A querier lists only endpoints it ever reached (/api/v1/stores); its log says why it could not.
            // "remote error": the sidecar, not the querier, ended the handshake, on the client certificate's
            // issuer (a try may also end on a write to the connection the sidecar had closed: "broken pipe").
            const refusal = "remote error: tls: unknown certificate authority";
            await eventually("the stranger's handshakes refused by europe's sidecars", async () => {
                const log = fs.readFileSync(path.join(lab.directory, `${stranger.name}.log`), "utf8").split("\n");
                return europe.every((name) => log.some((line) => line.includes(`address=${name}`) && line.includes(refusal))) ? true : undefined;
            });
            assert.deepStrictEqual(
                (await plane.stores(stranger)).filter((store) => europe.includes(store.name)),
                [],
            );
            const seen = await getJson(`http://${stranger.http}/api/v1/query?query=${encodeURIComponent(`up{${regionLabel}="europe"}`)}`);
            assert.deepStrictEqual(seen.data.result, []);
            await lab.stop(stranger.name);
        });

        it("3. a sidecar whose server certificate lacks the server name is refused by the querier", async () => {
            const europe = plane.region("europe");
            const replica = europe.replicas[1];
            await plane.stopRegion("europe", "terminate", 1);
            europe.serverCertificate = { withoutSans: true };
            try {
                await plane.startRegion("europe", 1);
                const name = `${replica.host}:${replica.grpcPort}`;
                const store = await eventually("the querier refusing the certificate", async () =>
                    (await plane.stores()).find((each) => each.name === name && each.lastError),
                );
                assert.match(store.lastError!, /certificate/i);
            } finally {
                await plane.stopRegion("europe", "terminate", 1);
                europe.serverCertificate = undefined;
                await plane.startRegion("europe", 1);
            }
        });

        it("4. every sidecar uploads its blocks to the real store; the program's bucket check lists them from each region's network", async () => {
            const listed = await eventually(
                "blocks from every replica in the bucket",
                async () => {
                    const lists = await Promise.all(
                        deployment.regions.map(async (region) => {
                            const netns = plane.region(region.name).netns?.name;
                            const result = await run(
                                netns === undefined ? tools.thanos : "ip",
                                [...(netns === undefined ? [] : ["netns", "exec", netns, tools.thanos]), ...plane.bucketCheckArgs(region.name)],
                                {},
                            );
                            assert.strictEqual(result.code, 0, `${region.name}'s bucket check: ${result.stderr}`);
                            return result.output.split("\n").filter((line) => /^[0-9A-HJKMNP-TV-Z]{26}$/.test(line.trim()));
                        }),
                    );
                    // Each region sees the whole bucket; three replicas upload, one block each at least.
                    return lists.every((blocks) => blocks.length >= 3) ? lists : undefined;
                },
                180,
            );
            assert.deepStrictEqual(listed[0].sort(), listed[1].sort());
        });

        it("4. the Store Gateways and the compactor start with the program's flags; the verification Job's script passes on the whole fleet", async () => {
            await plane.startStoreGateways();
            await plane.startCompactor();
            const compacted = await eventually(
                "the compactor's first pass",
                async () => {
                    const metrics = await (await fetch(`http://${plane.compactor!.http}/metrics`)).text();
                    const iterations = Number(/^thanos_compact_iterations_total (\S+)$/m.exec(metrics)?.[1] ?? 0);
                    return iterations >= 1 ? metrics : undefined;
                },
                120,
            );
            assert.match(compacted, /^thanos_compact_halted 0$/m);
            assert.doesNotMatch(fs.readFileSync(path.join(lab.directory, "compactor.log"), "utf8"), /level=error/);
            const job = await runVerificationJob(lab, plane, tools.busybox);
            assert.strictEqual(job.code, 0, `${job.output}\n${job.stderr}`);
            assert.match(job.output, /ok: each of the 2 querier\(s\) holds a healthy StoreAPI connection to all 2 Store Gateway replica\(s\)/);
            assert.match(job.output, /ok: region europe: all 2 sidecar\(s\) have the bucket/);
            // The Ruler pair behind mutual TLS, as the querier reaches every StoreAPI of the fleet.
            assert.match(job.output, /^ok: the Thanos Ruler has loaded every global rule group: thanos-global-view, thanos-global-view-long-term-storage$/m);
        });

        it("4. with every Prometheus stopped, the Store Gateways alone serve both regions' history through the frontend", async () => {
            // Blocks of both regions in the gateways first (a region's first upload may come later than another's three).
            const gatewayAddresses = plane.storeGateways.map((gateway) => gateway.grpc!);
            await eventually(
                "the gateways serving blocks of every region",
                async () => {
                    const regions = (await plane.stores())
                        .filter((store) => gatewayAddresses.includes(store.name))
                        .flatMap((store) => (store.labelSets ?? []).map((labels) => labels[regionLabel]));
                    return deployment.regions.every((region) => regions.includes(region.name)) ? regions : undefined;
                },
                180,
            );
            for (const region of deployment.regions) {
                await plane.stopRegion(region.name, "terminate");
            }
            const gateways = plane.storeGateways.map((gateway) => gateway.grpc!);
            const rulers = plane.rulers.map((ruler) => ruler.grpc!);
            // The querier has noticed: of the stores of metrics, only the gateways are left healthy (the Rulers' hold only ALERTS).
            const served = await eventually("the gateways alone healthy in the querier", async () => {
                const healthy = (await plane.stores()).filter((store) => !store.lastError && !rulers.includes(store.name));
                return healthy.length === gateways.length && healthy.every((store) => gateways.includes(store.name)) ? (healthy as any[]) : undefined;
            });
            const maxTime = Math.max(...served.map((store) => Number(store.maxTime))) / 1000;
            assert.ok(maxTime > startedAt, `the gateways serve blocks up to ${maxTime}`);
            const history = await range(plane, `count by (${regionLabel}) (up{job="apiserver"})`, true, startedAt, Math.floor(maxTime), 5);
            assert.deepStrictEqual(history.map((series) => series.metric[regionLabel]).sort(), ["europe", "united-states"]);
        });
    });
});
