import * as k8s from "@pulumi/kubernetes";
import { alertmanagerLabels, rulerLabels } from "./globalAlerting";
import * as pulumi from "@pulumi/pulumi";
import { Labels, Region as RegionConfig } from "../lib/config/schema";
import { fixedResources, goMemoryLimit } from "../lib/kubernetes/podResources";
import { parseQuantity } from "../lib/kubernetes/quantity";
import { grafanaReleaseName, regionReleaseName, releaseTimeoutSeconds, thanosReleaseName } from "../lib/kubernetes/releases";
import { CertificatePems, tlsSecretData } from "./storeApiTls";
import { compactorLabels } from "./compactor";
import { storeGatewayLabels } from "./storeGateway";
import { objstoreSecret } from "../lib/thanos/objectStorage";
import { bucketCheckPod, configHash, objstoreConfigSecret } from "../lib/thanos/workload";
import { HelmChart } from "../lib/kubernetes/charts";
import { chartImageRegistry, thanosImageReference } from "../lib/kubernetes/images";

export interface RegionArgs {
    region: RegionConfig;
    labels: Labels;
    thanosVersion: string;
    /** The kube-prometheus-stack chart at the stack's `versions.kubePrometheusStack` (lib/kubernetes/charts.ts). */
    chart: HelmChart;
    /** The stack's `images.registry`: every image from this prefix instead of its own registry (lib/kubernetes/images.ts). */
    imageRegistry?: string;
    provider: k8s.Provider;
    /** The operator CRDs of this region's cluster: the one thing the region waits for. */
    operatorCrds: k8s.helm.v3.Release;
    /** The first region of its cluster maintains the cluster's kubelet Service. */
    ownsKubeletService: boolean;
    /** Set for the first region in the global query's cluster: its Prometheus scrapes the global tier. */
    globalTier?: GlobalTier;
    /** The sidecars' server certificate: set when any region is outside the global query's cluster. */
    storeApiTls?: CertificatePems;
    /** Set for a region outside the global query's cluster: how each replica's sidecar is reached from there. */
    exposure?: Exposure;
    /** The objstore config (YAML, a secret) its sidecars upload with: set when the stack has long-term storage. */
    objstoreConfig?: pulumi.Input<string>;
    /** What the bucket check waits for: the in-cluster store, when the bucket is one. */
    bucketReadyAfter?: pulumi.Input<pulumi.Resource>[];
}

/**
 * One address per replica, never one per region: a load-balanced address
 * would pin the querier's gRPC connection to one pod, and the querier would
 * see one replica where the region has several.
 * - nodePort: a kind cluster's node, by its container name on the kind network;
 * - loadBalancer: an existing cluster's load balancer, its address from the Service's status;
 * - addresses: what the user routes to each replica's ClusterIP Service (their DNS name, their L4 load balancer).
 */
export type Exposure =
    | { type: "nodePort"; nodeHost: string }
    | { type: "loadBalancer"; annotations: Record<string, string>; sourceRanges?: string[] }
    | { type: "addresses"; addresses: string[] };

/**
 * What makes each cloud's load balancer internal, reachable from its network
 * only: cloud-provider-aws (and the AWS Load Balancer Controller's scheme, internal
 * unless told otherwise), GKE's internal passthrough load balancer, and
 * cloud-provider-azure's internal load balancer.
 */
export const internalLoadBalancerAnnotations: Readonly<Record<"aws" | "gcp" | "azure", Record<string, string>>> = {
    aws: { "service.beta.kubernetes.io/aws-load-balancer-internal": "true", "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal" },
    gcp: { "networking.gke.io/load-balancer-type": "Internal" },
    azure: { "service.beta.kubernetes.io/azure-load-balancer-internal": "true" },
};

const sidecarGrpcPort = 10901;

/** How long the bucket check may take: 6 retries back off 10 s to 320 s (Kubernetes doubles the pause), 11 minutes in all. */
const bucketCheck = { retries: 6, deadlineSeconds: 720 } as const;

/** The operator names a Prometheus pod `prometheus-<name>-<ordinal>` (its StatefulSet is `prometheus-<name>`), `<name>` being kube-prometheus-stack's `<fullname>-prometheus`. */
function prometheusPodName(releaseName: string, ordinal: number): string {
    return `prometheus-${releaseName}-prometheus-${ordinal}`;
}

