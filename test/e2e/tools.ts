// The real binaries an e2e tier runs, found in E2E_BIN (never built or
// downloaded here: the README says which repository and tag each comes from),
// and each one's version checked against what the program pins, so that a
// tier never proves the program against another release than it deploys.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import {
    banzaicloudThanosChart,
    defaultKindNodeImage,
    defaultVersions,
    grafanaChart,
    operatorCrdsChartFor,
    prometheusOperatorVersion,
    prometheusVersion,
    seaweedfsImage,
} from "../../lib/versions";

export interface Tool {
    /** The binary's file name in E2E_BIN, or on PATH when `onPath`. */
    name: string;
    /** How it prints its version, and the words that must be in that output. */
    versionArgs: string[];
    expected: string;
    /** What pins that version, for the message when it differs. */
    pinnedBy: string;
    /** Tools from the machine's packages (busybox, openssl, ip), looked up on PATH rather than in E2E_BIN. */
    onPath?: boolean;
    /** A file the tier reads (kwok's stages, a packaged chart) rather than a program: that it is there is enough. */
    file?: boolean;
    /** A Pulumi provider that cannot print its version: its schema says it, through `pulumi package get-schema` from E2E_BIN. */
    versionFromSchema?: boolean;
    /**
     * The one other version accepted, where the pinned one cannot be built on
     * this machine, and why: said on every run that uses it, so that no result
     * is mistaken for one of the pinned release.
     */
    substitute?: { expected: string; why: string };
}

const withoutV = (version: string) => version.replace(/^v/, "");

/** `thanos --version` prints "thanos, version 0.42.4 (branch: …)" (prometheus/common version.Print). */
export const thanos: Tool = {
    name: "thanos",
    versionArgs: ["--version"],
    expected: `version ${withoutV(defaultVersions.thanos)} `,
    pinnedBy: "lib/versions.ts defaultVersions.thanos",
};
export const prometheus: Tool = {
    name: "prometheus",
    versionArgs: ["--version"],
    expected: `version ${withoutV(prometheusVersion)} `,
    pinnedBy: "lib/versions.ts prometheusVersion",
};
/** `weed version` prints "version 30GB 4.44 <commit> linux amd64" (weed/util/version/constants.go). */
export const weed: Tool = {
    name: "weed",
    versionArgs: ["version"],
    expected: ` ${seaweedfsImage.tag} `,
    pinnedBy: "lib/versions.ts seaweedfsImage",
};
/** Helm 3, as pulumi-kubernetes embeds it (v3.20.2 at v4.32.0, provider/go.mod:30): `helm version --short` prints "v3.…". */
export const helm: Tool = { name: "helm", versionArgs: ["version", "--short"], expected: "v3.", pinnedBy: "pulumi-kubernetes, which embeds Helm 3" };
export const busybox: Tool = { name: "busybox", versionArgs: ["--help"], expected: "BusyBox", pinnedBy: "the Thanos image's shell", onPath: true };
export const openssl: Tool = { name: "openssl", versionArgs: ["version"], expected: "OpenSSL", pinnedBy: "the machine", onPath: true };
/**
 * Debian's Alertmanager and memcached stand in for the images the program
 * deploys (lib/versions.ts: Alertmanager v0.34.0, memcached 1.6.38): every
 * flag and config key the program gives them is read by both releases
 * (README, "Global alerting and the shared query cache"), so the version
 * checked is the one the tier was proven with.
 */
export const alertmanager: Tool = {
    name: "prometheus-alertmanager",
    versionArgs: ["--version"],
    expected: "alertmanager, version 0.25.",
    pinnedBy: "the tier's check of the program's flags and config keys against Debian's 0.25",
    onPath: true,
};
export const memcached: Tool = {
    name: "memcached",
    versionArgs: ["--version"],
    expected: "memcached 1.6.",
    pinnedBy: "the tier's check of the program's flags against Debian's 1.6.18",
    onPath: true,
};
export const iproute2: Tool = { name: "ip", versionArgs: ["-V"], expected: "ip", pinnedBy: "the machine", onPath: true };

// The control-plane tier: the Pulumi CLI, its Node.js language host and the
// providers at the versions package-lock.json installs, and a Kubernetes
// control plane at the version of the kind node image the program pins.

/** The version npm installed of a Pulumi SDK package: what the program asks the engine for. */
function installedSdk(name: string): string {
    const manifest = path.join(__dirname, "..", "..", "node_modules", "@pulumi", name, "package.json");
    return (JSON.parse(fs.readFileSync(manifest, "utf8")) as { version: string }).version;
}

