import * as pulumi from "@pulumi/pulumi";
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ChartSourceError } from "../lib/kubernetes/charts";
import { ChartSource } from "../lib/config/schema";
import { GitRunner, ResolveOptions, resolveThanosChart } from "../lib/thanos/chart";

const commit = "51352f61c4dabfa9001e823181b6eb42e9e7803b";
const gitSource = (gitRepository = "https://github.com/banzaicloud/banzai-charts.git", gitCommit = commit): ChartSource => ({
    source: "git",
    gitRepository,
    gitCommit,
});
/** The chart from globalQuery.chart, no mirror. */
const resolveOwn = (source: ChartSource, options?: ResolveOptions) => resolveThanosChart({ globalQuery: { chart: source }, charts: {} }, options);
const temporary = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), prefix));

/** A stand-in for git that records its calls and checks out a chart, as a successful fetch would. */
function recordingGit(calls: string[][]): GitRunner {
    return (args, cwd) => {
        calls.push(args);
        if (args.includes("checkout")) {
            fs.mkdirSync(path.join(cwd, "thanos"), { recursive: true });
            fs.writeFileSync(path.join(cwd, "thanos", "Chart.yaml"), "name: thanos\nversion: 0.4.9\n");
        }
    };
}

function failingGit(error: object): GitRunner {
    return () => {
        throw Object.assign(new Error("git failed"), error);
    };
}

function expectChartSourceError(action: () => unknown, pattern: RegExp): void {
    assert.throws(action, (error: Error) => {
        assert.ok(error instanceof ChartSourceError, `expected a ChartSourceError, got ${error}`);
        assert.ok(pulumi.RunError.isInstance(error), "printed without a stack trace");
        assert.match(error.message, pattern);
        return true;
    });
}

