// `npm run e2e -- <tier> [<tier> …]`: the program against real binaries, a
// tier at a time (README, "End-to-end tiers"). Not part of `npm test`: the
// binaries come from E2E_BIN, and a tier whose binaries are missing is
// skipped with them named (E2E_REQUIRE=1 makes that a failure). The last line
// counts what passed, failed and was skipped.
import Mocha from "mocha";
import * as path from "path";

/** Each tier's scenario files. */
export const tiers: Readonly<Record<string, string[]>> = {
    data: ["data.e2e.ts"],
    control: ["control.e2e.ts"],
    recovery: ["recovery.e2e.ts"],
    mirror: ["mirror.e2e.ts"],
};

export function usage(): string {
    return `usage: npm run e2e -- <tier> [<tier> ...] [--grep <pattern>], tiers: ${Object.keys(tiers).join(", ")}; binaries from E2E_BIN, E2E_REQUIRE=1 to fail instead of skip, E2E_KEEP=1 to keep the scratch folders`;
}

function main(argv: string[]): void {
    const grepAt = argv.indexOf("--grep");
    const grep = grepAt < 0 ? undefined : argv[grepAt + 1];
    const args = grepAt < 0 ? argv : argv.filter((_, index) => index !== grepAt && index !== grepAt + 1);
    const unknown = args.filter((tier) => !(tier in tiers));
    if (args.length === 0 || unknown.length > 0) {
        console.error(unknown.length > 0 ? `unknown tier ${unknown.join(", ")}; ${usage()}` : usage());
        process.exitCode = 2;
        return;
    }
    // The mock run of the program reads the thanos chart from a cache of its own, as under npm test;
    // loaded only once the arguments are good, so that a usage error changes nothing.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require("../setup");
    // Real processes take seconds to start and blocks a minute to upload: each scenario may take a few minutes, never the tier's whole budget.
    const mocha = new Mocha({ timeout: 240_000, reporter: path.join(__dirname, "..", "reporter.js"), ...(grep === undefined ? {} : { grep }) });
    for (const tier of args) {
        tiers[tier].forEach((file) => mocha.addFile(path.join(__dirname, file)));
    }
    // Exits once the scenarios are done: a client's keep-alive socket or a failed
    // scenario's half-finished wait must not hold the run open.
    mocha.run((failures) => process.exit(failures > 0 ? 1 : 0));
}

main(process.argv.slice(2));
