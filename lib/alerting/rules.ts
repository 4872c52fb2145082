// The global alerts, as code: what only the global view can see, evaluated by
// the Thanos Ruler through the Query Frontend (components/globalAlerting.ts).
// Every series they read reaches the global view from the regions' sidecars:
// the regions' own targets, and the global tier's, which the first region in
// the global query's cluster scrapes (components/region.ts,
// globalTierServiceMonitors; each job is named after its Service).
//
// The Ruler queries with deduplication on (cmd/thanos/rule.go:989 at v0.42.4),
// so a replica label never reaches an expression: what differs between the
// replicas of a region is read from the `pod` label of targets both scrape.
//
// Metric names, each read at v0.37.0 and v0.42.4:
// - thanos_sidecar_prometheus_up: cmd/thanos/sidecar.go:178 / :183;
// - thanos_store_nodes_grpc_connections{store_type}: pkg/query/endpointset.go:136 / :147,
//   store_type one of sidecar, store, rule (pkg/component/component.go:55-71 at v0.42.4);
// - thanos_compact_halted, thanos_compact_iterations_total: cmd/thanos/compact.go:125, :134 / :126, :135;
// - thanos_shipper_uploads_total: pkg/shipper/shipper.go:55 / :56;
// - thanos_objstore_bucket_operation_failures_total: the objstore module's
//   metricBucket, registered with the prefix thanos_ (cmd/thanos/store.go:335 at v0.42.4);
// - process_start_time_seconds: client_golang's process collector, which every
//   Thanos command registers (cmd/thanos/main.go:90 / :88); up: Prometheus itself.
import * as yaml from "js-yaml";
import { longTermServices } from "../thanos/objectStorage";
import { thanosServices } from "../kubernetes/releases";
import type { StackConfig } from "../config/schema";

/** The Ruler pair's external replica label: the global query deduplicates on it, and the Ruler drops it from alerts so both replicas' alerts are one. */
export const rulerReplicaLabel = "rule_replica";

/** The fixed names of the alerting tier's Services, which are also the `job` of their metrics. */
export const alertingServices = { ruler: "thanos-rule", alertmanager: "thanos-alertmanager" } as const;

/** The Ruler and the Alertmanager each run as an HA pair: one replica may restart, drain or roll out without a gap in evaluation or notification. */
export const alertingReplicas = 2;

/** Where the rules file is mounted in the Ruler's pod, and its name there. */
export const rulesFile = { directory: "/etc/thanos/rules", name: "global.rules.yaml" } as const;

export interface AlertRule {
    alert: string;
    expr: string;
    for: string;
    labels: { severity: "critical" | "warning"; [label: string]: string };
    annotations: { summary: string; description: string };
}

export interface RuleGroup {
    name: string;
    interval: string;
    rules: AlertRule[];
}

/** What the rules are written from: the regions the stack declares, and whether a bucket is there. */
export interface RuleInputs {
    regionLabel: string;
    regions: { name: string; namespace: string; replicas: number }[];
    longTermStorage: boolean;
    /** Store Gateway replicas, when there is long-term storage. */
    storeGateways: number;
    /** How often the Ruler evaluates, and how long a problem lasts before it fires (alerting.evaluationInterval, alerting.for). */
    interval: string;
    for: string;
}

export function ruleInputs(config: StackConfig): RuleInputs {
    return {
        regionLabel: config.labels.region,
        regions: config.regions.map(({ name, namespace, replicas }) => ({ name, namespace, replicas })),
        longTermStorage: config.storage.type !== "none",
        storeGateways: config.storage.type === "none" ? 0 : config.storage.storeGateway.replicas,
        interval: config.alerting.evaluationInterval,
        for: config.alerting.for,
    };
}

/** How long a bucket may go without a sidecar upload or a compaction pass: three of Prometheus' 2h blocks, and the compactor's 5m waits many times over. */
const quietHours = 6;

const querierJob = `job="${thanosServices.queryHttp}"`;

/**
 * A querier's connections of one StoreAPI type, 0 when it has none at all
 * (the gauge has no series then), one series per querier pod.
 */
const connections = (storeType: string) =>
    `(sum by (pod) (thanos_store_nodes_grpc_connections{${querierJob}, store_type="${storeType}"}) or sum by (pod) (0 * up{${querierJob}}))`;