/** What of the global tier a region scrapes: Thanos Query and Query Frontend, Grafana and the long-term tier when they run. */
export interface GlobalTier {
    namespace: string;
    grafana: boolean;
    longTermStorage: boolean;
    /** What of the alerting tier runs (components/globalAlerting.ts): its Ruler pair, and its own Alertmanager pair unless alerts go to yours. */
    alerting: "none" | "ruler" | "rulerAndAlertmanager";
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
    /** The stack's `images.registry`: every image from this prefix instead of its own registry (lib/kubernetes/images.ts). */
    imageRegistry?: string;
    ownsKubeletService: boolean;
    globalTier?: GlobalTier;
    /** The sidecars' gRPC server certificate (in the Secret `storeApiTlsSecret`), by its hash; absent: plaintext, in-cluster only. */
    storeApiCertificateSha256?: string;
    /** The Secret holding the objstore config, and the config's hash; absent: no uploads. */
    objstore?: { secretName: string; sha256: string };
}

/**
 * The Secret with the sidecars' certificate in each region's namespace. A
 * fixed, short name: the operator mounts it as volume `secret-<name>`, which
 * the sidecar's own mount must name, and a renewed certificate keeps it.
 */
const storeApiTlsSecret = "storeapi-tls";

/** Where the operator mounts a Secret of `spec.secrets` (prometheus-operator v0.93.0 pkg/prometheus/common.go:46, 298). */
const secretsDirectory = (secret: string) => `/etc/prometheus/secrets/${secret}`;

/**
 * The sidecar's gRPC server with TLS that requires a client certificate from
 * our CA: the operator turns caFile into --grpc-server-tls-client-ca
 * (pkg/prometheus/server/statefulset.go:584-605), which Thanos enforces with
 * RequireAndVerifyClientCert (pkg/tls/options.go:71-72 at v0.37.0, 87-88 at
 * v0.42.4). The operator mounts `spec.secrets` into the prometheus container
 * only, so the sidecar mounts the same volume (`secret-<name>`) itself.
 */
function sidecarTls(secret: string): { secrets: string[]; thanos: Record<string, unknown> } {
    const directory = secretsDirectory(secret);
    return {
        secrets: [secret],
        thanos: {
            grpcServerTlsConfig: { certFile: `${directory}/tls.crt`, keyFile: `${directory}/tls.key`, caFile: `${directory}/ca.crt` },
            // The operator copies only name and mountPath (statefulset.go:634-638); Secret volumes are read-only anyway.
            volumeMounts: [{ name: `secret-${secret}`, mountPath: directory }],
        },
    };
}

/**
 * ServiceMonitors, in the region's namespace and so selected by its
 * Prometheus, for the global tier in another namespace of the same cluster.
 * No operator watches that namespace, and none needs to: the operator writes
 * the ServiceMonitor's namespaceSelector into the scrape job unfiltered by its
 * own watched namespaces (prometheus-operator v0.93.0 pkg/prometheus/promcfg.go:2437-2445,
 * 2489-2499), and the region's Prometheus lists endpoints cluster-wide
 * (kube-prometheus-stack 88.5.3 templates/prometheus/clusterrole.yaml:13-24).
 * Each job is named after its Service (promcfg.go:2176-2183).
 */
function globalTierServiceMonitors(tier: GlobalTier): Record<string, unknown>[] {
    const monitor = (name: string, matchLabels: Record<string, string>, port: string) => ({
        name,
        selector: { matchLabels },
        namespaceSelector: { matchNames: [tier.namespace] },
        endpoints: [{ port, path: "/metrics", interval: "30s" }],
    });
    const thanos = (component: string) => ({
        "app.kubernetes.io/name": "thanos",
        "app.kubernetes.io/instance": thanosReleaseName,
        "app.kubernetes.io/component": component,
    });
    return [
        // The chart's -grpc Services match too, but only -http has the port.
        monitor("global-thanos-query", thanos("query"), "http"),
        monitor("global-thanos-query-frontend", thanos("query-frontend"), "http"),
        ...(tier.grafana
            ? [monitor("global-grafana", { "app.kubernetes.io/name": "grafana", "app.kubernetes.io/instance": grafanaReleaseName }, "service")]
            : []),
        ...(tier.longTermStorage
            ? [monitor("global-thanos-store-gateway", storeGatewayLabels, "http"), monitor("global-thanos-compactor", compactorLabels, "http")]
            : []),
        ...(tier.alerting === "none" ? [] : [monitor("global-thanos-rule", rulerLabels, "http")]),
        ...(tier.alerting === "rulerAndAlertmanager" ? [monitor("global-alertmanager", alertmanagerLabels, "web")] : []),
    ];
}

