// A user's machine for the control-plane tier: a copy of the project, the
// real Pulumi CLI logged in to a file backend of its own, the providers and
// the Node.js language host from E2E_BIN, `kind` and Docker's view of kind's
// nodes played by kindStandIn.js (a real control plane per cluster), and a
// kubeconfig of its own. Everything a user types goes through the same
// commands: `npm run up | preview | destroy`, `pulumi`, `kubectl`.
import * as assert from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { key } from "../harness";
import { CommandResult, Lab, collect } from "./lab";
import { pulumiProviders } from "./tools";

const standIn = path.join(__dirname, "kindStandIn.js");

export class PulumiSession {
    readonly env: Record<string, string>;
    readonly kubeconfig: string;
    private readonly clusters: string;

    constructor(
        private readonly lab: Lab,
        readonly projectDirectory: string,
        bin: string,
    ) {
        const standIns = lab.folder("stand-ins");
        for (const tool of ["kind", "docker"]) {
            fs.symlinkSync(standIn, path.join(standIns, tool));
        }
        this.clusters = lab.folder("clusters");
        this.kubeconfig = path.join(lab.directory, "kubeconfig");
        const state = lab.folder("pulumi-state");
        this.env = {
            // The stand-ins first; then the binaries, as a user has them on PATH; the Node.js running this tier for npm.
            // The CLI takes the providers from PATH too, warning "using pulumi-resource-… from $PATH" (pulumi v3.259.0
            // sdk/go/common/workspace/plugins.go:2084-2088, 2231-2252): installed into PULUMI_HOME instead, a substitute of
            // another version than the SDK asks for is passed over and the CLI tries to download the pinned one.
            PATH: [standIns, bin, path.dirname(process.execPath), "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"].join(
                path.delimiter,
            ),
            HOME: lab.folder("home"),
            PULUMI_HOME: lab.folder("pulumi-home"),
            PULUMI_SKIP_UPDATE_CHECK: "true",
            KUBECONFIG: this.kubeconfig,
            KIND_STAND_IN_HOME: this.clusters,
            E2E_BIN: bin,
            npm_config_cache: lab.folder("npm-cache"),
            npm_config_update_notifier: "false",
        };
        lab.onClose(() => this.deleteClusters());
        const login = spawnSync(path.join(bin, "pulumi"), ["login", `file://${state}`], { env: this.env, encoding: "utf8" });
        if (login.status !== 0) {
            throw new Error(`pulumi login file://${state}: ${login.stderr}`);
        }
    }

    /** `npm run -s <script> -- <args>` in the project copy. */
    npm(script: "up" | "preview" | "destroy", args: string[], env: Record<string, string> = {}): Promise<CommandResult> {
        return this.run("npm", ["run", "-s", script, "--", ...args], env);
    }

    /**
     * `npm run -s <script>`, interrupted once `reached` says so (polled each
     * half second: an object in the cluster, a line of the engine's output):
     * SIGINT to its whole process group is a user's Ctrl-C in the terminal,
     * SIGKILL a crash of every process of the run, plugins included (the
     * control planes, like kind's containers, live on).
     */
    async interrupt(
        script: "up" | "destroy",
        args: string[],
        reached: (output: string) => boolean,
        signal: "SIGINT" | "SIGKILL",
        env: Record<string, string> = {},
    ): Promise<CommandResult & { interrupted: boolean }> {
        const child = spawn("npm", ["run", "-s", script, "--", ...args], { cwd: this.projectDirectory, env: { ...this.env, ...env }, detached: true });
        const output = collect(child);
        let interrupted = false;
        const poll = setInterval(() => {
            if (!interrupted && reached(output.text())) {
                interrupted = true;
                // Pulumi starts its language host and providers in process groups of their own: a crash takes them too.
                const pids = signal === "SIGKILL" ? descendants(child.pid!) : [];
                process.kill(-child.pid!, signal);
                pids.forEach((pid) => {
                    try {
                        process.kill(pid, "SIGKILL");
                    } catch {
                        // already gone
                    }
                });
            }
        }, 500);
        const result = await output.done;
        clearInterval(poll);
        this.log(`npm run -s ${script} -- ${args.join(" ")} (${interrupted ? signal : "not interrupted"})`, result);
        return { ...result, interrupted };
    }

    pulumi(args: string[], env: Record<string, string> = {}): Promise<CommandResult> {
        return this.run("pulumi", args, env);
    }

    /** A command the user types and waits for (`kind`, `docker`, `kubectl`), on this machine's PATH and kubeconfig. */
    tool(command: "kind" | "docker" | "kubectl", args: string[], input?: string): CommandResult {
        const result = spawnSync(command, args, { cwd: this.projectDirectory, env: this.env, encoding: "utf8", input, maxBuffer: 256 * 1024 ** 2 });
        return { code: result.status, stdout: result.stdout ?? "", stderr: result.stderr ?? "" };
    }

    /** kubectl on the user's kubeconfig, `-o json` parsed. */
    kubectlJson<T = any>(context: string, args: string[]): T {
        const result = this.tool("kubectl", ["--context", context, ...args, "-o", "json"]);
        if (result.code !== 0) {
            throw new Error(`kubectl --context ${context} ${args.join(" ")}: ${result.stderr}`);
        }
        return JSON.parse(result.stdout) as T;
    }

