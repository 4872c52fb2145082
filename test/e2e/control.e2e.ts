// `npm run e2e -- control`: the program run by the real Pulumi CLI, its
// Node.js language host and providers (Helm is the one embedded in
// pulumi-kubernetes) against a real Kubernetes API server, through the
// commands a user types: `npm run preview | up | destroy`.
//
// What stands in (pulumiSession.ts, kindStandIn.js): `kind` and Docker's view
// of kind's nodes. Each "kind cluster" is a real etcd, kube-apiserver,
// kube-controller-manager and kube-scheduler, with kwok as every node's
// kubelet: pods are scheduled, admitted (Pod Security admission included),
// marked Running and Ready, and a Job's pods Succeeded, and volume claims of
// kind's default StorageClass are provisioned (localPathProvisioner.js), but
// no container runs. What the containers do is the data tier's (npm run e2e
// -- data), except the operator's: where a scenario checks what it makes, the
// real prometheus-operator runs on the host in place of its Deployment
// (realOperator.ts).
//
// The stack files are the shipped ones plus the chart mirror settings only
// (charts packaged at the pinned versions in E2E_BIN/charts: this machine,
// like an air-gapped one, reaches no chart repository). The prod example's
// context `prod-admin` names a stand-in cluster of its own: the one address
// this tier maps.
import * as assert from "assert";
import * as path from "path";
import { kubeletServiceName } from "../../components/region";
import { StackConfig } from "../../lib/config/schema";
import { kindContext } from "../../lib/kubernetes/clusterAccess";
import { managedReleases } from "../../lib/kubernetes/releases";
import { readStackConfig, readStackFileConfig } from "../../lib/config/stackFile";
import { verificationJobName } from "../../lib/verification/checks";
import { exampleSecrets, key, runProgram } from "../harness";
import { Deployment, deploymentOf } from "./deployment";
import { GaveUp, Lab, eventually } from "./lab";
import { externalLabels, prometheusFlags, prometheusStorageConfig, sidecarArgs } from "./operator";
import { copyProject, writeStackFile } from "./projectCopy";
import { PulumiSession, programWarnings, releaseStatus, succeeded, withChartMirror } from "./pulumiSession";
import { operatorOutput, startRegionOperator } from "./realOperator";
import { chartPackages, controlTierTools, openssl, prometheusOperator, toolsOrSkip } from "./tools";

const stacks = ["dev", "prod", "fleet"] as const;
/** The prod example's bucket key is a secret setting its user sets (Pulumi.prod.yaml), and prod's file-backend secrets need a passphrase. */
const prodEnv = { PULUMI_CONFIG_PASSPHRASE: "e2e-control-prod" };
const envOf = (stack: string) => (stack === "prod" ? prodEnv : {});

/** `type name` of a URN: urn:pulumi:<stack>::<project>::<parent types $ type>::<name>. */
function typeAndName(urn: string): string {
    const [, , qualifiedType, ...name] = urn.split("::");
    return `${qualifiedType.split("$").pop()} ${name.join("::")}`;
}

