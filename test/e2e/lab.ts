// Where an e2e tier runs its real processes: one scratch folder, each process
// logging to a file of its own, loopback ports the kernel hands out, and
// network namespaces of its own. Everything it started is stopped and removed
// when the tier ends, when a scenario fails, and when the run is interrupted.
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";

export interface StartOptions {
    env?: Record<string, string>;
    /** Run inside this network namespace (`ip netns exec`): a host of its own. */
    netns?: string;
    cwd?: string;
}

interface Started {
    child: ChildProcess;
    exited: Promise<number | null>;
    log: string;
}

/** Every lab of this process, for the exit handlers. */
const open = new Set<Lab>();

/** A host on a network of its own: a namespace joined to this one by a veth pair, with a /30 of its own. */
export interface NamespaceHost {
    name: string;
    /** Its address, and this host's address as it reaches us. */
    address: string;
    gateway: string;
}

export class Lab {
    readonly directory: string;
    private readonly processes = new Map<string, Started>();
    private readonly namespaces: string[] = [];
    private readonly links: string[] = [];
    /** What else the tier started that outlives its processes (the kind stand-in's control planes), undone synchronously. */
    private readonly cleanups: (() => void)[] = [];

    constructor(readonly name: string) {
        this.directory = fs.mkdtempSync(path.join(os.tmpdir(), `thanos-global-view-e2e-${name}-`));
        open.add(this);
    }

    /** Runs `cleanup` when the lab closes or the run is interrupted, before the scratch folder goes. */
    onClose(cleanup: () => void): void {
        this.cleanups.push(cleanup);
    }

    /** A folder of the scratch space, made if need be. */
    folder(...parts: string[]): string {
        const folder = path.join(this.directory, ...parts);
        fs.mkdirSync(folder, { recursive: true });
        return folder;
    }