/**
 * Alerts for what fails silently in long-term storage. Every region with a
 * bucket watches its own sidecars: an upload that keeps failing loses the
 * block once Prometheus' retention passes it (thanos_shipper_upload_failures_total,
 * pkg/shipper/shipper.go:59 at v0.37.0, :60 at v0.42.4). The region that
 * scrapes the long-term tier also watches the compactor, which when halted
 * keeps running and answering its probes but compacts, downsamples and
 * deletes nothing more (Thanos mixin/alerts/compact.libsonnet:33 alerts on the
 * same gauge), and the bucket operations of the gateway and compactor.
 */
function longTermStorageRules(regionNamespace: string, tierNamespace?: string): Record<string, unknown> {
    const sidecars = `namespace="${regionNamespace}", container="thanos-sidecar"`;
    const tier = `namespace="${tierNamespace}"`;
    const failing = (selector: string, by: string) => `sum by (${by}) (rate(thanos_objstore_bucket_operation_failures_total{${selector}}[5m])) > 0`;
    return {
        groups: [
            {
                name: "thanos-global-view-sidecar-uploads",
                rules: [
                    {
                        alert: "ThanosSidecarUploadsFailing",
                        expr: `sum by (pod) (rate(thanos_shipper_upload_failures_total{${sidecars}}[5m])) > 0`,
                        for: "15m",
                        labels: { severity: "critical" },
                        annotations: {
                            summary: "{{ $labels.pod }} fails to upload blocks to the bucket",
                            description:
                                "Blocks not uploaded are lost once Prometheus' retention passes them. The sidecar's log (container thanos-sidecar) says why: credentials, the bucket, the endpoint.",
                        },
                    },
                    {
                        alert: "ThanosSidecarBucketOperationsFailing",
                        expr: failing(sidecars, "pod, operation"),
                        for: "15m",
                        labels: { severity: "warning" },
                        annotations: {
                            summary: "{{ $labels.pod }} fails {{ $labels.operation }} operations on the bucket",
                            description: "Check the bucket's credentials and reachability from this region's cluster.",
                        },
                    },
                ],
            },
            ...(tierNamespace === undefined
                ? []
                : [
                      {
                          name: "thanos-global-view-long-term-storage",
                          rules: [
                              {
                                  alert: "ThanosCompactorHalted",
                                  expr: `max(thanos_compact_halted{${tier}}) == 1`,
                                  for: "5m",
                                  labels: { severity: "critical" },
                                  annotations: {
                                      summary: "The Thanos compactor halted: retention, compaction and downsampling have stopped",
                                      description:
                                          "Its logs say which block made it halt (often overlapping blocks); it resumes only after the block is repaired or deleted and the pod restarted.",
                                  },
                              },
                              {
                                  alert: "ThanosBucketOperationsFailing",
                                  expr: failing(tier, "job, operation"),
                                  for: "15m",
                                  labels: { severity: "warning" },
                                  annotations: {
                                      summary: "{{ $labels.job }} fails {{ $labels.operation }} operations on the bucket",
                                      description: "Check the bucket's credentials and reachability; the Store Gateway and the compactor log each failure.",
                                  },
                              },
                          ],
                      },
                  ]),
        ],
    };
}

/**
 * The Pod Security Standard a region's namespace enforces: node-exporter needs
 * the host's network, PIDs and filesystem, which only `privileged` allows;
 * every other pod of kube-prometheus-stack meets `restricted`.
 */
export function regionPodSecurity(region: RegionConfig): "restricted" | "privileged" {
    return region.components.nodeExporter ? "privileged" : "restricted";
}

/** Labels that make the API server refuse (and warn about, and audit) pods below that standard. */
export function podSecurityLabels(level: "restricted" | "privileged"): Record<string, string> {
    return Object.fromEntries(
        ["enforce", "warn", "audit"].flatMap((mode) => [
            [`pod-security.kubernetes.io/${mode}`, level],
            [`pod-security.kubernetes.io/${mode}-version`, "latest"],
        ]),
    );
}

/**
 * Helm values for one region's kube-prometheus-stack release (keys checked
 * against chart 88.5.3 and its subcharts kube-state-metrics 8.4.0,
 * prometheus-node-exporter 4.56.1 and grafana 12.11.1). Every container gets
 * requests and a memory limit; the chart's own security contexts already meet
 * the `restricted` standard for every pod but node-exporter's.
 */
