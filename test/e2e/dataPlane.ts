// The program's data plane as real processes: each region's Prometheus
// replicas with their Thanos sidecars, the global querier and Query Frontend,
// and with long-term storage the object store, the Store Gateways and the
// compactor, with alerting the Thanos Ruler pair and its Alertmanager pair,
// with the shared results cache its memcached replicas, every one started
// with what the program deploys (deployment.ts) and only its addresses and
// paths mapped (addresses.ts).
//
// What stands in for Kubernetes here, and only this:
// - pods are processes (a pod's IP is the loopback address its process
//   listens on); a region outside the global query's cluster runs in a
//   network namespace of its own, reached only over its veth pair;
// - the operator is modelled (operator.ts), and so are the scrape targets its
//   ServiceMonitors would give each Prometheus: the job the verification
//   probes (the API servers, which every replica of a region scrapes alike)
//   is the region's own Prometheus servers, and each target carries the labels
//   the operator would give it (job after its Service, namespace, pod, container);
// - a Service in front of several replicas (the querier's behind the frontend,
//   the frontend's the Ruler queries) is its first replica; a headless one
//   that clients resolve to every replica (DNS SRV of the sidecars, the Ruler
//   and memcached, the Alertmanagers' A records) is every replica;
// - test-only, and said where set: a 1s scrape interval (the chart's is 30s)
//   and, for uploads, a short TSDB block duration (2h in a cluster).
import * as yaml from "js-yaml";
import * as net from "net";
import * as path from "path";
import { verificationProbeJob } from "../../lib/verification/checks";
import { longTermServices } from "../../lib/thanos/objectStorage";
import { thanosServices } from "../../lib/kubernetes/releases";
import { alertingServices } from "../../lib/alerting/rules";
import { thanosPaths } from "../../lib/thanos/workload";
import { AddressMap, expandPodFields, withLocal, withPaths } from "./addresses";
import { Certificates, IssueOptions } from "./certificates";
import { ContainerSpec, Deployment, RegionDeployment } from "./deployment";
import { GaveUp, Lab, NamespaceHost, eventually, getJson } from "./lab";
import { externalLabels, prometheusFlags, prometheusStorageConfig, sidecarArgs, sidecarHttpClientConfig, storageDirectory } from "./operator";

export interface DataPlaneOptions {
    /** Test-only: how often every Prometheus scrapes (the chart's default is 30s). */
    scrapeInterval: string;
    /** Test-only: the TSDB block duration, so that blocks are cut and uploaded within the tier (2h in a cluster). */
    blockDuration?: string;
}

interface Target {
    address: string;
    labels: Record<string, string>;
}

export interface Replica {
    pod: string;
    /** Process names in the lab. */
    prometheus: string;
    sidecar: string;
    host: string;
    prometheusPort: number;
    grpcPort: number;
    httpPort: number;
    dataDirectory: string;
}

export interface RunningRegion {
    deployment: RegionDeployment;
    replicas: Replica[];
    netns?: NamespaceHost;
    /** Certificate overrides for its sidecars' gRPC server (scenarios that plant a bad one). */
    serverCertificate?: IssueOptions;
}

export interface ThanosProcess {
    name: string;
    pod: string;
    grpc?: string;
    http: string;
}

export interface AlertmanagerProcess {
    name: string;
    pod: string;
    web: string;
    cluster: string;
}

export class DataPlane {
    readonly addresses = new AddressMap();
    readonly regions: RunningRegion[] = [];
    readonly queriers: ThanosProcess[] = [];
    readonly storeGateways: ThanosProcess[] = [];
    compactor?: ThanosProcess;
    readonly rulers: ThanosProcess[] = [];
    readonly alertmanagers: AlertmanagerProcess[] = [];
    /** The shared results cache's memcached replicas, host:port. */
    readonly memcached: string[] = [];
    /** Every frontend replica; the first is the frontend's Service. */
    readonly frontendUrls: string[] = [];
    frontendUrl = "";
    objectStoreEndpoint?: string;
    private readonly certificates?: Certificates;

    constructor(
        readonly lab: Lab,
        readonly tools: Record<string, string>,
        readonly deployment: Deployment,
        readonly options: DataPlaneOptions,
        openssl?: string,
    ) {
        this.certificates = openssl === undefined ? undefined : new Certificates(lab.folder("certificates"), deployment.run, openssl);
    }