/**
 * Why the pinned Pulumi releases are not the ones built here: the Go module
 * proxy refuses their modules (403) and the fetched snapshots end at older tags.
 */
const unavailable = (what: string, newest: string) =>
    `${what} is not on the Go module proxy here and the fetched snapshot's newest tag is ${newest}; README, "End-to-end tiers"`;

export const pulumiCli: Tool = {
    name: "pulumi",
    versionArgs: ["version"],
    expected: `v${installedSdk("pulumi")}`,
    pinnedBy: "package-lock.json @pulumi/pulumi",
    substitute: {
        expected: "v3.274.1",
        why: "pulumi/pulumi pkg/v3@v3.270.0 is refused by the Go module proxy (403); v3.274.1 is the nearest release it serves",
    },
};
export const pulumiNodejsHost: Tool = {
    name: "pulumi-language-nodejs",
    versionArgs: ["-version"],
    expected: `v${installedSdk("pulumi")}`,
    pinnedBy: "package-lock.json @pulumi/pulumi",
    substitute: { expected: "v3.259.0", why: unavailable("its module", "v3.259.0") },
};
const provider = (name: string, substitute?: { version: string; newest: string }): Tool => ({
    name: `pulumi-resource-${name}`,
    versionArgs: ["--version"],
    expected: `"version": "${installedSdk(name)}"`,
    pinnedBy: `package-lock.json @pulumi/${name}`,
    versionFromSchema: true,
    ...(substitute === undefined
        ? {}
        : {
              substitute: {
                  expected: `"version": "${substitute.version}"`,
                  why: unavailable(`pulumi/pulumi-${name} v${installedSdk(name)}`, substitute.newest),
              },
          }),
});
export const pulumiProviders: Tool[] = [
    provider("kubernetes", { version: "4.32.0", newest: "v4.32.0" }),
    provider("command"),
    provider("random", { version: "4.21.1", newest: "v4.21.1" }),
    provider("tls", { version: "5.5.1", newest: "v5.5.1" }),
];

/** Kubernetes of the pinned kind node image (kindest/node:v1.36.1). */
const kubernetesVersion = /:(v\d+\.\d+\.\d+)@/.exec(defaultKindNodeImage)![1];
const kubernetesTool = (name: string, versionArgs: string[], says = "Kubernetes"): Tool => ({
    name,
    versionArgs,
    expected: `${says} ${kubernetesVersion}\n`,
    pinnedBy: "lib/versions.ts defaultKindNodeImage",
});
export const controlPlane: Tool[] = [
    /** The etcd kubeadm v1.36.1 runs (cmd/kubeadm/app/constants/constants.go:334). */
    { name: "etcd", versionArgs: ["--version"], expected: "etcd Version: 3.6.8\n", pinnedBy: "kubeadm v1.36.1's DefaultEtcdVersion" },
    kubernetesTool("kube-apiserver", ["--version"]),
    kubernetesTool("kube-controller-manager", ["--version"]),
    kubernetesTool("kube-scheduler", ["--version"]),
    kubernetesTool("kubectl", ["version", "--client"], "Client Version:"),
    { name: "kwok", versionArgs: ["--version"], expected: "kwok version v0.8.0 ", pinnedBy: "this tier (kwok makes the nodes and the pods' lives)" },
    { name: "kwok-stages.yaml", versionArgs: [], expected: "", pinnedBy: "kwokctl v0.8.0's default stages", file: true },
];

/** The chart mirror: every chart the program installs, packaged at the version it pins. */
export const chartPackages: Tool[] = [
    `kube-prometheus-stack-${defaultVersions.kubePrometheusStack}.tgz`,
    `prometheus-operator-crds-${operatorCrdsChartFor[defaultVersions.kubePrometheusStack]}.tgz`,
    `grafana-${grafanaChart.version}.tgz`,
    `thanos-${banzaicloudThanosChart.version}.tgz`,
].map((file) => ({ name: path.join("charts", file), versionArgs: [], expected: "", pinnedBy: "lib/versions.ts", file: true }));

/**
 * `operator --version` prints "prometheus-operator, version 0.93.0 (branch: …)"
 * (prometheus/common version.Print). The control tier runs it in place of the
 * operator Deployments kwok only marks Running (realOperator.ts).
 */