describe("control plane: the program under the real Pulumi CLI and providers, against a real Kubernetes API server", function () {
    let lab: Lab;
    let session: PulumiSession;
    let chartsDirectory: string;
    let tools: Record<string, string>;

    before(async function () {
        this.timeout(120_000);
        tools = toolsOrSkip(this, "control", [...controlTierTools, prometheusOperator]);
        chartsDirectory = path.dirname(tools[chartPackages[0].name]);
        lab = new Lab("control");
        const project = copyProject(lab.folder("project"), "dev", "dev", withChartMirror(chartsDirectory));
        for (const stack of stacks.filter((each) => each !== "dev")) {
            writeStackFile(project, stack, stack, withChartMirror(chartsDirectory));
        }
        session = new PulumiSession(lab, project, process.env.E2E_BIN!);
        // prod deploys into an existing cluster, named by a context of the user's kubeconfig.
        const prodCluster = session.tool("kind", ["create", "cluster", "--name", "prod-example", "--config", "-", "--wait", "2m"], threeWorkers);
        assert.strictEqual(prodCluster.code, 0, prodCluster.stderr);
        renameContext(session, "kind-prod-example", "prod-admin");
        // kind's nodes report this machine's CPUs and memory; an existing production cluster has nodes the size the prod
        // example's requests assume (1 CPU and 4Gi for each of its four Prometheus servers, besides the global tier).
        resizeNodes(session, "prod-admin", { cpu: "8", memory: "32Gi", pods: "110" });
        await setExampleSecrets(session, "prod");
    });

    after(async () => {
        await lab?.close();
    });

    it("previews dev, prod and fleet: no warning the program could avoid, and the resources the mock run registers", async function () {
        this.timeout(600_000);
        for (const stack of stacks) {
            const preview = await session.npm("preview", ["--stack", stack, "--json"], envOf(stack));
            succeeded(preview, `npm run preview -- --stack ${stack}`);
            const plan = JSON.parse(preview.stdout) as { steps: { op: string; urn: string }[]; diagnostics?: { severity: string; message: string }[] };
            assert.deepStrictEqual(programWarnings(preview.stderr, plan.diagnostics), [], stack);

            const mock = await runProgram(
                { ...readStackFileConfig(session.projectDirectory, stack), ...exampleSecrets[stack] },
                Object.keys(exampleSecrets[stack] ?? {}),
            );
            const planned = plan.steps
                .map((step) => typeAndName(step.urn))
                .filter((each) => !/^pulumi:pulumi:Stack |^pulumi:providers:\w+ default/.test(each))
                .sort();
            const registered = mock.resources.map((resource) => `${resource.type} ${resource.name}`).sort();
            assert.deepStrictEqual(planned, registered, stack);
            assert.ok(
                plan.steps.every((step) => step.op === "create" || step.op === "same"),
                stack,
            );
        }
    });

    it("stops a preview and an up of a bad stack file before the engine runs, with the program's own message", async function () {
        this.timeout(120_000);
        writeStackFile(session.projectDirectory, "broken", "dev", (config) => {
            withChartMirror(chartsDirectory)(config);
            config[key("regions")][0].replicas = 0;
            config[key("globalQuery")].namespace = "Monitoring";
        });
        const expected = (() => {
            try {
                readStackConfig(session.projectDirectory, "broken");
            } catch (error) {
                return (error as Error).message;
            }
            assert.fail("the program accepts the broken stack file");
        })();
        assert.match(expected, /regions\[0\]\.replicas/);
        for (const action of ["preview", "up"] as const) {
            const refused = await session.npm(action, ["--stack", "broken", "--yes"]);
            assert.strictEqual(refused.code, 1, action);
            assert.strictEqual(refused.stderr.trim(), expected.trim(), action);
            assert.ok(!/at .*\.ts:\d+/.test(refused.stderr), `${action}: a stack trace`);
        }
        // The engine never ran: no stack was even created.
        const listed = JSON.parse((await session.pulumi(["stack", "ls", "--json"])).stdout) as { name: string }[];
        assert.ok(!listed.some((stack) => stack.name === "broken"), JSON.stringify(listed));
    });

    describe("dev, the tutorial's stack, from nothing and back", () => {
        const context = "kind-thanos-dev";

        it("npm run up creates the kind cluster, deploys every Helm release with the real provider, runs the verification Job to completion and exports the outputs", async function () {
            this.timeout(900_000);
            const up = await session.npm("up", ["--yes", "--skip-preview"]);
            succeeded(up, "npm run up");
            assert.deepStrictEqual(programWarnings(up.stdout + up.stderr), []);
            assert.deepStrictEqual(session.runningClusters(), ["prod-example", "thanos-dev"]);

            const config = readStackConfig(session.projectDirectory, "dev");
            assertEveryReleaseDeployed(session, config);
            const job = session.kubectlJson(context, ["--namespace", config.globalQuery.namespace, "get", "job", verificationJobName]);
            assert.strictEqual(job.status.succeeded, 1);
            assert.ok(
                job.status.conditions.some((condition: { type: string; status: string }) => condition.type === "Complete" && condition.status === "True"),
            );

            // The outputs, as the mock run of the same stack file computes them; secrets stay secret.
            const outputs = JSON.parse((await session.pulumi(["stack", "output", "--json", "--stack", "dev"])).stdout) as Record<string, unknown>;
            const mock = await runProgram(readStackFileConfig(session.projectDirectory, "dev"));
            assert.deepStrictEqual(Object.keys(outputs).sort(), Object.keys(mock.exports).sort());
            for (const name of Object.keys(mock.exports)) {
                assert.deepStrictEqual(outputs[name], (await mock.isSecretExport(name)) ? "[secret]" : mock.exports[name], name);
            }
        });

        it("the real prometheus-operator, run as each region's operator Deployment, makes the Prometheus StatefulSets and configs the data tier runs", async function () {
            this.timeout(300_000);
            await assertOperatorMakesWhatTheDataTierRuns(lab, session, "dev", tools);
        });

        it("a second npm run up changes nothing", async function () {
            this.timeout(600_000);
            succeeded(await session.npm("up", ["--yes", "--skip-preview", "--expect-no-changes"]), "npm run up --expect-no-changes");
            const preview = await session.npm("preview", ["--json"]);
            succeeded(preview, "npm run preview");
            const changed = (JSON.parse(preview.stdout) as { steps: { op: string; urn: string }[] }).steps.filter((step) => step.op !== "same");
            assert.deepStrictEqual(
                changed.map((step) => `${step.op} ${typeAndName(step.urn)}`),
                [],
            );
        });

        it("a region moved to another namespace is replaced in one npm run up, and the next changes nothing", async function () {
            this.timeout(900_000);
            writeStackFile(session.projectDirectory, "dev", "dev", (config) => {
                withChartMirror(chartsDirectory)(config);
                config[key("regions")][1].namespace = "americas";
            });
            const up = await session.npm("up", ["--yes", "--skip-preview"]);
            succeeded(up, "npm run up after moving united-states");
            assert.match(up.stdout, /replaced/);
            succeeded(await session.npm("up", ["--yes", "--skip-preview", "--expect-no-changes"]), "npm run up --expect-no-changes");

            assert.strictEqual(releaseStatus(session, context, "americas", "kps-united-states"), "deployed");
            const namespaces = session
                .kubectlJson<{ items: { metadata: { name: string } }[] }>(context, ["get", "namespaces"])
                .items.map((each) => each.metadata.name);
            assert.ok(namespaces.includes("americas") && !namespaces.includes("united-states"), namespaces.join(", "));
        });

        it("a third worker node replaces the kind cluster and everything in it in one npm run up, and the next changes nothing", async function () {
            this.timeout(900_000);
            writeStackFile(session.projectDirectory, "dev", "dev", (config) => {
                withChartMirror(chartsDirectory)(config);
                config[key("regions")][1].namespace = "americas";
                config[key("clusters")][0].workerNodes = 3;
            });
            succeeded(await session.npm("up", ["--yes", "--skip-preview"]), "npm run up after adding a worker");
            succeeded(await session.npm("up", ["--yes", "--skip-preview", "--expect-no-changes"]), "npm run up --expect-no-changes");
            assert.strictEqual(session.kubectlJson<{ items: unknown[] }>(context, ["get", "nodes"]).items.length, 4);
            const config = readStackConfig(session.projectDirectory, "dev");
            assertEveryReleaseDeployed(session, config);
        });

        it("npm run destroy removes the cluster and leaves an empty stack", async function () {
            this.timeout(600_000);
            succeeded(await session.npm("destroy", ["--yes"]), "npm run destroy");
            assert.deepStrictEqual(session.runningClusters(), ["prod-example"]);
            assert.deepStrictEqual(await session.stackResources("dev"), []);
        });
    });

    describe("fleet, two kind clusters behind mutual TLS, from nothing and back", () => {
        it("npm run up deploys both clusters and runs the verification Job; the real operator gives europe's sidecars their gRPC server TLS; a second up changes nothing", async function () {
            this.timeout(900_000);
            const up = await session.npm("up", ["--stack", "fleet", "--yes", "--skip-preview"]);
            succeeded(up, "npm run up -- --stack fleet");
            assert.deepStrictEqual(programWarnings(up.stdout + up.stderr), []);
            assert.deepStrictEqual(session.runningClusters(), ["fleet-europe", "fleet-hub", "prod-example"]);
            const config = readStackConfig(session.projectDirectory, "fleet");
            assertEveryReleaseDeployed(session, config);
            const job = session.kubectlJson(contextOf(config, config.globalQuery.cluster), [
                "--namespace",
                config.globalQuery.namespace,
                "get",
                "job",
                verificationJobName,
            ]);
            assert.strictEqual(job.status.succeeded, 1);

            const deployment = await assertOperatorMakesWhatTheDataTierRuns(lab, session, "fleet", tools);
            const europe = deployment.regions.find((region) => region.name === "europe")!;
            assert.ok(
                sidecarArgs(europe.spec).some((arg) => arg.startsWith("--grpc-server-tls-cert=")),
                "europe's sidecars serve gRPC behind TLS",
            );

            succeeded(
                await session.npm("up", ["--stack", "fleet", "--yes", "--skip-preview", "--expect-no-changes"]),
                "npm run up -- --stack fleet --expect-no-changes",
            );
        });

        it("npm run destroy removes both clusters and leaves an empty stack", async function () {
            this.timeout(600_000);
            succeeded(await session.npm("destroy", ["--stack", "fleet", "--yes"]), "npm run destroy -- --stack fleet");
            assert.deepStrictEqual(session.runningClusters(), ["prod-example"]);
            assert.deepStrictEqual(await session.stackResources("fleet"), []);
        });
    });

    describe("prod, into an existing cluster", () => {
        const context = "prod-admin";

        it("npm run up deploys, and npm run destroy leaves the API server as it found it", async function () {
            this.timeout(900_000);
            const before = apiServerInventory(session, context);
            const up = await session.npm("up", ["--stack", "prod", "--yes", "--skip-preview"], prodEnv);
            succeeded(up, "npm run up -- --stack prod");
            assert.deepStrictEqual(programWarnings(up.stdout + up.stderr), []);
            const config = readStackConfig(session.projectDirectory, "prod");
            assertEveryReleaseDeployed(session, config);
            assert.notDeepStrictEqual(apiServerInventory(session, context), before);
            // With long-term storage in s3: the sidecars' objstore flags and the operator's compaction mode for uploads.
            await assertOperatorMakesWhatTheDataTierRuns(lab, session, "prod", tools);

            succeeded(await session.npm("destroy", ["--stack", "prod", "--yes"], prodEnv), "npm run destroy -- --stack prod");
            // The Prometheus volumes go after destroy, as in a real cluster: the provisioner deletes each once its claim is gone.
            await eventually("the API server as it was before up", () => {
                const after = apiServerInventory(session, context);
                return Promise.resolve(after.join("\n") === before.join("\n") ? after : undefined);
            }).catch(() => assert.deepStrictEqual(apiServerInventory(session, context), before));
            assert.deepStrictEqual(await session.stackResources("prod", prodEnv), []);
        });
    });
});

