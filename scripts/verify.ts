// `npm run verify -- [--url URL] [--stack NAME] [--timeout SECONDS]`
//
// Proves the global view from the user's machine, with the same checks as the
// in-cluster Job: every region present, every HA pair seen once per replica
// without deduplication and exactly once with it. Expectations come from the
// stack config; the URL is the Query Frontend (after the exported
// port-forward command, http://localhost:10902).
import * as path from "path";
import { readStackConfig } from "../lib/stackConfig";
import { Outcome, queryFrontend, verificationChecks, verificationPlan, verifyUntilDeadline } from "../lib/verification";

export interface VerifyOptions {
    url: string;
    stack: string;
    timeoutSeconds: number;
    intervalSeconds: number;
}

/** The longest wait for one answer (never past the deadline). */
const requestTimeoutSeconds = 10;

export const defaultOptions: VerifyOptions = {
    url: "http://localhost:10902",
    stack: "dev",
    timeoutSeconds: 60,
    intervalSeconds: 5,
};

export class UsageError extends Error {}

export function parseArguments(args: string[]): VerifyOptions {
    const options = { ...defaultOptions };
    const flags: Record<string, (value: string) => void> = {
        "--url": (value) => (options.url = value),
        "--stack": (value) => (options.stack = value),
        "--timeout": (value) => (options.timeoutSeconds = seconds("--timeout", value)),
        "--interval": (value) => (options.intervalSeconds = seconds("--interval", value)),
    };
    for (let i = 0; i < args.length; i++) {
        const [flag, inline] = args[i].split(/=(.*)/s, 2);
        const set = flags[flag];
        const value = inline ?? args[++i];
        if (set === undefined || value === undefined) {
            throw new UsageError(`usage: npm run verify -- [--url URL] [--stack NAME] [--timeout SECONDS] [--interval SECONDS] (got ${args.join(" ")})`);
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

/** One row per region, then the whole-view check, then what went wrong. */
export function report(outcomes: Outcome[], regions: { region: string; replicas: number }[]): string {
    const rows = regions.map(({ region, replicas }) => {
        const [raw, deduplicated] = outcomes.filter((outcome) => outcome.check.region === region);
        const seen = raw.error ? "?" : [...new Set(raw.seen)].join("/") || "0";
        return [region, String(replicas), seen, deduplicated.ok ? "yes" : "no"];
    });
    const header = ["REGION", "EXPECTED REPLICAS", "REPLICAS SEEN", "DEDUPLICATED OK"];
    const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
    const line = (cells: string[]) => cells.map((cell, column) => cell.padEnd(widths[column])).join("  ").trimEnd();
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

export async function main(args: string[], print: (text: string) => void = console.log): Promise<number> {
    let options: VerifyOptions;
    try {
        options = parseArguments(args);
    } catch (error) {
        print((error as Error).message);
        return 2;
    }
    const plan = verificationPlan(readStackConfig(path.resolve(__dirname, ".."), options.stack));
    const checks = verificationChecks(plan);
    print(`Verifying the global view of stack ${options.stack} at ${options.url} (retrying for up to ${options.timeoutSeconds}s)`);
    const { attempts, outcomes } = await verifyUntilDeadline(
        checks,
        queryFrontend(options.url),
        { deadlineSeconds: options.timeoutSeconds, intervalSeconds: options.intervalSeconds, requestTimeoutSeconds },
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
