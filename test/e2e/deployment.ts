// What the program deploys, read from a mock run of the real index.ts with a
// real stack file: every flag, label, config, script and certificate
// parameter an e2e tier runs the real binaries with comes from here, as the
// program registered it. Nothing is re-derived or copied; addresses and paths
// are mapped later, in addresses.ts alone.
import { readStackConfig, readStackFileConfig } from "../../lib/config/stackFile";
import { StackConfig } from "../../lib/config/schema";
import { ProgramRun, RecordedResource, autoNamed, runProgram } from "../harness";
import { frontendArgs, queryArgs } from "../thanosChartModel";
import { PrometheusSpecValues } from "./operator";
import { thanosReleaseName } from "../../lib/kubernetes/releases";

export interface RegionDeployment {
    name: string;
    namespace: string;
    /** Outside the global query's cluster: reached across a network, with mutual TLS. */
    remote: boolean;
    replicas: number;
    /** The operator's name for the Prometheus object (kube-prometheus-stack: `<fullname>-prometheus`), and its pods'. */
    prometheusName: string;
    podNames: string[];
    spec: PrometheusSpecValues;
    /** How the global query addresses this region: one DNS SRV name, or one address per replica. */
    storeApiEndpoints: string[];
    /** The sidecars' objstore config (the Secret's content), with storage on. */
    objstoreConfig?: string;
    /** The Secret mounted for the sidecars' gRPC server: which certificate it holds. */
    serverCertificate?: CertificateSecret;
    /** The bucket check Job's container, with storage on. */
    bucketCheckArgs?: string[];
}

/** A kubernetes.io/tls Secret as registered: the resource names behind its PEMs (the mocks name each PEM after its resource). */
export interface CertificateSecret {
    certificate: string;
    key: string;
    ca: string;
}

export interface ContainerSpec {
    args: string[];
    env: Record<string, string>;
}

export interface Deployment {
    config: StackConfig;
    run: ProgramRun;
    regions: RegionDeployment[];
    globalNamespace: string;
    queryReplicas: number;
    querierArgs: string[];
    frontendArgs: string[];
    querierClientCertificate?: CertificateSecret;
    storage?: {
        storeGateway: ContainerSpec & { replicas: number; serverCertificate?: CertificateSecret };
        compactor: ContainerSpec;
        /** The in-cluster store's container, when the bucket is one. */
        objectStore?: ContainerSpec;
        objstoreConfig: string;
        storeGatewayEndpoints: string[];
    };
    verification?: { script: string; env: Record<string, string> };
    grafanaAdmin?: { user: string; password: string };
}

const releaseType = "kubernetes:helm.sh/v3:Release";
const secretType = "kubernetes:core/v1:Secret";

/**
 * Runs the program under mocks with a stack file of `projectDirectory` (the
 * shipped ones, or a tier's own copy) and reads off what it deploys.
 */
