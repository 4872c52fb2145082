import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as yaml from "js-yaml";
import { RuleGroup, alertingReplicas as replicas, alertingServices, rulerReplicaLabel, rulesFile, rulesYaml } from "../lib/alerting/rules";
import { fixedResources, goMemoryLimit } from "../lib/kubernetes/podResources";
import { restrictedContainerSecurityContext, thanosPodSecurityContext } from "../lib/kubernetes/podSecurity";
import { Alerting } from "../lib/config/schema";
import { configHash, headlessThanosServiceSpec, preferOneReplicaPerNode, skipAwaitWhen, thanosPaths, thanosPorts } from "../lib/thanos/workload";
import { alertmanagerImage } from "../lib/versions";
import { imageReference, thanosImageReference } from "../lib/kubernetes/images";
import { CertificatePems, tlsSecretData } from "./storeApiTls";

/** Alertmanager's ports (cmd/alertmanager/main.go: --web.listen-address :9093, --cluster.listen-address 0.0.0.0:9094). */
export const alertmanagerPorts = { web: 9093, cluster: 9094 } as const;

const alertmanagerConfigFile = "/etc/alertmanager/alertmanager.yaml";

/** Where the Ruler reaches the frontend: its Service, by name. */
export function frontendQueryAddress(namespace: string, service: string, port: number): string {
    return `${service}.${namespace}.svc.cluster.local:${port}`;
}

/** Where the global query finds both Ruler replicas: DNS SRV over the headless Service, as for the sidecars. */
export function rulerEndpoint(namespace: string): string {
    return `dnssrv+_grpc._tcp.${alertingServices.ruler}.${namespace}.svc.cluster.local`;
}

/** Where the Ruler sends: every Alertmanager replica, from the A records of their headless Service. */
export function inClusterAlertmanagerUrl(namespace: string): string {
    return `dns+http://${alertingServices.alertmanager}.${namespace}.svc.cluster.local:${alertmanagerPorts.web}`;
}

/**
 * `thanos rule`, every flag checked at v0.37.0, v0.41.0 and v0.42.4
 * (test/thanosFlags.ts holds the tables):
 * - `--query` the frontend, never the querier: the Ruler's queries get the
 *   frontend's retries like every user's; the Ruler asks with deduplication on;
 * - its own replica label, set from the pod name, which the global query
 *   deduplicates and `--alert.label-drop` takes off the alerts, so the pair's
 *   alerts are one alert to Alertmanager;
 * - no `--objstore.config`: the Ruler keeps ALERTS and ALERTS_FOR_STATE of a
 *   dozen rules in its local TSDB (48h by default, --tsdb.retention) and the
 *   querier reads them over its StoreAPI. Uploading would give the compactor a
 *   third kind of block source for series nobody looks at after the incident,
 *   and a Ruler without a bucket cannot fail on one. The data directory is an
 *   emptyDir: a restarted replica starts its `for` anew while its twin carries on.
 */
export function rulerArgs(inputs: { evaluationInterval: string; queryAddress: string; alertmanagerUrl: string; tls: boolean }): string[] {
    return [
        "rule",
        `--data-dir=${thanosPaths.data}`,
        `--rule-file=${rulesFile.directory}/${rulesFile.name}`,
        `--eval-interval=${inputs.evaluationInterval}`,
        `--grpc-address=0.0.0.0:${thanosPorts.grpc}`,
        `--http-address=0.0.0.0:${thanosPorts.http}`,
        // Kubernetes expands $(POD_NAME) from the container's environment.
        `--label=${rulerReplicaLabel}="$(POD_NAME)"`,
        `--alert.label-drop=${rulerReplicaLabel}`,
        `--query=${inputs.queryAddress}`,
        `--alertmanagers.url=${inputs.alertmanagerUrl}`,
        // The sidecars' mutual TLS, as for the Store Gateway: the pre-v0.42 querier has one client setting for all endpoints.
        ...(inputs.tls
            ? [
                  `--grpc-server-tls-cert=${thanosPaths.tls}/tls.crt`,
                  `--grpc-server-tls-key=${thanosPaths.tls}/tls.key`,
                  `--grpc-server-tls-client-ca=${thanosPaths.tls}/ca.crt`,
              ]
            : []),
    ];
}

