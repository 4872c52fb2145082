// Checks stack settings against the schema (lib/config/schema.ts) and turns what it
// refuses into messages a user can act on: the setting spelled as
// `pulumi config set --path` spells it, the bad value (never a secret one),
// what would be valid, and every problem at once. Both ways in, the program
// and the stack file (lib/config/stackFile.ts), end here, so they agree.
import * as pulumi from "@pulumi/pulumi";
import * as yaml from "js-yaml";
import { z } from "zod";
import { ParsedSettings, StackConfig, prometheusVolumeDefault, regionRetentionDefault, secretSettingName, stackConfigShape } from "./schema";
import { encryptedValue, knownKeysMessage } from "./settings";
import { consistencyProblems } from "./consistency";
import { Problem, SettingPath, isRecord, settingPath, valueAt } from "./problems";

/** A RunError: Pulumi prints its message alone, without a stack trace. */
export class StackConfigError extends pulumi.RunError {
    constructor(readonly problems: readonly string[]) {
        super(`Invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` + problems.map((p) => `  - ${p}`).join("\n"));
        this.name = "StackConfigError";
    }
}

/** Stack settings as Pulumi hands them to a program: full keys (`<namespace>:<key>`), structured values decoded. */
export interface StackSettings {
    values: Record<string, unknown>;
    /** Top-level keys whose value is, or contains, a secret: their values are never shown. */
    secretKeys: ReadonlySet<string>;
}

/**
 * Pulumi's own namespace (Pulumi.yaml sets pulumi:disable-default-providers).
 * Every other namespace is refused: Pulumi passes any `<namespace>:<key>` on
 * without a word (sdk/go/common/resource/config/key.go:45-70), so a typo in
 * the project name would silently drop a setting, and provider namespaces are
 * never read because default providers are disabled.
 */
const pulumiNamespace = "pulumi";

/**
 * Validates every setting of the project's namespace, applies defaults and
 * returns the typed model, or throws one StackConfigError listing every
 * problem. Besides looking for the files a setting names, it touches nothing.
 */
