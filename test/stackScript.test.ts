import * as assert from "assert";
import * as path from "path";
import { Machine, UsageError, planRun } from "../scripts/stack";
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
        assert.throws(() => planRun("up", ["--stack", "prod"], newcomer),
            (error: Error) => error instanceof UsageError && /Stack "prod" .* set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE first/.test(error.message));
        assert.throws(() => planRun("up", ["--stack"], newcomer), /--stack needs a stack name/);
    });
});