    /**
     * Gives every part its address before anything starts, so that scrape
     * targets and the querier's endpoints can be written down: remote regions
     * in a namespace of their own, everything else on loopback.
     */
    async plan(): Promise<void> {
        const remoteHosts = new Map<string, NamespaceHost>();
        for (const region of this.deployment.regions) {
            const netns = region.remote ? this.lab.namespace(region.name) : undefined;
            if (netns !== undefined) {
                remoteHosts.set(region.name, netns);
            }
            const replicas: Replica[] = [];
            for (const [ordinal, pod] of region.podNames.entries()) {
                // In its own namespace a region has the ports to itself: each replica the next ten.
                const ports =
                    netns === undefined
                        ? { prometheusPort: await this.lab.freePort(), grpcPort: await this.lab.freePort(), httpPort: await this.lab.freePort() }
                        : { prometheusPort: 9090 + 10 * ordinal, grpcPort: 10901 + 10 * ordinal, httpPort: 10902 + 10 * ordinal };
                replicas.push({
                    pod,
                    prometheus: `${region.name}-prometheus-${ordinal}`,
                    sidecar: `${region.name}-sidecar-${ordinal}`,
                    host: netns?.address ?? "127.0.0.1",
                    ...ports,
                    dataDirectory: this.lab.folder(region.name, `replica-${ordinal}`, "prometheus"),
                });
            }
            this.regions.push({ deployment: region, replicas, netns });
            // One DNS SRV name for the whole region, or one address per replica (a NodePort, a load balancer).
            const grpc = replicas.map((replica) => `${replica.host}:${replica.grpcPort}`);
            if (region.storeApiEndpoints.length === 1) {
                this.addresses.endpoint(region.storeApiEndpoints[0], grpc);
            } else {
                region.storeApiEndpoints.forEach((endpoint, ordinal) => this.addresses.endpoint(endpoint, [grpc[ordinal]]));
            }
        }

        for (let index = 0; index < this.deployment.queryReplicas; index++) {
            this.queriers.push({
                name: `query-${index}`,
                pod: `thanos-query-e2e-${index}`,
                grpc: `127.0.0.1:${await this.lab.freePort()}`,
                http: `127.0.0.1:${await this.lab.freePort()}`,
            });
        }
        // The frontend's downstream is the querier's Service; here its first replica.
        this.addresses.host(`${thanosServices.queryHttp}:10902`, this.queriers[0].http);
        for (let index = 0; index < this.deployment.frontendReplicas; index++) {
            this.frontendUrls.push(`http://127.0.0.1:${await this.lab.freePort()}`);
        }
        this.frontendUrl = this.frontendUrls[0];

        const cache = this.deployment.queryCache;
        if (cache !== undefined) {
            for (let index = 0; index < cache.replicas; index++) {
                this.memcached.push(`127.0.0.1:${await this.lab.freePort()}`);
            }
            // The headless Service's SRV records: every replica.
            this.addresses.endpoint(cache.service, this.memcached);
        }
        await this.planAlerting();

        const storage = this.deployment.storage;
        if (storage !== undefined) {
            for (let index = 0; index < storage.storeGateway.replicas; index++) {
                this.storeGateways.push({
                    name: `store-gateway-${index}`,
                    pod: `thanos-store-gateway-e2e-${index}`,
                    grpc: `127.0.0.1:${await this.lab.freePort()}`,
                    http: `127.0.0.1:${await this.lab.freePort()}`,
                });
            }
            this.addresses.endpoint(
                storage.storeGatewayEndpoints[0],
                this.storeGateways.map((gateway) => gateway.grpc!),
            );
            this.compactor = { name: "compactor", pod: "thanos-compactor-0", http: `127.0.0.1:${await this.lab.freePort()}` };
            if (storage.objectStore !== undefined) {
                // Where every cluster reaches the store: the veth's host end when a region runs in a namespace, else loopback.
                const host = [...remoteHosts.values()][0]?.gateway ?? "127.0.0.1";
                this.objectStoreEndpoint = `${host}:${await this.lab.freePort()}`;
                for (const config of [storage.objstoreConfig, ...this.deployment.regions.map((region) => region.objstoreConfig ?? "")]) {
                    const endpoint = /endpoint: (\S+)/.exec(config)?.[1];
                    if (endpoint !== undefined) {
                        this.addresses.host(endpoint, this.objectStoreEndpoint);
                    }
                }
            }
        }
    }

