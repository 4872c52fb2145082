// config → clusters (with their operator CRDs) → the bucket → regions and
// global query, in parallel → the bucket's Store Gateway and compactor →
// Grafana on the global query → proof of the global view → exports.
import * as pulumi from "@pulumi/pulumi";
import { Compactor } from "./components/compactor";
import { ExistingCluster } from "./components/existingCluster";
import { GlobalAlerting, frontendQueryAddress } from "./components/globalAlerting";
import { GlobalQuery } from "./components/globalQuery";
import { GlobalViewCheck } from "./components/globalViewCheck";
import { Grafana } from "./components/grafana";
import { KindCluster } from "./components/kindCluster";
import { ObjectStore } from "./components/objectStore";
import { OperatorCrds } from "./components/operatorCrds";
import { QueryCache } from "./components/queryCache";
import { Exposure, Region, internalLoadBalancerAnnotations } from "./components/region";
import { StoreApiTls } from "./components/storeApiTls";
import { StoreGateway, storeGatewayEndpoint } from "./components/storeGateway";
import { rulerEndpoint } from "./components/globalAlerting";
import { kindControlPlaneHost } from "./lib/kubernetes/clusterAccess";
import { globalRuleGroups, ruleInputs } from "./lib/alerting/rules";
import { dashboardInputs } from "./lib/grafana/dashboards";
import { bucketPrefix, objstoreConfig } from "./lib/thanos/objectStorage";
import { loadStackConfig, secretSetting } from "./lib/config/stackFile";
import { frontendCache } from "./lib/config/schema";
import { clustersWithRegions } from "./lib/kubernetes/releases";
import { resolveThanosChart } from "./lib/thanos/chart";
import { grafanaChecks, inClusterTiming, rulerChecks, verificationChecks, verificationLogsCommandFor, verificationPlan } from "./lib/verification/checks";
import { pinnedCharts, resolveChart } from "./lib/kubernetes/charts";

// Everything that can be wrong with the input fails here, before any resource exists.
const config = loadStackConfig();
const thanosChart = resolveThanosChart(config);
const charts = pinnedCharts(config.versions);
const imageRegistry = config.images.registry;
const storage = config.storage.type === "none" ? undefined : config.storage;

const clusters = new Map(
    config.clusters.map((cluster) => [
        cluster.name,
        cluster.type === "kind"
            ? new KindCluster(cluster.name, { cluster })
            : new ExistingCluster(cluster.name, {
                  cluster,
                  kubeconfigContent: cluster.kubeconfigSecret === undefined ? undefined : secretSetting(cluster.kubeconfigSecret),
              }),
    ]),
);
const clusterOf = (name: string) => clusters.get(name)!;
// The global query's cluster: the global tier's components run there.
const globalCluster = clusterOf(config.globalQuery.cluster);

// Every cluster that runs regions gets the operator CRDs once; the regions wait for nothing else.
const operatorCrds = new Map(
    clustersWithRegions(config).map((cluster) => [
        cluster,
        new OperatorCrds(
            `${cluster}-operator-crds`,
            {
                chart: resolveChart(charts.prometheusOperatorCrds, config),
                provider: clusterOf(cluster).provider,
            },
            clusterOf(cluster).componentOptions,
        ),
    ]),
);

// The first region in the global query's cluster scrapes the global tier, so that it monitors itself.
const observerIndex = config.regions.findIndex((region) => region.cluster === config.globalQuery.cluster);

// Once a region lives in another cluster, every StoreAPI connection is mutual
// TLS: the pre-v0.42 querier has one client setting for all endpoints, and no
// sidecar should take plaintext from anyone.
const remote = (region: (typeof config.regions)[number]) => region.cluster !== config.globalQuery.cluster;
const storeApiTls = config.regions.some(remote)
    ? new StoreApiTls("storeapi", { regions: config.regions.map((region) => region.name), storeGateway: storage !== undefined, ruler: config.alerting.enabled })
    : undefined;
const exposureOf = (region: (typeof config.regions)[number]): Exposure => {
    const cluster = config.clusters.find((candidate) => candidate.name === region.cluster)!;
    if (cluster.type === "kind") {
        return { type: "nodePort", nodeHost: kindControlPlaneHost(cluster.name) };
    }
    if (region.storeApiAddresses !== undefined) {
        return { type: "addresses", addresses: region.storeApiAddresses };
    }
    const balancer = cluster.loadBalancer;
    const internal =
        (balancer?.internal ?? true) && balancer?.cloud !== undefined && balancer.cloud !== "other" ? internalLoadBalancerAnnotations[balancer.cloud] : {};
    return { type: "loadBalancer", annotations: { ...internal, ...balancer?.annotations }, sourceRanges: balancer?.sourceRanges };
};