    file(relative: string, content: string): string {
        const file = path.join(this.directory, relative);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, content);
        return file;
    }

    /** Starts a process whose output goes to `<name>.log`; names are unique while it runs. */
    start(name: string, command: string, args: string[], options: StartOptions = {}): ChildProcess {
        if (this.processes.has(name)) {
            throw new Error(`${name} is already running`);
        }
        const log = path.join(this.directory, `${name}.log`);
        const output = fs.openSync(log, "a");
        const [file, argv] = options.netns === undefined ? [command, args] : ["ip", ["netns", "exec", options.netns, command, ...args]];
        const child = spawn(file, argv, {
            cwd: options.cwd ?? this.directory,
            env: { ...process.env, ...options.env },
            stdio: ["ignore", output, output],
        });
        fs.closeSync(output);
        const exited = new Promise<number | null>((resolve) => child.on("exit", (code, signal) => resolve(code ?? (signal === null ? null : -1))));
        this.processes.set(name, { child, exited, log });
        return child;
    }

    /** What a process wrote, the last lines: for failure messages. */
    tail(name: string, lines = 20): string {
        const started = this.processes.get(name);
        const file = started?.log ?? path.join(this.directory, `${name}.log`);
        return fs.existsSync(file) ? fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n") : "(no log)";
    }

    running(name: string): boolean {
        const started = this.processes.get(name);
        return started !== undefined && started.child.exitCode === null && started.child.signalCode === null;
    }

    /** Stops a process: SIGTERM, then SIGKILL if it lingers; `kill` sends SIGKILL at once, as a crash would. */
    async stop(name: string, how: "terminate" | "kill" = "terminate"): Promise<void> {
        const started = this.processes.get(name);
        if (started === undefined) {
            return;
        }
        this.processes.delete(name);
        if (started.child.exitCode !== null || started.child.signalCode !== null) {
            return;
        }
        started.child.kill(how === "kill" ? "SIGKILL" : "SIGTERM");
        const lingering = setTimeout(() => started.child.kill("SIGKILL"), 10_000);
        await started.exited;
        clearTimeout(lingering);
    }

    /** A loopback port nobody listens on now (the kernel's choice, so two runs never collide). */
    async freePort(): Promise<number> {
        const server = net.createServer();
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        const { port } = server.address() as net.AddressInfo;
        await new Promise((resolve) => server.close(resolve));
        return port;
    }

    /**
     * A network namespace joined to this host by a veth pair. Its /30 is taken
     * from 10.213.0.0/16 by the lab's process id, so concurrent runs differ;
     * nothing outside this machine is ever addressed.
     */
    namespace(role: string): NamespaceHost {
        const index = this.namespaces.length;
        const name = `tgv-${process.pid % 100000}-${index}`;
        const subnet = ((process.pid % 60) * 4 + index) % 256;
        const [gateway, address] = [`10.213.${subnet}.1`, `10.213.${subnet}.2`];
        const outside = `tgv${process.pid % 100000}o${index}`;
        const inside = `tgv${process.pid % 100000}i${index}`;
        const ip = (...args: string[]) => {
            const result = spawnSync("ip", args, { encoding: "utf8" });
            if (result.status !== 0) {
                throw new Error(`ip ${args.join(" ")} failed for the ${role} namespace: ${result.stderr.trim()}`);
            }
        };
        ip("netns", "add", name);
        this.namespaces.push(name);
        ip("link", "add", outside, "type", "veth", "peer", "name", inside);
        this.links.push(outside);
        ip("link", "set", inside, "netns", name);
        ip("addr", "add", `${gateway}/30`, "dev", outside);
        ip("link", "set", outside, "up");
        ip("netns", "exec", name, "ip", "addr", "add", `${address}/30`, "dev", inside);
        ip("netns", "exec", name, "ip", "link", "set", inside, "up");
        ip("netns", "exec", name, "ip", "link", "set", "lo", "up");
        return { name, address, gateway };
    }

    /** Stops every process, removes the namespaces and, unless E2E_KEEP=1, the scratch folder. */
    async close(): Promise<void> {
        await Promise.all([...this.processes.keys()].map((name) => this.stop(name, "kill")));
        this.cleanups.splice(0).forEach((cleanup) => cleanup());
        this.removeNetwork();
        if (process.env.E2E_KEEP !== "1") {
            fs.rmSync(this.directory, { recursive: true, force: true });
        } else {
            console.log(`  kept ${this.directory}`);
        }
        open.delete(this);
    }

    /** What an exit handler can still do: synchronous kills and removals. */
    closeNow(): void {
        for (const { child } of this.processes.values()) {
            child.kill("SIGKILL");
        }
        this.processes.clear();
        this.cleanups.splice(0).forEach((cleanup) => cleanup());
        this.removeNetwork();
    }

    private removeNetwork(): void {
        for (const name of this.namespaces.splice(0)) {
            // Whatever still runs in it (a process started by hand) goes with it.
            spawnSync("sh", ["-c", `ip netns pids ${name} | xargs -r kill -9`]);
            spawnSync("ip", ["netns", "del", name]);
        }
        for (const link of this.links.splice(0)) {
            spawnSync("ip", ["link", "del", link], { stdio: "ignore" });
        }
    }
}

process.on("exit", () => open.forEach((lab) => lab.closeNow()));
for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
        open.forEach((lab) => lab.closeNow());
        process.exit(130);
    });
}

/** Thrown by a probe when waiting longer cannot help (the process it waits for exited). */
export class GaveUp extends Error {}

/** Polls until `probe` gives a value, or fails with what it last said: for readiness, never for a timing assertion. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, seconds = 60): Promise<T> {
    const deadline = Date.now() + seconds * 1000;
    let last = "nothing yet";
    for (;;) {
        try {
            const value = await probe();
            if (value !== undefined) {
                return value;
            }
        } catch (error) {
            if (error instanceof GaveUp) {
                throw error;
            }
            last = (error as Error).message;
        }
        if (Date.now() > deadline) {
            throw new Error(`${what}: not within ${seconds}s; last: ${last}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
    }
}

/** GETs a URL and parses its JSON; rejects unless it answered 2xx. */
export async function getJson<T = any>(url: string): Promise<T> {
    const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    const text = await response.text();
    if (!response.ok) {
        throw new Error(`${url}: HTTP ${response.status}: ${text.slice(0, 300)}`);
    }
    return JSON.parse(text) as T;
}

export interface CommandResult {
    code: number | null;
    stdout: string;
    stderr: string;
}

/** What a started command prints: so far (`text`), and all of it once it has ended (`done`). */
export function collect(child: ChildProcess): { text: () => string; done: Promise<CommandResult> } {
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (data: Buffer) => (stdout += data));
    child.stderr!.on("data", (data: Buffer) => (stderr += data));
    return { text: () => stdout + stderr, done: new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr }))) };
}
