// `npm run up | preview | destroy [-- --stack NAME] [-- more pulumi flags]`
//
// One command for a newcomer: picks a backend when none is configured (a
// file backend inside the project), creates or selects the stack, supplies
// the passphrase of the local dev stack, checks the machine, puts the stack
// back on its feet after a lost cluster or an interrupted run
// (scripts/lifecycle.ts), then hands over to the Pulumi CLI. Teams with their
// own backend keep it.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { StackConfig } from "../lib/schema";
import { readStackConfig } from "../lib/stackConfig";
import { verificationLogsCommandFor } from "../lib/verification";
import {
    CommandResult, Lifecycle, LifecycleStop, Run, Say, deleteDroppedVerificationJob, readStackState, reconcileKindClusters, recoverInterruptedReleases, releasesDroppedFromState,
} from "./lifecycle";
import { Action, MachineFacts, checkPrerequisites } from "./prerequisites";

export const actions = ["up", "preview", "destroy"] as const;

/** The stack a bare `npm run up` deploys: the kind cluster of the tutorial. */
export const defaultStack = "dev";

/** Stacks of kind clusters only, on the user's machine: their file-backend secrets get an empty passphrase. */
const localStacks = [defaultStack, "fleet"];
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
    /** The file backend's directory this script chose; Pulumi refuses one that does not exist (pulumi pkg/backend/diy/backend.go:280-285, v3.259.0). */
    stateDirectory?: string;
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
    let stateDirectory: string | undefined;
    if (!backend) {
        stateDirectory = path.join(machine.projectDirectory, localStateDirectory);
        backend = `file://${stateDirectory}`;
        env.PULUMI_BACKEND_URL = backend;
        notices.push(`No Pulumi backend is configured: keeping stack state in ${localStateDirectory}/ (set PULUMI_BACKEND_URL or run 'pulumi login' to use another).`);
    }

    const passphraseSet = machine.env.PULUMI_CONFIG_PASSPHRASE !== undefined || Boolean(machine.env.PULUMI_CONFIG_PASSPHRASE_FILE);
    if (backend.startsWith("file://") && !passphraseSet) {
        if (!localStacks.includes(stack)) {
            throw new UsageError(
                `Stack "${stack}" keeps its secrets (such as a kubeconfig) in a file backend, encrypted with a passphrase: ` +
                    "set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE first.",
            );
        }
        // These stacks guard only throwaway local kind clusters.
        env.PULUMI_CONFIG_PASSPHRASE = "";
        notices.push(`The local ${stack} stack encrypts its secrets with an empty passphrase (set PULUMI_CONFIG_PASSPHRASE to choose one).`);
    }

    const commands: string[][] = [];
    if (action !== "destroy") {
        commands.push(["pulumi", "stack", "select", "--create", stack]);
    }
    commands.push(["pulumi", action, "--stack", stack, ...passThrough]);
    return { stack, stateDirectory, env, commands, notices };
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

function loggedInBackend(env: Record<string, string | undefined>): string | undefined {
    const home = env.PULUMI_HOME || path.join(os.homedir(), ".pulumi");
    try {
        const credentials = JSON.parse(fs.readFileSync(path.join(home, "credentials.json"), "utf8")) as { current?: string };
        return credentials.current || undefined;
    } catch {
        return undefined;
    }
}

/** Everything main needs of the machine; tests hand in fakes that behave like the real tools. */
export interface Session extends Machine {
    say: Say;
    /** Runs a Pulumi command the user watches (and may answer); its exit code. */
    runAttached: (command: string, args: string[], env: Record<string, string | undefined>) => number;
    /** Runs a command whose answer the script reads (a check, a state export, a repair). */
    runCaptured: (command: string, args: string[], env: Record<string, string | undefined>) => CommandResult;
    pause: (seconds: number) => void;
    now: () => Date;
    nodeVersion: string;
    platform: NodeJS.Platform;
    readFile: (file: string) => string | undefined;
}

