// Where the banzaicloud `thanos` chart comes from. Its Helm repository is gone,
// and Helm reads a chart even during `pulumi preview`, so the chart must be on
// disk (or in a reachable repository) before any resource is declared.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ChartSourceError, HelmChart, fromSource, thanosChart, thanosChartSource } from "../kubernetes/charts";
import { ChartMirror, ChartSource } from "../config/schema";
import { banzaicloudThanosChart } from "../versions";

/** Runs git with the given arguments in a directory; throws with git's stderr on failure. */
export type GitRunner = (args: string[], cwd: string) => void;

export const runGit: GitRunner = (args, cwd) => {
    execFileSync("git", args, {
        cwd,
        stdio: ["ignore", "ignore", "pipe"],
        // Never stop to ask for credentials: a prompt would hang `pulumi up`.
        env: { ...process.env, GIT_TERMINAL_PROMPT: "0" },
        timeout: 300_000,
    });
};

/** Per-user cache, shared by every stack and checkout of this program on the machine. */
export function defaultCacheRoot(): string {
    const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
    return path.join(base, "thanos-global-view", "charts");
}

export interface ResolveOptions {
    git?: GitRunner;
    cacheRoot?: string;
}

/** The thanos chart from globalQuery.chart, else charts.mirror, else git (lib/kubernetes/charts.ts, thanosChartSource). */
export function resolveThanosChart(
    config: { globalQuery: { chart?: ChartSource }; charts: { mirror?: ChartMirror } },
    options: ResolveOptions = {},
): HelmChart {
    const source = thanosChartSource(config);
    if (source.source === "git") {
        return { chart: fetchChartFromGit(source.gitRepository, source.gitCommit, options.git ?? runGit, options.cacheRoot ?? defaultCacheRoot()) };
    }
    return fromSource(thanosChart, source, config.globalQuery.chart === undefined ? ["charts", "mirror"] : ["globalQuery", "chart"]);
}

/**
 * Fetches the chart directory at one commit into the cache, once: later runs
 * (and other stacks) reuse it. The copy is assembled aside and renamed into
 * place, so an interrupted fetch never leaves a half chart behind.
 */
function fetchChartFromGit(repository: string, commit: string, git: GitRunner, cacheRoot: string): string {
    const target = path.join(cacheRoot, `banzai-charts-${commit}`);
    const chartDirectory = path.join(target, banzaicloudThanosChart.gitDirectory);
    if (fs.existsSync(path.join(chartDirectory, "Chart.yaml"))) {
        return chartDirectory;
    }
    fs.mkdirSync(cacheRoot, { recursive: true });
    const work = fs.mkdtempSync(path.join(cacheRoot, ".fetch-"));
    try {
        try {
            git(["init", "--quiet"], work);
            git(["fetch", "--quiet", "--depth", "1", "--filter=blob:none", repository, commit], work);
            git(["-c", "advice.detachedHead=false", "checkout", "--quiet", "FETCH_HEAD", "--", banzaicloudThanosChart.gitDirectory], work);
        } catch (error) {
            throw new ChartSourceError(
                `Could not fetch the thanos chart with git from ${withoutCredentials(repository)} at commit ${commit}: ${withoutCredentials(describeGitFailure(error), repository)}. ` +
                    "It is fetched once into " +
                    cacheRoot +
                    " and reused. Without git or network access, set " +
                    'globalQuery.chart.source to "local" (a chart directory or .tgz) or "repository" (a Helm or OCI mirror).',
            );
        }
        if (!fs.existsSync(path.join(work, banzaicloudThanosChart.gitDirectory, "Chart.yaml"))) {
            throw new ChartSourceError(`${withoutCredentials(repository)} at commit ${commit} has no ${banzaicloudThanosChart.gitDirectory}/Chart.yaml.`);
        }
        fs.rmSync(path.join(work, ".git"), { recursive: true, force: true });
        try {
            fs.renameSync(work, target);
        } catch (error) {
            // Another run finished the same fetch first: its copy is as good.
            if (!fs.existsSync(path.join(chartDirectory, "Chart.yaml"))) {
                throw error;
            }
        }
        return chartDirectory;
    } finally {
        fs.rmSync(work, { recursive: true, force: true });
    }
}

/**
 * A mirror's URL may carry a token (https://user:token@host/…): never print
 * it, neither in our words nor in git's.
 */
export function withoutCredentials(text: string, repository: string = text): string {
    const credentials = /^[a-z+]+:\/\/([^/@\s]+)@/i.exec(repository)?.[1];
    return credentials === undefined ? text : text.split(credentials).join("***");
}

function describeGitFailure(error: unknown): string {
    const failure = error as { code?: string; stderr?: Buffer | string; message?: string };
    if (failure.code === "ENOENT") {
        return "git is not installed or not on PATH";
    }
    const stderr = failure.stderr?.toString().trim();
    return stderr || failure.message || String(error);
}
