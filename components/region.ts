import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { Labels, Region as RegionConfig } from "../lib/config";
import { regionReleaseName, releaseTimeoutSeconds } from "../lib/releases";
import { kubePrometheusStackRepository, thanosImageRepository } from "../lib/versions";

export interface RegionArgs {
    region: RegionConfig;
    labels: Labels;
    thanosVersion: string;
    kubePrometheusStackVersion: string;
    provider: k8s.Provider;
    /**
     * The region in the same cluster that installs the operator CRDs and the
     * cluster-wide singletons; absent for that region itself.
     */
    clusterSharedFrom?: Region;
}

/** The operator's `prometheus-operated` Service gets a `grpc` port (10901) for the sidecars once `spec.thanos` is set. */
export function storeApiAddress(namespace: string): string {
    return `dnssrv+_grpc._tcp.prometheus-operated.${namespace}.svc.cluster.local`;
}

/**
 * One name for the kubelet Service in kube-system, whichever region's operator
 * maintains it: when that region goes, the next one takes the same Service over
 * instead of leaving a stale duplicate that every kubelet ServiceMonitor (they
 * select by label, not by release) would scrape twice.
 */
export const kubeletServiceName = "thanos-global-view-kubelet";

export interface KubePrometheusStackInputs {
    region: RegionConfig;
    labels: Labels;
    thanosVersion: string;
    /** Installs the CRDs and the cluster-wide singletons for its cluster. */
    ownsClusterSharedObjects: boolean;
}

/** Helm values for one region's kube-prometheus-stack release (keys checked against chart 88.5.3). */
export function kubePrometheusStackValues(inputs: KubePrometheusStackInputs): Record<string, unknown> {
    const { region, labels, thanosVersion, ownsClusterSharedObjects: owner } = inputs;
    const { components } = region;
    const highlyAvailable = region.replicas >= 2;
    const thanosImage = `${thanosImageRepository}:${thanosVersion}`;
    return {
        fullnameOverride: regionReleaseName(region.name),
        crds: {
            enabled: owner,
            // Helm never upgrades CRDs; this pre-install/pre-upgrade hook
            // applies the chart's CRDs server-side, so a chart bump brings its
            // CRDs along. It unpacks them with busybox: the Thanos image is
            // busybox-based and already pulled, unlike the default busybox:latest.
            upgradeJob: {
                enabled: owner,
                image: { busybox: { registry: "quay.io", repository: "thanos/thanos", tag: thanosVersion } },
            },
        },
        grafana: { enabled: components.grafana },
        alertmanager: { enabled: components.alertmanager },
        nodeExporter: { enabled: components.nodeExporter },
        kubeStateMetrics: { enabled: components.kubeStateMetrics },
        // Rules about components that are off would only ever report them absent.
        defaultRules: {
            rules: {
                alertmanager: components.alertmanager,
                kubeStateMetrics: components.kubeStateMetrics,
                nodeExporterAlerting: components.nodeExporter,
                nodeExporterRecording: components.nodeExporter,
            },
        },
        prometheusOperator: {
            // Several operators share the cluster: each one only manages the
            // Prometheus of its own region.
            namespaces: { releaseNamespace: true },
            kubeletService: { enabled: owner, name: kubeletServiceName },
            // Without a selector every region's webhooks would validate rules in every namespace.
            admissionWebhooks: { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": region.namespace } } },
        },
        prometheus: {
            podDisruptionBudget: { enabled: highlyAvailable, minAvailable: 1 },
            prometheusSpec: {
                replicas: region.replicas,
                retention: region.retention,
                resources: region.resources.prometheus,
                podAntiAffinity: highlyAvailable ? region.antiAffinity : "",
                podAntiAffinityTopologyKey: "kubernetes.io/hostname",
                // The operator drops a user external label that collides with
                // its own `prometheus="<namespace>/<name>"` label; clearing it
                // leaves the region label as the one that names the source.
                externalLabels: { [labels.region]: region.name },
                prometheusExternalLabelNameClear: true,
                // Filled with the pod name: what the global query deduplicates on.
                replicaExternalLabelName: labels.replica,
                replicaExternalLabelNameClear: false,
                // A non-empty map is what turns the sidecar on.
                thanos: { image: thanosImage, version: thanosVersion, resources: region.resources.sidecar },
            },
        },
    };
}

/** A region: its namespace and kube-prometheus-stack with HA Prometheus replicas, each with a Thanos sidecar. */
export class Region extends pulumi.ComponentResource {
    readonly regionName: string;
    readonly cluster: string;
    readonly namespace: pulumi.Output<string>;
    readonly releaseName: string;
    readonly release: k8s.helm.v3.Release;
    /** Where the global query finds this region's sidecars (DNS SRV over the operator's Service). */
    readonly storeApiAddress: pulumi.Output<string>;
    readonly regionLabel: { name: string; value: string };
    readonly replicas: number;

    constructor(name: string, args: RegionArgs, opts?: pulumi.ComponentResourceOptions) {
        super("thanos-global-view:monitoring:Region", name, {}, opts);
        const { region } = args;
        this.regionName = region.name;
        this.cluster = region.cluster;
        this.releaseName = regionReleaseName(region.name);
        this.regionLabel = { name: args.labels.region, value: region.name };
        this.replicas = region.replicas;

        const namespace = new k8s.core.v1.Namespace(name, {
            metadata: { name: region.namespace },
        }, { parent: this, provider: args.provider });
        this.namespace = namespace.metadata.name;
        // Built from the namespace, not the release: the global query must not
        // wait for this region's Prometheus to become ready.
        this.storeApiAddress = this.namespace.apply(storeApiAddress);

        this.release = new k8s.helm.v3.Release(name, {
            name: this.releaseName,
            namespace: this.namespace,
            chart: "kube-prometheus-stack",
            version: args.kubePrometheusStackVersion,
            repositoryOpts: { repo: kubePrometheusStackRepository },
            values: kubePrometheusStackValues({
                region,
                labels: args.labels,
                thanosVersion: args.thanosVersion,
                ownsClusterSharedObjects: args.clusterSharedFrom === undefined,
            }),
            timeout: releaseTimeoutSeconds.region,
            cleanupOnFail: true,
            maxHistory: 10,
        }, {
            parent: this,
            provider: args.provider,
            // The CRDs this release's Prometheus needs come from that release.
            dependsOn: args.clusterSharedFrom ? [args.clusterSharedFrom.release] : [],
        });

        this.registerOutputs({
            namespace: this.namespace,
            releaseName: this.releaseName,
            storeApiAddress: this.storeApiAddress,
            regionLabel: this.regionLabel,
            replicas: this.replicas,
        });
    }
}