export async function deploymentOf(projectDirectory: string, stack: string): Promise<Deployment> {
    const config = readStackConfig(projectDirectory, stack);
    const run = await runProgram(readStackFileConfig(projectDirectory, stack));
    const exported = run.exports as { regionSummaries: { name: string; releaseName: string; storeApiEndpoints: string[] }[]; longTermStorage?: { storeGatewayEndpoints: string[] } };
    const secrets = run.ofType(secretType);
    const secretNamed = (metadataName: unknown) => secrets.find((secret) => secretName(secret) === metadataName);

    const regions = config.regions.map((region): RegionDeployment => {
        const values = run.one(releaseType, region.name).inputs.values;
        const spec = values.prometheus.prometheusSpec as PrometheusSpecValues;
        const summary = exported.regionSummaries.find((candidate) => candidate.name === region.name)!;
        const prometheusName = `${summary.releaseName}-prometheus`;
        const objstoreSecret = spec.thanos?.objectStorageConfig?.existingSecret;
        const bucketCheck = run.resources.find((resource) => resource.type === "kubernetes:batch/v1:Job" && resource.name === `${region.name}-bucket-check`);
        const tlsSecret = spec.thanos?.grpcServerTlsConfig === undefined ? undefined : secrets.find((secret) => secret.name === `${region.name}-storeapi-tls`);
        return {
            name: region.name,
            namespace: region.namespace,
            remote: region.cluster !== config.globalQuery.cluster,
            replicas: region.replicas,
            prometheusName,
            // The operator's StatefulSet `prometheus-<name>` names its pods by ordinal.
            podNames: Array.from({ length: region.replicas }, (_, ordinal) => `prometheus-${prometheusName}-${ordinal}`),
            spec,
            storeApiEndpoints: summary.storeApiEndpoints,
            objstoreConfig: objstoreSecret && secretNamed(objstoreSecret.name)?.inputs.stringData[objstoreSecret.key],
            serverCertificate: tlsSecret && certificateSecret(tlsSecret),
            bucketCheckArgs: bucketCheck?.inputs.spec.template.spec.containers[0].args,
        };
    });

    const globalValues = run.one(releaseType, "global").inputs.values;
    const clientSecret = secrets.find((secret) => secret.name === "global-storeapi-client-tls");
    const container = (type: string, name: string): ContainerSpec => {
        const spec = run.one(type, name).inputs.spec.template.spec.containers[0];
        return { args: spec.args ?? [], env: environment(spec.env, secrets) };
    };
    const storeGatewayObjstore = secrets.find((secret) => secret.name === "store-gateway-objstore");
    const gatewayTls = secrets.find((secret) => secret.name === "store-gateway-tls");
    const objectStore = run.resources.find((resource) => resource.type === "kubernetes:apps/v1:StatefulSet" && resource.name === "object-store");
    const checkJob = run.resources.find((resource) => resource.type === "kubernetes:batch/v1:Job" && resource.name === "global-view");
    const checkContainer = checkJob?.inputs.spec.template.spec.containers[0];
    return {
        config,
        run,
        regions,
        globalNamespace: config.globalQuery.namespace,
        queryReplicas: config.globalQuery.queryReplicas,
        querierArgs: queryArgs(globalValues, thanosReleaseName, config.globalQuery.namespace),
        frontendArgs: frontendArgs(globalValues, thanosReleaseName),
        querierClientCertificate: clientSecret && certificateSecret(clientSecret),
        storage: storeGatewayObjstore === undefined ? undefined : {
            storeGateway: {
                ...container("kubernetes:apps/v1:Deployment", "store-gateway"),
                replicas: run.one("kubernetes:apps/v1:Deployment", "store-gateway").inputs.spec.replicas,
                serverCertificate: gatewayTls && certificateSecret(gatewayTls),
            },
            compactor: container("kubernetes:apps/v1:StatefulSet", "compactor"),
            objectStore: objectStore && container("kubernetes:apps/v1:StatefulSet", "object-store"),
            objstoreConfig: Object.values(storeGatewayObjstore.inputs.stringData)[0] as string,
            storeGatewayEndpoints: exported.longTermStorage!.storeGatewayEndpoints,
        },
        verification: checkContainer && { script: checkContainer.command[2], env: environment(checkContainer.env, secrets) },
        grafanaAdmin: run.exports.grafanaAdminUser === undefined ? undefined
            : { user: run.exports.grafanaAdminUser as string, password: run.exports.grafanaAdminPassword as string },
    };
}

/** The name the mock provider gave a Secret: its own, or the resource's with the provider's suffix. */
function secretName(secret: RecordedResource): string {
    return secret.inputs.metadata?.name ?? autoNamed(secret.name);
}

/** A container's environment with every secretKeyRef resolved from the Secrets the program registered. */
function environment(env: unknown, secrets: RecordedResource[]): Record<string, string> {
    const entries = Array.isArray(env) ? env : Object.entries(env ?? {}).map(([name, value]) => (typeof value === "string" ? { name, value } : { name, valueFrom: value }));
    return Object.fromEntries(entries.map((entry: any) => {
        const reference = entry.valueFrom?.secretKeyRef;
        if (reference === undefined) {
            return [entry.name, String(entry.value)];
        }
        const secret = secrets.find((candidate) => secretName(candidate) === reference.name);
        const value = secret?.inputs.stringData?.[reference.key];
        if (value === undefined) {
            throw new Error(`${entry.name} refers to ${reference.name}/${reference.key}, which the program did not register`);
        }
        return [entry.name, value];
    }));
}

/** The resources behind a TLS Secret's PEMs: the mocks write each resource's name into the PEM it returns. */
function certificateSecret(secret: RecordedResource): CertificateSecret {
    const named = (pem: string) => /-----\n(.*)\n-----END/.exec(pem)?.[1] ?? pem;
    const data = secret.inputs.stringData;
    return { certificate: named(data["tls.crt"]), key: named(data["tls.key"]), ca: named(data["ca.crt"]) };
}
