import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { LongTermStorage } from "../lib/config/schema";
import { longTermServices } from "../lib/thanos/objectStorage";
import { parseQuantity } from "../lib/kubernetes/quantity";
import {
    configHash,
    headlessThanosServiceSpec,
    objstoreConfigFlag,
    objstoreConfigSecret,
    preferOneReplicaPerNode,
    skipAwaitWhen,
    thanosPaths,
    thanosPod,
    thanosPorts,
} from "../lib/thanos/workload";
import { CertificatePems, tlsSecretData } from "./storeApiTls";

export interface StoreGatewayArgs {
    namespace: pulumi.Input<string>;
    thanosVersion: string;
    /** The stack's `images.registry`: every image from this prefix instead of its own registry (lib/kubernetes/images.ts). */
    imageRegistry?: string;
    storage: LongTermStorage;
    /** The objstore config (YAML, a secret): written to a Secret of its own. */
    objstoreConfig: pulumi.Input<string>;
    /** Its gRPC server certificate: set when every StoreAPI connection is mutual TLS. */
    storeApiTls?: CertificatePems;
    provider: k8s.Provider;
    /** What must run first: the in-cluster store, when there is one. */
    dependsOn?: pulumi.Input<pulumi.Resource>[];
    /**
     * Set when the verification Job proves it ready (it retries for minutes):
     * `pulumi up` then does not wait for its pods too, which would put one
     * more slow step between the store and the Job.
     */
    provenByVerification?: boolean;
}

const mebibytes = (bytes: number) => `${Math.floor(bytes / 1024 ** 2)}MB`;

/**
 * `thanos store`, every flag checked at v0.37.0, v0.41.0 and v0.42.4
 * (cmd/thanos/store.go and the shared cmd/thanos/config.go; test/thanosFlags.ts
 * holds the tables). Its two memory pools default to 250MB and 2GB whatever
 * the container gets: here they are an eighth and a quarter of its memory
 * limit, which leaves the heap the rest under GOMEMLIMIT (four fifths) for
 * what a query decodes and the gRPC buffers it streams through, so a busy
 * gateway fills its caches, not its cgroup. Sizes are read as base-2 units
 * (`MB` is MiB: alecthomas/units ParseBase2Bytes).
 */
export function storeGatewayArgs(memoryLimit: string, tls: boolean): string[] {
    const limit = parseQuantity(memoryLimit);
    return [
        "store",
        `--data-dir=${thanosPaths.data}`,
        objstoreConfigFlag,
        `--grpc-address=0.0.0.0:${thanosPorts.grpc}`,
        `--http-address=0.0.0.0:${thanosPorts.http}`,
        `--index-cache-size=${mebibytes(limit / 8)}`,
        `--chunk-pool-size=${mebibytes(limit / 4)}`,
        // The sidecars' TLS, for the same reason: the pre-v0.42 querier has one client setting for all endpoints.
        ...(tls
            ? [
                  `--grpc-server-tls-cert=${thanosPaths.tls}/tls.crt`,
                  `--grpc-server-tls-key=${thanosPaths.tls}/tls.key`,
                  `--grpc-server-tls-client-ca=${thanosPaths.tls}/ca.crt`,
              ]
            : []),
    ];
}

/** Where the global query finds every replica: DNS SRV over the headless Service, as for the sidecars. */
export function storeGatewayEndpoint(namespace: string): string {
    return `dnssrv+_grpc._tcp.${longTermServices.storeGateway}.${namespace}.svc.cluster.local`;
}

export const storeGatewayLabels = {
    "app.kubernetes.io/name": "thanos",
    "app.kubernetes.io/component": "store-gateway",
    "app.kubernetes.io/part-of": "thanos-global-view",
} as const;

/**
 * The Store Gateway: serves the bucket's blocks to the global query over the
 * StoreAPI, like one more sidecar whose history starts where the sidecars'
 * retention ends. Stateless (its index headers are rebuilt from the bucket),
 * so a Deployment, spread over nodes, kept available through node drains.
 */
export class StoreGateway extends pulumi.ComponentResource {
    readonly storeApiEndpoints: pulumi.Output<string[]>;
    readonly deployment: k8s.apps.v1.Deployment;

    constructor(name: string, args: StoreGatewayArgs, opts?: pulumi.ComponentResourceOptions) {
        super("thanos-global-view:storage:StoreGateway", name, {}, opts);
        const { storeGateway } = args.storage;
        const child = { parent: this, provider: args.provider };

        const objstore = objstoreConfigSecret(`${name}-objstore`, args.namespace, args.objstoreConfig, child);
        const tls =
            args.storeApiTls &&
            new k8s.core.v1.Secret(
                `${name}-tls`,
                {
                    metadata: { namespace: args.namespace },
                    type: "kubernetes.io/tls",
                    stringData: tlsSecretData(args.storeApiTls),
                },
                child,
            );

        const service = new k8s.core.v1.Service(
            name,
            {
                metadata: { name: longTermServices.storeGateway, namespace: args.namespace, labels: storeGatewayLabels },
                spec: headlessThanosServiceSpec(storeGatewayLabels),
            },
            child,
        );

        const pod = thanosPod(
            {
                container: "store-gateway",
                thanosVersion: args.thanosVersion,
                imageRegistry: args.imageRegistry,
                args: storeGatewayArgs(storeGateway.resources.limits.memory, tls !== undefined),
                resources: storeGateway.resources,
                objstoreSecretName: objstore.metadata.name,
                tlsSecretName: tls?.metadata.name,
                grpc: true,
            },
            "emptyDir",
        );

        this.deployment = new k8s.apps.v1.Deployment(
            name,
            {
                metadata: { namespace: args.namespace, labels: storeGatewayLabels, annotations: skipAwaitWhen(args.provenByVerification) },
                spec: {
                    replicas: storeGateway.replicas,
                    selector: { matchLabels: storeGatewayLabels },
                    template: {
                        metadata: {
                            labels: storeGatewayLabels,
                            annotations: {
                                "thanos-global-view/config-sha256": configHash(args.objstoreConfig, args.storeApiTls?.certPem, args.storeApiTls?.caCertPem),
                            },
                        },
                        spec: pod.podSpec.apply((spec) => ({ ...spec, affinity: preferOneReplicaPerNode(storeGatewayLabels) })),
                    },
                },
            },
            { ...child, dependsOn: args.dependsOn },
        );

        if (storeGateway.replicas >= 2) {
            new k8s.policy.v1.PodDisruptionBudget(
                name,
                {
                    metadata: { namespace: args.namespace, labels: storeGatewayLabels },
                    spec: { minAvailable: 1, selector: { matchLabels: storeGatewayLabels } },
                },
                child,
            );
        }

        this.storeApiEndpoints = service.metadata.namespace.apply((namespace) => [storeGatewayEndpoint(namespace)]);
        this.registerOutputs({ storeApiEndpoints: this.storeApiEndpoints });
    }
}