/**
 * Alertmanager's config: alerts grouped by name and region, sent to the
 * webhook when there is one, else kept (visible in its UI and API) and sent
 * nowhere. Keys as Alertmanager v0.25 and v0.34 read them (config/config.go).
 */
export function alertmanagerConfig(regionLabel: string, webhookUrl?: string): string {
    const receiver = webhookUrl === undefined ? "none" : "webhook";
    return yaml.dump(
        {
            route: { receiver, group_by: ["alertname", regionLabel], group_wait: "30s", group_interval: "5m", repeat_interval: "4h" },
            receivers: [webhookUrl === undefined ? { name: receiver } : { name: receiver, webhook_configs: [{ url: webhookUrl, send_resolved: true }] }],
        },
        { lineWidth: -1 },
    );
}

/** The clustered pair: each replica gossips with both (itself included, which Alertmanager skips) over its stable DNS name. */
export function alertmanagerArgs(namespace: string): string[] {
    const peer = (ordinal: number) =>
        `--cluster.peer=${alertingServices.alertmanager}-${ordinal}.${alertingServices.alertmanager}.${namespace}.svc.cluster.local:${alertmanagerPorts.cluster}`;
    return [
        `--config.file=${alertmanagerConfigFile}`,
        "--storage.path=/alertmanager",
        `--web.listen-address=:${alertmanagerPorts.web}`,
        `--cluster.listen-address=0.0.0.0:${alertmanagerPorts.cluster}`,
        // Pod IPs are not always in the private ranges Alertmanager picks from by itself.
        `--cluster.advertise-address=$(POD_IP):${alertmanagerPorts.cluster}`,
        ...Array.from({ length: replicas }, (_, ordinal) => peer(ordinal)),
    ];
}

export interface GlobalAlertingArgs {
    namespace: pulumi.Input<string>;
    thanosVersion: string;
    alerting: Alerting;
    regionLabel: string;
    groups: RuleGroup[];
    /** The Query Frontend, host:port. */
    queryAddress: pulumi.Input<string>;
    /** The webhook's URL (a secret), when alerting.receiver is a webhook. */
    webhookUrl?: pulumi.Input<string>;
    /** Its gRPC server certificate: set when every StoreAPI connection is mutual TLS. */
    storeApiTls?: CertificatePems;
    /** images.registry: the mirror the Ruler and Alertmanager are pulled from. */
    imageRegistry?: string;
    provider: k8s.Provider;
    /** Set when the verification Job proves the Ruler up with its rules loaded: `pulumi up` then does not wait for its pods too. */
    provenByVerification?: boolean;
}

const labelsOf = (component: string) => ({
    "app.kubernetes.io/name": component === "alertmanager" ? "alertmanager" : "thanos",
    "app.kubernetes.io/component": component,
    "app.kubernetes.io/part-of": "thanos-global-view",
});

export const rulerLabels = labelsOf("rule");
export const alertmanagerLabels = labelsOf("alertmanager");

