import * as k8s from "@pulumi/kubernetes";
import * as kx from "@pulumi/kubernetesx";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { inClusterBucket, inClusterEndpoint, longTermServices, objectStoreS3Port } from "../lib/thanos/objectStorage";
import { fixedResources, goMemoryLimit } from "../lib/kubernetes/podResources";
import { restrictedContainerSecurityContext } from "../lib/kubernetes/podSecurity";
import { imageReference } from "../lib/kubernetes/images";
import { seaweedfsImage } from "../lib/versions";
import { podSecurityLabels } from "./region";

export interface ObjectStoreArgs {
    /** Its own namespace, created here: the store stands apart from the Thanos that uses it, as a bucket would. */
    namespace: string;
    /**
     * Its PersistentVolumeClaim: all the history the bucket keeps. Applied
     * when the claim is created; a claim is grown by hand (kubectl patch),
     * where its StorageClass allows.
     */
    volumeSize: string;
    /** Set when sidecars in other kind clusters upload to it: the kind node whose NodePort they reach it on. */
    nodeHost?: string;
    /** The stack's `images.registry`: every image from this prefix instead of its own registry (lib/kubernetes/images.ts). */
    imageRegistry?: string;
    provider: k8s.Provider;
}

/**
 * `weed mini` as SeaweedFS 4.44 reads it (weed/command/mini.go:382-540): data
 * under /data, the bucket created at start (:1360-1366), and everything Thanos
 * does not use switched off: WebDAV, the admin UI, the Iceberg and Lance
 * catalogs, and the telemetry it would otherwise send to seaweedfs.com. The
 * admin server itself cannot be switched off: it listens on every address
 * (port 23646 and its gRPC 33646) whatever -admin.ui and -ip.bind say
 * (weed/command/admin.go:426, seen running the real binary), so the
 * NetworkPolicy below is what keeps it to the pod. Logs
 * to stderr, not to files in /tmp (glog's default, weed/glog/glog_file.go:88-92;
 * a global flag, so before the command, as docker/entrypoint.sh:108 has it).
 * Every flag is also saved in /data/mini.options and read back when it is
 * later left at its default (mini.go:1093-1112).
 */
export function objectStoreArgs(): string[] {
    return [
        "-logtostderr=true",
        "mini",
        "-dir=/data",
        `-s3.port=${objectStoreS3Port}`,
        `-bucket=${inClusterBucket.name}`,
        "-webdav=false",
        "-admin.ui=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-master.telemetry=false",
    ];
}

/**
 * The `seaweed` user of the image (docker/Dockerfile.go_build:70-71): its
 * entrypoint would start as root to chown /data and then drop to it; the pod
 * starts as that user instead, and fsGroup gives it the volume.
 */
const seaweedUser = 1000;

/** Ready once the bucket exists, which mini creates after its S3 port answers (mini.go:1364): asked of the filer on localhost (filer_server_handlers_read.go:96-122). */
const bucketExists = ["wget", "-q", "-O", "/dev/null", `http://127.0.0.1:8888/buckets/${inClusterBucket.name}?metadata=true`];

/**
 * An S3-compatible store in the cluster, for a laptop's long-term storage:
 * one SeaweedFS with its volume, its credentials generated here and handed to
 * it through a Secret, never written in the pod spec or the stack config.
 */
export class ObjectStore extends pulumi.ComponentResource {
    readonly namespace: pulumi.Output<string>;
    /** The secret key of the store's one identity (a secret output). */
    readonly secretKey: pulumi.Output<string>;
    /** host:port inside its own cluster. */
    readonly endpoint: pulumi.Output<string>;
    /** host:port from other kind clusters, when they need it. */
    readonly nodeEndpoint?: pulumi.Output<string>;
    /** Ready once the store answers S3: what the gateway and compactor wait for. */
    readonly statefulSet: k8s.apps.v1.StatefulSet;

