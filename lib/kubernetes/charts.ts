// Where each Helm chart the program installs comes from: its public repository,
// one mirror for every chart (`charts.mirror`), or a source of its own. Each is
// handed to helm.v3.Release in the form pulumi-kubernetes v4.32.0 resolves
// (provider/pkg/provider/helm_release.go):
// - a chart on disk: `chart` is its absolute path (a .tgz or a directory with
//   Chart.yaml), no repositoryOpts; the provider loads it when there is no repository
//   URL and the path exists (:1588-1597, localChart :1545-1576), and fails with
//   `path "…" not found` otherwise;
// - a Helm repository: `chart` is the name, `version` the pinned one and
//   `repositoryOpts.repo` the URL, whose index.yaml Helm reads (:1622-1630);
//   Helm's getters read http(s) and oci only (helm v3.20.2 pkg/getter/getter.go:199-217,
//   pkg/repo/chartrepo.go:63-69), so a file:// repository's index.yaml is read here
//   and the provider gets the .tgz it names, as a chart on disk;
// - an OCI registry: `chart` is oci://host/path/<name> with `version`, no
//   repositoryOpts (a repository URL is taken for an index.yaml, :1746-1753;
//   an oci:// chart is pulled through the registry client, :1615-1617).
import * as yaml from "js-yaml";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { Problem, SettingPath, settingPath } from "../config/problems";
import { ChartMirror, ChartOverride, ChartSource, StackConfig, expandHome, isFile } from "../config/schema";
import { banzaicloudThanosChart, grafanaChart, kubePrometheusStackRepository, operatorCrdsChartFor } from "../versions";

/** The chart fields of a `helm.v3.Release`. */
export interface HelmChart {
    chart: string;
    version?: string;
    repositoryOpts?: { repo: string };
}

/** A RunError: Pulumi prints its message alone, without a stack trace. `setting` is the one to change, when one is to blame. */
export class ChartSourceError extends pulumi.RunError {
    constructor(
        readonly detail: string,
        readonly setting?: SettingPath,
    ) {
        super(setting === undefined ? detail : `${settingPath(setting)}: ${detail}`);
        this.name = "ChartSourceError";
    }
}

/** A chart the program installs, at the version it pins, and where it is published. */
export interface PinnedChart {
    /** Its setting under `charts` (the thanos chart's is globalQuery.chart). */
    setting: "kubePrometheusStack" | "prometheusOperatorCrds" | "grafana" | "thanos";
    name: string;
    version: string;
    /** How to fetch it into a mirror directory as `<name>-<version>.tgz`, with {dir} for the directory. */
    pull: string;
}

type ChartSettings = Pick<StackConfig, "charts" | "versions" | "grafana" | "globalQuery">;

const helmPull = (name: string, version: string, repository: string) => `helm pull ${name} --repo ${repository} --version ${version} --destination {dir}`;

/** The banzaicloud thanos chart: its Helm repository is gone, so a mirror gets it packaged from the archived git repository. */
export const thanosChart: PinnedChart = {
    setting: "thanos",
    name: banzaicloudThanosChart.name,
    version: banzaicloudThanosChart.version,
    pull: `git clone ${banzaicloudThanosChart.gitRepository} banzai-charts && git -C banzai-charts checkout ${banzaicloudThanosChart.gitCommit} && helm package banzai-charts/${banzaicloudThanosChart.gitDirectory} --destination {dir}`,
};

/** Every chart the program may install, at the versions pinned for the stack's kube-prometheus-stack. */
export function pinnedCharts(versions: StackConfig["versions"]): Record<PinnedChart["setting"], PinnedChart> {
    const kubePrometheusStack = versions.kubePrometheusStack;
    const operatorCrds = operatorCrdsChartFor[kubePrometheusStack];
    return {
        kubePrometheusStack: {
            setting: "kubePrometheusStack",
            name: "kube-prometheus-stack",
            version: kubePrometheusStack,
            pull: helmPull("kube-prometheus-stack", kubePrometheusStack, kubePrometheusStackRepository),
        },
        prometheusOperatorCrds: {
            setting: "prometheusOperatorCrds",
            name: "prometheus-operator-crds",
            version: operatorCrds,
            pull: helmPull("prometheus-operator-crds", operatorCrds, kubePrometheusStackRepository),
        },
        thanos: thanosChart,
        grafana: {
            setting: "grafana",
            name: grafanaChart.name,
            version: grafanaChart.version,
            pull: helmPull(grafanaChart.name, grafanaChart.version, grafanaChart.repository),
        },
    };
}

/** The charts a stack with these settings installs. */
export function stackCharts(config: Pick<ChartSettings, "versions" | "grafana">): PinnedChart[] {
    return Object.values(pinnedCharts(config.versions)).filter((chart) => chart.setting !== "grafana" || config.grafana.enabled);
}

/** The setting a chart comes from: its own, else the mirror; undefined for the public chart. */
function chartSetting(chart: PinnedChart, config: Pick<ChartSettings, "charts" | "globalQuery">): SettingPath | undefined {
    const own: SettingPath = chart.setting === "thanos" ? ["globalQuery", "chart"] : ["charts", chart.setting];
    const ownSource = chart.setting === "thanos" ? config.globalQuery.chart : config.charts[chart.setting];
    return ownSource !== undefined ? own : config.charts.mirror !== undefined ? mirrorSetting : undefined;
}

const mirrorSetting: SettingPath = ["charts", "mirror"];

/** The thanos chart's source: its own setting, else the mirror, else the archived git repository. */
export function thanosChartSource(config: { globalQuery: { chart?: ChartSource }; charts: { mirror?: ChartMirror } }): ChartSource | ChartMirror {
    return (
        config.globalQuery.chart ??
        config.charts.mirror ?? { source: "git", gitRepository: banzaicloudThanosChart.gitRepository, gitCommit: banzaicloudThanosChart.gitCommit }
    );
}

