// The real prometheus-operator in the control tier. kwok runs no container,
// so the operator Deployment each region's kube-prometheus-stack release
// installs is only marked Running; here the operator binary runs on this host
// in its place, with that Deployment's own arguments and environment, and as
// its ServiceAccount (impersonated: the chart's RBAC is all it may do). It
// then makes each region's Prometheus StatefulSet and config Secret, which
// the tier compares with what the data tier runs (operator.ts).
//
// Mapped, and only these: the API server (the user's kubeconfig, one
// context), the web server's listen address (a loopback port of its own per
// region) and its certificate files (a self-signed pair made with openssl:
// the chart's webhook Jobs, which make the real pair, run no container here).
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import * as zlib from "zlib";
import * as yaml from "js-yaml";
import { Lab } from "./lab";
import { PulumiSession } from "./pulumiSession";

interface Container {
    name: string;
    args: string[];
    env?: { name: string; value?: string; valueFrom?: unknown }[];
}

/** What the operator made of a region's Prometheus object. */
export interface OperatorOutput {
    replicas: number;
    containers: Record<string, string[]>;
    /** Of the config the operator writes (Secret `prometheus-<name>`, prometheus.yaml.gz): `global.external_labels`, and `storage`. */
    externalLabels: Record<string, string>;
    storage: unknown;
}

/** Starts the region's operator, as its Deployment runs it; returns the process's name in the lab. */
export async function startRegionOperator(
    lab: Lab,
    session: PulumiSession,
    context: string,
    namespace: string,
    binary: string,
    openssl: string,
): Promise<string> {
    const deployments = session.kubectlJson<{
        items: { metadata: { name: string }; spec: { template: { spec: { serviceAccountName: string; containers: Container[] } } } }[];
    }>(context, ["--namespace", namespace, "get", "deployments", "-l", "app=kube-prometheus-stack-operator"]);
    assert.strictEqual(deployments.items.length, 1, `one operator Deployment in ${namespace}`);
    const pod = deployments.items[0].spec.template.spec;
    const container = pod.containers[0];
    const fromValueFrom = (container.env ?? []).filter((variable) => variable.value === undefined);
    assert.deepStrictEqual(fromValueFrom, [], "the operator's environment is plain values");

    const folder = lab.folder(`operator-${namespace}`);
    const kubeconfig = session.tool("kubectl", ["config", "view", "--minify", "--flatten", "--context", context]);
    assert.strictEqual(kubeconfig.code, 0, kubeconfig.stderr);
    const certificate = path.join(folder, "cert");
    const key = path.join(folder, "key");
    const pair = spawnSync(
        openssl,
        [
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            `/CN=${deployments.items[0].metadata.name}`,
            "-keyout",
            key,
            "-out",
            certificate,
        ],
        { encoding: "utf8" },
    );
    assert.strictEqual(pair.status, 0, pair.stderr);

    const port = await lab.freePort();
    const mapped: Record<string, string> = { "--web.listen-address": `127.0.0.1:${port}`, "--web.cert-file": certificate, "--web.key-file": key };
    const args = container.args.map((arg) => {
        const [flag] = arg.split("=", 1);
        return flag in mapped ? `${flag}=${mapped[flag]}` : arg;
    });
    const name = `prometheus-operator-${namespace}`;
    lab.start(name, binary, [...args, `--as=system:serviceaccount:${namespace}:${pod.serviceAccountName}`], {
        env: {
            ...Object.fromEntries((container.env ?? []).map((variable) => [variable.name, variable.value!])),
            KUBECONFIG: lab.file(path.join(`operator-${namespace}`, "kubeconfig"), kubeconfig.stdout),
        },
    });
    return name;
}

/** The StatefulSet and config the operator made for Prometheus `prometheusName`, once it has made both. */
export function operatorOutput(session: PulumiSession, context: string, namespace: string, prometheusName: string): OperatorOutput | undefined {
    const statefulSets = session.kubectlJson<{
        items: { metadata: { name: string }; spec: { replicas: number; template: { spec: { containers: Container[] } } } }[];
    }>(context, ["--namespace", namespace, "get", "statefulsets"]);
    const statefulSet = statefulSets.items.find((item) => item.metadata.name === `prometheus-${prometheusName}`);
    const secrets = session.kubectlJson<{ items: { metadata: { name: string }; data?: Record<string, string> }[] }>(context, [
        "--namespace",
        namespace,
        "get",
        "secrets",
    ]);
    const compressed = secrets.items.find((item) => item.metadata.name === `prometheus-${prometheusName}`)?.data?.["prometheus.yaml.gz"];
    if (statefulSet === undefined || compressed === undefined) {
        return undefined;
    }
    const config = yaml.load(zlib.gunzipSync(Buffer.from(compressed, "base64")).toString("utf8")) as {
        global: { external_labels: Record<string, string> };
        storage?: unknown;
    };
    return {
        replicas: statefulSet.spec.replicas,
        containers: Object.fromEntries(statefulSet.spec.template.spec.containers.map((container) => [container.name, container.args])),
        externalLabels: config.global.external_labels,
        storage: config.storage,
    };
}
