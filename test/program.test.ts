// The real program with the real stack files, under Pulumi's mock engine.
import * as pulumi from "@pulumi/pulumi";
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { kindConfigYaml } from "../components/kindCluster";
import { defaultKindNodeImage } from "../lib/versions";
import { ProgramRun, exampleSecrets, fakeKubeconfig, key, registeredSoFar, runProgram, runStack, stackFileConfig } from "./harness";

const kindCommand = "command:local:Command";
const k8sProvider = "pulumi:providers:kubernetes";

/** Every Kubernetes object the program declares (not the provider itself). */
const kubernetesResources = (run: ProgramRun) => run.resources.filter((r) => r.custom && r.type.startsWith("kubernetes:"));

describe("the program on the dev stack", () => {
    let run: ProgramRun;
    before(async () => {
        run = await runStack("dev");
    });

    it("creates the kind cluster with kind, from a config on stdin, and deletes it on destroy", () => {
        const kind = run.one(kindCommand, "thanos-dev-kind");
        assert.match(kind.inputs.create, /^kind create cluster --name "\$KIND_CLUSTER_NAME" --config - --wait 5m >&2$/m);
        assert.match(kind.inputs.create, /^kind get kubeconfig --name "\$KIND_CLUSTER_NAME"$/m);
        assert.strictEqual(kind.inputs.delete, 'kind delete cluster --name "$KIND_CLUSTER_NAME"');
        assert.deepStrictEqual(kind.inputs.environment, { KIND_CLUSTER_NAME: "thanos-dev" });
        const node = (role: string) => `  - role: ${role}\n    image: ${defaultKindNodeImage}\n`;
        assert.strictEqual(
            kind.inputs.stdin,
            `kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n${node("control-plane")}${node("worker")}${node("worker")}`,
        );
    });

    it("refuses to adopt a kind cluster of the same name that the stack did not create", () => {
        const create: string = run.one(kindCommand, "thanos-dev-kind").inputs.create;
        const check = create.indexOf('kind get clusters 2>/dev/null | grep -qx "$KIND_CLUSTER_NAME"');
        assert.ok(check >= 0 && check < create.indexOf("kind create cluster"), create);
        assert.match(create, /already exists but this stack did not create it[\s\S]*exit 1/);
    });

    it("replaces the cluster (old one first: the name is fixed) only when its nodes change", async () => {
        const kind = run.one(kindCommand, "thanos-dev-kind");
        assert.deepStrictEqual(kind.inputs.triggers, [kind.inputs.stdin]);
        assert.strictEqual(kind.deleteBeforeReplace, true);
        // A change of this program's scripts alone re-reads the kubeconfig instead of creating again.
        assert.strictEqual(kind.inputs.update, 'kind get kubeconfig --name "$KIND_CLUSTER_NAME"');

        const again = await runStack("dev");
        assert.deepStrictEqual(again.one(kindCommand, "thanos-dev-kind").inputs, kind.inputs, "the same config must give the same inputs: no diff");
        const bigger = await runStack("dev", (config) => (config[key("clusters")][0].workerNodes = 3));
        assert.notDeepStrictEqual(bigger.one(kindCommand, "thanos-dev-kind").inputs.triggers, kind.inputs.triggers);
        const newer = await runStack("dev", (config) => (config[key("clusters")][0].nodeImage = "kindest/node:v1.35.0"));
        assert.match(newer.one(kindCommand, "thanos-dev-kind").inputs.triggers[0], /image: kindest\/node:v1\.35\.0\n/);
    });

    it("keeps the kubeconfig secret: in state, in logs, in the provider and in the stack output", async () => {
        const kind = run.one(kindCommand, "thanos-dev-kind");
        assert.deepStrictEqual(kind.additionalSecretOutputs, ["stdout"]);
        assert.strictEqual(kind.inputs.logging, "stderr");
        const provider = run.one(k8sProvider, "thanos-dev-provider");
        assert.strictEqual(provider.inputs.kubeconfig, fakeKubeconfig);
        assert.deepStrictEqual(provider.secretInputs, ["kubeconfig"]);
        assert.strictEqual(run.exports.kubeconfig, fakeKubeconfig);
        assert.strictEqual(await run.isSecretExport("kubeconfig"), true);
    });

    it("builds the provider from the cluster it created, replaced with the cluster", () => {
        const provider = run.one(k8sProvider, "thanos-dev-provider");
        assert.deepStrictEqual(provider.dependencies, [run.one(kindCommand, "thanos-dev-kind").urn]);
        assert.strictEqual(provider.inputs.clusterIdentifier, "thanos-dev-kind-id");
        // Never for good: a refresh while Docker is only stopped would drop every resource from state.
        assert.ok(!("deleteUnreachable" in provider.inputs), JSON.stringify(provider.inputs));
    });

    it("hands that provider to every Kubernetes resource", () => {
        const provider = run.one(k8sProvider, "thanos-dev-provider");
        const resources = kubernetesResources(run);
        assert.deepStrictEqual(resources.map((r) => `${r.type}/${r.name}`).sort(), [
            "kubernetes:apps/v1:Deployment/query-cache",
            "kubernetes:apps/v1:StatefulSet/global-alerting-alertmanager",
            "kubernetes:apps/v1:StatefulSet/global-alerting-ruler",
            "kubernetes:batch/v1:Job/global-view",
            "kubernetes:core/v1:ConfigMap/global-alerting-rules",
            "kubernetes:core/v1:ConfigMap/grafana-dashboards",
            "kubernetes:core/v1:Namespace/europe",
            "kubernetes:core/v1:Namespace/global",
            "kubernetes:core/v1:Namespace/united-states",
            "kubernetes:core/v1:Secret/global-alerting-alertmanager-config",
            "kubernetes:core/v1:Secret/grafana-admin",
            "kubernetes:core/v1:Service/global-alerting-alertmanager",
            "kubernetes:core/v1:Service/global-alerting-ruler",
            "kubernetes:core/v1:Service/query-cache",
            "kubernetes:helm.sh/v3:Release/europe",
            "kubernetes:helm.sh/v3:Release/global",
            "kubernetes:helm.sh/v3:Release/grafana",
            "kubernetes:helm.sh/v3:Release/thanos-dev-operator-crds",
            "kubernetes:helm.sh/v3:Release/united-states",
            "kubernetes:policy/v1:PodDisruptionBudget/global-alerting-alertmanager",
            "kubernetes:policy/v1:PodDisruptionBudget/global-alerting-ruler",
            "kubernetes:policy/v1:PodDisruptionBudget/query-cache",
        ]);
        for (const resource of resources) {
            assert.strictEqual(resource.provider, `${provider.urn}::${provider.name}-id`, `${resource.type} ${resource.name}`);
        }
    });

    it("disables the default Kubernetes provider for the project", () => {
        const project = fs.readFileSync(path.join(__dirname, "..", "Pulumi.yaml"), "utf8");
        assert.match(project, /^config:\n(?:\s+#.*\n)*\s+pulumi:disable-default-providers:\n\s+value:\n\s+- kubernetes\n/m);
    });

    it("nests every resource under the component it belongs to", () => {
        const components = new Map(run.resources.filter((r) => !r.custom).map((r) => [r.urn, r.type]));
        const parentType = (type: string, name: string) => components.get(run.one(type, name).parent);
        assert.strictEqual(parentType(kindCommand, "thanos-dev-kind"), "thanos-global-view:cluster:KindCluster");
        assert.strictEqual(parentType(k8sProvider, "thanos-dev-provider"), "thanos-global-view:cluster:KindCluster");
        assert.strictEqual(parentType("kubernetes:helm.sh/v3:Release", "europe"), "thanos-global-view:monitoring:Region");
        assert.strictEqual(parentType("kubernetes:core/v1:Namespace", "united-states"), "thanos-global-view:monitoring:Region");
        assert.strictEqual(parentType("kubernetes:helm.sh/v3:Release", "global"), "thanos-global-view:monitoring:GlobalQuery");
    });

    it("exports what a user needs next", () => {
        assert.strictEqual(run.exports.clusterName, "thanos-dev");
        assert.strictEqual(run.exports.queryFrontendUrl, "http://thanos-query-frontend-http.monitoring.svc.cluster.local:10902");
        assert.strictEqual(
            run.exports.portForwardCommand,
            "kubectl --context kind-thanos-dev --namespace monitoring port-forward service/thanos-query-frontend-http 10902:10902",
        );
    });
});

describe("kind cluster config", () => {
    it("lists one node per control plane and worker, all on the chosen image", () => {
        assert.strictEqual(
            kindConfigYaml({ type: "kind", name: "x", nodeImage: "kindest/node:v1.30.0", controlPlaneNodes: 3, workerNodes: 0 }),
            "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n" + "  - role: control-plane\n    image: kindest/node:v1.30.0\n".repeat(3),
        );
    });
});

describe("the program on an existing cluster", () => {
    it("prod: reaches the cluster through the named context, and creates no kind cluster", async () => {
        const run = await runStack("prod");
        assert.deepStrictEqual(run.ofType(kindCommand), []);
        const provider = run.one(k8sProvider, "prod-provider");
        assert.deepStrictEqual(provider.inputs, { context: "prod-admin" });
        for (const resource of kubernetesResources(run)) {
            assert.strictEqual(resource.provider, `${provider.urn}::prod-provider-id`, `${resource.type} ${resource.name}`);
        }
        assert.strictEqual(
            run.exports.portForwardCommand,
            "kubectl --context prod-admin --namespace monitoring port-forward service/thanos-query-frontend-http 10902:10902",
        );
    });

    it("a kubeconfig file: the provider and kubectl use that file", async () => {
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "kubeconfig-")), "config");
        fs.writeFileSync(file, fakeKubeconfig);
        const run = await runStack("prod", (config) => (config[key("clusters")] = [{ name: "prod", type: "existing", kubeconfigPath: file }]));
        assert.deepStrictEqual(run.one(k8sProvider, "prod-provider").inputs, { kubeconfig: file });
        assert.strictEqual(run.exports.kubeconfig, fakeKubeconfig);
        assert.strictEqual(await run.isSecretExport("kubeconfig"), true);
        assert.match(run.exports.portForwardCommand as string, new RegExp(`^kubectl --kubeconfig ${file} --namespace monitoring `));
    });

    it("a kubeconfig in a secret setting: the provider gets it as a secret", async () => {
        const config = { ...stackFileConfig("prod"), ...exampleSecrets.prod, [key("prodKubeconfig")]: fakeKubeconfig };
        config[key("clusters")] = [{ name: "prod", type: "existing", kubeconfigSecret: "prodKubeconfig", context: "admin" }];
        const run = await runProgram(config, [key("prodKubeconfig"), ...Object.keys(exampleSecrets.prod)]);
        const provider = run.one(k8sProvider, "prod-provider");
        assert.deepStrictEqual(provider.inputs, { kubeconfig: fakeKubeconfig, context: "admin" });
        assert.deepStrictEqual(provider.secretInputs, ["kubeconfig"]);
    });
});

