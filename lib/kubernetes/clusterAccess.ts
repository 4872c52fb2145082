// How tools on the user's machine reach a cluster of the stack: the same
// flags for the exported kubectl commands and for `npm run up`'s own checks.
import { Cluster, expandHome } from "../config/schema";

/** The context `kind create cluster` writes into the user's kubeconfig (kind pkg/cluster/internal/kubeconfig/internal/kubeconfig/helpers.go:24-25, v0.32.0). */
export function kindContext(clusterName: string): string {
    return `kind-${clusterName}`;
}

/**
 * A kind cluster's first control-plane node, by its container name, which
 * other kind clusters' pods resolve on Docker's `kind` network (kind v0.32.0
 * pkg/cluster/internal/providers/common/namer.go:25-36;
 * images/base/files/usr/local/bin/entrypoint:446-486).
 */
export function kindControlPlaneHost(clusterName: string): string {
    return `${clusterName}-control-plane`;
}

/**
 * kubectl's flags for one cluster. An existing cluster whose kubeconfig only
 * lives in a secret stack setting gets its context alone: the user's own
 * kubeconfig has to know it.
 */
export function kubectlArgs(cluster: Cluster): string[] {
    if (cluster.type === "kind") {
        return ["--context", kindContext(cluster.name)];
    }
    return [
        ...(cluster.kubeconfigPath === undefined ? [] : ["--kubeconfig", expandHome(cluster.kubeconfigPath)]),
        ...(cluster.context === undefined ? [] : ["--context", cluster.context]),
    ];
}
