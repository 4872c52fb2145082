import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { operatorCrdsRelease, releaseTimeoutSeconds } from "../lib/kubernetes/releases";
import { HelmChart } from "../lib/kubernetes/charts";

export interface OperatorCrdsArgs {
    /** The prometheus-operator-crds chart, in step with kube-prometheus-stack (lib/versions.ts, lib/kubernetes/charts.ts). */
    chart: HelmChart;
    provider: k8s.Provider;
}

/**
 * The prometheus-operator CRDs of one cluster, installed once and before any
 * region. The chart keeps them in `templates/`, so Helm upgrades them with the
 * chart (it never upgrades a chart's `crds/`), and it starts no pod.
 */
export class OperatorCrds extends pulumi.ComponentResource {
    readonly release: k8s.helm.v3.Release;

    constructor(name: string, args: OperatorCrdsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("thanos-global-view:cluster:OperatorCrds", name, {}, opts);
        this.release = new k8s.helm.v3.Release(
            name,
            {
                ...operatorCrdsRelease,
                ...args.chart,
                timeout: releaseTimeoutSeconds.operatorCrds,
                maxHistory: 10,
            },
            {
                parent: this,
                provider: args.provider,
                // Same release name after a replacement: the old one must go first (see Region).
                deleteBeforeReplace: true,
            },
        );
        this.registerOutputs({ releaseName: this.release.name });
    }
}