export const prometheusOperator: Tool = {
    name: "prometheus-operator",
    versionArgs: ["--version"],
    expected: `version ${withoutV(prometheusOperatorVersion)} `,
    pinnedBy: "lib/versions.ts prometheusOperatorVersion (kube-prometheus-stack's appVersion)",
    substitute: {
        expected: "version 0.93.0 ",
        why: "v0.93.1's source is in no snapshot on this machine (the release-0.93 branch there ends at v0.93.0); v0.93.1 is its patch release, and the files the tier compares (statefulset.go, promcfg.go) are the ones lib/versions.ts cites at v0.93.0",
    },
};

/** What the control-plane and recovery tiers run. */
export const controlTierTools: Tool[] = [pulumiCli, pulumiNodejsHost, ...pulumiProviders, ...controlPlane, ...chartPackages, openssl];

export type Found = { paths: Record<string, string>; substitutes: string[] } | { missing: string[] };

/**
 * Finds every tool, or names what is missing. A tool that is there in another
 * version than the program pins is an error, never a skip: the tier would
 * otherwise pass against the wrong release.
 */
export function findTools(tools: Tool[], env: NodeJS.ProcessEnv = process.env): Found {
    const bin = env.E2E_BIN;
    const paths: Record<string, string> = {};
    const missing: string[] = [];
    const substitutes: string[] = [];
    for (const tool of tools) {
        const file = tool.onPath ? onPath(tool.name, env) : bin === undefined ? undefined : path.join(bin, tool.name);
        if (file === undefined || !(tool.file ? fs.existsSync(file) : isExecutable(file))) {
            missing.push(tool.onPath ? `${tool.name} (not on PATH)` : `${tool.name} (${bin === undefined ? "E2E_BIN is not set" : `not in E2E_BIN=${bin}`})`);
            continue;
        }
        paths[tool.name] = file;
        if (tool.file) {
            continue;
        }
        const [command, args] = tool.versionFromSchema ? [path.join(bin!, "pulumi"), ["package", "get-schema", file]] : [file, tool.versionArgs];
        const printed = spawnSync(command, args, { encoding: "utf8", maxBuffer: 64 * 1024 ** 2, env: { ...env, PULUMI_SKIP_UPDATE_CHECK: "true" } });
        const output = `${printed.stdout ?? ""}${printed.stderr ?? ""}`;
        if (output.includes(tool.expected)) {
            continue;
        }
        if (tool.substitute !== undefined && output.includes(tool.substitute.expected)) {
            const version = (expected: string) => expected.trim().replace(/^"version": "(.*)"$/, "$1");
            substitutes.push(
                `${tool.name} ${version(tool.substitute.expected)} instead of ${version(tool.expected)} (${tool.pinnedBy}): ${tool.substitute.why}`,
            );
            continue;
        }
        const shown = tool.versionFromSchema ? /"version": *"[^"]*"/.exec(output)?.[0] : output.split("\n")[0];
        throw new Error(
            `${file} is not the version the program deploys: ${tool.pinnedBy} expects "${tool.expected.trim()}" in \`${[path.basename(command), ...args].join(" ")}\`, which printed: ${shown || `nothing (exit ${printed.status})`}. Build the pinned tag (README, "End-to-end tiers").`,
        );
    }
    return missing.length > 0 ? { missing } : { paths, substitutes };
}

function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
    return (env.PATH ?? "")
        .split(path.delimiter)
        .map((directory) => path.join(directory, name))
        .find(isExecutable);
}

function isExecutable(file: string): boolean {
    try {
        fs.accessSync(file, fs.constants.X_OK);
        return fs.statSync(file).isFile();
    } catch {
        return false;
    }
}

/**
 * In a tier's `before`: the tools' paths, or the tier skipped with what is
 * missing named; under E2E_REQUIRE=1 a skip is a failure.
 */
export function toolsOrSkip(context: Mocha.Context, tier: string, tools: Tool[]): Record<string, string> {
    const found = findTools(tools);
    if ("paths" in found) {
        found.substitutes.forEach((substitute) => console.log(`  substitute: ${substitute}`));
        return found.paths;
    }
    skipTier(context, `the ${tier} tier needs ${found.missing.join(", ")}`);
}

/** Skips the tier, saying why; under E2E_REQUIRE=1 fails instead. */
export function skipTier(context: Mocha.Context, why: string): never {
    if (process.env.E2E_REQUIRE === "1") {
        throw new Error(`${why} (E2E_REQUIRE=1 turns a skip into a failure)`);
    }
    console.log(`  skipped: ${why}`);
    context.skip();
}
