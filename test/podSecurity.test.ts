// Every pod the stack starts is sized and meets the `restricted` Pod Security
// Standard (node-exporter excepted: it needs the host), and each namespace
// enforces the strictest standard its pods meet.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as yaml from "js-yaml";
import { restrictedPostRenderer, thanosChartValues } from "../components/globalQuery";
import { kubePrometheusStackValues } from "../components/region";
import { defaults } from "../lib/config/schema";
import { clusterMemoryRequestBytes, fixedResources } from "../lib/kubernetes/podResources";
import { readStackConfig } from "../lib/config/stackFile";
import { ProgramRun, key, projectDirectory, runStack } from "./harness";
import { restrictedViolations, unsizedContainers } from "./podSecurityStandard";

const namespace = "kubernetes:core/v1:Namespace";
const release = "kubernetes:helm.sh/v3:Release";

/** A query Deployment as the banzaicloud chart renders it from our values: pod-level securityContext only (query-deployment.yaml:47-142). */
function renderedQueryDeployment(): Record<string, any> {
    const values = thanosChartValues({
        globalQuery: defaults.globalQuery as any,
        labels: defaults.labels,
        thanosVersion: "v0.42.4",
        endpoints: ["dnssrv+_grpc._tcp.prometheus-operated.europe.svc.cluster.local"],
    }) as any;
    return {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "thanos-query" },
        spec: {
            template: {
                spec: {
                    containers: [
                        {
                            name: "query",
                            image: "quay.io/thanos/thanos:v0.42.4",
                            args: ["query", ...values.query.extraArgs],
                            ports: [{ name: "http", containerPort: 10902 }],
                            resources: values.query.resources,
                        },
                    ],
                    securityContext: values.query.securityContext,
                },
            },
        },
    };
}

function postRender(manifests: string): { status: number | null; stdout: string; stderr: string } {
    return spawnSync(restrictedPostRenderer, [], { input: manifests, encoding: "utf8" });
}