describe("thanos chart source", () => {
    it("local: the absolute path, with ~ expanded", () => {
        assert.deepStrictEqual(resolveOwn({ source: "local", path: "/srv/charts/thanos" }), { chart: "/srv/charts/thanos" });
        assert.deepStrictEqual(resolveOwn({ source: "local", path: "~/charts/thanos-0.4.9.tgz" }), {
            chart: path.join(os.homedir(), "charts/thanos-0.4.9.tgz"),
        });
    });

    it("repository: a Helm repository by URL, or an OCI registry path with the chart name appended", () => {
        assert.deepStrictEqual(resolveOwn({ source: "repository", url: "https://charts.internal/stable", version: "0.4.9" }), {
            chart: "thanos",
            version: "0.4.9",
            repositoryOpts: { repo: "https://charts.internal/stable" },
        });
        assert.deepStrictEqual(resolveOwn({ source: "repository", url: "oci://registry.internal/charts", version: "0.4.9" }), {
            chart: "oci://registry.internal/charts/thanos",
            version: "0.4.9",
        });
    });

    it("git: fetches only the pinned commit, once, into the cache, then reuses it", () => {
        const cacheRoot = temporary("chart-cache-");
        const calls: string[][] = [];
        const chart = resolveOwn(gitSource(), { git: recordingGit(calls), cacheRoot });
        assert.deepStrictEqual(chart, { chart: path.join(cacheRoot, `banzai-charts-${commit}`, "thanos") });
        assert.deepStrictEqual(calls, [
            ["init", "--quiet"],
            ["fetch", "--quiet", "--depth", "1", "--filter=blob:none", "https://github.com/banzaicloud/banzai-charts.git", commit],
            ["-c", "advice.detachedHead=false", "checkout", "--quiet", "FETCH_HEAD", "--", "thanos"],
        ]);
        assert.strictEqual(fs.readFileSync(path.join(chart.chart, "Chart.yaml"), "utf8"), "name: thanos\nversion: 0.4.9\n");
        assert.ok(!fs.existsSync(path.join(cacheRoot, `banzai-charts-${commit}`, ".git")), "the cache keeps the chart, not the repository");

        const again = resolveOwn(gitSource(), { git: recordingGit(calls), cacheRoot });
        assert.deepStrictEqual(again, chart);
        assert.strictEqual(calls.length, 3, "the second run must not call git");
    });

    it("git: really fetches a commit from a repository (a local one: no network)", () => {
        const upstream = temporary("banzai-charts-");
        const git = (...args: string[]) =>
            execFileSync("git", ["-c", "user.name=test", "-c", "user.email=test@example.com", ...args], { cwd: upstream })
                .toString()
                .trim();
        git("init", "--quiet");
        fs.mkdirSync(path.join(upstream, "thanos", "templates"), { recursive: true });
        fs.writeFileSync(path.join(upstream, "thanos", "Chart.yaml"), "apiVersion: v1\nname: thanos\nversion: 0.4.9\n");
        fs.writeFileSync(path.join(upstream, "thanos", "templates", "query.yaml"), "# a template\n");
        fs.writeFileSync(path.join(upstream, "README.md"), "other charts\n");
        git("add", ".");
        git("commit", "--quiet", "-m", "chart");
        const pinned = git("rev-parse", "HEAD");
        fs.writeFileSync(path.join(upstream, "thanos", "Chart.yaml"), "apiVersion: v1\nname: thanos\nversion: 0.5.0\n");
        git("commit", "--quiet", "-am", "a later chart");

        const cacheRoot = temporary("chart-cache-");
        const { chart } = resolveOwn(gitSource(upstream, pinned), { cacheRoot });
        assert.strictEqual(chart, path.join(cacheRoot, `banzai-charts-${pinned}`, "thanos"));
        assert.strictEqual(fs.readFileSync(path.join(chart, "Chart.yaml"), "utf8"), "apiVersion: v1\nname: thanos\nversion: 0.4.9\n");
        assert.ok(fs.existsSync(path.join(chart, "templates", "query.yaml")));
        assert.deepStrictEqual(fs.readdirSync(path.dirname(chart)), ["thanos"], "only the chart directory is kept");
    });

    it("git missing: says so, and what to use instead", () => {
        const cacheRoot = temporary("chart-cache-");
        expectChartSourceError(
            () => resolveOwn(gitSource(), { git: failingGit({ code: "ENOENT" }), cacheRoot }),
            /^Could not fetch the thanos chart with git from https:\/\/github.com\/banzaicloud\/banzai-charts.git at commit 51352f6\w+: git is not installed or not on PATH\. .*set globalQuery\.chart\.source to "local" \(a chart directory or \.tgz\) or "repository" \(a Helm or OCI mirror\)\.$/,
        );
    });

    it("no network: passes git's own words on, and leaves nothing half-fetched behind", () => {
        const cacheRoot = temporary("chart-cache-");
        const stderr = Buffer.from("fatal: unable to access 'https://github.com/banzaicloud/banzai-charts.git/': Could not resolve host: github.com\n");
        expectChartSourceError(
            () => resolveOwn(gitSource(), { git: failingGit({ status: 128, stderr }), cacheRoot }),
            /at commit 51352f6\w+: fatal: unable to access .*Could not resolve host: github\.com\. It is fetched once into /,
        );
        assert.deepStrictEqual(fs.readdirSync(cacheRoot), []);
    });

    it("a mirror URL with a token: the token is never printed, not even in git's words", () => {
        const cacheRoot = temporary("chart-cache-");
        const repository = "https://ci:glpat-s3cr3t@git.internal/mirrors/banzai-charts.git";
        const stderr = Buffer.from(`fatal: unable to access '${repository}/': Could not resolve host: git.internal\n`);
        expectChartSourceError(
            () => resolveOwn({ source: "git", gitRepository: repository, gitCommit: commit }, { git: failingGit({ status: 128, stderr }), cacheRoot }),
            /^Could not fetch the thanos chart with git from https:\/\/\*\*\*@git\.internal\/mirrors\/banzai-charts\.git at commit \w+: fatal: unable to access 'https:\/\/\*\*\*@git\.internal\/mirrors\/banzai-charts\.git\/': Could not resolve host/,
        );
        expectChartSourceError(
            () => resolveOwn({ source: "git", gitRepository: repository, gitCommit: commit }, { git: () => undefined, cacheRoot }),
            /^https:\/\/\*\*\*@git\.internal\/mirrors\/banzai-charts\.git at commit \w+ has no thanos\/Chart\.yaml\.$/,
        );
    });

    it("a commit without the chart directory", () => {
        const cacheRoot = temporary("chart-cache-");
        expectChartSourceError(
            () => resolveOwn(gitSource(), { git: () => undefined, cacheRoot }),
            /^https:\/\/github.com\/banzaicloud\/banzai-charts.git at commit 51352f6\w+ has no thanos\/Chart.yaml\.$/,
        );
        assert.deepStrictEqual(fs.readdirSync(cacheRoot), []);
    });
});