export function parseStackConfig(project: string, settings: StackSettings): StackConfig {
    const problems: string[] = [];
    const raw: Record<string, unknown> = {};
    const secret = new Set<string>();
    for (const [fullKey, value] of Object.entries(settings.values)) {
        const separator = fullKey.indexOf(":");
        const [namespace, key] = [fullKey.slice(0, separator), fullKey.slice(separator + 1)];
        if (separator < 0) {
            // Pulumi prefixes such keys with the project; only a hand-edited stack file has them.
            problems.push(`${fullKey}: no namespace; write it as ${project}:${fullKey}`);
        } else if (namespace === project) {
            raw[key] = value;
            if (settings.secretKeys.has(fullKey)) {
                secret.add(key);
            }
        } else if (namespace !== pulumiNamespace) {
            problems.push(`${fullKey}: ${foreignNamespaceMessage(namespace, key, project)}`);
        }
    }

    const secretSettings = referencedSecretSettings(raw);
    const empty = removeEmptySettings(raw, secretSettings);
    const found: Problem[] = [];
    // An empty setting the schema then misses has no default: say so, not "use its default".
    const required = new Set<SettingPath>();

    const parsed: Partial<Record<keyof typeof stackConfigShape, unknown>> = {};
    for (const key of Object.keys(stackConfigShape) as (keyof typeof stackConfigShape)[]) {
        const result = stackConfigShape[key].safeParse(raw[key]);
        for (const issue of result.error?.issues ?? []) {
            const problem = fromIssue([key, ...(issue.path as SettingPath)], issue);
            for (const one of Array.isArray(problem) ? problem : [problem]) {
                const emptied = empty.find((path) => isWithin(one.path, path));
                if (emptied === undefined) {
                    found.push(one);
                } else if (one.path.length === emptied.length) {
                    required.add(emptied);
                }
            }
        }
        parsed[key] = result.success ? result.data : undefined;
    }
    const messages = new Messages(project, raw, secret);
    for (const path of empty) {
        messages.add({ path, message: emptyMessage(path, secretSettings, required.has(path)) });
    }
    found.forEach((problem) => messages.add(problem));
    for (const key of Object.keys(raw)) {
        if (!(key in stackConfigShape) && !secretSettings.has(key)) {
            messages.add({
                path: [key],
                message: `unknown setting${didYouMean(key, Object.keys(stackConfigShape))}; valid settings: ${Object.keys(stackConfigShape).join(", ")}`,
                showValue: false,
            });
        }
    }
    for (const [name, holds] of secretSettings) {
        const value = raw[name];
        if (value === undefined && !empty.some((path) => path[0] === name)) {
            messages.add({ path: [name], message: `missing; ${holds.namedBy} names it: set it with \`${holds.command(name)}\``, showValue: false });
        } else if (value !== undefined && !secret.has(name)) {
            // Never shown: it holds credentials, whether or not it was stored as a secret.
            messages.add({ path: [name], message: `holds ${holds.what} in plain text: store it encrypted, with \`${holds.command(name)}\``, showValue: false });
        } else if (typeof value === "string" && value !== encryptedValue && holds.check(value) !== undefined) {
            messages.add({ path: [name], message: `${holds.check(value)}, as \`${holds.command(name)}\` stores it` });
        }
    }
    // Rules across settings judge every field that passed on its own, also in
    // objects with a bad field elsewhere, so that one run reports every mistake;
    // a rule's problem where a field is already reported would only repeat it.
    const reported = [...found.map((problem) => problem.path), ...empty];
    for (const problem of consistencyProblems(raw, {
        clusters: salvageElements(stackConfigShape.clusters.element, raw.clusters),
        regions: salvageElements(stackConfigShape.regions.element, raw.regions),
        globalQuery: salvage(stackConfigShape.globalQuery, raw.globalQuery),
        storage: salvage(stackConfigShape.storage, raw.storage),
        labels: salvage(stackConfigShape.labels, raw.labels),
        charts: salvage(stackConfigShape.charts, raw.charts),
        versions: salvage(stackConfigShape.versions, raw.versions),
        grafana: salvage(stackConfigShape.grafana, raw.grafana),
        alerting: salvage(stackConfigShape.alerting, raw.alerting),
    })) {
        if (!reported.some((path) => isWithin(problem.path, path) || isWithin(path, problem.path))) {
            messages.add(problem);
        }
    }

    problems.push(...messages.all());
    if (problems.length > 0) {
        throw new StackConfigError(problems);
    }
    const settled = parsed as ParsedSettings;
    const retentionDefault = regionRetentionDefault(settled.storage);
    return {
        ...settled,
        regions: settled.regions.map((region) => {
            const retention = region.retention ?? retentionDefault;
            return { ...region, retention, volume: { ...region.volume, size: region.volume.size ?? prometheusVolumeDefault(retention) } };
        }),
    };
}

/**
 * What of a setting passes on its own: parsed again without each field that
 * failed (its default, if it has one, stands in), until it parses or a field
 * it cannot do without failed. Undefined when nothing of it can be judged.
 */
function salvage<T>(schema: z.ZodType<T>, value: unknown): T | undefined {
    const candidate = structuredClone(value);
    for (let attempt = 0; attempt < 20; attempt++) {
        const result = schema.safeParse(candidate);
        if (result.success) {
            return result.data;
        }
        const paths = result.error.issues.map((issue) => issue.path as SettingPath);
        if (paths.some((path) => path.length === 0)) {
            return undefined;
        }
        const before = JSON.stringify(candidate);
        for (const path of paths) {
            // A bad entry of a list takes its list along: a list stands or falls whole.
            const container = valueAt(candidate, path.slice(0, -1));
            const drop = Array.isArray(container) ? path.slice(0, -1) : path;
            const parent = valueAt(candidate, drop.slice(0, -1));
            if (drop.length === 0) {
                return undefined;
            }
            if (isRecord(parent)) {
                delete parent[String(drop[drop.length - 1])];
            }
        }
        if (JSON.stringify(candidate) === before) {
            // What failed is already gone: a field it cannot do without.
            return undefined;
        }
    }
    return undefined;
}

/** Each entry of a list, salvaged on its own, by index: cross-entry rules judge those and leave the rest to their own messages. */
function salvageElements<T>(schema: z.ZodType<T>, list: unknown): Map<number, T> {
    const judged = new Map<number, T>();
    (Array.isArray(list) ? list : []).forEach((entry, index) => {
        const data = salvage(schema, entry);
        if (data !== undefined) {
            judged.set(index, data);
        }
    });
    return judged;
}