/**
 * What a stack could leave behind in a cluster: its namespaces, every
 * cluster-scoped object (CRDs, ClusterRoles and their bindings, webhooks, …)
 * and Helm's release records wherever they are. The cluster's own moving
 * parts (nodes' leases, events, the API server's own records) are not the
 * stack's.
 */
function apiServerInventory(session: PulumiSession, context: string): string[] {
    const ownedByTheCluster = new Set([
        "nodes",
        "events",
        "events.events.k8s.io",
        "componentstatuses",
        "certificatesigningrequests.certificates.k8s.io",
        "tokenreviews.authentication.k8s.io",
        "selfsubjectreviews.authentication.k8s.io",
        "selfsubjectaccessreviews.authorization.k8s.io",
        "selfsubjectrulesreviews.authorization.k8s.io",
        "subjectaccessreviews.authorization.k8s.io",
        "localsubjectaccessreviews.authorization.k8s.io",
    ]);
    const kinds = session
        .tool("kubectl", ["--context", context, "api-resources", "--namespaced=false", "--verbs=list", "-o", "name"])
        .stdout.split("\n")
        .filter((kind) => kind !== "" && !ownedByTheCluster.has(kind));
    const clusterScoped = kinds.flatMap((kind) =>
        session.kubectlJson<{ items: { metadata: { name: string } }[] }>(context, ["get", kind]).items.map((item) => `${kind}/${item.metadata.name}`),
    );
    const helmRecords = session
        .kubectlJson<{ items: { metadata: { namespace: string; name: string } }[] }>(context, ["get", "secrets", "--all-namespaces", "-l", "owner=helm"])
        .items.map((item) => `helm record ${item.metadata.namespace}/${item.metadata.name}`);
    return [...clusterScoped, ...helmRecords].sort();
}