    /** The resources a stack's state holds now (none for an empty stack). */
    async stackResources(stack: string, env: Record<string, string> = {}): Promise<unknown[]> {
        const exported = await this.pulumi(["stack", "export", "--stack", stack], env);
        assert.strictEqual(exported.code, 0, exported.stderr);
        return (JSON.parse(exported.stdout) as { deployment: { resources?: unknown[] } }).deployment.resources ?? [];
    }

    /** The clusters the stand-in runs now. */
    runningClusters(): string[] {
        return this.tool("kind", ["get", "clusters"]).stdout.split("\n").filter(Boolean);
    }

    private async run(command: string, args: string[], env: Record<string, string>): Promise<CommandResult> {
        const result = await collect(spawn(command, args, { cwd: this.projectDirectory, env: { ...this.env, ...env } })).done;
        this.log(`${command} ${args.join(" ")}`, result);
        return result;
    }

    /** Every command of the tier and what it printed, in the scratch folder's commands.log (kept with E2E_KEEP=1). */
    private log(command: string, result: CommandResult): void {
        fs.appendFileSync(path.join(this.lab.directory, "commands.log"), `$ ${command}\n${result.stdout}${result.stderr}\n(exit ${result.code})\n\n`);
    }

    /** Whatever control planes are still running when the tier ends (a failed scenario's) go with it. */
    private deleteClusters(): void {
        for (const name of fs.existsSync(this.clusters) ? fs.readdirSync(this.clusters) : []) {
            spawnSync(standIn, ["delete", "cluster", "--name", name], { env: this.env, stdio: "ignore" });
        }
    }
}

/**
 * Every process below `pid` in its session, from `ps`. The control planes the
 * kind stand-in starts are sessions of their own, as kind's containers are
 * Docker's, not the kind CLI's: a crash of the run leaves them running.
 */
function descendants(pid: number): number[] {
    const table = spawnSync("ps", ["-e", "-o", "pid=,ppid=,sid="], { encoding: "utf8" })
        .stdout.trim()
        .split("\n")
        .map((line) => line.trim().split(/\s+/).map(Number));
    const session = table.find(([each]) => each === pid)?.[2];
    const found: number[] = [];
    const queue = [pid];
    while (queue.length > 0) {
        const parent = queue.shift()!;
        for (const [child] of table.filter(([, ppid, sid]) => ppid === parent && sid === session)) {
            found.push(child);
            queue.push(child);
        }
    }
    return found;
}

/**
 * Every chart from the mirror in E2E_BIN/charts, as an air-gapped user sets
 * it: the only change the control-plane tiers make to a shipped stack file.
 */
export function withChartMirror(chartsDirectory: string) {
    return (config: Record<string, any>) => {
        config[key("charts")] = { mirror: { source: "local", path: chartsDirectory } };
    };
}

/** Warnings the tier itself causes: providers from PATH (E2E_BIN), and the substitutes' versions named in tools.ts. */
function tierWarning(line: string): boolean {
    if (/using pulumi-resource-\w+ from \$PATH/.test(line)) {
        return true;
    }
    const version = /resource plugin (\w+) is expected to have version >=(\S+), but has (\S+);/.exec(line);
    return (
        version !== null &&
        pulumiProviders.some((tool) => tool.name === `pulumi-resource-${version[1]}` && tool.substitute?.expected.includes(`"${version[3]}"`))
    );
}

/**
 * A Deployment's rollout as the provider relays it while it waits: the
 * deployment controller's Available=False condition (reason
 * MinimumReplicasUnavailable, kubernetes v1.36.1 pkg/controller/deployment/util/deployment_util.go:98-100)
 * until its pods are ready. A step's progress, not a problem of the program.
 */
const rolloutProgress = /warning: \[MinimumReplicasUnavailable\] Deployment does not have minimum availability\./;

/** The engine's warnings that the program could avoid: everything but the tier's own and a rollout's progress, from the engine's text output or its JSON diagnostics. */
export function programWarnings(text: string, diagnostics: { severity: string; message: string }[] = []): string[] {
    return [...text.split("\n"), ...diagnostics.filter((each) => each.severity === "warning").map((each) => each.message.replace(/^(?!warning:)/, "warning: "))]
        .filter((line) => /\bwarning:/.test(line) && !tierWarning(line) && !rolloutProgress.test(line))
        .map((line) => line.trim());
}

export const succeeded = (result: CommandResult, what: string) =>
    assert.strictEqual(result.code, 0, `${what} exited ${result.code}:\n${result.stderr.slice(-4000)}\n${result.stdout.slice(-4000)}`);

/** Helm's record of a release in its namespace (the Secret storage driver's labels: owner=helm, name, status, version); undefined when there is none. */
export function releaseStatus(session: PulumiSession, context: string, namespace: string, name: string): string | undefined {
    const records = session.kubectlJson<{ items: { metadata: { labels: Record<string, string> } }[] }>(context, [
        "--namespace",
        namespace,
        "get",
        "secrets",
        "-l",
        `owner=helm,name=${name}`,
    ]).items;
    const newest = records.sort((a, b) => Number(b.metadata.labels.version) - Number(a.metadata.labels.version))[0];
    return newest?.metadata.labels.status;
}