describe("bad config", () => {
    it("fails before any resource is created, with every problem and no stack trace", async () => {
        const error = await runStack("dev", (config) => {
            config[key("regions")][1].replicas = 0;
            config[key("versions")] = { thanos: "v0.35.0" };
        }).then(
            () => undefined,
            (failure: unknown) => failure,
        );
        assert.ok(pulumi.RunError.isInstance(error), `expected a RunError (printed without a stack trace), got ${error}`);
        assert.strictEqual(
            error.message,
            [
                "Invalid stack configuration (2 problems):",
                "  - thanos-global-view:regions[1].replicas: got 0; expected a whole number ≥ 1",
                '  - thanos-global-view:versions.thanos: got "v0.35.0"; Thanos older than v0.37.0 cannot read the external labels of Prometheus 3; supported: v0.37.0 to v0.42.4',
            ].join("\n"),
        );
    });

    it("registers nothing at all", async () => {
        const { registered } = await runStack("dev", (config) => (config[key("regions")] = [])).then(
            () => ({ registered: ["<the program ran>"] }),
            () => ({ registered: registeredSoFar() }),
        );
        assert.deepStrictEqual(registered, []);
    });
});

describe("day 2 of the program", () => {
    const release = "kubernetes:helm.sh/v3:Release";
    let run: ProgramRun;
    before(async () => {
        run = await runStack("dev");
    });

    it("every Helm release with cluster-scoped objects is deleted before its replacement: a new name or namespace replaces it, and those objects keep their names", () => {
        const releases = run.ofType(release);
        assert.deepStrictEqual(releases.map((r) => [r.name, r.deleteBeforeReplace]).sort(), [
            ["europe", true],
            ["global", true],
            // Grafana has none (rbac.create false): its replacement may come up first.
            ["grafana", false],
            ["thanos-dev-operator-crds", true],
            ["united-states", true],
        ]);
    });

    it("a new namespace for a region gives a release of the same name in that namespace: the replacement that needs the old one gone", async () => {
        const moved = await runStack("dev", (config) => (config[key("regions")][0].namespace = "europe-west"));
        const [before, after] = [run.one(release, "europe").inputs, moved.one(release, "europe").inputs];
        assert.deepStrictEqual([before.name, before.namespace, after.name, after.namespace], ["kps-europe", "europe", "kps-europe", "europe-west"]);
        assert.strictEqual(after.values.fullnameOverride, before.values.fullnameOverride, "cluster-scoped names stay: the old release must go first");
        assert.strictEqual(moved.one(release, "europe").deleteBeforeReplace, true);
    });

    it("the operator CRDs: one release per cluster, from the chart that matches kube-prometheus-stack, and no CRDs from any region", () => {
        const crds = run.one(release, "thanos-dev-operator-crds");
        assert.deepStrictEqual(
            {
                name: crds.inputs.name,
                namespace: crds.inputs.namespace,
                chart: crds.inputs.chart,
                version: crds.inputs.version,
                repositoryOpts: crds.inputs.repositoryOpts,
            },
            {
                name: "prometheus-operator-crds",
                namespace: "kube-system",
                chart: "prometheus-operator-crds",
                version: "31.0.1",
                repositoryOpts: { repo: "https://prometheus-community.github.io/helm-charts" },
            },
        );
        assert.strictEqual(run.components("thanos-global-view:cluster:OperatorCrds").length, 1);
        for (const name of ["europe", "united-states"]) {
            assert.deepStrictEqual(run.one(release, name).inputs.values.crds, { enabled: false });
        }
    });

    it("the critical path is three slow steps: cluster with its CRDs → every region and the global query in parallel → verification", () => {
        const slow = run.resources.filter((r) => r.type === release || r.type === "kubernetes:batch/v1:Job" || r.type === "command:local:Command");
        const byUrn = new Map(run.resources.map((r) => [r.urn, r]));
        // The slow resources a resource waits for, through any chain of quick ones (providers, namespaces).
        const waitsFor = (urn: string, seen = new Set<string>()): Set<string> => {
            const found = new Set<string>();
            const resource = byUrn.get(urn)!;
            const links = [...resource.dependencies, resource.provider.split("::").slice(0, -1).join("::")].filter((link) => byUrn.has(link));
            for (const link of links) {
                if (seen.has(link)) continue;
                seen.add(link);
                if (slow.some((s) => s.urn === link)) found.add(link);
                waitsFor(link, seen).forEach((u) => found.add(u));
            }
            return found;
        };
        const stage = new Map<string, number>();
        const stageOf = (urn: string): number => {
            if (!stage.has(urn)) {
                const before = [...waitsFor(urn)];
                // The cluster and its CRDs are one step: the CRDs are part of the cluster.
                const own = byUrn.get(urn)!.name.endsWith("-operator-crds") || byUrn.get(urn)!.type === "command:local:Command" ? 0 : 1;
                stage.set(urn, Math.max(1, ...before.map((u) => stageOf(u) + own)));
            }
            return stage.get(urn)!;
        };
        assert.deepStrictEqual(Object.fromEntries(slow.map((r) => [r.name, stageOf(r.urn)])), {
            "thanos-dev-kind": 1,
            "thanos-dev-operator-crds": 1,
            europe: 2,
            "united-states": 2,
            global: 2,
            grafana: 2,
            "global-view": 3,
        });
    });

    it("kube-prometheus-stack versions whose CRDs chart is not known here are refused before anything is created", async () => {
        const error = await runStack("dev", (config) => (config[key("versions")] = { kubePrometheusStack: "88.6.0" })).then(
            () => undefined,
            (failure: Error) => failure,
        );
        assert.strictEqual(
            error?.message,
            [
                "Invalid stack configuration (1 problem):",
                '  - thanos-global-view:versions.kubePrometheusStack: got "88.6.0"; the values and the matching prometheus-operator-crds chart are checked for kube-prometheus-stack 88.5.3 only; use one of those',
            ].join("\n"),
        );
    });
});
