// How long a first `pulumi up` takes is mostly how many slow steps run one
// after the other: creating a kind cluster, a Helm release the provider
// waits for, a workload it waits to become ready, a Job it waits to finish.
// This counts them along the program's dependencies, as the engine would
// schedule them (a resource waits for every resource its inputs or
// dependsOn name), from the mock run of the real program.
import * as assert from "assert";
import { ProgramRun, RecordedResource, runStack } from "./harness";

/**
 * Whether its dependents wait minutes for it: the command provider for a kind
 * cluster, pulumi-kubernetes for a release's pods, a workload's readiness, a
 * Job's completion. The operator CRDs' release holds no pods: the API server
 * takes its CustomResourceDefinitions at once.
 */
function isSlow(resource: RecordedResource): boolean {
    const skipsAwait = resource.inputs.metadata?.annotations?.["pulumi.com/skipAwait"] === "true";
    return resource.type === "command:local:Command"
        || (resource.type === "kubernetes:helm.sh/v3:Release" && resource.inputs.chart !== "prometheus-operator-crds")
        || resource.type === "kubernetes:batch/v1:Job"
        || (/^kubernetes:apps\/v1:(Deployment|StatefulSet)$/.test(resource.type) && !skipsAwait);
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
        const longest = [...resource.dependencies, ...provider].map((urn) => byUrn.get(urn)).filter((each): each is RecordedResource => each !== undefined)
            .map(chain).reduce((a, b) => (b.length > a.length ? b : a), [] as string[]);
        const result = isSlow(resource) ? [...longest, `${resource.type.split(":").pop()} ${resource.name}`] : longest;
        memo.set(resource.urn, result);
        return result;
    };
    return run.resources.map(chain).reduce((a, b) => (b.length > a.length ? b : a), []);
}

describe("deploy waves: slow steps one after the other on a first pulumi up", () => {
    for (const stack of ["dev", "prod", "fleet"]) {
        it(`${stack}: three at most`, async () => {
            const chain = slowestChain(await runStack(stack));
            assert.ok(chain.length <= 3, chain.join(" → "));
        });
    }

    it("fleet: the Store Gateway and the compactor start once the store runs, and the verification Job, not pulumi up, waits for them", async () => {
        const run = await runStack("fleet");
        for (const [type, name] of [["kubernetes:apps/v1:Deployment", "store-gateway"], ["kubernetes:apps/v1:StatefulSet", "compactor"]]) {
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