/** The kube-prometheus-stack, prometheus-operator-crds and grafana charts' fields, from their settings. */
export function resolveChart(chart: PinnedChart, config: Pick<ChartSettings, "charts" | "globalQuery">): HelmChart {
    const setting = chartSetting(chart, config);
    const source = chart.setting === "thanos" ? undefined : (config.charts[chart.setting] ?? config.charts.mirror);
    return source === undefined || setting === undefined ? publicChart(chart) : fromSource(chart, source, setting);
}

/** Where the public chart is: what the program installs without a mirror. */
function publicChart(chart: PinnedChart): HelmChart {
    if (chart.setting === "thanos") {
        throw new Error("the thanos chart has no public repository: resolveThanosChart (lib/thanos/chart.ts) fetches it with git");
    }
    const repository = chart.setting === "grafana" ? grafanaChart.repository : kubePrometheusStackRepository;
    return { chart: chart.name, version: chart.version, repositoryOpts: { repo: repository } };
}

/**
 * One chart from the mirror or its own source (the setting given). A chart's
 * own local source is the chart; a mirror directory holds it as
 * `<name>-<version>.tgz` or `<name>/`.
 */
export function fromSource(chart: PinnedChart, source: ChartOverride | ChartMirror | Exclude<ChartSource, { source: "git" }>, setting: SettingPath): HelmChart {
    const version = "version" in source ? source.version : chart.version;
    if (source.source === "local") {
        const local = path.resolve(expandHome(source.path));
        return { chart: settingPath(setting) === settingPath(mirrorSetting) ? inMirrorDirectory(chart, local, [...setting, "path"]) : local };
    }
    const url = source.url.replace(/\/+$/, "");
    if (url.startsWith("oci://")) {
        return { chart: `${url}/${chart.name}`, version };
    }
    if (url.startsWith("file://")) {
        return { chart: inFileRepository(chart, version, url.slice("file://".length), [...setting, "url"]) };
    }
    return { chart: chart.name, version, repositoryOpts: { repo: url } };
}

/** `<dir>/<name>-<version>.tgz` as helm pull names it, or `<dir>/<name>/` unpacked at that version. */
function inMirrorDirectory(chart: PinnedChart, directory: string, setting: SettingPath): string {
    const packaged = path.join(directory, `${chart.name}-${chart.version}.tgz`);
    if (isFile(packaged)) {
        return packaged;
    }
    const unpacked = path.join(directory, chart.name);
    const unpackedVersion = chartYamlVersion(path.join(unpacked, "Chart.yaml"));
    if (unpackedVersion === chart.version) {
        return unpacked;
    }
    const found = unpackedVersion === undefined ? "" : ` (${unpacked} holds version ${unpackedVersion}, not ${chart.version})`;
    throw new ChartSourceError(
        `${packaged} is missing${found}; the stack installs ${chart.name} ${chart.version}: ${chart.pull.replace("{dir}", directory)}`,
        setting,
    );
}

/** The .tgz a file:// repository's index.yaml lists for the chart at that version (Helm's index format: entries.<name>[].urls). */
function inFileRepository(chart: PinnedChart, version: string, directory: string, setting: SettingPath): string {
    const indexFile = path.join(directory, "index.yaml");
    let index: { entries?: Record<string, { version?: string; urls?: string[] }[]> };
    try {
        index = yaml.load(fs.readFileSync(indexFile, "utf8")) as typeof index;
    } catch (error) {
        throw new ChartSourceError(`cannot read ${indexFile}: ${(error as Error).message}`, setting);
    }
    const url = index?.entries?.[chart.name]?.find((entry) => String(entry.version) === version)?.urls?.[0];
    if (url === undefined) {
        throw new ChartSourceError(
            `${indexFile} lists no ${chart.name} ${version}; add it with ${chart.pull.replace("{dir}", directory)} and helm repo index ${directory}`,
            setting,
        );
    }
    const file = url.startsWith("file://") ? url.slice("file://".length) : path.resolve(directory, url);
    if (!isFile(file)) {
        throw new ChartSourceError(
            `${indexFile} lists ${chart.name} ${version} at ${url}, which is not a file here; only charts on this machine can be read from a file:// repository`,
            setting,
        );
    }
    return file;
}

function chartYamlVersion(file: string): string | undefined {
    try {
        const version = (yaml.load(fs.readFileSync(file, "utf8")) as { version?: unknown })?.version;
        return version === undefined ? undefined : String(version);
    } catch {
        return undefined;
    }
}

/**
 * What is missing from a mirror on this machine (a directory, a file://
 * repository), for every chart the stack installs from it: checked with the
 * config, before any resource exists. Remote mirrors are read by Helm.
 */
export function chartProblems(config: ChartSettings): Problem[] {
    return stackCharts(config).flatMap((chart) => {
        const setting = chartSetting(chart, config);
        const source = chart.setting === "thanos" ? thanosChartSource(config) : (config.charts[chart.setting] ?? config.charts.mirror);
        const onThisMachine =
            (source?.source === "local" && setting !== undefined && settingPath(setting) === settingPath(mirrorSetting)) ||
            (source?.source === "repository" && source.url.startsWith("file://"));
        if (setting === undefined || source === undefined || source.source === "git" || !onThisMachine) {
            return [];
        }
        try {
            fromSource(chart, source, setting);
            return [];
        } catch (error) {
            if (error instanceof ChartSourceError && error.setting !== undefined) {
                return [{ path: error.setting, message: error.detail, showValue: false }];
            }
            throw error;
        }
    });
}
