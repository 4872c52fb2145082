import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { DashboardInputs, dashboards, datasourceUid } from "../lib/grafana/dashboards";
import { fixedResources } from "../lib/kubernetes/podResources";
import { grafanaAdmin, grafanaLocalPort, grafanaReleaseName, releaseTimeoutSeconds } from "../lib/kubernetes/releases";
import { HelmChart } from "../lib/kubernetes/charts";
import { chartImage, chartImageRegistry } from "../lib/kubernetes/images";
import { grafanaChart } from "../lib/versions";

export interface GrafanaArgs {
    /** The global query's namespace: Grafana runs beside it. */
    namespace: pulumi.Input<string>;
    /** The Query Frontend, from GlobalQuery's outputs: Grafana's one data source. */
    frontendUrl: pulumi.Input<string>;
    dashboards: DashboardInputs;
    provider: k8s.Provider;
    /** What kubectl needs to reach the cluster, for the port-forward command. */
    kubectlFlags: pulumi.Input<string>;
    /** The stack's Thanos (`versions.thanos`), which the frontend runs: told to the data source. */
    thanosVersion: string;
    /** The grafana chart at grafanaChart.version (lib/kubernetes/charts.ts). */
    chart: HelmChart;
    /** The stack's `images.registry`: every image from this prefix instead of its own registry (lib/kubernetes/images.ts). */
    imageRegistry?: string;
}

const servicePort = 80;
const adminSecretKeys = grafanaAdmin.secretKeys;

/** The provider Grafana reads dashboards from: the chart mounts its ConfigMap at /var/lib/grafana/dashboards/<name> (_pod.tpl:1302-1307). */
const dashboardProvider = "thanos-global-view";

interface GrafanaValuesInputs {
    frontendUrl: string;
    thanosVersion: string;
    adminSecretName: string;
    dashboardsConfigMapName: string;
    imageRegistry?: string;
}

/**
 * The data source's `prometheusVersion` for a Thanos `vX.Y.Z`: plain semver,
 * as Grafana's own choices for Thanos are written ("0.31.1",
 * packages/grafana-prometheus/src/configuration/PromFlavorVersions.ts:61-81).
 * Grafana compares it with semver's gte against the first Thanos whose label
 * APIs take match[], 0.18.0, to ask /api/v1/label/<name>/values?match[]=...
 * for label_values() rather than /api/v1/series (datasource.ts:221-256,
 * language_provider.ts:164-166; @grafana/prometheus 13.2.1, the 13.2 line's
 * published source). Unset, Grafana assumes the labels API too (:247-249):
 * said here so that the data source states what it talks to. The settings
 * page's list ends at "> 0.31.x" (0.31.1) and shows no entry for a newer
 * version (PromSettings.tsx:373-376); the data source is read-only there.
 */
function prometheusVersionOf(thanosVersion: string): string {
    return thanosVersion.replace(/^v/, "");
}

/**
 * Helm values for the grafana chart 12.11.1 (keys checked against its
 * templates). One data source, dashboards from our ConfigMap through a file
 * provider: no sidecar, no init container, no API access, so every pod meets
 * the `restricted` standard and needs no service account token.
 */
export function grafanaValues({
    frontendUrl,
    thanosVersion,
    adminSecretName,
    dashboardsConfigMapName,
    imageRegistry,
}: GrafanaValuesInputs): Record<string, unknown> {
    return {
        fullnameOverride: grafanaReleaseName,
        image: chartImage(grafanaChart.image, imageRegistry),
        // And every image it would add (sidecars, init containers), should a value turn one on.
        ...chartImageRegistry(imageRegistry),
        replicas: 1,
        admin: { existingSecret: adminSecretName, userKey: adminSecretKeys.user, passwordKey: adminSecretKeys.password },
        datasources: {
            "datasources.yaml": {
                apiVersion: 1,
                datasources: [
                    {
                        name: "Thanos global view",
                        uid: datasourceUid,
                        type: "prometheus",
                        access: "proxy",
                        // Never Query directly: the frontend splits, retries and caches.
                        url: frontendUrl,
                        isDefault: true,
                        editable: false,
                        jsonData: { prometheusType: "Thanos", prometheusVersion: prometheusVersionOf(thanosVersion), httpMethod: "POST", timeInterval: "30s" },
                    },
                ],
            },
        },
        dashboardProviders: {
            "dashboardproviders.yaml": {
                apiVersion: 1,
                providers: [
                    {
                        name: dashboardProvider,
                        orgId: 1,
                        folder: "Thanos global view",
                        type: "file",
                        disableDeletion: true,
                        allowUiUpdates: false,
                        updateIntervalSeconds: 30,
                        options: { path: `/var/lib/grafana/dashboards/${dashboardProvider}` },
                    },
                ],
            },
        },
        dashboardsConfigMaps: { [dashboardProvider]: dashboardsConfigMapName },
        // Non-empty `dashboards` adds a curl init container that downloads (_pod.tpl:32, 69-117).
        dashboards: {},
        sidecar: { dashboards: { enabled: false }, datasources: { enabled: false } },
        // The `helm test` pod runs as root with no security context (values.yaml:127-139).
        testFramework: { enabled: false },
        // Dashboards and data sources are provisioned at every start: nothing to keep.
        persistence: { enabled: false },
        initChownData: { enabled: false },
        rbac: { create: false },
        serviceAccount: { create: true, automountServiceAccountToken: false },
        automountServiceAccountToken: false,
        securityContext: { runAsNonRoot: true, runAsUser: 472, runAsGroup: 472, fsGroup: 472, seccompProfile: { type: "RuntimeDefault" } },
        containerSecurityContext: {
            allowPrivilegeEscalation: false,
            privileged: false,
            capabilities: { drop: ["ALL"] },
            seccompProfile: { type: "RuntimeDefault" },
        },
        resources: fixedResources.grafana,
        service: { type: "ClusterIP", port: servicePort },
        "grafana.ini": {
            analytics: { check_for_updates: false, check_for_plugin_updates: false, reporting_enabled: false },
            users: { allow_sign_up: false },
            "auth.anonymous": { enabled: false },
        },
    };
}

