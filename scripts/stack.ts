// `npm run up | preview | destroy [-- --stack NAME] [-- more pulumi flags]`
//
// One command for a newcomer: picks a backend when none is configured (a
// file backend inside the project), creates or selects the stack, supplies
// the passphrase of the local dev stack, checks the tools it will need, then
// hands over to the Pulumi CLI. Teams with their own backend keep it.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { StackConfig } from "../lib/config";
import { readStackConfig } from "../lib/stackConfig";

export const actions = ["up", "preview", "destroy"] as const;
export type Action = (typeof actions)[number];

/** The stack a bare `npm run up` deploys: the kind cluster of the tutorial. */
export const defaultStack = "dev";
/** Stack state of the file backend this script falls back to, inside the project (git-ignored). */
export const localStateDirectory = ".pulumi-state";

export interface Machine {
    env: Record<string, string | undefined>;
    projectDirectory: string;
    /** The backend `pulumi login` last chose, from ~/.pulumi/credentials.json; absent when never logged in. */
    loggedInBackend?: string;
}

export interface RunPlan {
    stack: string;
    /** Variables to add to the environment of every pulumi call. */
    env: Record<string, string>;
    commands: string[][];
    /** What the script chose for the user, said before it runs. */
    notices: string[];
}

export class UsageError extends Error {}

export function planRun(action: Action, args: string[], machine: Machine): RunPlan {
    const { stack, passThrough } = splitStackArgument(args);
    const env: Record<string, string> = {};
    const notices: string[] = [];

    let backend = machine.env.PULUMI_BACKEND_URL || projectBackend(machine.projectDirectory) || machine.loggedInBackend;
    if (!backend) {
        backend = `file://${path.join(machine.projectDirectory, localStateDirectory)}`;
        env.PULUMI_BACKEND_URL = backend;
        notices.push(`No Pulumi backend is configured: keeping stack state in ${localStateDirectory}/ (set PULUMI_BACKEND_URL or run 'pulumi login' to use another).`);
    }

    const passphraseSet = machine.env.PULUMI_CONFIG_PASSPHRASE !== undefined || Boolean(machine.env.PULUMI_CONFIG_PASSPHRASE_FILE);
    if (backend.startsWith("file://") && !passphraseSet) {
        if (stack !== defaultStack) {
            throw new UsageError(
                `Stack "${stack}" keeps its secrets (such as a kubeconfig) in a file backend, encrypted with a passphrase: ` +
                    "set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE first.",
            );
        }
        // The dev stack guards the kubeconfig of a throwaway local cluster.
        env.PULUMI_CONFIG_PASSPHRASE = "";
        notices.push(`The local ${defaultStack} stack encrypts its secrets with an empty passphrase (set PULUMI_CONFIG_PASSPHRASE to choose one).`);
    }

    const commands: string[][] = [];
    if (action !== "destroy") {
        commands.push(["pulumi", "stack", "select", "--create", stack]);
    }
    commands.push(["pulumi", action, "--stack", stack, ...passThrough]);
    return { stack, env, commands, notices };
}

function splitStackArgument(args: string[]): { stack: string; passThrough: string[] } {
    const passThrough: string[] = [];
    let stack = defaultStack;
    for (let i = 0; i < args.length; i++) {
        const arg = args[i];
        const inline = /^(--stack|-s)=(.*)$/.exec(arg);
        if (inline) {
            stack = inline[2];
        } else if (arg === "--stack" || arg === "-s") {
            if (args[i + 1] === undefined) {
                throw new UsageError(`${arg} needs a stack name, such as ${defaultStack}`);
            }
            stack = args[++i];
        } else {
            passThrough.push(arg);
        }
    }
    return { stack, passThrough };
}

function projectBackend(projectDirectory: string): string | undefined {
    const text = fs.readFileSync(path.join(projectDirectory, "Pulumi.yaml"), "utf8");
    return /^backend:\s*\n\s+url:\s*(\S+)/m.exec(text)?.[1];
}

export interface Tool {
    name: string;
    versionArgs: string[];
    why: string;
}

/** The command-line tools a run needs besides Node.js, given what the stack deploys. */
export function requiredTools(action: Action, config: StackConfig): Tool[] {
    const tools: Tool[] = [{ name: "pulumi", versionArgs: ["version"], why: "runs this program" }];
    if (config.clusters.some((cluster) => cluster.type === "kind")) {
        tools.push({ name: "kind", versionArgs: ["version"], why: `creates and deletes the stack's kind cluster` });
        if (action !== "destroy") {
            tools.push({ name: "docker", versionArgs: ["info", "--format", "{{.ServerVersion}}"], why: "runs the kind nodes (the Docker engine must be running)" });
        }
    }
    if (action !== "destroy" && config.globalQuery.chart.source === "git") {
        tools.push({ name: "git", versionArgs: ["--version"], why: "fetches the archived banzaicloud thanos chart once" });
    }
    return tools;
}

function loggedInBackend(env: Record<string, string | undefined>): string | undefined {
    const home = env.PULUMI_HOME || path.join(os.homedir(), ".pulumi");
    try {
        const credentials = JSON.parse(fs.readFileSync(path.join(home, "credentials.json"), "utf8")) as { current?: string };
        return credentials.current || undefined;
    } catch {
        return undefined;
    }
}

function main(argv: string[]): number {
    const [action, ...args] = argv;
    if (!(actions as readonly string[]).includes(action)) {
        console.error(`usage: stack.ts ${actions.join("|")} [--stack NAME] [pulumi flags]`);
        return 2;
    }
    const projectDirectory = path.resolve(__dirname, "..");
    const machine: Machine = { env: process.env, projectDirectory, loggedInBackend: loggedInBackend(process.env) };
    const plan = planRun(action as Action, args, machine);

    let tools: Tool[];
    try {
        tools = requiredTools(action as Action, readStackConfig(projectDirectory, plan.stack));
    } catch (error) {
        // A broken config must not keep anyone from tearing the stack down.
        if (action !== "destroy") {
            throw error;
        }
        tools = [];
    }
    const missing = tools.filter((tool) => spawnSync(tool.name, tool.versionArgs, { stdio: "ignore" }).status !== 0);
    if (missing.length > 0) {
        console.error(missing.map((tool) => `${tool.name} is missing or not working: it ${tool.why}. See README.md, "Prerequisites".`).join("\n"));
        return 1;
    }

    plan.notices.forEach((notice) => console.error(notice));
    const env = { ...process.env, ...plan.env };
    for (const command of plan.commands) {
        const result = spawnSync(command[0], command.slice(1), { stdio: "inherit", env, cwd: projectDirectory });
        if (result.status !== 0) {
            return result.status ?? 1;
        }
    }
    return 0;
}

if (require.main === module) {
    try {
        process.exitCode = main(process.argv.slice(2));
    } catch (error) {
        console.error(error instanceof Error ? error.message : String(error));
        process.exitCode = 1;
    }
}
