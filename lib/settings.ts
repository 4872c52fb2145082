// Typed readers for untrusted stack config. Every reader records a problem
// instead of throwing, so one run reports every mistake in the file at once,
// and every problem names the setting, the bad value and what would be valid.
import * as pulumi from "@pulumi/pulumi";

/** A RunError: Pulumi prints its message alone, without a stack trace. */
export class StackConfigError extends pulumi.RunError {
    constructor(readonly problems: readonly string[]) {
        super(
            `Invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
                problems.map((p) => `  - ${p}`).join("\n"),
        );
        this.name = "StackConfigError";
    }
}

export class Problems {
    private readonly found: string[] = [];

    constructor(private readonly prefix: string) {}

    /** The name a user types in `pulumi config set --path`, e.g. `thanos-global-view:regions[1].replicas`. */
    setting(path: string): string {
        return `${this.prefix}:${path}`;
    }

    bad(path: string, value: unknown, valid: string): void {
        this.found.push(`${this.setting(path)}: got ${show(value)}; ${valid}`);
    }

    report(path: string, message: string): void {
        this.found.push(`${this.setting(path)}: ${message}`);
    }

    throwIfAny(): void {
        if (this.found.length > 0) {
            throw new StackConfigError(this.found);
        }
    }
}

function show(value: unknown): string {
    const text = value === undefined ? "nothing" : JSON.stringify(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export const isMissing = (value: unknown): value is undefined | null => value === undefined || value === null;

/** Reads an object and reports every key it does not know, with the closest known key as a hint. */
export function readObject(
    problems: Problems,
    path: string,
    value: unknown,
    knownKeys: readonly string[],
): Record<string, unknown> | undefined {
    if (isMissing(value)) {
        return {};
    }
    if (typeof value !== "object" || Array.isArray(value)) {
        problems.bad(path, value, `expected an object with the keys ${knownKeys.join(", ")}`);
        return undefined;
    }
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
        if (!knownKeys.includes(key)) {
            problems.report(join(path, key), `unknown setting${didYouMean(key, knownKeys)}; valid here: ${knownKeys.join(", ")}`);
        }
    }
    return record;
}

export function readList(problems: Problems, path: string, value: unknown, what: string): unknown[] {
    if (isMissing(value)) {
        problems.report(path, `missing; expected a list of ${what}`);
        return [];
    }
    if (!Array.isArray(value)) {
        problems.bad(path, value, `expected a list of ${what}`);
        return [];
    }
    if (value.length === 0) {
        problems.bad(path, value, `expected at least one entry: a list of ${what}`);
    }
    return value;
}

interface StringRule {
    pattern?: RegExp;
    /** What a valid value looks like, for the message. */
    valid: string;
    check?: (value: string) => string | undefined;
}

export function readString(problems: Problems, path: string, value: unknown, rule: StringRule): string | undefined;
export function readString(problems: Problems, path: string, value: unknown, rule: StringRule, fallback: string): string;
export function readString(
    problems: Problems,
    path: string,
    value: unknown,
    rule: StringRule,
    fallback?: string,
): string | undefined {
    if (isMissing(value)) {
        if (fallback === undefined) {
            problems.report(path, `missing; expected ${rule.valid}`);
        }
        return fallback;
    }
    if (typeof value !== "string" || (rule.pattern !== undefined && !rule.pattern.test(value))) {
        problems.bad(path, value, `expected ${rule.valid}`);
        return fallback;
    }
    const complaint = rule.check?.(value);
    if (complaint !== undefined) {
        problems.bad(path, value, complaint);
        return fallback;
    }
    return value;
}

/** A setting without a default: reported when missing; "" stands in for a bad value so later checks can go on. */
export function requiredString(problems: Problems, path: string, value: unknown, rule: StringRule): string {
    return readString(problems, path, value, rule) ?? "";
}

export function readInteger(problems: Problems, path: string, value: unknown, min: number, fallback: number): number {
    if (isMissing(value)) {
        return fallback;
    }
    // Pulumi stores numbers set with `pulumi config set` as strings.
    const number = typeof value === "string" && /^-?\d+$/.test(value) ? Number(value) : value;
    if (typeof number !== "number" || !Number.isInteger(number) || number < min) {
        problems.bad(path, value, `expected a whole number ≥ ${min}`);
        return fallback;
    }
    return number;
}

export function readBoolean(problems: Problems, path: string, value: unknown, fallback: boolean): boolean {
    if (isMissing(value)) {
        return fallback;
    }
    if (value === true || value === "true") {
        return true;
    }
    if (value === false || value === "false") {
        return false;
    }
    problems.bad(path, value, "expected true or false");
    return fallback;
}

export function readChoice<T extends string>(
    problems: Problems,
    path: string,
    value: unknown,
    choices: readonly T[],
    fallback: T,
): T {
    if (isMissing(value)) {
        return fallback;
    }
    if (typeof value !== "string" || !(choices as readonly string[]).includes(value)) {
        problems.bad(path, value, `expected one of ${choices.join(", ")}`);
        return fallback;
    }
    return value as T;
}

export function join(path: string, key: string | number): string {
    if (typeof key === "number") {
        return `${path}[${key}]`;
    }
    return path === "" ? key : `${path}.${key}`;
}

function didYouMean(key: string, knownKeys: readonly string[]): string {
    const [closest] = [...knownKeys].sort((a, b) => editDistance(key, a) - editDistance(key, b));
    return closest !== undefined && editDistance(key, closest) <= Math.max(2, Math.floor(key.length / 3))
        ? ` (did you mean "${closest}"?)`
        : "";
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
