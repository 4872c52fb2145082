// What the program deploys, read from a mock run of the real index.ts with a
// real stack file: every flag, label, config, script and certificate
// parameter an e2e tier runs the real binaries with comes from here, as the
// program registered it. Nothing is re-derived or copied; addresses and paths
// are mapped later, in addresses.ts alone.
import { readStackConfig, readStackFileConfig } from "../../lib/config/stackFile";
import { StackConfig } from "../../lib/config/schema";
import { ProgramRun, RecordedResource, autoNamed, exampleSecrets, runProgram } from "../harness";
import { frontendArgs, queryArgs } from "../thanosChartModel";
import { PrometheusSpecValues, withChartDefaults } from "./operator";
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
    /** The region's prometheusSpec as Helm hands it to the operator: the program's values over the chart's defaults. */
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
    /** Variables Kubernetes fills from the pod itself (the downward API): name → field path, such as metadata.name. */
    podFields: Record<string, string>;
}

/** The one file of a ConfigMap or Secret, mounted as a folder in a pod. */
export interface MountedFile {
    name: string;
    content: string;
    mountPath: string;
}

/** A StatefulSet the program builds itself: its container, and its pods' names (`<name>-<ordinal>`). */
export interface StatefulWorkload extends ContainerSpec {
    podNames: string[];
}