/** The pod's own name and address, for the flags that carry them. */
const downwardEnv = [
    { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
    { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
];

/**
 * The global tier's alerting: a Thanos Ruler pair evaluating the global rules
 * through the Query Frontend, and the clustered Alertmanager pair it sends to
 * (none when alerting.receiver names an Alertmanager of your own).
 *
 * Plain StatefulSets rather than the operator's ThanosRuler and Alertmanager
 * resources: the operator runs only in the regions' namespaces, and the global
 * query's cluster may run none of its own (every shipped stack happens to,
 * but a cluster of the global tier alone is valid), so the global tier never
 * depends on a controller it does not deploy.
 */
export class GlobalAlerting extends pulumi.ComponentResource {
    readonly storeApiEndpoints: pulumi.Output<string[]>;
    readonly ruler: k8s.apps.v1.StatefulSet;
    readonly alertmanager?: k8s.apps.v1.StatefulSet;

    constructor(name: string, args: GlobalAlertingArgs, opts?: pulumi.ComponentResourceOptions) {
        super("thanos-global-view:alerting:GlobalAlerting", name, {}, opts);
        const child = { parent: this, provider: args.provider };
        const { alerting } = args;
        const namespace = pulumi.output(args.namespace);
        const rules = rulesYaml(args.groups);

        const receiver = alerting.receiver;
        if (receiver.type !== "alertmanager") {
            const config = pulumi.secret(pulumi.output(args.webhookUrl).apply((url) => alertmanagerConfig(args.regionLabel, url)));
            const configSecret = new k8s.core.v1.Secret(
                `${name}-alertmanager-config`,
                {
                    metadata: { namespace: args.namespace },
                    stringData: { [alertmanagerConfigFile.split("/").pop()!]: config },
                },
                child,
            );
            new k8s.core.v1.Service(
                `${name}-alertmanager`,
                {
                    metadata: { name: alertingServices.alertmanager, namespace: args.namespace, labels: alertmanagerLabels },
                    spec: {
                        // Headless, listing replicas before they are ready: they must find each other to become ready.
                        clusterIP: "None",
                        publishNotReadyAddresses: true,
                        selector: alertmanagerLabels,
                        ports: [
                            { name: "web", port: alertmanagerPorts.web, targetPort: "web" },
                            { name: "cluster", port: alertmanagerPorts.cluster, targetPort: "cluster" },
                        ],
                    },
                },
                child,
            );
            this.alertmanager = new k8s.apps.v1.StatefulSet(
                `${name}-alertmanager`,
                {
                    metadata: { name: alertingServices.alertmanager, namespace: args.namespace, labels: alertmanagerLabels },
                    spec: {
                        replicas,
                        serviceName: alertingServices.alertmanager,
                        podManagementPolicy: "Parallel",
                        selector: { matchLabels: alertmanagerLabels },
                        template: {
                            metadata: { labels: alertmanagerLabels, annotations: { "thanos-global-view/config-sha256": configHash(config) } },
                            spec: {
                                automountServiceAccountToken: false,
                                // The image's user is nobody (the Alertmanager Dockerfile: USER nobody).
                                securityContext: {
                                    runAsNonRoot: true,
                                    runAsUser: 65534,
                                    runAsGroup: 65534,
                                    fsGroup: 65534,
                                    seccompProfile: { type: "RuntimeDefault" },
                                },
                                affinity: preferOneReplicaPerNode(alertmanagerLabels),
                                containers: [
                                    {
                                        name: "alertmanager",
                                        image: imageReference(alertmanagerImage, args.imageRegistry),
                                        args: namespace.apply(alertmanagerArgs),
                                        env: [...downwardEnv, { name: "GOMEMLIMIT", value: goMemoryLimit(fixedResources.alertmanager.limits.memory) }],
                                        ports: [
                                            { name: "web", containerPort: alertmanagerPorts.web },
                                            { name: "cluster", containerPort: alertmanagerPorts.cluster },
                                        ],
                                        readinessProbe: { httpGet: { path: "/-/ready", port: "web" }, periodSeconds: 10 },
                                        livenessProbe: { httpGet: { path: "/-/healthy", port: "web" }, periodSeconds: 10, failureThreshold: 6 },
                                        resources: fixedResources.alertmanager,
                                        securityContext: restrictedContainerSecurityContext,
                                        volumeMounts: [
                                            { name: "config", mountPath: alertmanagerConfigFile.replace(/\/[^/]+$/, ""), readOnly: true },
                                            { name: "data", mountPath: "/alertmanager" },
                                        ],
                                    },
                                ],
                                volumes: [
                                    { name: "config", secret: { secretName: configSecret.metadata.name } },
                                    { name: "data", emptyDir: {} },
                                ],
                            },
                        },
                    },
                },
                child,
            );
            new k8s.policy.v1.PodDisruptionBudget(
                `${name}-alertmanager`,
                {
                    metadata: { namespace: args.namespace, labels: alertmanagerLabels },
                    spec: { minAvailable: 1, selector: { matchLabels: alertmanagerLabels } },
                },
                child,
            );
        }

        const rulesMap = new k8s.core.v1.ConfigMap(
            `${name}-rules`,
            {
                metadata: { namespace: args.namespace, labels: rulerLabels },
                data: { [rulesFile.name]: rules },
            },
            child,
        );
        new k8s.core.v1.Service(
            `${name}-ruler`,
            {
                metadata: { name: alertingServices.ruler, namespace: args.namespace, labels: rulerLabels },
                spec: headlessThanosServiceSpec(rulerLabels),
            },
            child,
        );
        const resources = alerting.ruler.resources;
        const tls =
            args.storeApiTls &&
            new k8s.core.v1.Secret(
                `${name}-ruler-tls`,
                {
                    metadata: { namespace: args.namespace },
                    type: "kubernetes.io/tls",
                    stringData: tlsSecretData(args.storeApiTls),
                },
                child,
            );
        const alertmanagerUrl = receiver.type === "alertmanager" ? pulumi.output(receiver.url) : namespace.apply(inClusterAlertmanagerUrl);
        this.ruler = new k8s.apps.v1.StatefulSet(
            `${name}-ruler`,
            {
                metadata: {
                    name: alertingServices.ruler,
                    namespace: args.namespace,
                    labels: rulerLabels,
                    annotations: skipAwaitWhen(args.provenByVerification),
                },
                spec: {
                    replicas,
                    serviceName: alertingServices.ruler,
                    podManagementPolicy: "Parallel",
                    selector: { matchLabels: rulerLabels },
                    template: {
                        // A new rules file restarts the pair one at a time; the Ruler would also take a POST to /-/reload.
                        metadata: {
                            labels: rulerLabels,
                            annotations: { "thanos-global-view/config-sha256": configHash(rules, args.storeApiTls?.certPem, args.storeApiTls?.caCertPem) },
                        },
                        spec: {
                            automountServiceAccountToken: false,
                            securityContext: { ...thanosPodSecurityContext, fsGroup: thanosPodSecurityContext.runAsGroup },
                            affinity: preferOneReplicaPerNode(rulerLabels),
                            containers: [
                                {
                                    name: "rule",
                                    image: thanosImageReference(args.thanosVersion, args.imageRegistry),
                                    args: pulumi.all([args.queryAddress, alertmanagerUrl]).apply(([queryAddress, url]) =>
                                        rulerArgs({
                                            evaluationInterval: alerting.evaluationInterval,
                                            queryAddress,
                                            alertmanagerUrl: url,
                                            tls: tls !== undefined,
                                        }),
                                    ),
                                    env: [...downwardEnv, { name: "GOMEMLIMIT", value: goMemoryLimit(resources.limits.memory) }],
                                    ports: [
                                        { name: "grpc", containerPort: thanosPorts.grpc },
                                        { name: "http", containerPort: thanosPorts.http },
                                    ],
                                    readinessProbe: { httpGet: { path: "/-/ready", port: "http" }, periodSeconds: 10 },
                                    livenessProbe: {
                                        httpGet: { path: "/-/healthy", port: "http" },
                                        periodSeconds: 10,
                                        initialDelaySeconds: 30,
                                        failureThreshold: 6,
                                    },
                                    resources,
                                    securityContext: restrictedContainerSecurityContext,
                                    volumeMounts: [
                                        { name: "data", mountPath: thanosPaths.data },
                                        { name: "rules", mountPath: rulesFile.directory, readOnly: true },
                                        ...(tls === undefined ? [] : [{ name: "tls", mountPath: thanosPaths.tls, readOnly: true }]),
                                    ],
                                },
                            ],
                            volumes: [
                                { name: "data", emptyDir: {} },
                                { name: "rules", configMap: { name: rulesMap.metadata.name } },
                                ...(tls === undefined ? [] : [{ name: "tls", secret: { secretName: tls.metadata.name } }]),
                            ],
                        },
                    },
                },
            },
            child,
        );
        new k8s.policy.v1.PodDisruptionBudget(
            `${name}-ruler`,
            {
                metadata: { namespace: args.namespace, labels: rulerLabels },
                spec: { minAvailable: 1, selector: { matchLabels: rulerLabels } },
            },
            child,
        );

        this.storeApiEndpoints = namespace.apply((ns) => [rulerEndpoint(ns)]);
        this.registerOutputs({ storeApiEndpoints: this.storeApiEndpoints });
    }
}
