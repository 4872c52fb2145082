// What `npm run up | preview | destroy` checks on the user's machine before it
// hands over to Pulumi: each tool there and recent enough, Docker running with
// room for the stack, and the Linux limits kind documents as a known issue.
// Every failed check says what to change.
import * as path from "path";
import { thanosChartSource } from "../lib/kubernetes/charts";
import { StackConfig } from "../lib/config/schema";
import { kindClusterMemoryBytes } from "../lib/kubernetes/podResources";
import { Run } from "./lifecycle";

export type Action = "up" | "preview" | "destroy";

/** kind v0.32.0's default node image is the one lib/versions.ts pins (kind pkg/apis/config/defaults/image.go:21). */
export const oldestKind = [0, 32, 0] as const;
export const oldestNode = 22;

/**
 * kind's known issues ("Pod errors due to too many open files",
 * site/content/docs/user/known-issues.md:212-226 at v0.32.0): the limits it
 * asks for, read from /proc on Linux.
 */
export const inotifyMinimums = { max_user_watches: 524288, max_user_instances: 512 } as const;

export interface MachineFacts {
    run: Run;
    nodeVersion: string;
    platform: NodeJS.Platform;
    /** Reads a file such as /proc/sys/fs/inotify/max_user_watches; undefined when it cannot. */
    readFile: (file: string) => string | undefined;
}

/** `kind version` prints `kind v0.32.0 go1.26.3 linux/amd64`, pre-releases `kind v0.33.0-alpha.12+abc…` (kind pkg/cmd/kind/version/version.go:38-57). */
export function parseKindVersion(output: string): [number, number, number] | undefined {
    const match = /^kind v(\d+)\.(\d+)\.(\d+)/.exec(output.trim());
    return match ? [Number(match[1]), Number(match[2]), Number(match[3])] : undefined;
}

function atLeast(version: readonly number[], minimum: readonly number[]): boolean {
    for (let i = 0; i < minimum.length; i++) {
        if (version[i] !== minimum[i]) {
            return version[i] > minimum[i];
        }
    }
    return true;
}

const gib = (bytes: number) => (bytes / 1024 ** 3).toFixed(1);

/** Every problem found, as lines to print; empty when the machine is ready. */
export function checkPrerequisites(action: Action, config: StackConfig, machine: MachineFacts): string[] {
    const { run } = machine;
    const problems: string[] = [];
    const kindClusters = config.clusters.filter((cluster) => cluster.type === "kind");

    const nodeMajor = Number(machine.nodeVersion.replace(/^v/, "").split(".")[0]);
    if (!(nodeMajor >= oldestNode)) {
        problems.push(
            `Node.js ${machine.nodeVersion} is too old: the Pulumi SDK needs Node.js ${oldestNode} or newer. Install Node.js ${oldestNode} (for example with nvm: nvm install ${oldestNode}).`,
        );
    }
    if (run("pulumi", ["version"]).status !== 0) {
        problems.push("pulumi is missing or not working: it runs this program. Install the Pulumi CLI: https://www.pulumi.com/docs/iac/download-install/");
    }
    if (kindClusters.length > 0) {
        const kind = run("kind", ["version"]);
        const version = kind.status === 0 ? parseKindVersion(kind.stdout) : undefined;
        if (kind.status !== 0) {
            problems.push(
                `kind is missing or not working: it creates and deletes the stack's kind cluster. Install kind v${oldestKind.join(".")} or newer: https://kind.sigs.k8s.io/docs/user/quick-start/#installation`,
            );
        } else if (version === undefined || !atLeast(version, oldestKind)) {
            problems.push(
                `kind is ${kind.stdout.trim() || "of an unknown version"}: this stack needs kind v${oldestKind.join(".")} or newer (its node image is the one pinned here). Upgrade kind.`,
            );
        }
    }
    if (action === "up" && kindClusters.length > 0) {
        problems.push(...checkDocker(config, machine));
        if (machine.platform === "linux") {
            problems.push(...checkInotify(machine));
        }
    }
    if (action !== "destroy" && thanosChartSource(config).source === "git" && run("git", ["--version"]).status !== 0) {
        problems.push(
            'git is missing or not working: it fetches the archived banzaicloud thanos chart once. Install git, or set charts.mirror (every chart from a mirror) or globalQuery.chart.source to "local" or "repository".',
        );
    }
    return problems;
}

function checkDocker(config: StackConfig, { run }: MachineFacts): string[] {
    const info = run("docker", ["info", "--format", "{{json .}}"]);
    if (info.status === null) {
        return ["docker is missing: it runs the kind nodes. Install Docker: https://docs.docker.com/engine/install/"];
    }
    // With the engine down, docker 28's `docker info --format '{{json .}}'` still prints JSON (MemTotal 0),
    // exits 1 and says why on stderr ("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. …").
    let facts: { MemTotal?: number; NCPU?: number; ServerErrors?: string[] };
    try {
        facts = JSON.parse(info.stdout.trim() || "{}");
    } catch {
        facts = {};
    }
    if (info.status !== 0 || !facts.MemTotal) {
        const why = facts.ServerErrors?.[0] ?? info.stderr.trim().split("\n")[0] ?? "";
        return [`Docker is not running (${why}): start the Docker engine (Docker Desktop, or 'sudo systemctl start docker'), then run this again.`];
    }
    const needed = config.clusters.reduce((sum, cluster) => sum + (cluster.type === "kind" ? kindClusterMemoryBytes(config, cluster) : 0), 0);
    if (facts.MemTotal < needed) {
        return [
            `Docker has ${gib(facts.MemTotal)} GiB of memory; this stack's pods request ${gib(needed)} GiB together with kind's own components. ` +
                `Give Docker at least ${Math.ceil(needed / 1024 ** 3)} GiB (Docker Desktop: Settings → Resources → Memory), or run fewer replicas.`,
        ];
    }
    return [];
}

function checkInotify({ readFile }: MachineFacts): string[] {
    return Object.entries(inotifyMinimums).flatMap(([name, minimum]) => {
        const file = path.posix.join("/proc/sys/fs/inotify", name);
        const value = Number(readFile(file)?.trim());
        if (!Number.isFinite(value) || value >= minimum) {
            return [];
        }
        return [
            `fs.inotify.${name} is ${value}; kind needs at least ${minimum} (kind's known issue "Pod errors due to too many open files"). ` +
                `Run 'sudo sysctl fs.inotify.${name}=${minimum}', and add 'fs.inotify.${name} = ${minimum}' to /etc/sysctl.conf to keep it.`,
        ];
    });
}