export interface Deployment {
    config: StackConfig;
    run: ProgramRun;
    regions: RegionDeployment[];
    globalNamespace: string;
    queryReplicas: number;
    querierArgs: string[];
    frontendArgs: string[];
    /** The frontend's Service, host:port, as the program exports its URL. */
    frontendService: string;
    querierClientCertificate?: CertificateSecret;
    storage?: {
        storeGateway: ContainerSpec & { replicas: number; serverCertificate?: CertificateSecret };
        compactor: ContainerSpec;
        /** The in-cluster store's container, when the bucket is one. */
        objectStore?: ContainerSpec;
        objstoreConfig: string;
        storeGatewayEndpoints: string[];
    };
    /** The Query Frontend replicas; with more than one, the shared results cache is on by default. */
    frontendReplicas: number;
    /** The memcached replicas of the shared results cache, when the frontends use it, and the name their Service gives them all in cluster DNS. */
    queryCache?: ContainerSpec & { replicas: number; service: string };
    alerting?: {
        ruler: StatefulWorkload & { serverCertificate?: CertificateSecret };
        /** The rules ConfigMap's one file, and where the Ruler's pod mounts it. */
        rules: MountedFile;
        /** The name the Ruler pair's Service gives its gRPC ports in cluster DNS. */
        storeApiEndpoint: string;
        /**
         * The Alertmanager pair, unless alerts go to an Alertmanager of the user's: the URL of every
         * replica its Service gives in cluster DNS, and each pod's cluster address there (a
         * StatefulSet's pod is `<pod>.<service>.<namespace>.svc…`).
         */
        alertmanager?: StatefulWorkload & { config: MountedFile; service: string; peers: string[] };
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
    // With the secrets the stack file tells its user to set (prod's bucket key).
    const userSecrets = exampleSecrets[stack] ?? {};
    const run = await runProgram({ ...readStackFileConfig(projectDirectory, stack), ...userSecrets }, Object.keys(userSecrets));
    const exported = run.exports as {
        regionSummaries: { name: string; releaseName: string; storeApiEndpoints: string[] }[];
        longTermStorage?: { storeGatewayEndpoints: string[] };
    };
    const secrets = run.ofType(secretType);
    const secretNamed = (metadataName: unknown) => secrets.find((secret) => secretName(secret) === metadataName);

    const regions = config.regions.map((region): RegionDeployment => {
        const values = run.one(releaseType, region.name).inputs.values;
        const spec = withChartDefaults(values.prometheus.prometheusSpec as PrometheusSpecValues);
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
        return { args: spec.args ?? [], env: environment(spec.env, secrets), podFields: podFields(spec.env) };
    };
    const statefulSet = (name: string): StatefulWorkload & { inputs: any } => {
        const inputs = run.one("kubernetes:apps/v1:StatefulSet", name).inputs;
        return {
            ...container("kubernetes:apps/v1:StatefulSet", name),
            // The StatefulSet names its pods by ordinal.
            podNames: Array.from({ length: inputs.spec.replicas }, (_, ordinal) => `${inputs.metadata.name}-${ordinal}`),
            inputs,
        };
    };
    /** The one file of a ConfigMap's or Secret's data, where a pod mounts it as the volume `volumeName`. */
    const mounted = (data: Record<string, string>, inputs: any, volumeName: string): MountedFile => {
        const [[name, content]] = Object.entries(data);
        const mountPath = inputs.spec.template.spec.containers[0].volumeMounts.find((mount: { name: string }) => mount.name === volumeName).mountPath;
        return { name, content, mountPath };
    };
    const ruler = run.resources.some((resource) => resource.type === "kubernetes:apps/v1:StatefulSet" && resource.name === "global-alerting-ruler")
        ? statefulSet("global-alerting-ruler")
        : undefined;
    const alertmanager = run.resources.some(
        (resource) => resource.type === "kubernetes:apps/v1:StatefulSet" && resource.name === "global-alerting-alertmanager",
    )
        ? statefulSet("global-alerting-alertmanager")
        : undefined;
    const rulerTls = secrets.find((secret) => secret.name === "global-alerting-ruler-tls");
    const memcached = run.resources.find((resource) => resource.type === "kubernetes:apps/v1:Deployment" && resource.name === "query-cache");
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
        // host:port as written (URL parsing would drop an explicit :80).
        frontendService: /^https?:\/\/([^/]+)/.exec(run.exports.queryFrontendUrl as string)![1],
        querierClientCertificate: clientSecret && certificateSecret(clientSecret),
        storage:
            storeGatewayObjstore === undefined
                ? undefined
                : {
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
        frontendReplicas: config.globalQuery.frontendReplicas,
        queryCache: memcached && {
            ...container("kubernetes:apps/v1:Deployment", "query-cache"),
            replicas: memcached.inputs.spec.replicas,
            service: serviceDns(run, "query-cache", "memcached").srv,
        },
        alerting: ruler && {
            ruler: {
                args: ruler.args,
                env: ruler.env,
                podFields: ruler.podFields,
                podNames: ruler.podNames,
                serverCertificate: rulerTls && certificateSecret(rulerTls),
            },
            rules: mounted(run.one("kubernetes:core/v1:ConfigMap", "global-alerting-rules").inputs.data, ruler.inputs, "rules"),
            storeApiEndpoint: serviceDns(run, "global-alerting-ruler", "grpc").srv,
            alertmanager: alertmanager && {
                args: alertmanager.args,
                env: alertmanager.env,
                podFields: alertmanager.podFields,
                podNames: alertmanager.podNames,
                config: mounted(run.one(secretType, "global-alerting-alertmanager-config").inputs.stringData, alertmanager.inputs, "config"),
                service: `dns+http://${serviceDns(run, "global-alerting-alertmanager", "web").host}`,
                peers: alertmanager.podNames.map((pod) => `${pod}.${serviceDns(run, "global-alerting-alertmanager", "cluster").host}`),
            },
        },
        verification: checkContainer && { script: checkContainer.command[2], env: environment(checkContainer.env, secrets) },
        grafanaAdmin:
            run.exports.grafanaAdminUser === undefined
                ? undefined
                : { user: run.exports.grafanaAdminUser as string, password: run.exports.grafanaAdminPassword as string },
    };
}

/**
 * What cluster DNS publishes for a Service's named port (Kubernetes'
 * DNS-Based Service Discovery specification, 2.4.1 and 2.4.2 for headless
 * Services: one record per ready pod): its SRV record as Thanos' `dnssrv+`
 * names it, and its A records with the port, as `dns+` names them.
 */
function serviceDns(run: ProgramRun, resourceName: string, portName: string): { srv: string; host: string } {
    const { metadata, spec } = run.one("kubernetes:core/v1:Service", resourceName).inputs;
    const port = (spec.ports as { name: string; port: number }[]).find((each) => each.name === portName);
    if (port === undefined) {
        throw new Error(`the Service ${metadata.name} has no port named ${portName}`);
    }
    const domain = `${metadata.name}.${metadata.namespace}.svc.cluster.local`;
    return { srv: `dnssrv+_${portName}._tcp.${domain}`, host: `${domain}:${port.port}` };
}

/** The name the mock provider gave a Secret: its own, or the resource's with the provider's suffix. */
function secretName(secret: RecordedResource): string {
    return secret.inputs.metadata?.name ?? autoNamed(secret.name);
}

/** A container's env as a list of entries, whether given as a list or (kubernetesx) a map. */
function envEntries(env: unknown): any[] {
    return Array.isArray(env)
        ? env
        : Object.entries(env ?? {}).map(([name, value]) => (typeof value === "string" ? { name, value } : { name, valueFrom: value }));
}

/** The variables of a container's environment that Kubernetes fills from the pod's own fields. */
function podFields(env: unknown): Record<string, string> {
    return Object.fromEntries(
        envEntries(env)
            .filter((entry) => entry.valueFrom?.fieldRef !== undefined)
            .map((entry) => [entry.name, entry.valueFrom.fieldRef.fieldPath]),
    );
}

/** A container's environment with every secretKeyRef resolved from the Secrets the program registered (the pod's own fields apart, podFields). */
function environment(env: unknown, secrets: RecordedResource[]): Record<string, string> {
    const entries = envEntries(env).filter((entry) => entry.valueFrom?.fieldRef === undefined);
    return Object.fromEntries(
        entries.map((entry: any) => {
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
        }),
    );
}

/** The resources behind a TLS Secret's PEMs: the mocks write each resource's name into the PEM it returns. */
function certificateSecret(secret: RecordedResource): CertificateSecret {
    const named = (pem: string) => /-----\n(.*)\n-----END/.exec(pem)?.[1] ?? pem;
    const data = secret.inputs.stringData;
    return { certificate: named(data["tls.crt"]), key: named(data["tls.key"]), ca: named(data["ca.crt"]) };
}
