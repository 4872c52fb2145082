// The stand-ins both provers are tested against: the Query Frontend
// (fakeThanos.ts) and Grafana in front of it (fakeGrafana.ts), and the dev
// stack's expectations.
import { datasourceUid } from "../lib/grafana/dashboards";
import { grafanaAdmin } from "../lib/kubernetes/releases";
import { readStackConfig } from "../lib/config/stackFile";
import { grafanaChecks, rulerChecks, verificationChecks, verificationPlan } from "../lib/verification/checks";
import { startFakeGrafana } from "./fakeGrafana";
import { FakeThanos, Labels, MetricSeries, longTermStorageMetrics, startFakeThanos } from "./fakeThanos";
import { projectDirectory } from "./harness";

export const devPlan = verificationPlan(readStackConfig(projectDirectory, "dev"));
/** Every rule group the shipped stacks generate (the fleet's, with long-term storage's): what a healthy stack's Ruler lists. */
export const healthyRuleGroups = verificationPlan(readStackConfig(projectDirectory, "fleet")).alerting!.ruleGroups;
export const devChecks = verificationChecks(devPlan);
export const devGrafanaChecks = grafanaChecks(devPlan);
export const devRulesChecks = rulerChecks(devPlan);
export const grafanaPassword = "s3cr3t-admin-password";

/** The fleet stack's checks, long-term storage included, and its tier's metrics when all is well. */
export const fleetChecks = verificationChecks(verificationPlan(readStackConfig(projectDirectory, "fleet")));
export const healthyFleetStorage = (): MetricSeries[] =>
    longTermStorageMetrics({
        namespace: "monitoring",
        queryReplicas: 2,
        storeGatewayReplicas: 2,
        sidecars: { europe: 2, "united-states": 1 },
        observer: { region: "united-states", replicas: 1 },
    });

/** The frontend stand-in, and Grafana's in front of it, its data source pointing at the frontend. */
export interface StandIns extends FakeThanos {
    grafanaUrl: string;
}

/** A replica whose external labels differ in more than the replica label: Thanos cannot merge it with its twin. */
export function mismatchedEuropeReplica(series: Labels[]): Labels[] {
    return series.map((labels) => (labels.replica === "prometheus-kps-europe-prometheus-1" ? { ...labels, environment: "staging" } : labels));
}

export async function withThanos<T>(
    series: Labels[],
    use: (thanos: StandIns) => Promise<T>,
    options: {
        replicaLabels?: string[];
        delayMs?: number;
        afterQuery?: (asked: readonly string[]) => void;
        dashboardData?: (query: string) => Labels[];
        metrics?: MetricSeries[];
        ruleGroups?: string[];
    } = {},
): Promise<T> {
    const thanos = await startFakeThanos({ series, replicaLabels: options.replicaLabels ?? ["replica"], ruleGroups: healthyRuleGroups, ...options });
    const grafana = await startFakeGrafana({ datasourceUrl: thanos.url, datasourceUid, user: grafanaAdmin.user, password: grafanaPassword });
    try {
        return await use({ ...thanos, grafanaUrl: grafana.url });
    } finally {
        await grafana.close();
        await thanos.close();
    }
}

/** A port nothing listens on. */
export async function closedPort(): Promise<string> {
    const thanos = await startFakeThanos({ series: [], replicaLabels: [] });
    await thanos.close();
    return thanos.url;
}
