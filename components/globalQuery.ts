import * as k8s from "@pulumi/kubernetes";
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { GlobalQuery as GlobalQueryConfig, Labels, frontendCache } from "../lib/config/schema";
import { rulerReplicaLabel } from "../lib/alerting/rules";
import { memcachedCacheConfig } from "./queryCache";
import { HelmChart } from "../lib/kubernetes/charts";
import * as path from "path";
import { releaseTimeoutSeconds, thanosReleaseName, thanosServices } from "../lib/kubernetes/releases";
import { podSecurityLabels } from "./region";
import { compareVersions, thanosImage } from "../lib/versions";
import { repositoryReference } from "../lib/kubernetes/images";
import { CertificatePems, storeApiServerName, tlsSecretData } from "./storeApiTls";
import { thanosPodSecurityContext } from "../lib/kubernetes/podSecurity";
import { preferOneReplicaPerNode } from "../lib/thanos/workload";
import { goMemoryLimit } from "../lib/kubernetes/podResources";

export interface GlobalQueryArgs {
    globalQuery: GlobalQueryConfig;
    labels: Labels;
    thanosVersion: string;
    /** The stack's `images.registry`: every image from this prefix instead of its own registry (lib/kubernetes/images.ts). */
    imageRegistry?: string;
    chart: HelmChart;
    /** Every region's StoreAPI endpoints: the regions' outputs. */
    endpoints: pulumi.Input<string[]>[];
    /** The querier's client certificate: set when the sidecars require one. */
    storeApiTls?: CertificatePems;
    /** Whether a Ruler pair runs (components/globalAlerting.ts): its replica label is deduplicated too. */
    ruler: boolean;
    provider: k8s.Provider;
    /** What kubectl needs to reach the cluster, for the port-forward command. */
    kubectlFlags: pulumi.Input<string>;
}

const httpPort = 10902;

/** Where the chart mounts `query.certSecretName` (banzai-charts 51352f61 thanos/templates/query-deployment.yaml:110-119). */
const clientCertificateDirectory = "/etc/certs";

/**
 * How Thanos Query learns its endpoints, and with which client certificate.
 * `--store` is gone since v0.38.0 and `--endpoint` is deprecated from then
 * on, when `--endpoint.sd-config` (which takes dnssrv+ addresses) arrived.
 * Its `default_client_config` carries TLS from v0.42.0 (cmd/thanos/endpointset.go:46-72
 * at v0.42.4), whose help marks the global --grpc-client-tls-* flags "Deprecated
 * after v0.43.0" (config.go:87-92); before, those flags are the only way (query.go:89-94 at
 * v0.37.0, config.go:76-81 at v0.41.0), and they apply to every endpoint. The
 * config is JSON, which is YAML, so it stays one line in the container args.
 */
export function queryEndpointArgs(thanosVersion: string, endpoints: string[], tls = false): string[] {
    const file = (name: string) => `${clientCertificateDirectory}/${name}`;
    const globalTlsFlags = tls
        ? [
              "--grpc-client-tls-secure",
              `--grpc-client-tls-cert=${file("tls.crt")}`,
              `--grpc-client-tls-key=${file("tls.key")}`,
              `--grpc-client-tls-ca=${file("ca.crt")}`,
              `--grpc-client-server-name=${storeApiServerName}`,
          ]
        : [];
    const sdConfig = (config: Record<string, unknown>) =>
        `--endpoint.sd-config=${JSON.stringify({ ...config, endpoints: endpoints.map((address) => ({ address })) })}`;
    if (compareVersions(thanosVersion, "v0.42.0") >= 0) {
        return [
            sdConfig(
                tls
                    ? {
                          default_client_config: {
                              tls_config: { enabled: true, cert_file: file("tls.crt"), key_file: file("tls.key"), ca_file: file("ca.crt") },
                              server_name: storeApiServerName,
                          },
                      }
                    : {},
            ),
        ];
    }
    if (compareVersions(thanosVersion, "v0.38.0") >= 0) {
        return [sdConfig({}), ...globalTlsFlags];
    }
    return [...endpoints.map((endpoint) => `--endpoint=${endpoint}`), ...globalTlsFlags];
}

/** Prefer spreading replicas of one component over nodes; stateless, so never block scheduling. */
function spreadOverNodes(component: string): Record<string, unknown> {
    return preferOneReplicaPerNode({
        "app.kubernetes.io/name": "thanos",
        "app.kubernetes.io/instance": thanosReleaseName,
        "app.kubernetes.io/component": component,
    });
}

