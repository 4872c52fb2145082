import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import { kubectlArgs } from "../lib/kubernetes/clusterAccess";
import { ExistingCluster as ExistingClusterConfig, expandHome } from "../lib/config/schema";

export interface ExistingClusterArgs {
    cluster: ExistingClusterConfig;
    /** The content of the secret setting `cluster.kubeconfigSecret` names, if it names one. */
    kubeconfigContent?: pulumi.Input<string>;
}

/** A cluster this stack does not create: reached through an explicit kubeconfig and/or context. */
export class ExistingCluster extends pulumi.ComponentResource {
    readonly clusterName: string;
    readonly kubeconfig: pulumi.Output<string>;
    readonly provider: k8s.Provider;
    readonly kubectlFlags: pulumi.Output<string>;
    /** For the components whose objects run in this cluster: nothing to add, the cluster outlives the stack. */
    readonly componentOptions: pulumi.ComponentResourceOptions = {};

    constructor(name: string, args: ExistingClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("thanos-global-view:cluster:ExistingCluster", name, {}, opts);
        const { cluster } = args;
        const kubeconfigPath = cluster.kubeconfigPath === undefined ? undefined : expandHome(cluster.kubeconfigPath);
        this.clusterName = cluster.name;
        this.kubeconfig = pulumi.secret(args.kubeconfigContent ?? (kubeconfigPath === undefined ? "" : fs.readFileSync(kubeconfigPath, "utf8")));
        this.kubectlFlags = pulumi.output(kubectlArgs(cluster).join(" "));
        this.provider = new k8s.Provider(
            `${name}-provider`,
            {
                // Without a kubeconfig the provider reads the one kubectl would:
                // the explicit context keeps it from using whatever is current.
                kubeconfig: args.kubeconfigContent ?? kubeconfigPath,
                context: cluster.context,
            },
            { parent: this },
        );

        this.registerOutputs({ clusterName: this.clusterName, kubeconfig: this.kubeconfig, kubectlFlags: this.kubectlFlags });
    }
}