function fromIssue(path: SettingPath, issue: z.core.$ZodIssue): Problem | Problem[] {
    if (issue.code === "unrecognized_keys") {
        const known = issue.message.slice(knownKeysMessage([]).length).split(", ");
        return issue.keys.map((key) => ({
            path: [...path, key],
            message: `unknown setting${didYouMean(key, known)}; ${issue.message}`,
            showValue: false,
        }));
    }
    return { path, message: issue.message, showValue: (issue as { params?: { showValue?: boolean } }).params?.showValue };
}

/** What a secret setting holds, who names it, how to set it and what its content must look like. */
interface SecretSetting {
    what: string;
    namedBy: string;
    command: (name: string) => string;
    check: (value: string) => string | undefined;
}

/**
 * Secret settings other settings name: kubeconfigs (an existing cluster's
 * kubeconfigSecret) and bucket credentials (storage.credentialsSecret).
 * Those top-level keys are not unknown settings.
 */
function referencedSecretSettings(raw: Record<string, unknown>): Map<string, SecretSetting> {
    const named = new Map<string, SecretSetting>();
    const add = (name: unknown, holds: SecretSetting) => {
        if (typeof name === "string" && secretSettingName.test(name) && !(name in stackConfigShape) && !named.has(name)) {
            named.set(name, holds);
        }
    };
    for (const cluster of Array.isArray(raw.clusters) ? raw.clusters : []) {
        if (isRecord(cluster) && cluster.type === "existing") {
            add(cluster.kubeconfigSecret, {
                what: "a kubeconfig",
                namedBy: "a cluster's kubeconfigSecret",
                command: (name) => `pulumi config set --secret ${name} "$(cat kubeconfig.yaml)"`,
                check: (value) => (isKubeconfig(value) ? undefined : "expected a whole kubeconfig (YAML with clusters, users and contexts)"),
            });
        }
    }
    const receiver = isRecord(raw.alerting) ? raw.alerting.receiver : undefined;
    if (isRecord(receiver) && receiver.type === "webhook") {
        add(receiver.urlSecret, {
            what: "a webhook URL",
            namedBy: "alerting.receiver.urlSecret",
            command: (name) => `pulumi config set --secret ${name} https://hooks.example.com/…`,
            // The URL is the credential: the message says what is wrong, never what was given.
            check: (value) => (/^https?:\/\/[^\s/]+\S*$/.test(value) ? undefined : "expected an http:// or https:// URL, on one line"),
        });
    }
    const storage = raw.storage;
    if (isRecord(storage) && typeof storage.type === "string" && storage.type in bucketCredentials) {
        add(storage.credentialsSecret, bucketCredentials[storage.type as keyof typeof bucketCredentials]);
    }
    return named;
}

/** The one credential each kind of bucket needs, as its provider hands it out. */
const bucketCredentials = {
    s3: {
        what: "an S3 secret access key",
        namedBy: "storage.credentialsSecret",
        command: (name: string) => `pulumi config set --secret ${name} <secret access key>`,
        check: (value: string) => (/^\S+$/.test(value) ? undefined : "expected the secret access key alone, without spaces or line breaks"),
    },
    gcs: {
        what: "a GCS service account key",
        namedBy: "storage.credentialsSecret",
        command: (name: string) => `pulumi config set --secret ${name} "$(cat service-account.json)"`,
        check: (value: string) =>
            isServiceAccountKey(value) ? undefined : 'expected a service account key: the whole JSON file, with "type": "service_account" and its private_key',
    },
    azure: {
        what: "an Azure storage account key",
        namedBy: "storage.credentialsSecret",
        command: (name: string) => `pulumi config set --secret ${name} <storage account key>`,
        check: (value: string) =>
            /^[A-Za-z0-9+/]+=*$/.test(value)
                ? undefined
                : "expected the storage account key alone (base64, as the portal or `az storage account keys list` shows it)",
    },
} satisfies Record<string, SecretSetting>;

function isServiceAccountKey(text: string): boolean {
    try {
        const key = JSON.parse(text);
        return isRecord(key) && key.type === "service_account" && typeof key.private_key === "string" && typeof key.client_email === "string";
    } catch {
        return false;
    }
}

/**
 * A key written with no value reaches a program as "" at the top level (with a
 * warning from Pulumi, sdk/go/common/workspace/loaders.go:379-410) and as null
 * inside an object: either way it is refused, never silently defaulted, since
 * nobody can tell whether it was meant as "the default", "none" or "not done
 * typing". Removed here so that it yields this one message and nothing else.
 */
