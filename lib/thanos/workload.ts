// What every Thanos workload this program builds itself (the Store Gateway and
// the compactor) shares: the image, the objstore config mounted from a
// Secret, the HTTP probes, and a pod that meets the `restricted` standard.
import * as k8s from "@pulumi/kubernetes";
import * as kx from "@pulumi/kubernetesx";
import * as pulumi from "@pulumi/pulumi";
import * as crypto from "crypto";
import { ContainerResources } from "../config/settings";
import { objstoreSecret } from "./objectStorage";
import { fixedResources, goMemoryLimit } from "../kubernetes/podResources";
import { restrictedContainerSecurityContext, thanosPodSecurityContext } from "../kubernetes/podSecurity";
import { thanosImageReference } from "../kubernetes/images";

/** Thanos's default ports (cmd/thanos/config.go at v0.37.0 to v0.42.4): gRPC 10901, HTTP 10902. */
export const thanosPorts = { grpc: 10901, http: 10902 } as const;

/** Where the objstore config and the data directory are, in every Thanos pod built here. */
const objstoreDirectory = "/etc/thanos/objstore";

export const thanosPaths = {
    objstoreDirectory,
    objstoreConfig: `${objstoreDirectory}/${objstoreSecret.key}`,
    data: "/var/thanos/data",
    tls: "/etc/thanos/tls",
} as const;

export interface ThanosPodInputs {
    container: string;
    thanosVersion: string;
    /** The stack's `images.registry`: every image from this prefix instead of its own registry (lib/kubernetes/images.ts). */
    imageRegistry?: string;
    args: pulumi.Input<string>[];
    resources: ContainerResources;
    /** The Secret holding the objstore config under objstoreSecret.key. */
    objstoreSecretName: pulumi.Input<string>;
    /** A kubernetes.io/tls Secret (tls.crt, tls.key, ca.crt) mounted at thanosPaths.tls. */
    tlsSecretName?: pulumi.Input<string>;
    /** Whether the component serves gRPC (the Store Gateway does, the compactor does not). */
    grpc: boolean;
}

/**
 * One Thanos container in a `restricted` pod. Its data directory is a volume
 * named `data`: an emptyDir unless the workload claims one by that name.
 */
export function thanosPod(inputs: ThanosPodInputs, dataVolume: "emptyDir" | "claimed"): kx.PodBuilder {
    const probe = (path: string) => ({ httpGet: { path, port: "http" }, periodSeconds: 10 });
    return new kx.PodBuilder({
        automountServiceAccountToken: false,
        securityContext: { ...thanosPodSecurityContext, fsGroup: thanosPodSecurityContext.runAsGroup },
        containers: [
            {
                name: inputs.container,
                image: thanosImageReference(inputs.thanosVersion, inputs.imageRegistry),
                args: inputs.args,
                ports: inputs.grpc ? { grpc: thanosPorts.grpc, http: thanosPorts.http } : { http: thanosPorts.http },
                volumeMounts: [
                    { name: "data", mountPath: thanosPaths.data },
                    objstoreVolume(inputs.objstoreSecretName).mount,
                    ...(inputs.tlsSecretName === undefined ? [] : [{ name: "tls", mountPath: thanosPaths.tls, readOnly: true }]),
                ],
                env: { GOMEMLIMIT: goMemoryLimit(inputs.resources.limits.memory) },
                readinessProbe: probe("/-/ready"),
                livenessProbe: { ...probe("/-/healthy"), initialDelaySeconds: 30, failureThreshold: 6 },
                resources: inputs.resources,
                securityContext: restrictedContainerSecurityContext,
            },
        ],
        volumes: [
            ...(dataVolume === "emptyDir" ? [{ name: "data", emptyDir: {} }] : []),
            objstoreVolume(inputs.objstoreSecretName).volume,
            ...(inputs.tlsSecretName === undefined ? [] : [{ name: "tls", secret: { secretName: inputs.tlsSecretName } }]),
        ],
    });
}

