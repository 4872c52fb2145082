// Properties of each shipped stack as a whole, from one mock run of each.
//
// How long a first `pulumi up` takes is mostly how many slow steps run one
// after the other: creating a kind cluster, a Helm release the provider
// waits for, a workload it waits to become ready, a Job it waits to finish.
// This counts them along the program's dependencies, as the engine would
// schedule them (a resource waits for every resource its inputs or
// dependsOn name), from the mock run of the real program.
import * as assert from "assert";
import { ProgramRun, RecordedResource, runStack } from "./harness";
import { parseQuantity } from "../lib/kubernetes/quantity";
import { storeGatewayArgs } from "../components/storeGateway";

/**
 * Whether its dependents wait minutes for it: the command provider for a kind
 * cluster, pulumi-kubernetes for a release's pods, a workload's readiness, a
 * Job's completion. The operator CRDs' release holds no pods: the API server
 * takes its CustomResourceDefinitions at once.
 */
function isSlow(resource: RecordedResource): boolean {
    const skipsAwait = resource.inputs.metadata?.annotations?.["pulumi.com/skipAwait"] === "true";
    return (
        resource.type === "command:local:Command" ||
        (resource.type === "kubernetes:helm.sh/v3:Release" && resource.inputs.chart !== "prometheus-operator-crds") ||
        resource.type === "kubernetes:batch/v1:Job" ||
        (/^kubernetes:apps\/v1:(Deployment|StatefulSet)$/.test(resource.type) && !skipsAwait)
    );
}

/** The most slow steps on any chain of dependencies, and one such chain. */
function slowestChain(run: ProgramRun): string[] {
    const byUrn = new Map(run.resources.map((resource) => [resource.urn, resource]));
    const memo = new Map<string, string[]>();
    const chain = (resource: RecordedResource): string[] => {
        const known = memo.get(resource.urn);
        if (known !== undefined) {
            return known;
        }
        // A resource also waits for its provider, and a kind cluster's provider for the cluster's kubeconfig.
        const provider = resource.provider === "" ? [] : [resource.provider.split("::").slice(0, -1).join("::")];
        const longest = [...resource.dependencies, ...provider]
            .map((urn) => byUrn.get(urn))
            .filter((each): each is RecordedResource => each !== undefined)
            .map(chain)
            .reduce((a, b) => (b.length > a.length ? b : a), [] as string[]);
        const result = isSlow(resource) ? [...longest, `${resource.type.split(":").pop()} ${resource.name}`] : longest;
        memo.set(resource.urn, result);
        return result;
    };
    return run.resources.map(chain).reduce((a, b) => (b.length > a.length ? b : a), []);
}

const stacks = ["dev", "prod", "fleet"];

