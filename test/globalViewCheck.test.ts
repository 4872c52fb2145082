import * as assert from "assert";
import { jobDeadlineSeconds } from "../components/globalViewCheck";
import { readStackConfig } from "../lib/config/stackFile";
import { grafanaChecks, inClusterTiming, rulerChecks, verificationChecks, verificationPlan } from "../lib/verification/checks";
import { verificationScript } from "../lib/verification/jobScript";
import { ProgramRun, key, projectDirectory, runStack, withAsia } from "./harness";

const job = "kubernetes:batch/v1:Job";
const devPlan = verificationPlan(readStackConfig(projectDirectory, "dev"));
const devChecks = verificationChecks(devPlan);
const devGrafanaChecks = grafanaChecks(devPlan);
const devRulesChecks = rulerChecks(devPlan);
const container = (run: ProgramRun) => run.one(job, "global-view").inputs.spec.template.spec.containers[0];
const script = (run: ProgramRun) => container(run).command[2] as string;

describe("the verification Job on the dev stack", () => {
    let run: ProgramRun;
    before(async () => {
        run = await runStack("dev");
    });

    it("runs the shared checks as a script in the pinned Thanos image, which the nodes already have", () => {
        const verify = container(run);
        assert.strictEqual(verify.image, "quay.io/thanos/thanos:v0.42.4");
        assert.deepStrictEqual(verify.command, ["/bin/sh", "-c", verificationScript(devChecks, inClusterTiming(600), devGrafanaChecks, devRulesChecks)]);
        assert.strictEqual(run.one("kubernetes:helm.sh/v3:Release", "europe").inputs.values.prometheus.prometheusSpec.thanos.image, verify.image);
    });

    it("queries the Query Frontend that GlobalQuery exports, in its namespace", () => {
        const env = Object.fromEntries((container(run).env as { name: string; value: string }[]).map(({ name, value }) => [name, value]));
        assert.strictEqual(env.FRONTEND_URL, run.exports.queryFrontendUrl);
        assert.strictEqual(env.GRAFANA_URL, "http://grafana.monitoring.svc.cluster.local:80");
        assert.strictEqual(env.FRONTEND_URL, "http://thanos-query-frontend-http.monitoring.svc.cluster.local:10902");
        assert.strictEqual(run.one(job, "global-view").inputs.metadata.namespace, "monitoring");
    });

    it("starts after the regions, the global query and Grafana, and runs again whenever one of their releases changes", () => {
        // The operator CRDs come in through the regions, which depend on them.
        const releaseUrns = run
            .ofType("kubernetes:helm.sh/v3:Release")
            .filter((release) => release.name !== "thanos-dev-operator-crds")
            .map((release) => release.urn);
        assert.strictEqual(releaseUrns.length, 4);
        assert.deepStrictEqual(
            run
                .one(job, "global-view")
                .dependencies.filter((urn) => urn.includes(":Release::"))
                .sort(),
            releaseUrns.sort(),
        );
        const env = container(run).env as { name: string; value: string }[];
        assert.deepStrictEqual(
            env.find(({ name }) => name === "DEPLOYED_REVISIONS"),
            { name: "DEPLOYED_REVISIONS", value: "kps-europe=1,kps-united-states=1,thanos=1,grafana=1,thanos-rule=1" },
        );
    });

    it("fails the deploy on the first failed pod, within a deadline, and is retried on the next up", () => {
        const checkJob = run.one(job, "global-view");
        const { spec } = checkJob.inputs;
        assert.strictEqual(spec.backoffLimit, 0);
        assert.strictEqual(spec.template.spec.restartPolicy, "Never");
        // Each query and its diagnosis, the rules API's request and each Grafana request, at the request timeout.
        const deadline = 600 + (2 * devChecks.length + devRulesChecks.length + devGrafanaChecks.length) * 10 + 10 + 30;
        assert.strictEqual(spec.activeDeadlineSeconds, deadline);
        assert.deepStrictEqual(checkJob.customTimeouts, { create: `${deadline + 60}s`, update: `${deadline + 60}s`, delete: "" });
        assert.deepStrictEqual(checkJob.inputs.metadata.annotations, { "pulumi.com/replaceUnready": "true" });
        // Named, so the provider deletes the old Job before it creates the next (pulumi-kubernetes
        // v4.32.0 provider.go:1647-1658): its logs are always the last run's.
        assert.strictEqual(checkJob.inputs.metadata.name, "global-view-check");
    });

    it("reads Grafana's admin credentials from their Secret, never from its spec", () => {
        const env = container(run).env as { name: string; value?: string; valueFrom?: any }[];
        const secretName = run.one("kubernetes:core/v1:Secret", "grafana-admin").inputs.metadata.name ?? "grafana-admin-x7k2p9";
        assert.deepStrictEqual(
            env.filter(({ name }) => name.startsWith("GRAFANA_") && name !== "GRAFANA_URL"),
            [
                { name: "GRAFANA_USER", valueFrom: { secretKeyRef: { name: secretName, key: "admin-user" } } },
                { name: "GRAFANA_PASSWORD", valueFrom: { secretKeyRef: { name: secretName, key: "admin-password" } } },
            ],
        );
        assert.ok(!JSON.stringify(run.one(job, "global-view").inputs).includes(String(run.exports.grafanaAdminPassword)));
    });

    it("needs no API access and runs locked down", () => {
        const { spec } = run.one(job, "global-view").inputs.spec.template;
        assert.strictEqual(spec.automountServiceAccountToken, false);
        assert.deepStrictEqual(spec.securityContext, { runAsNonRoot: true, runAsUser: 1001, runAsGroup: 1001, seccompProfile: { type: "RuntimeDefault" } });
        assert.deepStrictEqual(container(run).securityContext, {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ["ALL"] },
        });
        assert.deepStrictEqual(container(run).resources, { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "100m", memory: "64Mi" } });
    });

    it("exports the command that shows its logs", () => {
        assert.strictEqual(run.exports.verificationLogsCommand, "kubectl --context kind-thanos-dev --namespace monitoring logs job/global-view-check");
    });
});

describe("the verification Job follows the topology", () => {
    it("another replica count or another region changes the pod template, which replaces the Job", async () => {
        const dev = await runStack("dev");
        const fewer = await runStack("dev", (config) => (config[key("regions")][0].replicas = 1));
        const more = await runStack("dev", withAsia);
        assert.notStrictEqual(script(fewer), script(dev));
        assert.ok(script(fewer).includes("every_value 1") && !script(fewer).includes("every_value 2"));
        assert.ok(script(more).includes("cluster%3D%22asia%22"));
        assert.ok(!script(dev).includes("asia"));
    });

    it("its deadline comes from verification.timeout; verification.enabled false leaves it out", async () => {
        const quick = await runStack("dev", (config) => (config[key("verification")] = { timeout: "2m" }));
        assert.strictEqual(
            quick.one(job, "global-view").inputs.spec.activeDeadlineSeconds,
            jobDeadlineSeconds(devChecks, inClusterTiming(120), devGrafanaChecks, devRulesChecks),
        );
        const off = await runStack("dev", (config) => (config[key("verification")] = { enabled: false }));
        assert.deepStrictEqual(off.ofType(job), []);
        assert.ok(!("verificationLogsCommand" in off.exports), Object.keys(off.exports).join(", "));
    });
});