/**
 * Thanos reads its objstore config (and its CA) only at start: a hash of them
 * in the pod template restarts the pods when either changes. A SHA-256 of a
 * config holding a random key reveals nothing of it, so the hash is not a
 * secret: otherwise every Helm value and pod spec around it would be one, and
 * `pulumi preview --diff` would hide their changes.
 */
export function configHash(...parts: pulumi.Input<string | undefined>[]): pulumi.Output<string> {
    return pulumi.unsecret(
        pulumi.all(parts).apply((values) =>
            crypto
                .createHash("sha256")
                .update(values.map((part) => part ?? "").join("\n"))
                .digest("hex"),
        ),
    );
}

/** The objstore config in a Secret of its own, under the key every pod here reads. */
export function objstoreConfigSecret(
    name: string,
    namespace: pulumi.Input<string>,
    config: pulumi.Input<string>,
    opts: pulumi.CustomResourceOptions,
): k8s.core.v1.Secret {
    return new k8s.core.v1.Secret(name, { metadata: { namespace }, stringData: { [objstoreSecret.key]: config } }, opts);
}

/** The objstore Secret as a volume, and where each Thanos container mounts it. */
function objstoreVolume(secretName: pulumi.Input<string>) {
    return {
        mount: { name: "objstore", mountPath: thanosPaths.objstoreDirectory, readOnly: true },
        volume: { name: "objstore", secret: { secretName } },
    };
}

/** The `--objstore.config-file` flag every component built here starts with. */
export const objstoreConfigFlag = `--objstore.config-file=${thanosPaths.objstoreConfig}`;

/**
 * `thanos tools bucket ls`: lists the blocks under the config's prefix and
 * exits 0, or fails on the first bucket error (cmd/thanos/tools_bucket.go:402-433
 * at v0.37.0, 419-464 at v0.41.0, 420-464 at v0.42.4; the objstore flags are the
 * `bucket` command's, :297, :314, :315). With the sidecars' own config, from
 * their namespace: what a sidecar will meet at its first upload, hours early.
 */
export function bucketCheckArgs(): string[] {
    return ["tools", "bucket", "ls", objstoreConfigFlag];
}

/** One run of bucketCheckArgs in a `restricted` pod, its objstore config mounted like every component's. */
export function bucketCheckPod(thanosVersion: string, imageRegistry: string | undefined, objstoreSecretName: pulumi.Input<string>): kx.PodBuilder {
    return new kx.PodBuilder({
        restartPolicy: "Never",
        automountServiceAccountToken: false,
        securityContext: thanosPodSecurityContext,
        containers: [
            {
                name: "bucket-check",
                image: thanosImageReference(thanosVersion, imageRegistry),
                args: bucketCheckArgs(),
                env: { GOMEMLIMIT: goMemoryLimit(fixedResources.bucketCheck.limits.memory) },
                volumeMounts: [objstoreVolume(objstoreSecretName).mount],
                resources: fixedResources.bucketCheck,
                securityContext: restrictedContainerSecurityContext,
            },
        ],
        volumes: [objstoreVolume(objstoreSecretName).volume],
    });
}

/** Replicas on different nodes when there are enough; never blocks scheduling. */
export function preferOneReplicaPerNode(matchLabels: Record<string, string>): Record<string, unknown> {
    return {
        podAntiAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [
                {
                    weight: 100,
                    podAffinityTerm: { topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels } },
                },
            ],
        },
    };
}

/**
 * pulumi-kubernetes waits for a workload's pods to be ready unless it carries
 * this annotation (provider/pkg/await/await.go, the skipAwait annotation).
 */
export function skipAwaitWhen(skip: boolean | undefined): Record<string, string> {
    return skip ? { "pulumi.com/skipAwait": "true" } : {};
}

/** A Thanos workload's Service for the querier: headless, one DNS SRV record per ready replica, its gRPC and HTTP ports. */
export function headlessThanosServiceSpec(selector: Record<string, string>) {
    return {
        clusterIP: "None",
        selector,
        ports: [
            { name: "grpc", port: thanosPorts.grpc, targetPort: "grpc" },
            { name: "http", port: thanosPorts.http, targetPort: "http" },
        ],
    };
}
