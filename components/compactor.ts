import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { LongTermStorage } from "../lib/config/schema";
import { longTermServices } from "../lib/thanos/objectStorage";
import { configHash, objstoreConfigFlag, objstoreConfigSecret, skipAwaitWhen, thanosPaths, thanosPod, thanosPorts } from "../lib/thanos/workload";

export interface CompactorArgs {
    namespace: pulumi.Input<string>;
    thanosVersion: string;
    /** The stack's `images.registry`: every image from this prefix instead of its own registry (lib/kubernetes/images.ts). */
    imageRegistry?: string;
    storage: LongTermStorage;
    /** The objstore config (YAML, a secret): written to a Secret of its own. */
    objstoreConfig: pulumi.Input<string>;
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

/**
 * `thanos compact`, every flag checked at v0.37.0, v0.41.0 and v0.42.4
 * (cmd/thanos/compact.go; test/thanosFlags.ts holds the tables). Not one of
 * them is `--block-sync-concurrency`, which the banzaicloud chart still
 * renders and Thanos removed in v0.27.0 (#5426): the reason this is built
 * here and not by the chart.
 * - `--wait`: runs on, compacting every 5m, instead of once;
 * - retention per resolution, 0d keeping it forever (pkg/compact/retention.go:36-37);
 * - `--delete-delay=48h`: blocks are marked first and deleted two days later,
 *   so a Store Gateway still serving one never finds it gone.
 */
export function compactorArgs(storage: LongTermStorage): string[] {
    const zeroAsDays = (duration: string) => (duration === "0" ? "0d" : duration);
    return [
        "compact",
        "--wait",
        `--data-dir=${thanosPaths.data}`,
        objstoreConfigFlag,
        `--http-address=0.0.0.0:${thanosPorts.http}`,
        `--retention.resolution-raw=${zeroAsDays(storage.retention.raw)}`,
        `--retention.resolution-5m=${zeroAsDays(storage.retention.fiveMinutes)}`,
        `--retention.resolution-1h=${zeroAsDays(storage.retention.oneHour)}`,
        "--delete-delay=48h",
        ...(storage.downsampling ? [] : ["--downsampling.disable"]),
    ];
}

export const compactorLabels = {
    "app.kubernetes.io/name": "thanos",
    "app.kubernetes.io/component": "compactor",
    "app.kubernetes.io/part-of": "thanos-global-view",
} as const;

/**
 * The bucket's one compactor. Two compactors on one bucket compact the same
 * blocks twice and delete each other's sources; so it is a StatefulSet of
 * exactly one replica, not configurable: a StatefulSet never runs two pods of
 * one ordinal (an update deletes the old pod before it creates the new one),
 * where a Deployment's rolling update would. Each stack writes under its own
 * prefix of the bucket (lib/thanos/objectStorage.ts), so two stacks given the same
 * bucket never share blocks either. Its working set (the blocks it is
 * compacting) lives on a volume of its own.
 */
export class Compactor extends pulumi.ComponentResource {
    readonly statefulSet: k8s.apps.v1.StatefulSet;

    constructor(name: string, args: CompactorArgs, opts?: pulumi.ComponentResourceOptions) {
        super("thanos-global-view:storage:Compactor", name, {}, opts);
        const child = { parent: this, provider: args.provider };

        const objstore = objstoreConfigSecret(`${name}-objstore`, args.namespace, args.objstoreConfig, child);

        // For its metrics: thanos_compact_halted is what says it stopped.
        const service = new k8s.core.v1.Service(
            name,
            {
                metadata: { name: longTermServices.compactor, namespace: args.namespace, labels: compactorLabels },
                spec: { selector: compactorLabels, ports: [{ name: "http", port: thanosPorts.http, targetPort: "http" }] },
            },
            child,
        );

        const pod = thanosPod(
            {
                container: "compactor",
                thanosVersion: args.thanosVersion,
                imageRegistry: args.imageRegistry,
                args: compactorArgs(args.storage),
                resources: args.storage.compactor.resources,
                objstoreSecretName: objstore.metadata.name,
                grpc: false,
            },
            "claimed",
        );

        this.statefulSet = new k8s.apps.v1.StatefulSet(
            name,
            {
                // A fixed name makes a fixed pod name, thanos-compactor-0, which the
                // namespace holds once: even a replaced StatefulSet cannot start a
                // second compactor while the first pod still exists.
                metadata: {
                    name: longTermServices.compactor,
                    namespace: args.namespace,
                    labels: compactorLabels,
                    annotations: skipAwaitWhen(args.provenByVerification),
                },
                spec: {
                    replicas: 1,
                    serviceName: service.metadata.name,
                    selector: { matchLabels: compactorLabels },
                    template: {
                        metadata: {
                            labels: compactorLabels,
                            annotations: { "thanos-global-view/config-sha256": configHash(args.objstoreConfig) },
                        },
                        spec: pod.podSpec,
                    },
                    volumeClaimTemplates: [
                        {
                            metadata: { name: "data" },
                            spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: args.storage.compactor.volumeSize } } },
                        },
                    ],
                    // Scratch space: nothing on it outlives the stack.
                    persistentVolumeClaimRetentionPolicy: { whenDeleted: "Delete", whenScaled: "Delete" },
                },
            },
            {
                ...child,
                dependsOn: args.dependsOn,
                // A new volume size (pulumi-kubernetes v4.32.0 provider/pkg/provider/diff.go:196-203,
                // volumeClaimTemplates) or a new namespace replaces the StatefulSet. The provider
                // deletes first only when name and namespace stay the same (provider.go:1645-1660):
                // in a new namespace, the second compactor would start before the first is gone.
                deleteBeforeReplace: true,
            },
        );

        this.registerOutputs({});
    }
}