// Long-term storage: the bucket every sidecar uploads to, an in-cluster store
// for laptops or an existing one, with one objstore config per cluster (other
// kind clusters reach the in-cluster store through a NodePort).
const objectStore =
    storage?.type === "inCluster"
        ? new ObjectStore(
              "object-store",
              {
                  namespace: storage.namespace,
                  volumeSize: storage.volumeSize,
                  imageRegistry,
                  nodeHost: config.regions.some(remote) ? kindControlPlaneHost(config.globalQuery.cluster) : undefined,
                  provider: globalCluster.provider,
              },
              globalCluster.componentOptions,
          )
        : undefined;
const bucketCredential = storage === undefined ? undefined : storage.type === "inCluster" ? objectStore!.secretKey : secretSetting(storage.credentialsSecret);
const stackPrefix = bucketPrefix({ organization: pulumi.getOrganization(), project: pulumi.getProject(), stack: pulumi.getStack() });
const objectStoreEndpointFrom = (cluster: string) => (cluster === config.globalQuery.cluster ? objectStore?.endpoint : objectStore?.nodeEndpoint);
const objstoreConfigFor = (cluster: string): pulumi.Output<string> | undefined =>
    storage &&
    pulumi.secret(
        pulumi
            .all([bucketCredential!, objectStoreEndpointFrom(cluster)])
            .apply(([credential, endpoint]) => objstoreConfig(storage, { credential, endpoint, prefix: stackPrefix })),
    );

const regions = config.regions.map(
    (region, index) =>
        new Region(
            region.name,
            {
                region,
                labels: config.labels,
                thanosVersion: config.versions.thanos,
                chart: resolveChart(charts.kubePrometheusStack, config),
                imageRegistry,
                provider: clusterOf(region.cluster).provider,
                operatorCrds: operatorCrds.get(region.cluster)!.release,
                ownsKubeletService: config.regions.findIndex((other) => other.cluster === region.cluster) === index,
                globalTier:
                    index === observerIndex
                        ? {
                              namespace: config.globalQuery.namespace,
                              grafana: config.grafana.enabled,
                              longTermStorage: storage !== undefined,
                              alerting: !config.alerting.enabled ? "none" : config.alerting.receiver.type === "alertmanager" ? "ruler" : "rulerAndAlertmanager",
                          }
                        : undefined,
                storeApiTls: storeApiTls?.servers.get(region.name),
                exposure: remote(region) ? exposureOf(region) : undefined,
                objstoreConfig: objstoreConfigFor(region.cluster),
                bucketReadyAfter: objectStore ? [objectStore.statefulSet] : [],
            },
            clusterOf(region.cluster).componentOptions,
        ),
);

const globalQuery = new GlobalQuery(
    "global",
    {
        globalQuery: config.globalQuery,
        labels: config.labels,
        thanosVersion: config.versions.thanos,
        imageRegistry,
        chart: thanosChart,
        // The Store Gateway by its DNS name: like the sidecars, found once it runs, never waited for.
        // The Ruler pair likewise: its ALERTS join the global view.
        endpoints: [
            ...regions.map((region) => region.storeApiEndpoints),
            ...(storage ? [[storeGatewayEndpoint(config.globalQuery.namespace)]] : []),
            ...(config.alerting.enabled ? [[rulerEndpoint(config.globalQuery.namespace)]] : []),
        ],
        storeApiTls: storeApiTls?.client,
        ruler: config.alerting.enabled,
        provider: globalCluster.provider,
        kubectlFlags: globalCluster.kubectlFlags,
    },
    globalCluster.componentOptions,
);

// The bucket's readers and its one compactor, beside the global query; after the store they read.
// One config for the gateway and the compactor: both read the bucket from the global query's cluster.
const globalObjstoreConfig = objstoreConfigFor(config.globalQuery.cluster);
const longTerm = storage && {
    storeGateway: new StoreGateway(
        "store-gateway",
        {
            namespace: globalQuery.namespace,
            thanosVersion: config.versions.thanos,
            imageRegistry,
            storage,
            objstoreConfig: globalObjstoreConfig!,
            storeApiTls: storeApiTls?.storeGateway,
            provider: globalCluster.provider,
            dependsOn: objectStore ? [objectStore.statefulSet] : [],
            provenByVerification: config.verification.enabled,
        },
        globalCluster.componentOptions,
    ),
    compactor: new Compactor(
        "compactor",
        {
            namespace: globalQuery.namespace,
            thanosVersion: config.versions.thanos,
            imageRegistry,
            storage,
            objstoreConfig: globalObjstoreConfig!,
            provider: globalCluster.provider,
            dependsOn: objectStore ? [objectStore.statefulSet] : [],
            provenByVerification: config.verification.enabled,
        },
        globalCluster.componentOptions,
    ),
};