    /** The Ruler pair and the Alertmanager pair: their ports, and what the program calls them. */
    private async planAlerting(): Promise<void> {
        const alerting = this.deployment.alerting;
        if (alerting === undefined) {
            return;
        }
        for (const pod of alerting.ruler.podNames) {
            this.rulers.push({ name: pod, pod, grpc: `127.0.0.1:${await this.lab.freePort()}`, http: `127.0.0.1:${await this.lab.freePort()}` });
        }
        this.addresses.endpoint(
            alerting.storeApiEndpoint,
            this.rulers.map((ruler) => ruler.grpc!),
        );
        // The Ruler queries the frontend's Service: here its first replica.
        this.addresses.host(this.deployment.frontendService, this.frontendUrl.replace("http://", ""));
        const alertmanager = alerting.alertmanager;
        if (alertmanager === undefined) {
            return;
        }
        for (const pod of alertmanager.podNames) {
            this.alertmanagers.push({ name: pod, pod, web: `127.0.0.1:${await this.lab.freePort()}`, cluster: `127.0.0.1:${await this.lab.freePort()}` });
        }
        // The A records of the Alertmanagers' headless Service: every replica.
        this.addresses.endpoint(
            alertmanager.service,
            this.alertmanagers.map((each) => `http://${each.web}`),
        );
        // Each pod by its stable name in cluster DNS: what the peers' --cluster.peer must name.
        alertmanager.peers.forEach((peer, ordinal) => this.addresses.host(peer, this.alertmanagers[ordinal].cluster));
    }

    region(name: string): RunningRegion {
        const region = this.regions.find((candidate) => candidate.deployment.name === name);
        if (region === undefined) {
            throw new Error(`no region ${name}`);
        }
        return region;
    }

    /** The region whose Prometheus scrapes the global tier: the first in the global query's cluster (index.ts). */
    private get observer(): RunningRegion | undefined {
        return this.regions.find((region) => !region.deployment.remote);
    }

    private scrapeTargets(region: RunningRegion): Record<string, Target[]> {
        const { namespace } = region.deployment;
        const release = region.deployment.prometheusName.replace(/-prometheus$/, "");
        const globalTier = (processes: ThanosProcess[], container: string) =>
            processes.map((process) => ({
                address: process.http,
                labels: { namespace: this.deployment.globalNamespace, pod: process.pod, container },
            }));
        return {
            // Stand-ins for the API servers every replica scrapes alike: the region's own Prometheus servers.
            [verificationProbeJob]: region.replicas.map((each) => ({
                address: `${each.host}:${each.prometheusPort}`,
                labels: { namespace: "default", service: "kubernetes", endpoint: "https" },
            })),
            // kube-prometheus-stack's own ServiceMonitor of its Prometheus: every replica, each scraped by every replica.
            [release + "-prometheus"]: region.replicas.map((each) => ({
                address: `${each.host}:${each.prometheusPort}`,
                labels: { namespace, pod: each.pod, container: "prometheus", endpoint: "http-web" },
            })),
            // kube-prometheus-stack's thanosServiceMonitor: every sidecar of the region, scraped by each replica.
            [`${release}-thanos-discovery`]: region.replicas.map((each) => ({
                address: `${each.host}:${each.httpPort}`,
                labels: { namespace, pod: each.pod, container: "thanos-sidecar", endpoint: "http" },
            })),
            ...(region === this.observer
                ? {
                      [thanosServices.queryHttp]: globalTier(this.queriers, "query"),
                      [longTermServices.storeGateway]: globalTier(this.storeGateways, "store-gateway"),
                      [longTermServices.compactor]: globalTier(this.compactor === undefined ? [] : [this.compactor], "compactor"),
                      [alertingServices.ruler]: globalTier(this.rulers, "rule"),
                      [alertingServices.alertmanager]: globalTier(
                          this.alertmanagers.map((each) => ({ ...each, http: each.web })),
                          "alertmanager",
                      ),
                  }
                : {}),
        };
    }

