// The two ways in to the one config model: the Pulumi runtime (the program)
// and the stack file itself (`npm run verify`, which runs without Pulumi).
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { parseStackConfig } from "./validate";
import { isRecord } from "./problems";
import { StackConfig } from "./schema";
import { encryptedValue } from "./settings";

/** Reads and validates the running stack's config; a bad one ends the program listing its problems. */
export function loadStackConfig(): StackConfig {
    const config = pulumi.runtime.allConfig();
    return parseStackConfig(pulumi.getProject(), {
        values: Object.fromEntries(Object.entries(config).map(([key, value]) => [key, decodeConfigValue(value)])),
        secretKeys: new Set(Object.keys(config).filter(isConfigSecret)),
    });
}

/**
 * Whether Pulumi marked a top-level key secret: it does when any part of its
 * value is encrypted (sdk/go/common/resource/config/object.go:50-72, 417). The
 * SDK has the function but leaves it out of its typings
 * (sdk/nodejs/runtime/config.ts:69-84, @internal).
 */
function isConfigSecret(key: string): boolean {
    return (pulumi.runtime as unknown as { isConfigSecret(key: string): boolean }).isConfigSecret(key);
}

/** A secret stack setting, such as the kubeconfig an existing cluster's `kubeconfigSecret` names. */
export function secretSetting(key: string): pulumi.Output<string> {
    return new pulumi.Config().requireSecret(key);
}

/**
 * Pulumi hands every value over as text: structured ones as JSON, scalars as
 * they were written (sdk/go/common/resource/config/object.go:404-417).
 */
function decodeConfigValue(value: string): unknown {
    if (/^\s*[[{]/.test(value)) {
        try {
            return JSON.parse(value);
        } catch {
            return value;
        }
    }
    return value;
}

/** The project name, from Pulumi.yaml. */
export function readProjectName(projectDirectory: string): string {
    const project = yaml.load(fs.readFileSync(path.join(projectDirectory, "Pulumi.yaml"), "utf8")) as { name?: unknown };
    if (typeof project?.name !== "string") {
        throw new Error(`${path.join(projectDirectory, "Pulumi.yaml")} has no project name`);
    }
    return project.name;
}

/**
 * YAML as the Pulumi CLI reads a stack file (gopkg.in/yaml.v3 into untyped
 * values): the core schema's strings, numbers, booleans and nulls, and merge
 * keys, but a date stays text (yaml.v3 decode.go keeps a !!timestamp as a
 * string unless the target is a time). js-yaml's default schema would turn
 * `bucket: 2026-12-04` into a Date that Pulumi never hands the program.
 */
const stackFileYaml = yaml.CORE_SCHEMA.extend({
    // js-yaml's own merge type (lib/type/merge.js), which its typings do not export.
    implicit: [new yaml.Type("tag:yaml.org,2002:merge", { kind: "scalar", resolve: (data: unknown) => data === "<<" || data === null })],
});

/** The `config:` of Pulumi.<stack>.yaml, keys as Pulumi writes them (`<project>:<key>`). */
export function readStackFileConfig(projectDirectory: string, stack: string): Record<string, unknown> {
    const file = path.join(projectDirectory, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) {
        throw new Error(`No stack file ${file}: name a stack that has one (such as dev)`);
    }
    const content = yaml.load(fs.readFileSync(file, "utf8"), { schema: stackFileYaml }) as { config?: Record<string, unknown> } | undefined;
    return content?.config ?? {};
}

/**
 * The validated model of a stack, straight from its file: for tools that run
 * before Pulumi or without it. Values are given the form Pulumi hands the
 * program, so both ways in reach the same verdict in the same words: a
 * top-level scalar becomes text (a key with no value ""), and an encrypted
 * value, which only Pulumi can decrypt, is checked by the program.
 */
export function readStackConfig(projectDirectory: string, stack: string): StackConfig {
    const secretKeys = new Set<string>();
    const values = Object.fromEntries(
        Object.entries(readStackFileConfig(projectDirectory, stack)).map(([key, value]) => {
            const { decoded, encrypted } = withoutCiphertext(value);
            if (encrypted) {
                secretKeys.add(key);
            }
            return [key, typeof decoded === "object" && decoded !== null ? decoded : decoded === null ? "" : String(decoded)];
        }),
    );
    return parseStackConfig(readProjectName(projectDirectory), { values, secretKeys });
}

/** Replaces every `secure:` value with a stand-in: a setting's ciphertext is not its value. */
function withoutCiphertext(value: unknown): { decoded: unknown; encrypted: boolean } {
    if (isRecord(value) && Object.keys(value).length === 1 && typeof value.secure === "string") {
        return { decoded: encryptedValue, encrypted: true };
    }
    if (typeof value === "object" && value !== null) {
        let encrypted = false;
        const decoded = Object.fromEntries(
            Object.entries(value).map(([key, inner]) => {
                const result = withoutCiphertext(inner);
                encrypted ||= result.encrypted;
                return [key, result.decoded];
            }),
        );
        return { decoded: Array.isArray(value) ? Object.values(decoded) : decoded, encrypted };
    }
    return { decoded: value, encrypted: false };
}
