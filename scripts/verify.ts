// `npm run verify -- [--url URL] [--grafana-url URL] [--dashboards] [--stack NAME] [--timeout SECONDS] [--interval SECONDS] [--attempts N]`
//
// Proves the global view from the user's machine, with the same checks as the
// in-cluster Job: every region present, every HA pair seen once per replica
// without deduplication and exactly once with it, and, when the stack runs
// Grafana, Grafana healthy, its data source healthy and a global-view panel
// showing every region. Expectations come from the stack config; the URLs are
// the exported port-forwards (http://localhost:10902, http://localhost:3000),
// Grafana's admin password comes from GRAFANA_ADMIN_PASSWORD.
import * as path from "path";
import { readStackConfig } from "../lib/config/stackFile";
import { grafanaAdmin, grafanaLocalPort } from "../lib/kubernetes/releases";
import { dashboardInputs, panelQueries } from "../lib/grafana/dashboards";
import { dashboardChecks, grafanaChecks, rulerChecks, verificationChecks, verificationPlan } from "../lib/verification/checks";
import { Outcome, frontendRules, grafanaApi, queryFrontend, verifyUntilDeadline } from "../lib/verification/prover";

export interface VerifyOptions {
    url: string;
    grafanaUrl: string;
    /** Also ask every dashboard panel, through Grafana. */
    dashboards: boolean;
    stack: string;
    timeoutSeconds: number;
    intervalSeconds: number;
    /** Stop after this many rounds even before the timeout: one round for a quick look (or a test) on any machine's speed. */
    attempts: number;
}

/** The longest wait for one answer (never past the deadline). */
const requestTimeoutSeconds = 10;

export const defaultOptions: VerifyOptions = {
    url: "http://localhost:10902",
    grafanaUrl: `http://localhost:${grafanaLocalPort}`,
    dashboards: false,
    stack: "dev",
    timeoutSeconds: 60,
    intervalSeconds: 5,
    attempts: Infinity,
};

export class UsageError extends Error {}

export function parseArguments(args: string[]): VerifyOptions {
    const options = { ...defaultOptions };
    const flags: Record<string, (value: string) => void> = {
        "--url": (value) => (options.url = value),
        "--grafana-url": (value) => (options.grafanaUrl = value),
        "--stack": (value) => (options.stack = value),
        "--timeout": (value) => (options.timeoutSeconds = seconds("--timeout", value)),
        "--interval": (value) => (options.intervalSeconds = seconds("--interval", value)),
        "--attempts": (value) => (options.attempts = count("--attempts", value)),
    };
    for (let i = 0; i < args.length; i++) {
        if (args[i] === "--dashboards") {
            options.dashboards = true;
            continue;
        }
        const [flag, inline] = args[i].split(/=(.*)/s, 2);
        const set = flags[flag];
        const value = inline ?? args[++i];
        if (set === undefined || value === undefined) {
            throw new UsageError(
                `usage: npm run verify -- [--url URL] [--grafana-url URL] [--dashboards] [--stack NAME] [--timeout SECONDS] [--interval SECONDS] [--attempts N] (got ${args.join(" ")})`,
            );
        }
        set(value);
    }
    return options;
}

function seconds(flag: string, value: string): number {
    const number = Number(value);
    if (!Number.isFinite(number) || number <= 0) {
        throw new UsageError(`${flag} takes a number of seconds above 0, got ${value}`);
    }
    return number;
}

function count(flag: string, value: string): number {
    const number = Number(value);
    if (!Number.isInteger(number) || number < 1) {
        throw new UsageError(`${flag} takes a whole number of rounds, 1 or more, got ${value}`);
    }
    return number;
}