/**
 * Grafana on the global view: the Query Frontend as its one data source and
 * the global-view dashboards, provisioned at start; an admin password the
 * program generates and keeps secret.
 */
export class Grafana extends pulumi.ComponentResource {
    readonly release: k8s.helm.v3.Release;
    readonly serviceName: string;
    readonly url: pulumi.Output<string>;
    readonly adminUser: string;
    readonly adminPassword: pulumi.Output<string>;
    readonly adminSecretName: pulumi.Output<string>;
    readonly portForwardCommand: pulumi.Output<string>;
    readonly localUrl: string;

    constructor(name: string, args: GrafanaArgs, opts?: pulumi.ComponentResourceOptions) {
        super("thanos-global-view:monitoring:Grafana", name, {}, opts);
        this.serviceName = grafanaReleaseName;
        this.adminUser = grafanaAdmin.user;
        this.localUrl = `http://localhost:${grafanaLocalPort}`;

        // Kept in state (secret) and stable across runs: a new one only when replaced.
        const password = new random.RandomPassword(`${name}-admin`, { length: 32, special: false }, { parent: this });
        // The provider marks `result` secret; said again so no export of it can ever be plain.
        this.adminPassword = pulumi.secret(password.result);

        const adminSecret = new k8s.core.v1.Secret(
            `${name}-admin`,
            {
                metadata: { namespace: args.namespace },
                stringData: { [adminSecretKeys.user]: this.adminUser, [adminSecretKeys.password]: password.result },
            },
            { parent: this, provider: args.provider },
        );
        this.adminSecretName = adminSecret.metadata.name;

        // A change of content replaces a ConfigMap (pulumi-kubernetes v4.32.0
        // provider/pkg/provider/diff.go:31-33): auto-named, the new one comes
        // first and the release rolls Grafana onto it.
        const dashboardsConfigMap = new k8s.core.v1.ConfigMap(
            `${name}-dashboards`,
            {
                metadata: { namespace: args.namespace },
                data: Object.fromEntries(Object.entries(dashboards(args.dashboards)).map(([file, model]) => [file, JSON.stringify(model, null, 2)])),
            },
            { parent: this, provider: args.provider },
        );

        this.release = new k8s.helm.v3.Release(
            name,
            {
                name: grafanaReleaseName,
                namespace: args.namespace,
                ...args.chart,
                values: pulumi
                    .all([args.frontendUrl, adminSecret.metadata.name, dashboardsConfigMap.metadata.name])
                    .apply(([frontendUrl, adminSecretName, dashboardsConfigMapName]) =>
                        grafanaValues({
                            frontendUrl,
                            thanosVersion: args.thanosVersion,
                            adminSecretName,
                            dashboardsConfigMapName,
                            imageRegistry: args.imageRegistry,
                        }),
                    ),
                timeout: releaseTimeoutSeconds.grafana,
                cleanupOnFail: true,
                maxHistory: 10,
            },
            { parent: this, provider: args.provider },
        );

        this.url = pulumi.output(args.namespace).apply((ns) => `http://${this.serviceName}.${ns}.svc.cluster.local:${servicePort}`);
        this.portForwardCommand = pulumi.interpolate`kubectl ${args.kubectlFlags} --namespace ${args.namespace} port-forward service/${this.serviceName} ${grafanaLocalPort}:${servicePort}`;

        this.registerOutputs({
            serviceName: this.serviceName,
            url: this.url,
            localUrl: this.localUrl,
            adminUser: this.adminUser,
            adminPassword: this.adminPassword,
            adminSecretName: this.adminSecretName,
            portForwardCommand: this.portForwardCommand,
        });
    }
}