export function globalRuleGroups(inputs: RuleInputs): RuleGroup[] {
    const { regionLabel: region } = inputs;
    const sidecars = inputs.regions.reduce((sum, each) => sum + each.replicas, 0);
    const alert = (rule: Omit<AlertRule, "for"> & { for?: string }): AlertRule => ({ for: inputs.for, ...rule });

    const globalView: AlertRule[] = [
        // One rule per region: absent() keeps the region's name from its matcher, and a region that never reported is absent too.
        ...inputs.regions.map((each) =>
            alert({
                alert: "GlobalViewRegionMissing",
                expr: `absent(up{${region}="${each.name}"})`,
                // The region in the rule's labels too: one rule per region, each told apart (promtool's lint refuses twins).
                labels: { severity: "critical", [region]: each.name },
                annotations: {
                    summary: `Region ${each.name} is missing from the global view`,
                    description: `No series of region ${each.name} reach the global query. Check, in this order: its Prometheus pods (kubectl --namespace ${each.namespace} get pods), their thanos-sidecar containers' logs, and the querier's view of its endpoints (the Thanos UI's Stores page through the frontend). Dashboards and alerts over the global view are silently incomplete meanwhile.`,
                },
            }),
        ),
        ...inputs.regions
            .filter((each) => each.replicas >= 2)
            .map((each) =>
                alert({
                    alert: "GlobalViewRegionReplicasDown",
                    // Every replica scrapes every replica's Prometheus: one deduplicated `up` per pod, 0 for a pod that is down.
                    expr: `count by (${region}) (up{${region}="${each.name}", namespace="${each.namespace}", container="prometheus"} == 1) < ${each.replicas}`,
                    labels: { severity: "warning", [region]: each.name },
                    annotations: {
                        summary: `Region ${each.name} runs fewer than its ${each.replicas} Prometheus replicas`,
                        description: `{{ $value }} of ${each.replicas} Prometheus replicas of region ${each.name} are up: the region has lost its high availability, and one more failure takes it out of the global view. Check kubectl --namespace ${each.namespace} get pods, and describe the pod that is not Running (scheduling, volume, out of memory).`,
                    },
                }),
            ),
        alert({
            alert: "GlobalViewSidecarNotServing",
            expr: `max by (${region}, pod) (up{container="thanos-sidecar"} == 0) or max by (${region}, pod) (thanos_sidecar_prometheus_up{container="thanos-sidecar"} == 0)`,
            labels: { severity: "warning" },
            annotations: {
                summary: "The Thanos sidecar of {{ $labels.pod }} in region {{ $labels." + region + " }} is not serving",
                description:
                    "The sidecar is down or cannot reach its Prometheus, so the global query gets nothing from this replica and uploads stop. Read the thanos-sidecar container's log of the pod; a sidecar that started before Prometheus was ready retries its config every 30s.",
            },
        }),
        alert({
            alert: "GlobalQueryEndpointsUnreachable",
            expr: `${connections("sidecar")} < ${sidecars}`,
            labels: { severity: "warning" },
            annotations: {
                summary: `Querier {{ $labels.pod }} reaches {{ $value }} of the ${sidecars} sidecars`,
                description:
                    "The querier lists every StoreAPI endpoint and its last error on its Stores page (port-forward the frontend, open /stores). A missing sidecar is a pod that is down, a DNS name that does not resolve, or, for a region in another cluster, a load balancer or certificate the querier cannot get through.",
            },
        }),
    ];

    const longTerm: AlertRule[] = !inputs.longTermStorage
        ? []
        : [
              alert({
                  alert: "GlobalQueryStoreGatewaysUnreachable",
                  expr: `${connections("store")} < ${inputs.storeGateways}`,
                  labels: { severity: "warning" },
                  annotations: {
                      summary: `Querier {{ $labels.pod }} reaches {{ $value }} of the ${inputs.storeGateways} Store Gateways`,
                      description:
                          "History older than the regions' retention comes from the Store Gateways alone. Check their pods (app.kubernetes.io/component=store-gateway) and the querier's Stores page.",
                  },
              }),
              alert({
                  alert: "StoreGatewayBucketOperationsFailing",
                  expr: `sum by (operation) (rate(thanos_objstore_bucket_operation_failures_total{job="${longTermServices.storeGateway}"}[5m])) > 0`,
                  labels: { severity: "critical" },
                  annotations: {
                      summary: "The Store Gateways fail {{ $labels.operation }} operations on the bucket",
                      description:
                          "Queries over the bucket's history fail or come back partial. The gateways' logs name the error: credentials (the objstore Secret), the endpoint, or the bucket itself.",
                  },
              }),
              alert({
                  alert: "CompactorHalted",
                  expr: `max(thanos_compact_halted{job="${longTermServices.compactor}"}) == 1`,
                  labels: { severity: "critical" },
                  annotations: {
                      summary: "The Thanos compactor halted: retention, compaction and downsampling have stopped",
                      description:
                          "It keeps running and answering its probes but does nothing more, and the bucket grows. Its log says which block made it halt (often overlapping blocks): repair or delete that block (thanos tools bucket), then restart the pod thanos-compactor-0.",
                  },
              }),
              alert({
                  alert: "CompactorNotRunning",
                  expr: `(sum(increase(thanos_compact_iterations_total{job="${longTermServices.compactor}"}[${quietHours}h])) == 0 and on () max(time() - process_start_time_seconds{job="${longTermServices.compactor}"}) > ${quietHours * 3600}) or absent(up{job="${longTermServices.compactor}"} == 1)`,
                  labels: { severity: "warning" },
                  annotations: {
                      summary: `The Thanos compactor is down or has not finished a pass for ${quietHours}h`,
                      description:
                          "Without it nothing is compacted, downsampled or deleted past retention. Check the pod thanos-compactor-0 (pending on its volume? out of memory?) and its log for the step it is stuck in.",
                  },
              }),
              alert({
                  alert: "RegionNotUploading",
                  expr: `sum by (${region}) (increase(thanos_shipper_uploads_total{container="thanos-sidecar"}[${quietHours}h])) == 0 and on (${region}) max by (${region}) (time() - process_start_time_seconds{container="thanos-sidecar"}) > ${quietHours * 3600}`,
                  labels: { severity: "critical" },
                  annotations: {
                      summary: `Region {{ $labels.${region} }} has uploaded no block for ${quietHours}h`,
                      description:
                          "Prometheus cuts a block every 2h and the sidecars upload it: blocks not uploaded are lost once the region's retention passes them. The thanos-sidecar containers' logs say why (credentials, endpoint, bucket).",
                  },
              }),
          ];

    return [
        { name: "thanos-global-view", interval: inputs.interval, rules: globalView },
        ...(longTerm.length === 0 ? [] : [{ name: "thanos-global-view-long-term-storage", interval: inputs.interval, rules: longTerm }]),
    ];
}

/** The rules file the Ruler loads: Prometheus' format, which promtool checks. */
export function rulesYaml(groups: RuleGroup[]): string {
    return yaml.dump({ groups }, { lineWidth: -1, noRefs: true });
}
