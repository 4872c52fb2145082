import * as k8s from "@pulumi/kubernetes";
import * as kx from "@pulumi/kubernetesx";
import * as pulumi from "@pulumi/pulumi";
import { fixedResources } from "../lib/kubernetes/podResources";
import { restrictedContainerSecurityContext, thanosPodSecurityContext } from "../lib/kubernetes/podSecurity";
import { Check, GrafanaCheck, RulesCheck, Timing, verificationJobName } from "../lib/verification/checks";
import { verificationScript } from "../lib/verification/jobScript";
import { grafanaAdmin } from "../lib/kubernetes/releases";
import { thanosImageReference } from "../lib/kubernetes/images";

export interface GlobalViewCheckArgs {
    /** What to prove, from the stack config (shared with `npm run verify`). */
    checks: Check[];
    /** The rules API's checks, when the Thanos Ruler runs. */
    rules?: RulesCheck[];
    timing: Timing;
    thanosVersion: string;
    /** The stack's `images.registry`: every image from this prefix instead of its own registry (lib/kubernetes/images.ts). */
    imageRegistry?: string;
    namespace: pulumi.Input<string>;
    /** The Query Frontend: the endpoint users query, from GlobalQuery's outputs. */
    frontendUrl: pulumi.Input<string>;
    /** Grafana, when it runs: proven through its API with the admin's credentials, read from their Secret. */
    grafana?: { checks: GrafanaCheck[]; url: pulumi.Input<string>; adminSecretName: pulumi.Input<string> };
    /** Everything the check must wait for; a new revision of any of them runs it again. */
    releases: k8s.helm.v3.Release[];
    /** Workloads built outside Helm that it proves too (the Store Gateway, the compactor): waited for, and a new generation of any runs it again. */
    workloads?: (k8s.apps.v1.Deployment | k8s.apps.v1.StatefulSet)[];
    provider: k8s.Provider;
}

/**
 * How long the Job may run in all: the script starts no round after its
 * deadline, but the round under way may ask every query (and its diagnosis)
 * at the request timeout, then sleep once.
 */
export function jobDeadlineSeconds(checks: Check[], timing: Timing, grafanaChecks: GrafanaCheck[] = [], rulesChecks: RulesCheck[] = []): number {
    return (
        timing.deadlineSeconds + (2 * checks.length + rulesChecks.length + grafanaChecks.length) * timing.requestTimeoutSeconds + timing.intervalSeconds + 30
    );
}

/** Grafana's URL, and the admin's credentials read from their Secret: never in the Job's spec. */
function grafanaEnvironment(url: pulumi.Input<string>, adminSecretName: pulumi.Input<string>): kx.types.EnvMap {
    const fromSecret = (key: string) => ({ secretKeyRef: { name: adminSecretName, key } });
    return { GRAFANA_URL: url, GRAFANA_USER: fromSecret(grafanaAdmin.secretKeys.user), GRAFANA_PASSWORD: fromSecret(grafanaAdmin.secretKeys.password) };
}

/**
 * A Job that proves the global view after every deploy: each region present,
 * each HA pair seen once per replica without deduplication and exactly once
 * with it. Pulumi waits for a Job to complete and fails the update when it
 * fails (backoffLimit 0: the script retries by itself, a failed pod is final).
 */
export class GlobalViewCheck extends pulumi.ComponentResource {
    readonly jobName: pulumi.Output<string>;

    constructor(name: string, args: GlobalViewCheckArgs, opts?: pulumi.ComponentResourceOptions) {
        super("thanos-global-view:monitoring:GlobalViewCheck", name, {}, opts);
        const grafanaChecks = args.grafana?.checks ?? [];
        const activeDeadlineSeconds = jobDeadlineSeconds(args.checks, args.timing, grafanaChecks, args.rules);

        const workloads = args.workloads ?? [];
        const revisions = pulumi
            .all([
                ...args.releases.map((release) => pulumi.interpolate`${release.name}=${release.status.revision}`),
                ...workloads.map((workload) => pulumi.interpolate`${workload.metadata.name}=${workload.metadata.generation}`),
            ])
            .apply((entries) => entries.join(","));

        const pod = new kx.PodBuilder({
            restartPolicy: "Never",
            automountServiceAccountToken: false,
            securityContext: thanosPodSecurityContext,
            containers: [
                {
                    name: "verify",
                    // Busybox-based and already on the nodes: sh and wget, no extra pull.
                    image: thanosImageReference(args.thanosVersion, args.imageRegistry),
                    command: ["/bin/sh", "-c", verificationScript(args.checks, args.timing, grafanaChecks, args.rules)],
                    env: {
                        FRONTEND_URL: args.frontendUrl,
                        ...(args.grafana === undefined ? {} : grafanaEnvironment(args.grafana.url, args.grafana.adminSecretName)),
                        // Part of the pod template: an upgraded release replaces the Job, so it runs again.
                        DEPLOYED_REVISIONS: revisions,
                    },
                    resources: fixedResources.verification,
                    securityContext: restrictedContainerSecurityContext,
                },
            ],
        });

        const job = new kx.Job(
            name,
            {
                metadata: {
                    // Fixed, so that `npm run up` can name its logs even when no stack output was saved.
                    name: verificationJobName,
                    namespace: args.namespace,
                    // A failed check is replaced, so it runs again, on the next `pulumi up`.
                    annotations: { "pulumi.com/replaceUnready": "true" },
                },
                spec: pod.asJobSpec({ backoffLimit: 0, activeDeadlineSeconds }),
            },
            {
                parent: this,
                provider: args.provider,
                dependsOn: [...args.releases, ...workloads],
                customTimeouts: { create: `${activeDeadlineSeconds + 60}s`, update: `${activeDeadlineSeconds + 60}s` },
            },
        );

        this.jobName = job.metadata.name;
        this.registerOutputs({ jobName: this.jobName });
    }
}