    constructor(name: string, args: ObjectStoreArgs, opts?: pulumi.ComponentResourceOptions) {
        super("thanos-global-view:storage:ObjectStore", name, {}, opts);
        const namespace = new k8s.core.v1.Namespace(
            name,
            {
                metadata: { name: args.namespace, labels: podSecurityLabels("restricted") },
            },
            { parent: this, provider: args.provider },
        );
        this.namespace = namespace.metadata.name;
        const secretKey = new random.RandomPassword(`${name}-secret-key`, { length: 40, special: false }, { parent: this });
        this.secretKey = pulumi.secret(secretKey.result);

        const credentials = new kx.Secret(
            `${name}-credentials`,
            {
                metadata: { namespace: this.namespace },
                // Read by SeaweedFS as its admin identity (weed/s3api/auth_credentials.go:514-545 at 4.44).
                stringData: { AWS_ACCESS_KEY_ID: inClusterBucket.accessKey, AWS_SECRET_ACCESS_KEY: this.secretKey },
            },
            { parent: this, provider: args.provider },
        );

        const labels = {
            "app.kubernetes.io/name": "seaweedfs",
            "app.kubernetes.io/component": "object-store",
            "app.kubernetes.io/part-of": "thanos-global-view",
        };
        const service = new k8s.core.v1.Service(
            name,
            {
                metadata: { name: longTermServices.objectStore, namespace: this.namespace, labels },
                spec: {
                    type: args.nodeHost === undefined ? "ClusterIP" : "NodePort",
                    selector: labels,
                    ports: [{ name: "s3", port: objectStoreS3Port, targetPort: "s3" }],
                },
            },
            { parent: this, provider: args.provider },
        );

        const pod = new kx.PodBuilder({
            automountServiceAccountToken: false,
            securityContext: {
                runAsNonRoot: true,
                runAsUser: seaweedUser,
                runAsGroup: seaweedUser,
                fsGroup: seaweedUser,
                seccompProfile: { type: "RuntimeDefault" },
            },
            containers: [
                {
                    name: "seaweedfs",
                    image: imageReference(seaweedfsImage, args.imageRegistry),
                    // Straight to weed: the image's entrypoint expects to start as root.
                    command: ["/usr/bin/weed"],
                    args: objectStoreArgs(),
                    env: {
                        AWS_ACCESS_KEY_ID: credentials.asEnvValue("AWS_ACCESS_KEY_ID"),
                        AWS_SECRET_ACCESS_KEY: credentials.asEnvValue("AWS_SECRET_ACCESS_KEY"),
                        GOMEMLIMIT: goMemoryLimit(fixedResources.objectStore.limits.memory),
                    },
                    ports: { s3: objectStoreS3Port },
                    volumeMounts: [
                        { name: "data", mountPath: "/data" },
                        { name: "tmp", mountPath: "/tmp" },
                    ],
                    readinessProbe: { exec: { command: bucketExists }, periodSeconds: 10 },
                    // Its admin server may take two minutes to come up on a cold start (mini.go:1650).
                    livenessProbe: { httpGet: { path: "/healthz", port: "s3" }, periodSeconds: 10, initialDelaySeconds: 30, failureThreshold: 12 },
                    resources: fixedResources.objectStore,
                    securityContext: restrictedContainerSecurityContext,
                },
            ],
            // Its local sockets (weed/command/mini.go: filer.localSocket, s3.localSocket default to /tmp).
            volumes: [{ name: "tmp", emptyDir: { sizeLimit: "64Mi" } }],
        });

        this.statefulSet = new k8s.apps.v1.StatefulSet(
            name,
            {
                // Fixed, so that its claim is always data-thanos-object-store-0: a
                // replaced StatefulSet finds the bucket's data where it was.
                metadata: { name: longTermServices.objectStore, namespace: this.namespace, labels },
                spec: {
                    // One writer on one volume: a second would not see the first's data.
                    replicas: 1,
                    serviceName: service.metadata.name,
                    selector: { matchLabels: labels },
                    template: { metadata: { labels }, spec: pod.podSpec },
                    volumeClaimTemplates: [
                        {
                            metadata: { name: "data" },
                            spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: args.volumeSize } } },
                        },
                    ],
                    // The claim outlives a replaced StatefulSet; `pulumi destroy` deletes the namespace, and the claim with it.
                    persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
                },
            },
            {
                parent: this,
                provider: args.provider,
                // A new volume size or namespace replaces the StatefulSet (pulumi-kubernetes v4.32.0
                // provider/pkg/provider/diff.go:196-203, provider.go:1645-1660); the old one must
                // let go of the claim first, whatever changed.
                deleteBeforeReplace: true,
            },
        );

        // Its filer, volume server, master and admin ports answer anyone without credentials:
        // only S3 (which checks its identity) is let in, where the cluster enforces
        // NetworkPolicies (kind's kindnet does: images/kindnetd/cmd/kindnetd/main.go:229-251 at v0.32.0).
        new k8s.networking.v1.NetworkPolicy(
            name,
            {
                metadata: { namespace: this.namespace, labels },
                spec: { podSelector: { matchLabels: labels }, policyTypes: ["Ingress"], ingress: [{ ports: [{ protocol: "TCP", port: objectStoreS3Port }] }] },
            },
            { parent: this, provider: args.provider },
        );

        this.endpoint = service.metadata.namespace.apply(inClusterEndpoint);
        this.nodeEndpoint = args.nodeHost === undefined ? undefined : pulumi.interpolate`${args.nodeHost}:${service.spec.ports[0].nodePort}`;
        this.registerOutputs({ endpoint: this.endpoint, nodeEndpoint: this.nodeEndpoint });
    }
}