function removeEmptySettings(raw: Record<string, unknown>, secretSettings: ReadonlyMap<string, SecretSetting>): SettingPath[] {
    const empty: SettingPath[] = [];
    const visit = (container: Record<string, unknown> | unknown[], path: SettingPath) => {
        for (const [key, value] of Object.entries(container)) {
            const at = [...path, Array.isArray(container) ? Number(key) : key];
            if (value === null || value === "") {
                empty.push(at);
                if (!Array.isArray(container)) {
                    delete container[key];
                }
            } else if (typeof value === "object" && !(path.length === 0 && secretSettings.has(key))) {
                visit(value as Record<string, unknown>, at);
            }
        }
    };
    visit(raw, []);
    return empty;
}

function emptyMessage(path: SettingPath, secretSettings: Map<string, SecretSetting>, required: boolean): string {
    const holds = path.length === 1 ? secretSettings.get(String(path[0])) : undefined;
    if (holds !== undefined) {
        return `is empty; ${holds.namedBy} names it: set it to ${holds.what} with \`${holds.command(String(path[0]))}\``;
    }
    return required
        ? 'is empty: give it a value (README.md, "Configuration reference")'
        : 'is empty: give it a value, or delete the line to use its default (README.md, "Configuration reference")';
}

const isWithin = (path: SettingPath, prefix: SettingPath) => prefix.every((part, i) => path[i] === part);

/** Turns problems into lines, in the order they were found, each once. */
class Messages {
    private readonly lines: string[] = [];

    constructor(
        private readonly project: string,
        private readonly raw: Record<string, unknown>,
        private readonly secret: ReadonlySet<string>,
    ) {}

    add({ path, message, showValue = true }: Problem): void {
        const value = valueAt(this.raw, path);
        if (value === encryptedValue) {
            message += "; only kubeconfigPath, context and the chart's location may be encrypted: store this one in plain text";
        }
        const prefix = !showValue ? "" : value === undefined ? "missing; " : `got ${this.show(path, value)}; `;
        // "missing; missing; …": the message already says so.
        // Rules never quote the value they judge; only "got" shows it, and masks a secret.
        const line = `${this.project}:${settingPath(path)}: ${message.startsWith("missing;") || message.startsWith("is empty") ? message : prefix + message}`;
        if (!this.lines.includes(line)) {
            this.lines.push(line);
        }
    }

    all(): string[] {
        return this.lines;
    }

    private show(path: SettingPath, value: unknown): string {
        if (this.secret.has(String(path[0]))) {
            return "a secret value";
        }
        if (value === encryptedValue) {
            return "an encrypted value";
        }
        const text = JSON.stringify(value);
        return text.length > 80 ? `${text.slice(0, 77)}...` : text;
    }
}

function isKubeconfig(text: string): boolean {
    try {
        const document = yaml.load(text);
        return isRecord(document) && Array.isArray(document.clusters) && Array.isArray(document.contexts);
    } catch {
        return false;
    }
}

function foreignNamespaceMessage(namespace: string, key: string, project: string): string {
    if (editDistance(namespace, project) <= Math.max(2, Math.floor(project.length / 4))) {
        return `unknown namespace "${namespace}" (did you mean ${project}:${key}?); this program reads ${project}:… settings only, so this one would be ignored`;
    }
    if (namespace === "kubernetes") {
        return "never read: default providers are disabled and every Kubernetes provider is built from clusters (kubeconfigPath, kubeconfigSecret, context)";
    }
    return `never read: this program reads ${project}:… and pulumi:… settings only`;
}

function didYouMean(key: string, knownKeys: readonly string[]): string {
    const [closest] = [...knownKeys].sort((a, b) => editDistance(key, a) - editDistance(key, b));
    return closest !== undefined && editDistance(key, closest) <= Math.max(2, Math.floor(key.length / 3)) ? ` (did you mean "${closest}"?)` : "";
}

function editDistance(a: string, b: string): number {
    let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        const current = [i];
        for (let j = 1; j <= b.length; j++) {
            const substitution = previous[j - 1] + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1);
            current.push(Math.min(previous[j] + 1, current[j - 1] + 1, substitution));
        }
        previous = current;
    }
    return previous[b.length];
}