/**
 * Runs the real prometheus-operator for each region of the stack, as its
 * Deployment would (realOperator.ts), and checks that what it makes of the
 * region's Prometheus is what the data tier runs (operator.ts, from the same
 * values): the StatefulSet's replicas, the sidecar's arguments, Prometheus'
 * TSDB flags, the external labels and storage section of its config; that kwok
 * runs its pods under the names the data tier gives its replicas; and that one
 * kubelet Service appears in each cluster's kube-system (what destroy leaves
 * there, README "Tear down"). The operators are stopped at the end, as `destroy` would stop
 * their pods. Returns what it compared against, the mock run's deployment.
 */
async function assertOperatorMakesWhatTheDataTierRuns(lab: Lab, session: PulumiSession, stack: string, tools: Record<string, string>): Promise<Deployment> {
    const config = readStackConfig(session.projectDirectory, stack);
    const deployment = await deploymentOf(session.projectDirectory, stack);
    const contextOfRegion = (name: string) => contextOf(config, config.regions.find((region) => region.name === name)!.cluster);
    const operators: string[] = [];
    try {
        for (const region of deployment.regions) {
            operators.push(
                await startRegionOperator(lab, session, contextOfRegion(region.name), region.namespace, tools[prometheusOperator.name], tools[openssl.name]),
            );
        }
        for (const region of deployment.regions) {
            const context = contextOfRegion(region.name);
            const made = await eventually(
                `the operator's StatefulSet and config for ${region.namespace}/${region.prometheusName}`,
                () => {
                    const exited = operators.find((name) => !lab.running(name));
                    if (exited !== undefined) {
                        throw new GaveUp(`${exited} exited:\n${lab.tail(exited)}`);
                    }
                    return Promise.resolve(operatorOutput(session, context, region.namespace, region.prometheusName));
                },
                120,
            );
            const where = `${stack} ${region.name}`;
            assert.strictEqual(made.replicas, region.replicas, where);
            assert.deepStrictEqual(made.containers["thanos-sidecar"], sidecarArgs(region.spec), where);
            assert.deepStrictEqual(
                made.containers.prometheus.filter((arg) => /^--(no-)?storage\.tsdb\./.test(arg)).sort(),
                prometheusFlags(region.spec).sort(),
                where,
            );
            assert.deepStrictEqual(made.externalLabels, externalLabels(region.spec, region.namespace, region.prometheusName, "$(POD_NAME)"), where);
            assert.deepStrictEqual(made.storage, prometheusStorageConfig(region.spec), where);
            await eventually(`${where}: the Prometheus pods Running`, () => {
                const running = session
                    .kubectlJson<{ items: { metadata: { name: string }; status: { phase: string } }[] }>(context, [
                        "--namespace",
                        region.namespace,
                        "get",
                        "pods",
                        "-l",
                        `operator.prometheus.io/name=${region.prometheusName}`,
                    ])
                    .items.filter((pod) => pod.status.phase === "Running")
                    .map((pod) => pod.metadata.name)
                    .sort();
                return Promise.resolve(running.join(" ") === region.podNames.join(" ") ? running : undefined);
            });
        }
        for (const context of new Set(config.regions.map((region) => contextOf(config, region.cluster)))) {
            const kubeletServices = await eventually(`the kubelet Service in ${context}'s kube-system`, () => {
                const services = session
                    .kubectlJson<{ items: { metadata: { name: string } }[] }>(context, ["--namespace", "kube-system", "get", "services"])
                    .items.map((service) => service.metadata.name)
                    .filter((name) => name.endsWith("kubelet"));
                return Promise.resolve(services.length > 0 ? services : undefined);
            });
            assert.deepStrictEqual(kubeletServices, [kubeletServiceName], `${stack} ${context}`);
        }
        return deployment;
    } finally {
        for (const name of operators) {
            await lab.stop(name);
        }
    }
}

