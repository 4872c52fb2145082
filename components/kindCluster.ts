import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { kindContext, kubectlArgs } from "../lib/kubernetes/clusterAccess";
import { KindCluster as KindClusterConfig } from "../lib/config/schema";

export interface KindClusterArgs {
    cluster: KindClusterConfig;
}

/** The kind config, fed to `kind create cluster --config -`. */
export function kindConfigYaml(cluster: KindClusterConfig): string {
    const node = (role: string) => [`  - role: ${role}`, `    image: ${cluster.nodeImage}`];
    return [
        "kind: Cluster",
        "apiVersion: kind.x-k8s.io/v1alpha4",
        "nodes:",
        ...Array.from({ length: cluster.controlPlaneNodes }, () => node("control-plane")).flat(),
        ...Array.from({ length: cluster.workerNodes }, () => node("worker")).flat(),
        "",
    ].join("\n");
}

// A cluster with this name that the stack does not know about is someone
// else's (or a leftover of an interrupted run): refuse rather than adopt it,
// because `pulumi destroy` would then delete it.
const createScript = `set -eu
if kind get clusters 2>/dev/null | grep -qx "$KIND_CLUSTER_NAME"; then
  echo "kind cluster '$KIND_CLUSTER_NAME' already exists but this stack did not create it." >&2
  echo "Delete it with 'kind delete cluster --name $KIND_CLUSTER_NAME' or give the stack's cluster another name." >&2
  exit 1
fi
kind create cluster --name "$KIND_CLUSTER_NAME" --config - --wait 5m >&2
kind get kubeconfig --name "$KIND_CLUSTER_NAME"`;

// Runs when only this program's scripts changed, not the cluster: hand the
// kubeconfig out again instead of creating a second cluster.
const updateScript = `kind get kubeconfig --name "$KIND_CLUSTER_NAME"`;

const deleteScript = `kind delete cluster --name "$KIND_CLUSTER_NAME"`;

/**
 * A local kind cluster, created with the kind CLI and removed on destroy, and
 * the Kubernetes provider every resource in it must use.
 */
export class KindCluster extends pulumi.ComponentResource {
    readonly clusterName: string;
    /** The context kind writes into the user's kubeconfig. */
    readonly kubeContext: string;
    readonly kubeconfig: pulumi.Output<string>;
    readonly provider: k8s.Provider;
    /** What kubectl needs to reach this cluster from the user's machine. */
    readonly kubectlFlags: pulumi.Output<string>;
    /**
     * For the components whose objects run in this cluster: each object is
     * deleted with the cluster (`deletedWith` the kind command), so that when
     * the cluster is replaced or destroyed the engine skips deleting objects
     * in a cluster that goes anyway. Without it, replacing a kind cluster (new
     * nodes) fails on the real engine: the objects are deleted through the
     * old provider, which the engine has already closed ("grpc: the client
     * connection is closing", pulumi v3.274.1 with pulumi-kubernetes v4.32.0,
     * found by the e2e recovery tier).
     */
    readonly componentOptions: pulumi.ComponentResourceOptions;

    constructor(name: string, args: KindClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("thanos-global-view:cluster:KindCluster", name, {}, opts);
        const config = kindConfigYaml(args.cluster);
        this.clusterName = args.cluster.name;
        this.kubeContext = kindContext(args.cluster.name);

        const kind = new command.local.Command(
            `${name}-kind`,
            {
                create: createScript,
                update: updateScript,
                delete: deleteScript,
                stdin: config,
                environment: { KIND_CLUSTER_NAME: args.cluster.name },
                // Any change to the nodes means a new cluster; the name is fixed,
                // so the old one has to go first.
                triggers: [config],
                logging: "stderr",
            },
            { parent: this, additionalSecretOutputs: ["stdout"], deleteBeforeReplace: true },
        );

        this.kubeconfig = pulumi.secret(kind.stdout);
        this.kubectlFlags = pulumi.output(kubectlArgs(args.cluster).join(" "));
        this.provider = new k8s.Provider(
            `${name}-provider`,
            {
                kubeconfig: this.kubeconfig,
                // A new kind cluster gets a new command id (random: pulumi-command
                // v1.2.1 provider/pkg/provider/local/commandController.go:42): everything
                // in the old one is gone, so the provider and all it manages are replaced
                // (pulumi-kubernetes v4.32.0 provider/pkg/provider/provider.go:486-501).
                // No deleteUnreachable: a refresh while Docker is only stopped would drop
                // every resource from state. `npm run up | destroy` removes a cluster's
                // resources from state only once Docker shows it is gone (scripts/lifecycle.ts).
                clusterIdentifier: kind.id,
            },
            { parent: this },
        );
        const provider = this.provider;
        this.componentOptions = {
            transformations: [
                (args) => (args.opts.provider === provider ? { props: args.props, opts: pulumi.mergeOptions(args.opts, { deletedWith: kind }) } : undefined),
            ],
        };

        this.registerOutputs({
            clusterName: this.clusterName,
            kubeContext: this.kubeContext,
            kubeconfig: this.kubeconfig,
            kubectlFlags: this.kubectlFlags,
        });
    }
}