export function main(argv: string[], session: Session): number {
    const [action, ...args] = argv;
    if (!(actions as readonly string[]).includes(action)) {
        session.say(`usage: stack.ts ${actions.join("|")} [--stack NAME] [pulumi flags]`);
        return 2;
    }
    try {
        return runAction(action as Action, args, session);
    } catch (error) {
        if (error instanceof UsageError || error instanceof LifecycleStop || error instanceof StackFileError) {
            session.say(error.message);
            return 1;
        }
        throw error;
    }
}

class StackFileError extends Error {}

function runAction(action: Action, args: string[], session: Session): number {
    const plan = planRun(action, args, session);
    const env = { ...session.env, ...plan.env };
    const run: Run = (command, commandArgs) => session.runCaptured(command, commandArgs, env);

    let config: StackConfig | undefined;
    try {
        config = readStackConfig(session.projectDirectory, plan.stack);
    } catch (error) {
        // A broken config must not keep anyone from tearing the stack down.
        if (action !== "destroy") {
            throw new StackFileError((error as Error).message);
        }
    }
    const facts: MachineFacts = { run, nodeVersion: session.nodeVersion, platform: session.platform, readFile: session.readFile };
    const problems = config === undefined ? [] : checkPrerequisites(action, config, facts);
    if (problems.length > 0) {
        problems.forEach((problem) => session.say(problem));
        session.say('Nothing was changed. See README.md, "Prerequisites".');
        return 1;
    }

    plan.notices.forEach((notice) => session.say(notice));
    if (plan.stateDirectory !== undefined) {
        fs.mkdirSync(plan.stateDirectory, { recursive: true });
    }
    const [select, pulumiAction] = plan.commands.length === 2 ? plan.commands : [undefined, plan.commands[0]];
    if (select !== undefined && session.runAttached(select[0], select.slice(1), env) !== 0) {
        return 1;
    }

    if (action !== "preview") {
        const state = readStackState(run, plan.stack);
        const lifecycle: Lifecycle = { run, say: session.say, pause: session.pause, now: session.now };
        if (state !== undefined) {
            reconcileKindClusters(action, plan.stack, state, lifecycle);
        }
        const current = state === undefined ? undefined : readStackState(run, plan.stack);
        if (config !== undefined && state !== undefined && current !== undefined) {
            deleteDroppedVerificationJob(config, state, current, lifecycle);
        }
        if (action === "up" && config !== undefined && current !== undefined) {
            recoverInterruptedReleases(config, plan.stack, current, lifecycle, state === undefined ? new Set() : releasesDroppedFromState(state, current));
        }
    }

    const status = session.runAttached(pulumiAction[0], pulumiAction.slice(1), env);
    if (status !== 0 && action === "up" && config?.verification.enabled) {
        session.say(`If the verification failed, its last run says why: ${verificationLogsCommandFor(config)}`);
        session.say("If the run was interrupted or timed out, run npm run up again: it continues where it stopped.");
    }
    return status;
}

/** A command as a process in the project directory, found on the PATH of `env`, its output read. */
export function spawnCaptured(projectDirectory: string): Session["runCaptured"] {
    return (command, args, env) => {
        const result = spawnSync(command, args, { env, cwd: projectDirectory, encoding: "utf8", maxBuffer: 256 * 1024 ** 2 });
        return { status: result.error ? null : result.status, stdout: result.stdout ?? "", stderr: result.stderr ?? "" };
    };
}

if (require.main === module) {
    const projectDirectory = path.resolve(__dirname, "..");
    process.exitCode = main(process.argv.slice(2), {
        env: process.env,
        projectDirectory,
        loggedInBackend: loggedInBackend(process.env),
        say: (line) => console.error(line),
        runAttached: (command, args, env) => spawnSync(command, args, { stdio: "inherit", env, cwd: projectDirectory }).status ?? 1,
        runCaptured: spawnCaptured(projectDirectory),
        pause: (seconds) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, seconds * 1000),
        now: () => new Date(),
        nodeVersion: process.version,
        platform: process.platform,
        readFile: (file) => {
            try {
                return fs.readFileSync(file, "utf8");
            } catch {
                return undefined;
            }
        },
    });
}
