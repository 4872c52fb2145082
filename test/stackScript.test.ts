import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { readStackConfig } from "../lib/config/stackFile";
import { LifecycleStop } from "../scripts/lifecycle";
import { Machine, UsageError, main, planRun, stackGuard } from "../scripts/stack";
import { projectDirectory } from "./harness";

const newcomer: Machine = { env: {}, projectDirectory };
const localState = `file://${path.join(projectDirectory, ".pulumi-state")}`;

describe("npm run up | preview | destroy", () => {
    it("a newcomer: local file backend in the project, the dev stack, its empty passphrase, then pulumi up", () => {
        const plan = planRun("up", [], newcomer);
        assert.deepStrictEqual(plan.env, { PULUMI_BACKEND_URL: localState, PULUMI_CONFIG_PASSPHRASE: "" });
        assert.deepStrictEqual(plan.commands, [
            ["pulumi", "stack", "select", "--create", "dev"],
            ["pulumi", "up", "--stack", "dev"],
        ]);
        assert.strictEqual(plan.notices.length, 2);
    });

    it("passes other flags through to pulumi and takes the stack from --stack", () => {
        const plan = planRun("preview", ["--stack", "dev", "--diff"], newcomer);
        assert.deepStrictEqual(plan.commands[1], ["pulumi", "preview", "--stack", "dev", "--diff"]);
        assert.deepStrictEqual(planRun("up", ["-s=dev", "--yes"], newcomer).commands[1], ["pulumi", "up", "--stack", "dev", "--yes"]);
    });

    it("destroy does not create a stack that is not there", () => {
        assert.deepStrictEqual(planRun("destroy", [], newcomer).commands, [["pulumi", "destroy", "--stack", "dev"]]);
    });

    it("keeps a backend the user configured, and their passphrase", () => {
        const loggedIn = planRun("up", [], { ...newcomer, loggedInBackend: "https://api.pulumi.com" });
        assert.deepStrictEqual(loggedIn.env, {});
        assert.deepStrictEqual(loggedIn.notices, []);
        const viaEnv = planRun("up", ["--stack", "prod"], { ...newcomer, env: { PULUMI_BACKEND_URL: "s3://team-state", PULUMI_CONFIG_PASSPHRASE: "team" } });
        assert.deepStrictEqual(viaEnv.env, {});
        const ownFileBackend = planRun("up", [], { ...newcomer, env: { PULUMI_BACKEND_URL: "file:///srv/state", PULUMI_CONFIG_PASSPHRASE_FILE: "/srv/pass" } });
        assert.deepStrictEqual(ownFileBackend.env, {});
    });

    it("an empty passphrase only for the local kind stacks, dev and fleet: other stacks on a file backend must choose one", () => {
        const fleet = planRun("up", ["--stack", "fleet"], newcomer);
        assert.deepStrictEqual([fleet.env.PULUMI_CONFIG_PASSPHRASE, fleet.commands[1]], ["", ["pulumi", "up", "--stack", "fleet"]]);
        assert.ok(fleet.notices.includes("The local fleet stack encrypts its secrets with an empty passphrase (set PULUMI_CONFIG_PASSPHRASE to choose one)."));
        assert.throws(
            () => planRun("up", ["--stack", "prod"], newcomer),
            (error: Error) =>
                error instanceof UsageError && /Stack "prod" .* set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE first/.test(error.message),
        );
        assert.throws(() => planRun("up", ["--stack"], newcomer), /--stack needs a stack name/);
    });

    it("a broken stack file is said first, before a missing passphrase, and nothing runs", () => {
        const project = fs.mkdtempSync(path.join(os.tmpdir(), "thanos-global-view-broken-"));
        try {
            fs.copyFileSync(path.join(projectDirectory, "Pulumi.yaml"), path.join(project, "Pulumi.yaml"));
            const broken = fs.readFileSync(path.join(projectDirectory, "Pulumi.prod.yaml"), "utf8").replace("replicas: 2", "replicas: 0");
            fs.writeFileSync(path.join(project, "Pulumi.prod.yaml"), broken);
            const expected = (() => {
                try {
                    readStackConfig(project, "prod");
                } catch (error) {
                    return (error as Error).message;
                }
                return assert.fail("the broken stack file passes");
            })();
            const said: string[] = [];
            const nothing = () => assert.fail("nothing may run");
            const session = {
                env: {},
                projectDirectory: project,
                say: (line: string) => said.push(line),
                runAttached: nothing,
                runCaptured: nothing,
                pause: nothing,
                now: () => new Date(),
                hostname: "here",
                processAlive: () => false,
                nodeVersion: "v22.23.3",
                platform: "linux" as const,
                readFile: () => undefined,
            };
            assert.strictEqual(main(["up", "--stack", "prod"], session), 1);
            assert.deepStrictEqual(said, [expected]);
            assert.match(expected, /regions\[0\]\.replicas: got 0/);
        } finally {
            fs.rmSync(project, { recursive: true, force: true });
        }
    });
});

describe("npm run up | destroy: whose stack it is, and Ctrl-C", () => {
    it("a stack named organization/project/name: its own name picks the settings file and the local passphrase (path 7)", () => {
        const plan = planRun("up", ["--stack", "organization/thanos-global-view/dev"], newcomer);
        assert.deepStrictEqual(
            [plan.stackName, plan.env.PULUMI_CONFIG_PASSPHRASE, plan.commands[1]],
            ["dev", "", ["pulumi", "up", "--stack", "organization/thanos-global-view/dev"]],
        );
    });

    it("a state in s3://, gs:// or azblob://, or Pulumi Cloud: repairs are refused, naming the backend (without its query) and what to do (path 7)", () => {
        for (const backend of ["s3://team-state?region=eu-west-1&awssdk=v2", "gs://team-state", "azblob://team-state", "https://api.pulumi.com"]) {
            const plan = planRun("up", ["--stack", "prod"], { ...newcomer, env: { PULUMI_BACKEND_URL: backend, PULUMI_CONFIG_PASSPHRASE: "x" } });
            const guard = stackGuard(plan, { projectDirectory, hostname: "here", processAlive: () => false, say: () => undefined }, () =>
                assert.fail("nothing may run"),
            );
            assert.throws(
                guard,
                (error: Error) =>
                    error instanceof LifecycleStop &&
                    error.message ===
                        `Stack "prod" needs repairing (see above), but its state is kept at ${backend.replace(/\?.*$/, "")}, where npm run up cannot see whether another pulumi is working on it, so it changes nothing. ` +
                            'Make sure none is, then repair by hand as README.md "Day 2" describes (pulumi state delete, pulumi refresh --clear-pending-creates), or use a file backend.',
            );
        }
    });

    it("Ctrl-C while pulumi runs: this process waits for pulumi to end instead of dying and leaving it orphaned, then says what to do (path 8)", () => {
        // The terminal signals the whole process group; here the child signals its parent, then goes on working.
        const script = `
            const { runHoldingSignals } = require("./scripts/stack");
            const status = runHoldingSignals("sh", ["-c", "kill -INT $PPID; sleep 0.2; echo pulumi saved its state"], process.env, ".",
                (signal) => { console.log("interrupted by " + signal); process.exitCode = 130; });
            console.log("pulumi ended with " + status);`;
        const result = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], { cwd: projectDirectory, encoding: "utf8" });
        assert.deepStrictEqual(
            [result.status, result.stdout.split("\n").filter(Boolean)],
            [130, ["pulumi saved its state", "pulumi ended with 0", "interrupted by SIGINT"]],
        );
    });
});