// The frontends' shared results cache; the frontends find it by its DNS name, whenever it runs.
if (frontendCache(config.globalQuery) === "memcached") {
    new QueryCache(
        "query-cache",
        { namespace: globalQuery.namespace, memcached: config.globalQuery.memcached, imageRegistry, provider: globalCluster.provider },
        globalCluster.componentOptions,
    );
}

// Alerts on the global view itself, evaluated through the frontend like every user's query.
const receiver = config.alerting.receiver;
const globalAlerting = config.alerting.enabled
    ? new GlobalAlerting(
          "global-alerting",
          {
              namespace: globalQuery.namespace,
              thanosVersion: config.versions.thanos,
              alerting: config.alerting,
              regionLabel: config.labels.region,
              groups: globalRuleGroups(ruleInputs(config)),
              queryAddress: globalQuery.namespace.apply((namespace) =>
                  frontendQueryAddress(namespace, globalQuery.frontendServiceName, globalQuery.frontendPort),
              ),
              webhookUrl: receiver.type === "webhook" ? secretSetting(receiver.urlSecret) : undefined,
              provider: globalCluster.provider,
              storeApiTls: storeApiTls?.ruler,
              imageRegistry,
              provenByVerification: config.verification.enabled,
          },
          globalCluster.componentOptions,
      )
    : undefined;

const grafana = config.grafana.enabled
    ? new Grafana(
          "grafana",
          {
              namespace: globalQuery.namespace,
              frontendUrl: globalQuery.frontendUrl,
              dashboards: dashboardInputs(config),
              provider: globalCluster.provider,
              kubectlFlags: globalCluster.kubectlFlags,
              thanosVersion: config.versions.thanos,
              chart: resolveChart(charts.grafana, config),
              imageRegistry,
          },
          globalCluster.componentOptions,
      )
    : undefined;

// Runs after everything else: fails the deploy unless the frontend shows every
// region and deduplicates every HA pair, and the Ruler pair has its rules.
const globalViewCheck = config.verification.enabled
    ? new GlobalViewCheck(
          "global-view",
          {
              checks: verificationChecks(verificationPlan(config)),
              rules: rulerChecks(verificationPlan(config)),
              grafana: grafana && { checks: grafanaChecks(verificationPlan(config)), url: grafana.url, adminSecretName: grafana.adminSecretName },
              timing: inClusterTiming(config.verification.timeoutSeconds),
              thanosVersion: config.versions.thanos,
              imageRegistry,
              namespace: globalQuery.namespace,
              frontendUrl: globalQuery.frontendUrl,
              releases: [...regions.map((region) => region.release), globalQuery.release, ...(grafana ? [grafana.release] : [])],
              workloads: [
                  ...(longTerm ? [longTerm.storeGateway.deployment, longTerm.compactor.statefulSet] : []),
                  ...(globalAlerting ? [globalAlerting.ruler] : []),
              ],
              provider: globalCluster.provider,
          },
          globalCluster.componentOptions,
      )
    : undefined;

// The stack's outputs. Those of a feature the stack leaves off are left out
// rather than exported as undefined, which the Pulumi engine warns about on
// every run ("Undefined value (…) will not show as a stack output").
export = {
    clusterName: globalCluster.clusterName,
    kubeconfig: globalCluster.kubeconfig,
    regionSummaries: regions.map((region) => ({
        name: region.regionName,
        namespace: region.namespace,
        releaseName: region.releaseName,
        regionLabel: region.regionLabel,
        replicas: region.replicas,
        storeApiEndpoints: region.storeApiEndpoints,
    })),
    queryFrontendUrl: globalQuery.frontendUrl,
    queryFrontendService: globalQuery.frontendServiceName,
    queryFrontendPort: globalQuery.frontendPort,
    portForwardCommand: globalQuery.portForwardCommand,
    ...(longTerm && {
        longTermStorage: {
            type: config.storage.type,
            bucketPrefix: stackPrefix,
            storeGatewayEndpoints: longTerm.storeGateway.storeApiEndpoints,
            ...(objectStore && { objectStoreNamespace: objectStore.namespace }),
        },
    }),
    ...(grafana && {
        grafanaPortForwardCommand: grafana.portForwardCommand,
        grafanaLocalUrl: grafana.localUrl,
        grafanaAdminUser: grafana.adminUser,
        grafanaAdminPassword: grafana.adminPassword,
    }),
    // From the config, not the Job: `npm run up` prints the same when an update fails and saves no outputs.
    ...(globalViewCheck && { verificationLogsCommand: verificationLogsCommandFor(config) }),
};