// The chart's `securityContext` values are pod-level only (query-deployment.yaml:141-142,
// query-frontend-deployment.yaml:174-175 at banzai-charts 51352f61): the `restricted`
// container fields come from the post-renderer (scripts/restrictedPodSecurity.js).

/** Helm runs it on the rendered chart: one path, no arguments, found with exec.LookPath (helm v3.20.2 pkg/postrender/exec.go:37-42, 103-108). */
export const restrictedPostRenderer = path.resolve(__dirname, "..", "scripts", "restrictedPodSecurity.js");

export interface ThanosChartInputs {
    globalQuery: GlobalQueryConfig;
    labels: Labels;
    thanosVersion: string;
    /** The stack's `images.registry`: every image from this prefix instead of its own registry (lib/kubernetes/images.ts). */
    imageRegistry?: string;
    endpoints: string[];
    /** The Secret with the querier's client certificate, and a hash of it and its CA; absent: plaintext, in-cluster only. */
    clientTls?: { secret: string; sha256: string };
    /** Whether a Ruler pair runs, whose replica label the querier deduplicates too. */
    ruler?: boolean;
}

/**
 * Helm values for the banzaicloud `thanos` chart 0.4.9 (keys checked against
 * its templates). Its defaults start flags current Thanos rejects and
 * components this stack does not run, so each is set here on purpose.
 */
export function thanosChartValues(inputs: ThanosChartInputs): Record<string, unknown> {
    const { globalQuery, labels, thanosVersion, imageRegistry, endpoints, clientTls } = inputs;
    const { frontend } = globalQuery;
    const sharedCache = frontendCache(globalQuery) === "memcached";
    return {
        fullnameOverride: thanosReleaseName,
        // The chart defaults to v0.17.1, and writes "<repository>:<tag>" (query-deployment.yaml:48).
        image: { repository: repositoryReference(thanosImage, imageRegistry), tag: thanosVersion, pullPolicy: "IfNotPresent" },
        // No object storage in this stack: only Query and Query Frontend run.
        store: { enabled: false },
        compact: { enabled: false },
        bucket: { enabled: false },
        rule: { enabled: false },
        sidecar: { enabled: false },
        query: {
            enabled: true,
            replicaCount: globalQuery.queryReplicas,
            // Deduplicate HA replicas on the label the regions set, and the Ruler pair on its own; never the region label.
            replicaLabels: [labels.replica, ...(inputs.ruler ? [rulerReplicaLabel] : [])],
            // These render `--store=…` (removed in v0.38.0) pointing at Services that do not exist.
            storeDNSDiscovery: false,
            sidecarDNSDiscovery: false,
            ruleDNSDiscovery: false,
            stores: [],
            // Deprecated flags; the defaults of Thanos are the same.
            storeDNSResolver: "",
            serviceDiscoveryInterval: "",
            extraArgs: queryEndpointArgs(thanosVersion, endpoints, clientTls !== undefined),
            ...(clientTls === undefined
                ? {}
                : {
                      certSecretName: clientTls.secret,
                      // Thanos re-reads a changed certificate and key but reads the CA only at start
                      // (pkg/tls/options.go:130-140, 206-229 at v0.42.4): a new one restarts the pods
                      // (the chart's pod annotations, query-deployment.yaml:37-40).
                      annotations: { "thanos-global-view/storeapi-client-sha256": clientTls.sha256 },
                  }),
            resources: globalQuery.resources.query,
            // The chart has no resources-derived environment: extraEnv (query-deployment.yaml:50-52 at 51352f61).
            extraEnv: [{ name: "GOMEMLIMIT", value: goMemoryLimit(globalQuery.resources.query.limits.memory) }],
            affinity: spreadOverNodes("query"),
            podDisruptionBudget: { enabled: globalQuery.queryReplicas >= 2, minAvailable: 1 },
            livenessProbe: { httpGet: { path: "/-/healthy", port: "http" } },
            readinessProbe: { httpGet: { path: "/-/ready", port: "http" } },
            securityContext: thanosPodSecurityContext,
        },
        queryFrontend: {
            enabled: true,
            replicaCount: globalQuery.frontendReplicas,
            http: { port: httpPort },
            // `--log.request.decision` is gone since Thanos v0.33.0; empty leaves it out.
            log: { request: { decision: "" } },
            queryRange: {
                splitInterval: frontend.splitInterval,
                maxRetriesPerRequest: frontend.maxRetries,
                // The chart renders an in-memory cache only (query-frontend-deployment.yaml:91-104 at
                // 51352f61); the shared one is the same flag, --query-range.response-cache-config
                // (cmd/thanos/query_frontend.go:112, :117, :120 at v0.37.0, v0.41.0, v0.42.4), given as an extra arg.
                cache: sharedCache ? { inMemory: false } : { inMemory: true, maxSize: frontend.cacheMaxSize },
            },
            extraArgs: sharedCache ? [`--query-range.response-cache-config=${memcachedCacheConfig(globalQuery.namespace)}`] : [],
            compressResponses: true,
            logQueriesLongerThan: frontend.slowQueryThreshold,
            resources: globalQuery.resources.frontend,
            extraEnv: [{ name: "GOMEMLIMIT", value: goMemoryLimit(globalQuery.resources.frontend.limits.memory) }],
            affinity: spreadOverNodes("query-frontend"),
            podDisruptionBudget: { enabled: globalQuery.frontendReplicas >= 2, minAvailable: 1 },
            securityContext: thanosPodSecurityContext,
        },
    };
}