export function kubePrometheusStackValues(inputs: KubePrometheusStackInputs): Record<string, unknown> {
    const { region, labels, thanosVersion, imageRegistry, ownsKubeletService, globalTier, storeApiCertificateSha256, objstore } = inputs;
    const tls = storeApiCertificateSha256 === undefined ? undefined : sidecarTls(storeApiTlsSecret);
    const { components } = region;
    const highlyAvailable = region.replicas >= 2;
    const thanosImage = thanosImageReference(thanosVersion, imageRegistry);
    // What the sidecar reads only at start (its certificate, the objstore config
    // the operator hands it as an environment variable): a change restarts the pods.
    const podAnnotations: Record<string, string> = {
        ...(storeApiCertificateSha256 === undefined ? {} : { "thanos-global-view/storeapi-certificate-sha256": storeApiCertificateSha256 }),
        ...(objstore === undefined ? {} : { "thanos-global-view/objstore-config-sha256": objstore.sha256 }),
    };
    return {
        fullnameOverride: regionReleaseName(region.name),
        // Every image the chart and its subcharts render, from the mirror.
        ...chartImageRegistry(imageRegistry),
        // The cluster's OperatorCrds release installs them, once, for every region.
        crds: { enabled: false },
        grafana: {
            enabled: components.grafana,
            resources: fixedResources.regionGrafana,
            sidecar: { resources: fixedResources.regionGrafanaSidecar },
            // Its `helm test` pod has no security context, and the chown init container runs as root.
            testFramework: { enabled: false },
            initChownData: { enabled: false },
        },
        alertmanager: { enabled: components.alertmanager, alertmanagerSpec: { resources: fixedResources.alertmanager } },
        nodeExporter: { enabled: components.nodeExporter },
        "prometheus-node-exporter": { resources: fixedResources.nodeExporter },
        kubeStateMetrics: { enabled: components.kubeStateMetrics },
        "kube-state-metrics": { resources: fixedResources.kubeStateMetrics },
        ...(objstore === undefined
            ? {}
            : {
                  additionalPrometheusRulesMap: {
                      "long-term-storage": longTermStorageRules(region.namespace, globalTier?.longTermStorage ? globalTier.namespace : undefined),
                  },
              }),
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
            kubeletService: { enabled: ownsKubeletService, name: kubeletServiceName },
            resources: fixedResources.operator,
            // One setting per operator, for every config reloader it starts (init and sidecar).
            prometheusConfigReloader: { resources: fixedResources.configReloader },
            admissionWebhooks: {
                // Without a selector every region's webhooks would validate rules in every namespace.
                namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": region.namespace } },
                // The create and patch certificate Jobs share this one.
                patch: { resources: fixedResources.admissionJobs },
            },
        },
        prometheus: {
            podDisruptionBudget: { enabled: highlyAvailable, minAvailable: 1 },
            // The sidecars' own metrics (is Prometheus up for them, are they serving), for the global-view dashboard.
            thanosService: { enabled: true },
            thanosServiceMonitor: { enabled: true },
            additionalServiceMonitors: globalTier === undefined ? [] : globalTierServiceMonitors(globalTier),
            prometheusSpec: {
                replicas: region.replicas,
                retention: region.retention,
                // Without storageSpec the operator gives the TSDB an emptyDir (templates/prometheus/prometheus.yaml:304-307
                // at 88.5.3): a drain, an upgrade or the program's own rollout would lose the head and every block
                // not yet uploaded. Past four fifths of the volume Prometheus deletes its oldest blocks, so the WAL
                // and compaction keep their room (Prometheus' ByteSize counts MB as MiB).
                storageSpec: {
                    volumeClaimTemplate: {
                        spec: {
                            accessModes: ["ReadWriteOnce"],
                            resources: { requests: { storage: region.volume.size } },
                            ...(region.volume.storageClass === undefined ? {} : { storageClassName: region.volume.storageClass }),
                        },
                    },
                },
                retentionSize: `${Math.floor((parseQuantity(region.volume.size) * 0.8) / 1024 ** 2)}MB`,
                // No persistentVolumeClaimRetentionPolicy: the operator deletes and re-creates its StatefulSet,
                // in the foreground, when an update is refused (a new volume size or class: pkg/k8s/statefulset.go:72-94
                // at v0.93.0), and `whenDeleted: Delete` would then take every replica's data along. The claims go
                // with the region's namespace instead (pulumi destroy, a new namespace).
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
                // A non-empty map is what turns the sidecar on. With an objstore
                // config the sidecar uploads every block Prometheus cuts; the
                // operator then keeps local compaction but delays it until a block
                // is uploaded (Thanos ≥ v0.41 with Prometheus ≥ v3.9, kube-prometheus-stack
                // 88.5.3 runs v3.14.0), or else fixes blocks at 2h
                // (prometheus-operator v0.93.0 pkg/prometheus/server/statefulset.go:248-267, 799-827).
                thanos: {
                    image: thanosImage,
                    version: thanosVersion,
                    resources: region.resources.sidecar,
                    ...tls?.thanos,
                    // Rendered as the Prometheus CR's spec.thanos.objectStorageConfig (templates/prometheus/prometheus.yaml:411-414).
                    ...(objstore === undefined ? {} : { objectStorageConfig: { existingSecret: { name: objstore.secretName, key: objstoreSecret.key } } }),
                },
                ...(tls === undefined ? {} : { secrets: tls.secrets }),
                // The operator merges these into the containers it generates, by name
                // (pkg/prometheus/server/statefulset.go:365, pkg/k8s/merge.go:27 at v0.93.0):
                // the sidecar's Go heap kept under its memory limit.
                containers: [{ name: "thanos-sidecar", env: [{ name: "GOMEMLIMIT", value: goMemoryLimit(region.resources.sidecar.limits.memory) }] }],
                ...(Object.keys(podAnnotations).length === 0 ? {} : { podMetadata: { annotations: podAnnotations } }),
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
    /** Where the global query finds this region's sidecars: DNS SRV over the operator's Service in its own cluster, one address per replica from another. */
    readonly storeApiEndpoints: pulumi.Output<string[]>;
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

        const namespace = new k8s.core.v1.Namespace(
            name,
            {
                metadata: { name: region.namespace, labels: podSecurityLabels(regionPodSecurity(region)) },
            },
            { parent: this, provider: args.provider },
        );
        this.namespace = namespace.metadata.name;

        const tlsSecret =
            args.storeApiTls &&
            new k8s.core.v1.Secret(
                `${name}-storeapi-tls`,
                {
                    metadata: { name: storeApiTlsSecret, namespace: this.namespace },
                    type: "kubernetes.io/tls",
                    stringData: tlsSecretData(args.storeApiTls),
                },
                { parent: this, provider: args.provider },
            );

        // Named by the provider, not fixed: when losing the hub's cluster takes it out of the
        // state (it holds the hub's store address), the next run creates another beside it
        // instead of failing on "already exists"; the namespace takes the old one along.
        const objstore =
            args.objstoreConfig === undefined
                ? undefined
                : objstoreConfigSecret(`${name}-objstore`, this.namespace, args.objstoreConfig, { parent: this, provider: args.provider });

        // The sidecars touch the bucket first at their first block, hours away: this
        // lists it now, from their namespace, with their config, and fails `pulumi up`
        // when it cannot (pulumi-kubernetes waits for a Job's Complete or Failed
        // condition, provider/pkg/await/job.go:49-67 at v4.32.0). A changed config
        // replaces the Job, and a failed one is replaced on the next up.
        if (objstore !== undefined) {
            new k8s.batch.v1.Job(
                `${name}-bucket-check`,
                {
                    metadata: { namespace: this.namespace, annotations: { "pulumi.com/replaceUnready": "true" } },
                    spec: {
                        // A new store may take a few minutes to create its bucket: retries 10 s, 20 s, … apart.
                        backoffLimit: bucketCheck.retries,
                        activeDeadlineSeconds: bucketCheck.deadlineSeconds,
                        template: {
                            metadata: { annotations: { "thanos-global-view/objstore-config-sha256": configHash(args.objstoreConfig) } },
                            spec: bucketCheckPod(args.thanosVersion, args.imageRegistry, objstore.metadata.name).podSpec,
                        },
                    },
                },
                {
                    parent: this,
                    provider: args.provider,
                    dependsOn: args.bucketReadyAfter,
                    customTimeouts: { create: `${bucketCheck.deadlineSeconds + 60}s`, update: `${bucketCheck.deadlineSeconds + 60}s` },
                },
            );
        }

        // Built from the namespace and the Services, not the release: the global
        // query must not wait for this region's Prometheus to become ready.
        this.storeApiEndpoints =
            args.exposure === undefined
                ? this.namespace.apply((ns) => [storeApiAddress(ns)])
                : pulumi.all(
                      Array.from({ length: region.replicas }, (_, ordinal) =>
                          replicaEndpoint(this, `${name}-storeapi-${ordinal}`, {
                              namespace: this.namespace,
                              podName: prometheusPodName(this.releaseName, ordinal),
                              ordinal,
                              exposure: args.exposure!,
                              provider: args.provider,
                          }),
                      ),
                  );

        this.release = new k8s.helm.v3.Release(
            name,
            {
                name: this.releaseName,
                namespace: this.namespace,
                ...args.chart,
                // Waits for the Secrets, and knows what they hold.
                values: pulumi
                    .all([
                        tlsSecret?.metadata.name,
                        args.storeApiTls && configHash(args.storeApiTls.certPem),
                        objstore?.metadata.name,
                        args.objstoreConfig === undefined ? undefined : configHash(args.objstoreConfig),
                    ])
                    .apply(([, certificateSha256, objstoreSecretName, objstoreSha256]) =>
                        kubePrometheusStackValues({
                            region,
                            labels: args.labels,
                            thanosVersion: args.thanosVersion,
                            imageRegistry: args.imageRegistry,
                            ownsKubeletService: args.ownsKubeletService,
                            globalTier: args.globalTier,
                            storeApiCertificateSha256: certificateSha256,
                            objstore:
                                objstoreSecretName === undefined || objstoreSha256 === undefined
                                    ? undefined
                                    : { secretName: objstoreSecretName, sha256: objstoreSha256 },
                        }),
                    ),
                timeout: releaseTimeoutSeconds.region,
                cleanupOnFail: true,
                maxHistory: 10,
            },
            {
                parent: this,
                provider: args.provider,
                dependsOn: [args.operatorCrds],
                // A new name or namespace replaces a Release (pulumi-kubernetes v4.32.0
                // provider/pkg/provider/helm_release.go:907), by default creating the new one
                // first (:932). Its cluster-scoped objects (ClusterRoles, webhook configurations,
                // kube-system Services) carry the same names, owned by the old release, and Helm
                // refuses to take them over: the old release must go first.
                deleteBeforeReplace: true,
            },
        );

        this.registerOutputs({
            namespace: this.namespace,
            releaseName: this.releaseName,
            storeApiEndpoints: this.storeApiEndpoints,
            regionLabel: this.regionLabel,
            replicas: this.replicas,
        });
    }
}

/**
 * A Service in front of one replica's sidecar gRPC port, and the address the
 * global query dials for it, from the Service's outputs: the NodePort
 * Kubernetes allocated (unique in the cluster by construction), or the load
 * balancer's address once it has one.
 */
function replicaEndpoint(
    parent: pulumi.Resource,
    name: string,
    {
        namespace,
        podName,
        ordinal,
        exposure,
        provider,
    }: { namespace: pulumi.Input<string>; podName: string; ordinal: number; exposure: Exposure; provider: k8s.Provider },
): pulumi.Output<string> {
    const service = new k8s.core.v1.Service(
        name,
        {
            metadata: {
                namespace,
                // pulumi-kubernetes waits until a selected Service's endpoints are ready (await/service.go:416):
                // that would tie the global query to this region's Prometheus. A load balancer's address is worth the wait.
                annotations: exposure.type === "loadBalancer" ? exposure.annotations : { "pulumi.com/skipAwait": "true" },
            },
            spec: {
                type: { nodePort: "NodePort", loadBalancer: "LoadBalancer", addresses: "ClusterIP" }[exposure.type],
                ...(exposure.type === "loadBalancer" && exposure.sourceRanges !== undefined ? { loadBalancerSourceRanges: exposure.sourceRanges } : {}),
                // The StatefulSet labels each pod with its own name.
                selector: { "statefulset.kubernetes.io/pod-name": podName },
                ports: [{ name: "grpc", port: sidecarGrpcPort, targetPort: "grpc" }],
            },
        },
        { parent, provider },
    );
    if (exposure.type === "nodePort") {
        return pulumi.interpolate`${exposure.nodeHost}:${service.spec.ports[0].nodePort}`;
    }
    if (exposure.type === "addresses") {
        // Once the Service the user routes to exists.
        return service.metadata.name.apply(() => exposure.addresses[ordinal]);
    }
    return service.status.loadBalancer.ingress.apply((ingress) => {
        const host = ingress?.[0]?.ip ?? ingress?.[0]?.hostname;
        if (host === undefined) {
            throw new Error(`Service ${name} got no load balancer address: the cluster has no load balancer; use the region's storeApiAddresses instead`);
        }
        return `${host.includes(":") ? `[${host}]` : host}:${sidecarGrpcPort}`;
    });
}
