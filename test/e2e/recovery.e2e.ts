// `npm run e2e -- recovery`: day-2 recovery (scripts/stack.ts,
// scripts/lifecycle.ts) against the real Pulumi CLI, its providers and a real
// API server, on the dev stack: a run interrupted at a chosen point (a crash
// of every process of the run, or a user's Ctrl-C), the control plane stopped
// between runs, the cluster deleted by hand. Each time one `npm run up` (or
// `destroy`) converges, and the next `up` changes nothing.
//
// The machine is the control-plane tier's (pulumiSession.ts): only `kind` and
// Docker's view of its nodes stand in. Each scenario starts from what the
// one before left; the order below builds the stack up and takes it down.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { readStackConfig } from "../../lib/config/stackFile";
import { verificationJobName } from "../../lib/verification/checks";
import { key } from "../harness";
import { Lab } from "./lab";
import { copyProject, writeStackFile } from "./projectCopy";
import { PulumiSession, releaseStatus, succeeded, withChartMirror } from "./pulumiSession";
import { chartPackages, controlTierTools, toolsOrSkip } from "./tools";

const context = "kind-thanos-dev";

describe("recovery: interrupted and damaged states converge in one command, on the real Pulumi CLI and API server", function () {
    let lab: Lab;
    let session: PulumiSession;
    let chartsDirectory: string;

    before(function () {
        const tools = toolsOrSkip(this, "recovery", controlTierTools);
        chartsDirectory = path.dirname(tools[chartPackages[0].name]);
        lab = new Lab("recovery");
        copyProject(lab.folder("project"), "dev", "dev", withChartMirror(chartsDirectory));
        session = new PulumiSession(lab, path.join(lab.directory, "project"), process.env.E2E_BIN!);
    });

    after(async () => {
        await lab?.close();
    });

    /** One `npm run up` converges, and the next changes nothing. */
    async function convergesInOneUp(what: string): Promise<void> {
        const up = await session.npm("up", ["--yes", "--skip-preview"]);
        succeeded(up, `npm run up after ${what}`);
        succeeded(await session.npm("up", ["--yes", "--skip-preview", "--expect-no-changes"]), `the npm run up after that (${what})`);
        const config = readStackConfig(session.projectDirectory, "dev");
        assert.strictEqual(
            session.kubectlJson(context, ["--namespace", config.globalQuery.namespace, "get", "job", verificationJobName]).status.succeeded,
            1,
            what,
        );
    }

    const exists = (args: string[]) => () => {
        try {
            session.kubectlJson(context, args);
            return true;
        } catch {
            return false;
        }
    };

    it("a crash right after the verification Job, a fixed-name object, was created: the next up adopts or replaces it", async function () {
        this.timeout(900_000);
        const config = readStackConfig(session.projectDirectory, "dev");
        const crashed = await session.interrupt(
            "up",
            ["--yes", "--skip-preview"],
            exists(["--namespace", config.globalQuery.namespace, "get", "job", verificationJobName]),
            "SIGKILL",
        );
        assert.ok(crashed.interrupted, `the Job never appeared:\n${crashed.stdout.slice(-3000)}`);
        await convergesInOneUp("a crash after the Job was created");
    });

    it("a crash during a Helm install (a release left pending-install): the next up installs it", async function () {
        this.timeout(900_000);
        // Moving a region to another namespace installs its release anew.
        writeStackFile(session.projectDirectory, "dev", "dev", (config) => {
            withChartMirror(chartsDirectory)(config);
            config[key("regions")][1].namespace = "americas";
        });
        const crashed = await session.interrupt(
            "up",
            ["--yes", "--skip-preview"],
            () => releaseStatusOrNone("americas", "kps-united-states") === "pending-install",
            "SIGKILL",
        );
        assert.ok(crashed.interrupted, `no pending install was seen:\n${crashed.stdout.slice(-3000)}`);
        await convergesInOneUp("a crash during a Helm install");
        assert.strictEqual(releaseStatus(session, context, "americas", "kps-united-states"), "deployed");
    });

    it("Ctrl-C during an up: the next up finishes the job", async function () {
        this.timeout(900_000);
        writeStackFile(session.projectDirectory, "dev", "dev", (config) => {
            withChartMirror(chartsDirectory)(config);
            config[key("regions")][1].namespace = "americas";
            config[key("regions")][1].replicas = 2;
        });
        const interrupted = await session.interrupt(
            "up",
            ["--yes", "--skip-preview"],
            (output) => /Release united-states (updating|creating)/.test(output),
            "SIGINT",
        );
        assert.ok(interrupted.interrupted);
        await convergesInOneUp("Ctrl-C during an up");
    });

    it("the control plane stopped between runs (Docker restarted, kind's nodes down): up starts it and changes nothing", async function () {
        this.timeout(600_000);
        const nodes = session.kubectlJson<{ items: { metadata: { name: string } }[] }>(context, ["get", "nodes"]).items.map((node) => node.metadata.name);
        const stopped = session.tool("docker", ["stop", ...nodes]);
        assert.strictEqual(stopped.code, 0, stopped.stderr);
        const up = await session.npm("up", ["--yes", "--skip-preview", "--expect-no-changes"]);
        succeeded(up, "npm run up with the nodes stopped");
        assert.match(up.stderr, /are stopped .*: starting them/);
    });

    it("a crash during a cluster replacement: the next up finishes the new cluster", async function () {
        this.timeout(900_000);
        writeStackFile(session.projectDirectory, "dev", "dev", (config) => {
            withChartMirror(chartsDirectory)(config);
            config[key("regions")][1].namespace = "americas";
            config[key("regions")][1].replicas = 2;
            config[key("clusters")][0].workerNodes = 3;
        });
        const clusterState = path.join(session.env.KIND_STAND_IN_HOME, "thanos-dev", "state.json");
        const before = fs.statSync(clusterState).mtimeMs;
        // The old cluster is deleted first (the name is fixed); the crash comes once the new one is being made.
        const crashed = await session.interrupt(
            "up",
            ["--yes", "--skip-preview"],
            () => fs.existsSync(clusterState) && fs.statSync(clusterState).mtimeMs !== before,
            "SIGKILL",
        );
        assert.ok(crashed.interrupted, `the new cluster was never started:\n${crashed.stdout.slice(-3000)}`);
        await convergesInOneUp("a crash during a cluster replacement");
        assert.strictEqual(session.kubectlJson<{ items: unknown[] }>(context, ["get", "nodes"]).items.length, 4);
    });

    it("the cluster deleted by hand: up makes it again, with everything in it", async function () {
        this.timeout(900_000);
        assert.strictEqual(session.tool("kind", ["delete", "cluster", "--name", "thanos-dev"]).code, 0);
        await convergesInOneUp("the cluster was deleted by hand");
    });

    it("a crash during destroy: the next destroy finishes, and the stack is empty", async function () {
        this.timeout(900_000);
        const crashed = await session.interrupt("destroy", ["--yes"], (output) => /deleting/.test(output) && /Release/.test(output), "SIGKILL");
        assert.ok(crashed.interrupted);
        succeeded(await session.npm("destroy", ["--yes"]), "npm run destroy after a crashed one");
        assert.deepStrictEqual(session.runningClusters(), []);
        assert.deepStrictEqual(await session.stackResources("dev"), []);
    });

    function releaseStatusOrNone(namespace: string, name: string): string | undefined {
        try {
            return releaseStatus(session, context, namespace, name);
        } catch {
            return undefined;
        }
    }
});