/** Thanos Query over every region's sidecars, behind Thanos Query Frontend: the one endpoint users query. */
export class GlobalQuery extends pulumi.ComponentResource {
    readonly namespace: pulumi.Output<string>;
    readonly release: k8s.helm.v3.Release;
    readonly frontendServiceName: string;
    readonly frontendPort: number;
    readonly frontendUrl: pulumi.Output<string>;
    readonly portForwardCommand: pulumi.Output<string>;

    constructor(name: string, args: GlobalQueryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("thanos-global-view:monitoring:GlobalQuery", name, {}, opts);
        const { globalQuery } = args;
        this.frontendServiceName = thanosServices.frontendHttp;
        this.frontendPort = httpPort;

        const namespace = new k8s.core.v1.Namespace(
            name,
            {
                metadata: { name: globalQuery.namespace, labels: podSecurityLabels("restricted") },
            },
            { parent: this, provider: args.provider },
        );
        this.namespace = namespace.metadata.name;

        const clientTls =
            args.storeApiTls &&
            new k8s.core.v1.Secret(
                `${name}-storeapi-client-tls`,
                {
                    metadata: { namespace: this.namespace },
                    type: "kubernetes.io/tls",
                    stringData: tlsSecretData(args.storeApiTls),
                },
                { parent: this, provider: args.provider },
            );

        this.release = new k8s.helm.v3.Release(
            name,
            {
                name: thanosReleaseName,
                namespace: this.namespace,
                ...args.chart,
                values: pulumi
                    .all([pulumi.all(args.endpoints), clientTls?.metadata.name, args.storeApiTls?.certPem, args.storeApiTls?.caCertPem])
                    .apply(([endpoints, secret, certPem, caCertPem]) =>
                        thanosChartValues({
                            globalQuery,
                            labels: args.labels,
                            thanosVersion: args.thanosVersion,
                            imageRegistry: args.imageRegistry,
                            endpoints: endpoints.flat(),
                            clientTls:
                                secret === undefined
                                    ? undefined
                                    : { secret, sha256: crypto.createHash("sha256").update(`${certPem}${caCertPem}`).digest("hex") },
                            ruler: args.ruler,
                        }),
                    ),
                timeout: releaseTimeoutSeconds.globalQuery,
                cleanupOnFail: true,
                maxHistory: 10,
                postrender: restrictedPostRenderer,
            },
            {
                parent: this,
                provider: args.provider,
                // Same release name in the new namespace; see Region for why the old one goes first.
                deleteBeforeReplace: true,
            },
        );

        this.frontendUrl = this.namespace.apply((ns) => `http://${this.frontendServiceName}.${ns}.svc.cluster.local:${this.frontendPort}`);
        this.portForwardCommand = pulumi.interpolate`kubectl ${args.kubectlFlags} --namespace ${this.namespace} port-forward service/${this.frontendServiceName} ${this.frontendPort}:${this.frontendPort}`;

        this.registerOutputs({
            namespace: this.namespace,
            frontendServiceName: this.frontendServiceName,
            frontendPort: this.frontendPort,
            frontendUrl: this.frontendUrl,
            portForwardCommand: this.portForwardCommand,
        });
    }
}
