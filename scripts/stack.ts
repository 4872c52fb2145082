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
import { StackConfig } from "../lib/config/schema";
import { readStackConfig } from "../lib/config/stackFile";
import { verificationLogsCommandFor } from "../lib/verification/checks";
import {
    CommandResult,
    Journal,
    Lifecycle,
    LifecycleStop,
    RecoveryJournal,
    Run,
    Say,
    deleteDroppedObjects,
    finishInterruptedUninstalls,
    readReleaseRecords,
    readStackState,
    reconcileKindClusters,
    recoverInterruptedReleases,
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
    /** As the user gave it: name, project/name or organization/project/name. */
    stack: string;
    /** The stack's own name: its settings are in Pulumi.<name>.yaml (pulumi sdk/go/common/workspace/paths.go:76, 340-342, with the reference's Name()). */
    stackName: string;
    /** Where the stack's state is kept. */
    backend: string;
    /** The file backend's directory this script chose; Pulumi refuses one that does not exist (pulumi pkg/backend/diy/backend.go:280-285, v3.259.0). */
    stateDirectory?: string;
    /** Variables to add to the environment of every pulumi call. */
    env: Record<string, string>;
    commands: string[][];
    /** What the script chose for the user, said before it runs. */
    notices: string[];
}

export class UsageError extends Error {}

/** The stack's own name, `dev` of `organization/project/dev`: what names its settings file. */
const stackNameOf = (stack: string) => stack.split("/").pop()!;