describe("each shipped stack as a whole, from one mock run of it", () => {
    const runs = new Map<string, ProgramRun>();
    before(async function () {
        // Three program runs in one hook: more than one test's default time on a loaded machine.
        this.timeout(60_000);
        for (const stack of stacks) {
            runs.set(stack, await runStack(stack));
        }
    });

    describe("deploy waves: slow steps one after the other on a first pulumi up", () => {
        for (const stack of stacks) {
            it(`${stack}: three at most`, () => {
                const chain = slowestChain(runs.get(stack)!);
                assert.ok(chain.length <= 3, chain.join(" → "));
            });
        }

        it("fleet: the Store Gateway and the compactor start once the store runs, and the verification Job, not pulumi up, waits for them", async () => {
            const run = runs.get("fleet")!;
            for (const [type, name] of [
                ["kubernetes:apps/v1:Deployment", "store-gateway"],
                ["kubernetes:apps/v1:StatefulSet", "compactor"],
            ]) {
                const workload = run.one(type, name);
                assert.strictEqual(workload.inputs.metadata.annotations["pulumi.com/skipAwait"], "true", name);
                assert.ok(workload.dependencies.includes(run.one("kubernetes:apps/v1:StatefulSet", "object-store").urn), name);
                assert.ok(run.one("kubernetes:batch/v1:Job", "global-view").dependencies.includes(workload.urn), name);
            }
            // Without the Job, pulumi up itself waits for them.
            const unverified = await runStack("fleet", (config) => (config["thanos-global-view:verification"] = { enabled: false }));
            assert.deepStrictEqual(unverified.one("kubernetes:apps/v1:Deployment", "store-gateway").inputs.metadata.annotations ?? {}, {});
        });
    });

    describe("kind clusters", () => {
        for (const stack of ["dev", "fleet"]) {
            it(`${stack}: every object in a kind cluster is deleted with it, and nothing else is`, () => {
                const run = runs.get(stack)!;
                const kindCommands = new Map(
                    run
                        .ofType("pulumi:providers:kubernetes")
                        .map((provider) => [provider.urn, provider.dependencies.find((urn) => urn.includes("command:local:Command"))]),
                );
                const wrong = run.resources
                    .filter((resource) => {
                        const expected = resource.custom ? (kindCommands.get(resource.provider.split("::").slice(0, -1).join("::")) ?? "") : "";
                        return resource.deletedWith !== expected;
                    })
                    .map((resource) => `${resource.type} ${resource.name}: ${resource.deletedWith || "none"}`);
                assert.deepStrictEqual(wrong, []);
                assert.ok(run.resources.filter((resource) => resource.deletedWith !== "").length > 10, "no object found in a kind cluster");
            });
        }
    });

    describe("outputs", () => {
        // The engine warns "Undefined value (<name>) will not show as a stack output" on every run for each one.
        for (const stack of stacks) {
            it(`${stack}: no output is exported as undefined; a feature left off leaves its outputs out`, () => {
                const exports = runs.get(stack)!.exports;
                assert.deepStrictEqual(
                    Object.keys(exports).filter((name) => exports[name] === undefined),
                    [],
                );
                assert.strictEqual("longTermStorage" in exports, stack !== "dev", Object.keys(exports).join(", "));
            });
        }
    });

    describe("sizes: every Go process of ours keeps its heap under its memory limit", () => {
        const mebibytes = (quantity: string) => parseQuantity(quantity) / 1024 ** 2;
        /** GOMEMLIMIT as Go reads it here: whole MiB. */
        const fourFifths = (limit: string) => `${Math.floor(mebibytes(limit) * 0.8)}MiB`;
        const envOf = (env: any): Record<string, string> =>
            Object.fromEntries(
                (Array.isArray(env) ? env : Object.entries(env ?? {}).map(([name, value]) => ({ name, value }))).map((entry: any) => [entry.name, entry.value]),
            );

        for (const stack of stacks) {
            it(`${stack}: every Thanos container and the object store get GOMEMLIMIT at four fifths of their memory limit`, () => {
                const run = runs.get(stack)!;
                const found: Record<string, [string | undefined, string]> = {};
                for (const resource of run.resources.filter((each) => each.custom && each.inputs.spec?.template?.spec?.containers)) {
                    for (const container of resource.inputs.spec.template.spec.containers) {
                        if (/thanos|seaweedfs/.test(container.image) && (container.args?.[0] !== undefined || container.command?.[0] === "/usr/bin/weed")) {
                            found[`${resource.name}/${container.name}`] = [envOf(container.env).GOMEMLIMIT, fourFifths(container.resources.limits.memory)];
                        }
                    }
                }
                for (const release of run.ofType("kubernetes:helm.sh/v3:Release")) {
                    const values = release.inputs.values ?? {};
                    const sidecar = values.prometheus?.prometheusSpec;
                    if (sidecar?.thanos !== undefined) {
                        const merged = sidecar.containers.find((container: any) => container.name === "thanos-sidecar");
                        found[`${release.name}/thanos-sidecar`] = [envOf(merged?.env).GOMEMLIMIT, fourFifths(sidecar.thanos.resources.limits.memory)];
                    }
                    for (const component of ["query", "queryFrontend"]) {
                        if (values[component]?.enabled) {
                            found[`${release.name}/${component}`] = [
                                envOf(values[component].extraEnv).GOMEMLIMIT,
                                fourFifths(values[component].resources.limits.memory),
                            ];
                        }
                    }
                }
                const wrong = Object.entries(found).filter(([, [set, expected]]) => set !== expected);
                assert.deepStrictEqual(wrong, []);
                // Every kind of Thanos process of the stack is among them (the verification Job runs busybox, not Thanos).
                const kinds = new Set(Object.keys(found).map((name) => name.split("/")[1]));
                for (const kind of [
                    "thanos-sidecar",
                    "query",
                    "queryFrontend",
                    "rule",
                    ...(stack === "dev" ? [] : ["store-gateway", "compactor", "bucket-check"]),
                    ...(stack === "fleet" ? ["seaweedfs"] : []),
                ]) {
                    assert.ok(kinds.has(kind), `${kind} in ${[...kinds].join(", ")}`);
                }
            });
        }

        it("the Store Gateway's caches take an eighth and a quarter of its memory limit, leaving the heap the rest", () => {
            assert.deepStrictEqual(
                storeGatewayArgs("2Gi", false).filter((arg) => /cache-size|pool-size/.test(arg)),
                ["--index-cache-size=256MB", "--chunk-pool-size=512MB"],
            );
        });
    });
});
