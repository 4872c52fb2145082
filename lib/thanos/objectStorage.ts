// Long-term storage, as every Thanos component that touches the bucket reads
// it: one objstore config (the sidecars upload with it, the Store Gateway
// serves from it, the compactor rewrites it), and the fixed names the parts
// find each other by.
import * as yaml from "js-yaml";
import { LongTermStorage } from "../config/schema";

/** The key of the objstore config in the Secret of every namespace whose pods use the bucket. */
export const objstoreSecret = { key: "objstore.yml" } as const;

/**
 * The Services of the long-term tier, in the global query's namespace: the
 * operator names a scrape job after its Service, so these are also the `job`
 * labels of their metrics.
 */
export const longTermServices = {
    /** Headless: DNS SRV gives the querier one address per replica, as for the sidecars. */
    storeGateway: "thanos-store-gateway",
    compactor: "thanos-compactor",
    objectStore: "thanos-object-store",
} as const;

/** The in-cluster store's bucket, created at its start, and the identity Thanos signs with. */
export const inClusterBucket = { name: "thanos", accessKey: "thanos" } as const;

/** SeaweedFS's S3 port (`weed mini -s3.port`, default 8333). */
export const objectStoreS3Port = 8333;

/** Where Thanos finds the in-cluster store from its own cluster (other kind clusters use a NodePort: components/objectStore.ts). */
export function inClusterEndpoint(namespace: string): string {
    return `${longTermServices.objectStore}.${namespace}.svc.cluster.local:${objectStoreS3Port}`;
}

/**
 * Where this stack keeps its blocks in the bucket: its fully qualified name
 * (organization/project/stack, unique per Pulumi backend), so two stacks given
 * one bucket never share a compactor's blocks.
 */
export function bucketPrefix(stack: { organization: string; project: string; stack: string }): string {
    return `${stack.organization}/${stack.project}/${stack.stack}`;
}

export interface ObjstoreAccess {
    /** The secret the stack holds for the bucket: the in-cluster store's generated key, or what storage.credentialsSecret names. */
    credential: string;
    /** The in-cluster store's host:port, as the reader reaches it. */
    endpoint?: string;
    prefix: string;
}

/**
 * The objstore config (YAML) for one kind of bucket. Thanos reads it
 * strictly (objstore client/factory.go, yaml.UnmarshalStrict), so only keys
 * its providers declare: client/factory.go:48 (prefix), providers/s3/s3.go:117-131,
 * providers/gcs/gcs.go:42-43, providers/azure/azure.go:49-56 at objstore
 * d1dd89d41f97 (Thanos v0.37.0), the same at 71d60dfee488 (v0.41.0, v0.42.4).
 */
export function objstoreConfig(storage: LongTermStorage, { credential, endpoint, prefix }: ObjstoreAccess): string {
    const config = (() => {
        switch (storage.type) {
            case "inCluster":
                if (endpoint === undefined) {
                    throw new Error("the in-cluster store's objstore config needs its endpoint");
                }
                return {
                    type: "S3",
                    config: {
                        bucket: inClusterBucket.name,
                        endpoint,
                        // SeaweedFS answers for this region; naming it spares minio-go a GetBucketLocation call.
                        region: "us-east-1",
                        // Plain HTTP inside the cluster (or the kind network); path-style, since no DNS names the bucket.
                        insecure: true,
                        bucket_lookup_type: "path",
                        access_key: inClusterBucket.accessKey,
                        secret_key: credential,
                    },
                };
            case "s3":
                return {
                    type: "S3",
                    config: {
                        bucket: storage.bucket,
                        endpoint: storage.endpoint,
                        ...(storage.region === undefined ? {} : { region: storage.region }),
                        access_key: storage.accessKeyId,
                        secret_key: credential,
                        ...(storage.insecure ? { insecure: true } : {}),
                        ...(storage.pathStyle ? { bucket_lookup_type: "path" } : {}),
                    },
                };
            case "gcs":
                return { type: "GCS", config: { bucket: storage.bucket, service_account: credential } };
            case "azure":
                return { type: "AZURE", config: { storage_account: storage.storageAccount, storage_account_key: credential, container: storage.container } };
        }
    })();
    return yaml.dump({ ...config, prefix }, { lineWidth: -1 });
}
