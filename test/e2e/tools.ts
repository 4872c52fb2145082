// The real binaries an e2e tier runs, found in E2E_BIN (never built or
// downloaded here: the README says which repository and tag each comes from),
// and each one's version checked against what the program pins, so that a
// tier never proves the program against another release than it deploys.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { defaultVersions, prometheusVersion, seaweedfsImage } from "../../lib/versions";

export interface Tool {
    /** The binary's file name in E2E_BIN, or on PATH when `onPath`. */
    name: string;
    /** How it prints its version, and the words that must be in that output. */
    versionArgs: string[];
    expected: string;
    /** What pins that version, for the message when it differs. */
    pinnedBy: string;
    /** Tools from the machine's packages (busybox, openssl, ip), looked up on PATH rather than in E2E_BIN. */
    onPath?: boolean;
}

const withoutV = (version: string) => version.replace(/^v/, "");

/** `thanos --version` prints "thanos, version 0.42.4 (branch: …)" (prometheus/common version.Print). */
export const thanos: Tool = {
    name: "thanos", versionArgs: ["--version"], expected: `version ${withoutV(defaultVersions.thanos)} `, pinnedBy: "lib/versions.ts defaultVersions.thanos",
};
export const prometheus: Tool = {
    name: "prometheus", versionArgs: ["--version"], expected: `version ${withoutV(prometheusVersion)} `, pinnedBy: "lib/versions.ts prometheusVersion",
};
/** `weed version` prints "version 30GB 4.44 <commit> linux amd64" (weed/util/version/constants.go). */
export const weed: Tool = {
    name: "weed", versionArgs: ["version"], expected: ` ${seaweedfsImage.split(":").pop()} `, pinnedBy: "lib/versions.ts seaweedfsImage",
};
export const busybox: Tool = { name: "busybox", versionArgs: ["--help"], expected: "BusyBox", pinnedBy: "the Thanos image's shell", onPath: true };
export const openssl: Tool = { name: "openssl", versionArgs: ["version"], expected: "OpenSSL", pinnedBy: "the machine", onPath: true };
/**
 * Debian's Alertmanager and memcached stand in for the images the program
 * deploys (lib/versions.ts: Alertmanager v0.34.0, memcached 1.6.38): every
 * flag and config key the program gives them is read by both releases
 * (README, "Global alerting and the shared query cache"), so the version
 * checked is the one the tier was proven with.
 */
export const alertmanager: Tool = {
    name: "prometheus-alertmanager", versionArgs: ["--version"], expected: "alertmanager, version 0.25.", pinnedBy: "the tier's check of the program's flags and config keys against Debian's 0.25", onPath: true,
};
export const memcached: Tool = { name: "memcached", versionArgs: ["--version"], expected: "memcached 1.6.", pinnedBy: "the tier's check of the program's flags against Debian's 1.6.18", onPath: true };
export const iproute2: Tool = { name: "ip", versionArgs: ["-V"], expected: "ip", pinnedBy: "the machine", onPath: true };

export type Found = { paths: Record<string, string> } | { missing: string[] };

/**
 * Finds every tool, or names what is missing. A tool that is there in another
 * version than the program pins is an error, never a skip: the tier would
 * otherwise pass against the wrong release.
 */
export function findTools(tools: Tool[], env: NodeJS.ProcessEnv = process.env): Found {
    const bin = env.E2E_BIN;
    const paths: Record<string, string> = {};
    const missing: string[] = [];
    for (const tool of tools) {
        const file = tool.onPath ? onPath(tool.name, env) : bin === undefined ? undefined : path.join(bin, tool.name);
        if (file === undefined || !isExecutable(file)) {
            missing.push(tool.onPath ? `${tool.name} (not on PATH)` : `${tool.name} (${bin === undefined ? "E2E_BIN is not set" : `not in E2E_BIN=${bin}`})`);
            continue;
        }
        const printed = spawnSync(file, tool.versionArgs, { encoding: "utf8" });
        const output = `${printed.stdout ?? ""}${printed.stderr ?? ""}`;
        if (!output.includes(tool.expected)) {
            throw new Error(`${file} is not the version the program deploys: ${tool.pinnedBy} expects "${tool.expected.trim()}" in \`${tool.name} ${tool.versionArgs.join(" ")}\`, which printed: ${output.split("\n")[0] || `nothing (exit ${printed.status})`}. Build the pinned tag (README, "End-to-end tiers").`);
        }
        paths[tool.name] = file;
    }
    return missing.length > 0 ? { missing } : { paths };
}

function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
    return (env.PATH ?? "").split(path.delimiter).map((directory) => path.join(directory, name)).find(isExecutable);
}

function isExecutable(file: string): boolean {
    try {
        fs.accessSync(file, fs.constants.X_OK);
        return fs.statSync(file).isFile();
    } catch {
        return false;
    }
}

/**
 * In a tier's `before`: the tools' paths, or the tier skipped with what is
 * missing named; under E2E_REQUIRE=1 a skip is a failure.
 */
export function toolsOrSkip(context: Mocha.Context, tier: string, tools: Tool[]): Record<string, string> {
    const found = findTools(tools);
    if ("paths" in found) {
        return found.paths;
    }
    const why = `the ${tier} tier needs ${found.missing.join(", ")}`;
    if (process.env.E2E_REQUIRE === "1") {
        throw new Error(`${why} (E2E_REQUIRE=1 turns a skip into a failure)`);
    }
    console.log(`  skipped: ${why}`);
    context.skip();
}