    /** Starts every replica of a region (or one), Prometheus and sidecar, as the operator would start them. */
    async startRegion(name: string, only?: number): Promise<void> {
        const region = this.region(name);
        const { spec } = region.deployment;
        const tls = spec.thanos?.grpcServerTlsConfig;
        const certificates = tls === undefined ? undefined : this.certificates!.issue(region.deployment.serverCertificate!, region.serverCertificate);
        for (const [ordinal, replica] of region.replicas.entries()) {
            if (only !== undefined && ordinal !== only) {
                continue;
            }
            const scrape = Object.entries(this.scrapeTargets(region))
                .filter(([, targets]) => targets.length > 0)
                .map(([job, targets]) => ({
                    job_name: job,
                    static_configs: targets.map((target) => ({ targets: [target.address], labels: target.labels })),
                }));
            const config = this.lab.file(
                path.join(name, `replica-${ordinal}`, "prometheus.yml"),
                yaml.dump({
                    global: {
                        scrape_interval: this.options.scrapeInterval,
                        external_labels: externalLabels(spec, region.deployment.namespace, region.deployment.prometheusName, replica.pod),
                    },
                    storage: prometheusStorageConfig(spec),
                    scrape_configs: scrape,
                }),
            );
            const testOnly =
                this.options.blockDuration === undefined
                    ? []
                    : [`--storage.tsdb.min-block-duration=${this.options.blockDuration}`, `--storage.tsdb.max-block-duration=${this.options.blockDuration}`];
            this.lab.start(
                replica.prometheus,
                this.tools.prometheus,
                [
                    `--config.file=${config}`,
                    `--web.listen-address=${replica.host}:${replica.prometheusPort}`,
                    ...withPaths(prometheusFlags(spec), { [storageDirectory]: replica.dataDirectory }),
                    ...testOnly,
                ],
                { netns: region.netns?.name },
            );

            // The sidecar retries a Prometheus that is not up yet only every --prometheus.get_config_interval, 30s (cmd/thanos/sidecar.go:216 at v0.42.4): start it once Prometheus answers.
            await this.ready(replica.prometheus, `http://${replica.host}:${replica.prometheusPort}`);
            const httpClientConfig = this.lab.file(
                path.join(name, `replica-${ordinal}`, "thanos-config", path.basename(sidecarHttpClientConfig.path)),
                sidecarHttpClientConfig.content,
            );
            // Kubernetes expands $(OBJSTORE_CONFIG) from the variable the operator fills from the Secret.
            const objstore = region.deployment.objstoreConfig === undefined ? undefined : this.addresses.text(region.deployment.objstoreConfig);
            const args = withPaths(
                withLocal(sidecarArgs(spec), {
                    "--prometheus.url": `http://${replica.host}:${replica.prometheusPort}/`,
                    "--grpc-address": `${replica.host}:${replica.grpcPort}`,
                    "--http-address": `${replica.host}:${replica.httpPort}`,
                }),
                {
                    [storageDirectory]: replica.dataDirectory,
                    [path.dirname(sidecarHttpClientConfig.path)]: path.dirname(httpClientConfig),
                    ...(tls === undefined ? {} : { [path.dirname(tls.certFile)]: certificates! }),
                },
            ).map((arg) => (objstore === undefined ? arg : arg.replace("$(OBJSTORE_CONFIG)", objstore)));
            this.lab.start(replica.sidecar, this.tools.thanos, args, { netns: region.netns?.name });
        }
        await Promise.all(
            region.replicas
                .filter((_, ordinal) => only === undefined || ordinal === only)
                .map((replica) => this.ready(replica.sidecar, `http://${replica.host}:${replica.httpPort}`)),
        );
    }

    /** Stops a region's replicas (all, or one), Prometheus and sidecar: SIGKILL as a crashed node would, or a clean stop. */
    async stopRegion(name: string, how: "terminate" | "kill", only?: number): Promise<void> {
        const region = this.region(name);
        await Promise.all(
            region.replicas
                .filter((_, ordinal) => only === undefined || ordinal === only)
                .flatMap((replica) => [this.lab.stop(replica.sidecar, how), this.lab.stop(replica.prometheus, how)]),
        );
    }

    /** Every querier, with the program's args, its client certificate (or a stranger's) where the program gives it one. */
    async startQueriers(clientCertificate: IssueOptions = {}, queriers = this.queriers): Promise<void> {
        const client = this.deployment.querierClientCertificate;
        const certificates = client === undefined ? undefined : this.certificates!.issue(client, clientCertificate);
        for (const querier of queriers) {
            const args = this.addresses.querierArgs(
                withPaths(
                    withLocal(this.deployment.querierArgs, { "--grpc-address": querier.grpc!, "--http-address": querier.http }),
                    // Where the chart mounts query.certSecretName.
                    certificates === undefined ? {} : { "/etc/certs": certificates },
                ),
            );
            this.lab.start(querier.name, this.tools.thanos, ["query", ...args]);
        }
        await Promise.all(queriers.map((querier) => this.ready(querier.name, `http://${querier.http}`)));
    }