export function planRun(action: Action, args: string[], machine: Machine): RunPlan {
    const { stack, passThrough } = splitStackArgument(args);
    const stackName = stackNameOf(stack);
    const env: Record<string, string> = {};
    const notices: string[] = [];

    let backend = machine.env.PULUMI_BACKEND_URL || projectBackend(machine.projectDirectory) || machine.loggedInBackend;
    let stateDirectory: string | undefined;
    if (!backend) {
        stateDirectory = path.join(machine.projectDirectory, localStateDirectory);
        backend = `file://${stateDirectory}`;
        env.PULUMI_BACKEND_URL = backend;
        notices.push(
            `No Pulumi backend is configured: keeping stack state in ${localStateDirectory}/ (set PULUMI_BACKEND_URL or run 'pulumi login' to use another).`,
        );
    }

    const passphraseSet = machine.env.PULUMI_CONFIG_PASSPHRASE !== undefined || Boolean(machine.env.PULUMI_CONFIG_PASSPHRASE_FILE);
    if (backend.startsWith("file://") && !passphraseSet) {
        if (!localStacks.includes(stackName)) {
            throw new UsageError(
                `Stack "${stack}" keeps its secrets (such as a kubeconfig) in a file backend, encrypted with a passphrase: ` +
                    "set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE first.",
            );
        }
        // These stacks guard only throwaway local kind clusters.
        env.PULUMI_CONFIG_PASSPHRASE = "";
        notices.push(`The local ${stackName} stack encrypts its secrets with an empty passphrase (set PULUMI_CONFIG_PASSPHRASE to choose one).`);
    }

    const commands: string[][] = [];
    if (action !== "destroy") {
        commands.push(["pulumi", "stack", "select", "--create", stack]);
    }
    commands.push(["pulumi", action, "--stack", stack, ...passThrough]);
    return { stack, stackName, backend, stateDirectory, env, commands, notices };
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

function projectName(projectDirectory: string): string {
    const text = fs.readFileSync(path.join(projectDirectory, "Pulumi.yaml"), "utf8");
    return /^name:\s*(\S+)/m.exec(text)![1];
}

/** A lock file of the DIY backend (pulumi pkg/backend/diy/lock.go:39-44). */
interface StackLock {
    file: string;
    pid: number;
    username: string;
    hostname: string;
    timestamp: string;
}

/**
 * The locks on a stack of a file backend: every update, refresh, destroy and
 * state edit writes one and refuses while another is there
 * (pkg/backend/diy/lock.go:63-112, 130-177). Stacks are kept per project
 * under .pulumi/locks/organization/<project>/<stack>/ once .pulumi/meta.yaml
 * says version 1 (new backends), else under .pulumi/locks/<stack>/
 * (pkg/backend/diy/store.go, projectReferenceStore and legacyReferenceStore).
 */
export function stackLocks(stateDirectory: string, project: string, stackName: string): StackLock[] {
    const bookkeeping = path.join(stateDirectory, ".pulumi");
    const projectScoped =
        fs.existsSync(path.join(bookkeeping, "meta.yaml")) && /^version:\s*[1-9]/m.test(fs.readFileSync(path.join(bookkeeping, "meta.yaml"), "utf8"));
    const directory = projectScoped ? path.join(bookkeeping, "locks", "organization", project, stackName) : path.join(bookkeeping, "locks", stackName);
    if (!fs.existsSync(directory)) {
        return [];
    }
    return fs
        .readdirSync(directory)
        .filter((file) => file.endsWith(".json"))
        .map((file) => ({
            file: path.join(directory, file),
            ...(JSON.parse(fs.readFileSync(path.join(directory, file), "utf8")) as Omit<StackLock, "file">),
        }));
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
    /** This machine's name and whether a process of it still runs: a lock left by a process that is gone is stale. */
    hostname: string;
    processAlive: (pid: number) => boolean;
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

/**
 * Lifecycle.guard: before the recovery changes anything, no other run may
 * hold the stack. A lock whose process is gone from this machine (killed, or
 * Ctrl-C before it could clean up) is stale: `pulumi cancel` removes it. A
 * lock of a live process, or of another machine, stops the run. Backends
 * whose locks cannot be read from here are refused.
 */
export function stackGuard(plan: RunPlan, session: Pick<Session, "projectDirectory" | "hostname" | "processAlive" | "say">, run: Run): () => void {
    let checked = false;
    return () => {
        if (checked) {
            return;
        }
        if (!plan.backend.startsWith("file://")) {
            const where = plan.backend.replace(/\?.*$/, "");
            throw new LifecycleStop(
                `Stack "${plan.stack}" needs repairing (see above), but its state is kept at ${where}, where npm run ${plan.commands[plan.commands.length - 1][1]} cannot see whether another pulumi is working on it, so it changes nothing. ` +
                    `Make sure none is, then repair by hand as README.md "Day 2" describes (pulumi state delete, pulumi refresh --clear-pending-creates), or use a file backend.`,
            );
        }
        // file://~ is the home directory (pulumi pkg/backend/diy/backend.go:651-660).
        const stateDirectory = plan.backend
            .slice("file://".length)
            .replace(/\?.*$/, "")
            .replace(/^~(?=\/|$)/, os.homedir());
        for (const lock of stackLocks(stateDirectory, projectName(session.projectDirectory), plan.stackName)) {
            const holder = `pulumi (pid ${lock.pid}, ${lock.username}@${lock.hostname}, since ${lock.timestamp})`;
            if (lock.hostname !== session.hostname || session.processAlive(lock.pid)) {
                throw new LifecycleStop(
                    `Stack "${plan.stack}" is locked by ${holder}: another run is still working on it, so nothing was changed. ` +
                        `Wait for it to finish and run this again; if it is gone, 'pulumi cancel --stack ${plan.stack}' removes its lock.`,
                );
            }
            session.say(
                `Stack "${plan.stack}" is still locked by ${holder}, which is no longer running (killed before it could clean up): removing its lock (pulumi cancel).`,
            );
            const cancelled = run("pulumi", ["cancel", "--stack", plan.stack, "--yes"]);
            if (cancelled.status !== 0) {
                throw new LifecycleStop(`Could not remove the stale lock ${lock.file}: ${cancelled.stderr.trim() || `exit code ${cancelled.status}`}`);
            }
        }
        checked = true;
    };
}

/** Where a repair writes down what it has still to finish: beside the project, git-ignored. */
export const recoveryDirectory = ".pulumi-recovery";

function recoveryJournal(projectDirectory: string, stackName: string): Journal {
    const file = path.join(projectDirectory, recoveryDirectory, `${stackName}.json`);
    return {
        read: () => (fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as RecoveryJournal) : { releases: [], objects: [] }),
        write: (journal) => {
            if (journal.releases.length + journal.objects.length === 0) {
                fs.rmSync(file, { force: true });
                if (fs.existsSync(path.dirname(file)) && fs.readdirSync(path.dirname(file)).length === 0) {
                    fs.rmdirSync(path.dirname(file));
                }
                return;
            }
            fs.mkdirSync(path.dirname(file), { recursive: true });
            fs.writeFileSync(file, JSON.stringify(journal, null, 2));
        },
    };
}

/**
 * Runs pulumi in the user's terminal until it ends. Ctrl-C reaches pulumi
 * itself (the terminal signals the whole foreground process group), which
 * then finishes the steps under way, saves the state, releases its lock and
 * exits. This process must not die first and leave it running orphaned behind
 * the shell prompt: SIGINT, SIGTERM and SIGHUP get handlers, which Node runs
 * only once spawnSync has returned, that is once pulumi has exited; then
 * `interrupted` says what to do next.
 */
export function runHoldingSignals(
    command: string,
    args: string[],
    env: Record<string, string | undefined>,
    cwd: string,
    interrupted: (signal: NodeJS.Signals) => void,
): number {
    let said = false;
    const onSignal = (signal: NodeJS.Signals) => {
        if (!said) {
            said = true;
            interrupted(signal);
        }
    };
    const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
    signals.forEach((signal) => process.on(signal, onSignal));
    const status = spawnSync(command, args, { stdio: "inherit", env, cwd }).status ?? 1;
    // A signal that came meanwhile is dispatched by the event loop: keep it turning for a moment.
    setTimeout(() => signals.forEach((signal) => process.off(signal, onSignal)), 100);
    return status;
}

function runAction(action: Action, args: string[], session: Session): number {
    // The stack file first: its problems are for the user to fix whatever else is missing (a passphrase, say).
    let config: StackConfig | undefined;
    try {
        config = readStackConfig(session.projectDirectory, stackNameOf(splitStackArgument(args).stack));
    } catch (error) {
        // A broken config must not keep anyone from tearing the stack down.
        if (action !== "destroy" && !(error instanceof UsageError)) {
            throw new StackFileError((error as Error).message);
        }
    }
    const plan = planRun(action, args, session);
    const env = { ...session.env, ...plan.env };
    const run: Run = (command, commandArgs) => session.runCaptured(command, commandArgs, env);

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

    const state = action === "preview" ? undefined : readStackState(run, plan.stack);
    if (state !== undefined) {
        const lifecycle: Lifecycle = {
            run,
            say: session.say,
            pause: session.pause,
            now: session.now,
            env,
            guard: stackGuard(plan, session, run),
            journal: recoveryJournal(session.projectDirectory, plan.stackName),
        };
        reconcileKindClusters(action as "up" | "destroy", plan.stack, state, lifecycle);
        let current = readStackState(run, plan.stack)!;
        const records = action === "up" && config !== undefined ? readReleaseRecords(config, lifecycle) : undefined;
        if (records !== undefined && finishInterruptedUninstalls(plan.stack, current, records, lifecycle)) {
            current = readStackState(run, plan.stack)!;
        }
        if (config !== undefined) {
            deleteDroppedObjects(config, current, lifecycle);
        }
        if (config !== undefined && records !== undefined) {
            recoverInterruptedReleases(config, plan.stack, current, records, lifecycle);
        }
        if (plan.backend.startsWith("file://")) {
            // A killed run's lock would make pulumi refuse even when nothing else needs repairing.
            lifecycle.guard();
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
    const interrupted = (signal: NodeJS.Signals) => {
        console.error(
            `Interrupted (${signal}): pulumi was left to finish its steps under way and save the state. Run the same npm run command again: it continues where it stopped.`,
        );
        process.exitCode = 130;
    };
    process.exitCode = main(process.argv.slice(2), {
        env: process.env,
        projectDirectory,
        loggedInBackend: loggedInBackend(process.env),
        say: (line) => console.error(line),
        runAttached: (command, args, env) => runHoldingSignals(command, args, env, projectDirectory, interrupted),
        runCaptured: spawnCaptured(projectDirectory),
        pause: (seconds) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, seconds * 1000),
        now: () => new Date(),
        hostname: os.hostname(),
        processAlive: (pid) => {
            try {
                process.kill(pid, 0);
                return true;
            } catch (error) {
                return (error as NodeJS.ErrnoException).code === "EPERM";
            }
        },
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