/** One row per region, then the whole-view check, then what went wrong. */
export function report(outcomes: Outcome[], regions: { region: string; replicas: number }[]): string {
    // With long-term storage, a third check per region: its sidecars have the bucket.
    const uploads = outcomes.some((outcome) => outcome.check.region !== undefined && outcome.check.query.includes("thanos_objstore_"));
    const rows = regions.map(({ region, replicas }) => {
        const [raw, deduplicated, bucket] = outcomes.filter((outcome) => outcome.check.region === region);
        const seen = raw.error ? "?" : [...new Set(raw.seen)].join("/") || "0";
        return [region, String(replicas), seen, deduplicated.ok ? "yes" : "no", ...(uploads ? [bucket.ok ? "yes" : "no"] : [])];
    });
    const header = ["REGION", "EXPECTED REPLICAS", "REPLICAS SEEN", "DEDUPLICATED OK", ...(uploads ? ["SIDECARS' BUCKET OK"] : [])];
    const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
    const line = (cells: string[]) =>
        cells
            .map((cell, column) => cell.padEnd(widths[column]))
            .join("  ")
            .trimEnd();
    const whole = outcomes.filter((outcome) => outcome.check.region === undefined);
    const failures = outcomes.filter((outcome) => !outcome.ok);
    return [
        line(header),
        ...rows.map(line),
        "",
        ...whole.map((outcome) => `${outcome.ok ? "ok" : "FAILED"}: ${outcome.ok ? outcome.detail : outcome.check.fails}`),
        ...(failures.length > 0 ? ["", "What failed:", ...failures.map((outcome) => `- ${outcome.detail}`)] : []),
    ].join("\n");
}

/** Without the password, Grafana cannot be asked: say where it is, rather than pass without it. */
export const grafanaPasswordMissing =
    "This stack runs Grafana: set its admin password first, for example\n" +
    '  export GRAFANA_ADMIN_PASSWORD="$(pulumi stack output grafanaAdminPassword --show-secrets)"';

export async function main(args: string[], print: (text: string) => void = console.log, env: NodeJS.ProcessEnv = process.env): Promise<number> {
    let options: VerifyOptions;
    try {
        options = parseArguments(args);
    } catch (error) {
        print((error as Error).message);
        return 2;
    }
    const config = readStackConfig(path.resolve(__dirname, ".."), options.stack);
    const plan = verificationPlan(config);
    if (options.dashboards && !plan.grafana) {
        print(`Stack ${options.stack} runs no Grafana (grafana.enabled is false): --dashboards has nothing to ask.`);
        return 2;
    }
    const password = env.GRAFANA_ADMIN_PASSWORD;
    if (plan.grafana && !password) {
        print(grafanaPasswordMissing);
        return 2;
    }
    print(
        `Verifying the global view of stack ${options.stack} at ${options.url}${plan.grafana ? ` and Grafana at ${options.grafanaUrl}` : ""} (${options.attempts === Infinity ? "retrying" : `at most ${options.attempts} round(s)`} for up to ${options.timeoutSeconds}s)`,
    );
    const { attempts, outcomes } = await verifyUntilDeadline(
        {
            checks: verificationChecks(plan),
            ask: queryFrontend(options.url),
            rules: { checks: rulerChecks(plan), ask: frontendRules(options.url) },
            grafana: plan.grafana
                ? {
                      checks: [...grafanaChecks(plan), ...(options.dashboards ? dashboardChecks(panelQueries(dashboardInputs(config))) : [])],
                      ask: grafanaApi(options.grafanaUrl, grafanaAdmin.user, password!),
                  }
                : undefined,
        },
        { deadlineSeconds: options.timeoutSeconds, intervalSeconds: options.intervalSeconds, requestTimeoutSeconds },
        options.attempts,
    );
    const ok = outcomes.every((outcome) => outcome.ok);
    print(report(outcomes, plan.regions));
    print(ok ? `\nThe global view is complete (attempt ${attempts}).` : `\nThe global view is NOT complete after ${attempts} attempt(s).`);
    return ok ? 0 : 1;
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        (code) => (process.exitCode = code),
        (error: Error) => {
            console.error(error.message);
            process.exitCode = 1;
        },
    );
}