    /** Every frontend replica: `query-frontend`, then `query-frontend-1`, …. */
    async startFrontend(): Promise<void> {
        const names = this.frontendUrls.map((_, index) => (index === 0 ? "query-frontend" : `query-frontend-${index}`));
        for (const [index, url] of this.frontendUrls.entries()) {
            const args = this.addresses.frontendArgs(withLocal(this.deployment.frontendArgs, { "--http-address": url.replace("http://", "") }));
            this.lab.start(names[index], this.tools.thanos, ["query-frontend", ...args]);
        }
        await Promise.all(this.frontendUrls.map((url, index) => this.ready(names[index], url)));
    }

    /**
     * The shared results cache: memcached with the program's args on this
     * tier's loopback port. The container listens on every interface of its
     * pod, here on loopback alone (--listen); its image's user is not root,
     * and memcached refuses to run as root without one to switch to (--user).
     */
    async startMemcached(memcached: string): Promise<void> {
        const cache = this.deployment.queryCache!;
        for (const [index, address] of this.memcached.entries()) {
            const [host, port] = address.split(":");
            const asRoot = process.getuid?.() === 0 ? ["--user=nobody"] : [];
            this.lab.start(`memcached-${index}`, memcached, [...withLocal(cache.args, { "--port": port }), `--listen=${host}`, ...asRoot]);
        }
        await Promise.all(this.memcached.map((address) => eventually(`memcached at ${address}`, () => this.memcachedStats(address).then(() => true))));
    }

    /** memcached's own counters (its `stats` command), summed over every replica: get_hits, get_misses, cmd_set…. */
    async memcachedStats(only?: string): Promise<Record<string, number>> {
        const each = await Promise.all(
            (only === undefined ? this.memcached : [only]).map(
                (address) =>
                    new Promise<string>((resolve, reject) => {
                        const [host, port] = address.split(":");
                        const socket = net.connect(Number(port), host, () => socket.write("stats\r\n"));
                        let answer = "";
                        socket.setTimeout(5000, () => socket.destroy(new Error(`memcached at ${address} did not answer stats`)));
                        socket.on("data", (data) => {
                            answer += data;
                            if (answer.endsWith("END\r\n")) {
                                socket.end();
                                resolve(answer);
                            }
                        });
                        socket.on("error", reject);
                    }),
            ),
        );
        const totals: Record<string, number> = {};
        for (const line of each.join("").split("\r\n")) {
            const stat = /^STAT (\S+) (\d+)$/.exec(line);
            if (stat !== null) {
                totals[stat[1]] = (totals[stat[1]] ?? 0) + Number(stat[2]);
            }
        }
        return totals;
    }

    /**
     * The Alertmanager pair, clustered over loopback: each pod's IP (the
     * address it advertises to its peer) is the loopback address, its ports
     * this tier's. The binary is Debian's (0.25.0; the program deploys v0.34.0):
     * every flag and config key the program uses is read by both.
     */
    async startAlertmanagers(alertmanager: string): Promise<void> {
        const deployed = this.deployment.alerting!.alertmanager!;
        for (const process of this.alertmanagers) {
            const config = this.lab.file(path.join(process.name, "config", deployed.config.name), deployed.config.content);
            const args = withPaths(
                withLocal(expandPodFields(deployed.args, deployed.podFields, { name: process.pod, ip: "127.0.0.1" }), {
                    "--web.listen-address": process.web,
                    "--cluster.listen-address": process.cluster,
                    "--cluster.advertise-address": process.cluster,
                    "--storage.path": this.lab.folder(process.name, "data"),
                }),
                { [deployed.config.mountPath]: path.dirname(config) },
            ).map((arg) => this.addresses.text(arg));
            this.lab.start(process.name, alertmanager, args, { env: deployed.env });
        }
        await Promise.all(this.alertmanagers.map((process) => this.ready(process.name, `http://${process.web}`)));
    }

    /** The Ruler pair, with the program's rules file, querying the frontend and sending to every Alertmanager. */
    async startRulers(): Promise<void> {
        const { ruler, rules } = this.deployment.alerting!;
        const certificates = ruler.serverCertificate && this.certificates!.issue(ruler.serverCertificate);
        const rulesFile = this.lab.file(path.join("ruler-rules", rules.name), rules.content);
        for (const process of this.rulers) {
            const args = this.addresses.perReplica(
                withPaths(
                    withLocal(expandPodFields(ruler.args, ruler.podFields, { name: process.pod, ip: "127.0.0.1" }), {
                        "--grpc-address": process.grpc!,
                        "--http-address": process.http,
                    }),
                    {
                        [thanosPaths.data]: this.lab.folder(process.name, "data"),
                        [rules.mountPath]: path.dirname(rulesFile),
                        ...(certificates === undefined ? {} : { [thanosPaths.tls]: certificates }),
                    },
                ),
                "--alertmanagers.url",
            );
            this.lab.start(process.name, this.tools.thanos, args, { env: ruler.env });
        }
        await Promise.all(this.rulers.map((process) => this.ready(process.name, `http://${process.http}`)));
    }

