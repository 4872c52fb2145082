// A chart mirror directory as a user makes one for `charts.mirror` (README,
// "Air-gapped"), packaged here from the charts' git repositories at the pinned
// tags instead of `helm pull`: `<dir>/<chart>-<version>.tgz` for every chart
// the program may install, kube-prometheus-stack with its subcharts inside.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { pinnedCharts } from "../../lib/charts";
import { banzaicloudThanosChart, defaultVersions, grafanaChart } from "../../lib/versions";

/** The GitHub repositories the charts come from, as owner/name, by the Helm repository that publishes them. */
const chartRepositories = {
    prometheusCommunity: { github: "prometheus-community/helm-charts", helm: "https://prometheus-community.github.io/helm-charts" },
    grafanaCommunity: { github: "grafana-community/helm-charts", helm: grafanaChart.repository },
    banzaiCharts: { github: "banzaicloud/banzai-charts", helm: undefined },
} as const;

type Repositories = Record<keyof typeof chartRepositories, string>;

/**
 * The git directories of the chart repositories under E2E_CHART_REPOS, each a
 * clone or bare repository named <owner>+<name> (or its `repo` folder), or what is missing.
 */
export function findChartRepositories(env: NodeJS.ProcessEnv = process.env): { repositories: Repositories } | { missing: string[] } {
    const root = env.E2E_CHART_REPOS;
    if (root === undefined) {
        return { missing: [`E2E_CHART_REPOS (a directory with git clones of ${Object.values(chartRepositories).map((each) => each.github).join(", ")}, named <owner>+<name>)`] };
    }
    const found: Partial<Repositories> = {};
    const missing: string[] = [];
    for (const [key, { github }] of Object.entries(chartRepositories) as [keyof Repositories, { github: string }][]) {
        const base = path.join(root, github.replace("/", "+"));
        const gitDirectory = [path.join(base, "repo"), path.join(base, ".git"), base].find((candidate) => fs.existsSync(path.join(candidate, "HEAD")));
        if (gitDirectory === undefined) {
            missing.push(`${github} (no git repository at ${base})`);
        } else {
            found[key] = gitDirectory;
        }
    }
    return missing.length > 0 ? { missing } : { repositories: found as Repositories };
}

/** Copies one directory of a git tree (`<ref>:<path>`) to `destination`. */
function extract(gitDirectory: string, ref: string, treePath: string, destination: string): void {
    fs.mkdirSync(destination, { recursive: true });
    const archive = execFileSync("git", ["--git-dir", gitDirectory, "archive", "--format=tar", `${ref}:${treePath}`], { maxBuffer: 256 * 1024 ** 2 });
    execFileSync("tar", ["-x", "-C", destination], { input: archive });
}

/** The newest `<name>-<version>` tag matching a dependency's version, which may end in `.*` (Chart.yaml of kube-prometheus-stack 88.5.3). */
function dependencyTag(gitDirectory: string, name: string, version: string): string {
    if (!version.endsWith(".*")) {
        return `${name}-${version}`;
    }
    const tags = execFileSync("git", ["--git-dir", gitDirectory, "tag", "--list", `${name}-${version}`], { encoding: "utf8" }).split("\n").filter(Boolean);
    const numbers = (tag: string) => tag.slice(name.length + 1).split(".").map(Number);
    const newest = tags.sort((a, b) => numbers(a).reduce((order, part, index) => order || part - numbers(b)[index], 0)).pop();
    if (newest === undefined) {
        throw new Error(`no tag ${name}-${version} in ${gitDirectory}`);
    }
    return newest;
}

/**
 * Packages every chart the program may install into `directory`, as
 * `helm pull` would name it; returns the files. The dependencies of
 * kube-prometheus-stack go into its charts/ folder, as `helm dependency build` puts them.
 */
export function packageCharts(helm: string, repositories: Repositories, directory: string): string[] {
    const work = fs.mkdtempSync(path.join(directory, ".work-"));
    try {
        const charts = pinnedCharts(defaultVersions);
        const kubePrometheusStack = path.join(work, "kube-prometheus-stack");
        extract(repositories.prometheusCommunity, `kube-prometheus-stack-${charts.kubePrometheusStack.version}`, "charts/kube-prometheus-stack", kubePrometheusStack);
        const metadata = yaml.load(fs.readFileSync(path.join(kubePrometheusStack, "Chart.yaml"), "utf8")) as { dependencies: { name: string; version: string; repository?: string }[] };
        for (const dependency of metadata.dependencies.filter((each) => each.repository !== undefined)) {
            const source = Object.entries(chartRepositories).find(([, each]) => each.helm === dependency.repository)?.[0] as keyof Repositories | undefined;
            if (source === undefined) {
                throw new Error(`kube-prometheus-stack depends on ${dependency.name} from ${dependency.repository}, which no repository here publishes`);
            }
            extract(repositories[source], dependencyTag(repositories[source], dependency.name, dependency.version), `charts/${dependency.name}`, path.join(kubePrometheusStack, "charts", dependency.name));
        }
        const operatorCrds = path.join(work, "prometheus-operator-crds");
        extract(repositories.prometheusCommunity, `prometheus-operator-crds-${charts.prometheusOperatorCrds.version}`, "charts/prometheus-operator-crds", operatorCrds);
        const grafana = path.join(work, "grafana");
        extract(repositories.grafanaCommunity, `grafana-${charts.grafana.version}`, "charts/grafana", grafana);
        const thanos = path.join(work, "thanos");
        extract(repositories.banzaiCharts, banzaicloudThanosChart.gitCommit, banzaicloudThanosChart.gitDirectory, thanos);
        for (const chart of [kubePrometheusStack, operatorCrds, grafana, thanos]) {
            execFileSync(helm, ["package", chart, "--destination", directory], { stdio: ["ignore", "ignore", "pipe"] });
        }
        return Object.values(charts).map((chart) => path.join(directory, `${chart.name}-${chart.version}.tgz`));
    } finally {
        fs.rmSync(work, { recursive: true, force: true });
    }
}