/** Helm's record of every release the stack installs, in its cluster, says `deployed`. */
function assertEveryReleaseDeployed(session: PulumiSession, config: StackConfig): void {
    for (const release of managedReleases(config)) {
        const context = contextOf(config, release.cluster);
        assert.strictEqual(releaseStatus(session, context, release.namespace, release.name), "deployed", `${context} ${release.namespace}/${release.name}`);
    }
}

/** The kubeconfig context of a cluster of the stack: kind's `kind-<name>`, or the one an existing cluster names. */
function contextOf(config: StackConfig, cluster: string): string {
    const declared = config.clusters.find((each) => each.name === cluster)!;
    const context = declared.type === "kind" ? kindContext(declared.name) : declared.context;
    assert.ok(context !== undefined, `cluster ${cluster} names no context`);
    return context;
}

/** The prod example's cluster: room for its HA pairs, each replica on a node of its own. */
const threeWorkers = [
    "kind: Cluster",
    "apiVersion: kind.x-k8s.io/v1alpha4",
    "nodes:",
    "  - role: control-plane",
    "  - role: worker",
    "  - role: worker",
    "  - role: worker",
    "",
].join("\n");

/** Sets every node's capacity and allocatable (kwok's node stages keep what a node's status says). */
function resizeNodes(session: PulumiSession, context: string, capacity: Record<string, string>): void {
    const nodes = session.kubectlJson<{ items: { metadata: { name: string } }[] }>(context, ["get", "nodes"]).items;
    for (const node of nodes) {
        const patched = session.tool("kubectl", [
            "--context",
            context,
            "patch",
            "node",
            node.metadata.name,
            "--subresource=status",
            "--type=merge",
            "--patch",
            JSON.stringify({ status: { capacity, allocatable: capacity } }),
        ]);
        assert.strictEqual(patched.code, 0, patched.stderr);
    }
}

function renameContext(session: PulumiSession, from: string, to: string): void {
    const renamed = session.tool("kubectl", ["config", "rename-context", from, to]);
    assert.strictEqual(renamed.code, 0, renamed.stderr);
}

/** What the example stack file tells its user to do: `pulumi config set --secret …`. */
async function setExampleSecrets(session: PulumiSession, stack: string): Promise<void> {
    succeeded(await session.pulumi(["stack", "init", stack], envOf(stack)), `pulumi stack init ${stack}`);
    for (const [name, value] of Object.entries(exampleSecrets[stack] ?? {})) {
        succeeded(await session.pulumi(["config", "set", "--secret", "--stack", stack, name, value], envOf(stack)), `pulumi config set --secret ${name}`);
    }
}