describe("pod security: the thanos chart's post-renderer", () => {
    it("is what Helm runs for the global query: an executable Helm can find (one path, no arguments)", async () => {
        const run = await runStack("dev");
        assert.strictEqual(run.one(release, "global").inputs.postrender, restrictedPostRenderer);
        assert.ok((fs.statSync(restrictedPostRenderer).mode & 0o111) !== 0, "must be executable");
    });

    it("the chart's Deployment alone is refused by `restricted`; after the post-renderer it passes, sized", () => {
        const deployment = renderedQueryDeployment();
        assert.deepStrictEqual(restrictedViolations(deployment.spec.template.spec), [
            "container query does not set allowPrivilegeEscalation: false",
            "container query does not drop ALL capabilities",
        ]);
        const service = { apiVersion: "v1", kind: "Service", metadata: { name: "thanos-query-http" }, spec: { ports: [{ port: 10902 }] } };
        const result = postRender([yaml.dump(deployment), yaml.dump(service)].join("---\n"));
        assert.strictEqual(result.status, 0, result.stderr);
        const [rendered, untouched] = yaml.loadAll(result.stdout) as any[];
        assert.deepStrictEqual(restrictedViolations(rendered.spec.template.spec), []);
        assert.deepStrictEqual(unsizedContainers(rendered.spec.template.spec), []);
        assert.deepStrictEqual(rendered.spec.template.spec.containers[0].securityContext, { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
        assert.deepStrictEqual(rendered.spec.template.spec.containers[0].args, deployment.spec.template.spec.containers[0].args);
        assert.deepStrictEqual(untouched, service);
    });

    it("keeps only NET_BIND_SERVICE of added capabilities, and fails loudly on input that is not YAML", () => {
        const pod = {
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name: "p" },
            spec: { containers: [{ name: "c", securityContext: { capabilities: { add: ["NET_ADMIN", "NET_BIND_SERVICE"] } } }] },
        };
        const [rendered] = yaml.loadAll(postRender(yaml.dump(pod)).stdout) as any[];
        assert.deepStrictEqual(rendered.spec.containers[0].securityContext.capabilities, { add: ["NET_BIND_SERVICE"], drop: ["ALL"] });
        const broken = postRender("kind: [unclosed");
        assert.strictEqual(broken.status, 1);
        assert.match(broken.stderr, /^restrictedPodSecurity: /);
    });
});

describe("pod security: namespaces and the pods we build", () => {
    let run: ProgramRun;
    before(async () => {
        run = await runStack("dev");
    });

    it("every namespace enforces, warns and audits `restricted`", () => {
        for (const name of ["europe", "united-states", "global"]) {
            assert.deepStrictEqual(
                run.one(namespace, name).inputs.metadata.labels,
                {
                    "pod-security.kubernetes.io/enforce": "restricted",
                    "pod-security.kubernetes.io/enforce-version": "latest",
                    "pod-security.kubernetes.io/warn": "restricted",
                    "pod-security.kubernetes.io/warn-version": "latest",
                    "pod-security.kubernetes.io/audit": "restricted",
                    "pod-security.kubernetes.io/audit-version": "latest",
                },
                name,
            );
        }
    });

    it("a region running node-exporter (host network, PIDs and /proc) is the one namespace left `privileged`", async () => {
        const withExporter = await runStack("dev", (config) => (config[key("regions")][1].components = { nodeExporter: true }));
        assert.strictEqual(withExporter.one(namespace, "united-states").inputs.metadata.labels["pod-security.kubernetes.io/enforce"], "privileged");
        assert.strictEqual(withExporter.one(namespace, "europe").inputs.metadata.labels["pod-security.kubernetes.io/enforce"], "restricted");
    });

    it("the verification Job's pod is sized and meets `restricted`", () => {
        const spec = run.one("kubernetes:batch/v1:Job", "global-view").inputs.spec.template.spec;
        assert.deepStrictEqual(restrictedViolations(spec), []);
        assert.deepStrictEqual(unsizedContainers(spec), []);
    });
});

describe("pod security: the long-term tier the fleet stack builds", () => {
    it("the memory Docker must have counts the gateways, the compactor and the store", async () => {
        const config = readStackConfig(projectDirectory, "fleet");
        const without = { ...config, storage: { type: "none" as const } };
        assert.strictEqual(
            clusterMemoryRequestBytes(config, "fleet-hub", 2) - clusterMemoryRequestBytes(without, "fleet-hub", 2),
            (2 * 256 + 256 + 256) * 1024 ** 2,
        );
        assert.strictEqual(clusterMemoryRequestBytes(config, "fleet-europe", 3), clusterMemoryRequestBytes(without, "fleet-europe", 3));
    });
});

describe("sizes: every container has CPU and memory requests and a memory limit", () => {
    const sized = (resources: any) => Boolean(resources?.requests?.cpu && resources?.requests?.memory && resources?.limits?.memory);

    it("every fixed size", () => {
        for (const [name, resources] of Object.entries(fixedResources)) {
            assert.ok(sized(resources), name);
        }
    });

    it("every resources key of kube-prometheus-stack we set, with every component on", () => {
        const region = {
            name: "europe",
            cluster: "lab",
            namespace: "europe",
            replicas: 2,
            retention: "10d",
            antiAffinity: "hard" as const,
            volume: { size: "10Gi" },
            resources: defaults.region.resources,
            components: { grafana: true, alertmanager: true, nodeExporter: true, kubeStateMetrics: true },
        };
        const values = kubePrometheusStackValues({ region, labels: defaults.labels, thanosVersion: "v0.42.4", ownsKubeletService: true }) as any;
        const containers: Record<string, unknown> = {
            prometheus: values.prometheus.prometheusSpec.resources,
            "thanos-sidecar": values.prometheus.prometheusSpec.thanos.resources,
            operator: values.prometheusOperator.resources,
            "config-reloader and init-config-reloader": values.prometheusOperator.prometheusConfigReloader.resources,
            "admission webhook create and patch Jobs": values.prometheusOperator.admissionWebhooks.patch.resources,
            alertmanager: values.alertmanager.alertmanagerSpec.resources,
            "kube-state-metrics": values["kube-state-metrics"].resources,
            "node-exporter": values["prometheus-node-exporter"].resources,
            grafana: values.grafana.resources,
            "grafana sidecars": values.grafana.sidecar.resources,
        };
        assert.deepStrictEqual(
            Object.entries(containers)
                .filter(([, resources]) => !sized(resources))
                .map(([name]) => name),
            [],
        );
    });

    it("the memory Docker must have counts every container a component adds: Grafana and its two sidecars", () => {
        const config = readStackConfig(projectDirectory, "dev");
        const withGrafana = structuredClone(config);
        withGrafana.regions[0].components.grafana = true;
        assert.strictEqual(
            clusterMemoryRequestBytes(withGrafana, "thanos-dev", 3) - clusterMemoryRequestBytes(config, "thanos-dev", 3),
            (128 + 2 * 32) * 1024 ** 2,
        );
    });

    it("Query and Query Frontend", () => {
        const values = thanosChartValues({ globalQuery: defaults.globalQuery as any, labels: defaults.labels, thanosVersion: "v0.42.4", endpoints: [] }) as any;
        assert.ok(sized(values.query.resources) && sized(values.queryFrontend.resources));
    });
});