    /** The in-cluster store, as its StatefulSet runs it, bound to this tier's address alone (its other ports chosen by weed mini). */
    async startObjectStore(): Promise<void> {
        const store = this.deployment.storage?.objectStore;
        if (store === undefined || this.objectStoreEndpoint === undefined) {
            throw new Error("the stack runs no in-cluster store");
        }
        const [host, port] = this.objectStoreEndpoint.split(":");
        const args = [
            ...withPaths(withLocal(store.args, { "-s3.port": port }), { "/data": this.lab.folder("object-store") }),
            `-ip=${host}`,
            `-ip.bind=${host}`,
        ];
        this.lab.start("object-store", this.tools.weed, args, { env: store.env });
        // Its readiness probe: the bucket exists (components/objectStore.ts).
        await eventually(
            "the object store's bucket",
            async () => {
                const response = await fetch(`http://${this.objectStoreEndpoint}/`, { signal: AbortSignal.timeout(5000) });
                return response.status < 500 ? true : undefined;
            },
            90,
        );
    }

    async startStoreGateways(): Promise<void> {
        const gateway = this.deployment.storage!.storeGateway;
        const certificates = gateway.serverCertificate && this.certificates!.issue(gateway.serverCertificate);
        for (const process of this.storeGateways) {
            this.startThanosWorkload(process, gateway, certificates);
        }
        await Promise.all(this.storeGateways.map((process) => this.ready(process.name, `http://${process.http}`)));
    }

    async startCompactor(): Promise<void> {
        this.startThanosWorkload(this.compactor!, this.deployment.storage!.compactor);
        await eventually("the compactor's HTTP server", async () => ((await fetch(`http://${this.compactor!.http}/-/healthy`)).ok ? true : undefined));
    }

    /** A workload the program builds itself (lib/thanos/workload.ts): its objstore Secret and TLS Secret as files, its data directory. */
    private startThanosWorkload(process: ThanosProcess, container: ContainerSpec, certificates?: string): void {
        const objstore = this.lab.file(path.join(process.name, "objstore", "objstore.yml"), this.addresses.text(this.deployment.storage!.objstoreConfig));
        const args = withPaths(
            withLocal(container.args, { ...(process.grpc === undefined ? {} : { "--grpc-address": process.grpc }), "--http-address": process.http }),
            {
                [thanosPaths.data]: this.lab.folder(process.name, "data"),
                [thanosPaths.objstoreDirectory]: path.dirname(objstore),
                ...(certificates === undefined ? {} : { [thanosPaths.tls]: certificates }),
            },
        );
        this.lab.start(process.name, this.tools.thanos, args, { env: container.env });
    }

    /** The bucket check Job's command for a region, with that region's objstore config. */
    bucketCheckArgs(name: string): string[] {
        const region = this.region(name).deployment;
        const file = this.lab.file(path.join(name, "bucket-check", "objstore.yml"), this.addresses.text(region.objstoreConfig!));
        return withPaths(region.bucketCheckArgs!, { "/etc/thanos/objstore": path.dirname(file) });
    }

    /** Waits for a process's /-/ready (a namespace's address is reached over its veth pair), failing at once with its log when it exits. */
    private async ready(name: string, url: string): Promise<void> {
        await eventually(
            `${name} ready at ${url}`,
            async () => {
                if (!this.lab.running(name)) {
                    throw new GaveUp(`${name} exited:\n${this.lab.tail(name)}`);
                }
                const response = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(5000) });
                return response.ok ? true : undefined;
            },
            90,
        );
    }

    /** The querier's view of its endpoints (`/api/v1/stores`): per component type, each endpoint's name and last error. */
    async stores(querier = this.queriers[0]): Promise<{ name: string; lastError: string | null; labelSets?: Record<string, string>[] }[]> {
        const answer = await getJson(`http://${querier.http}/api/v1/stores`);
        return Object.values(answer.data ?? {}).flat() as { name: string; lastError: string | null }[];
    }
}
