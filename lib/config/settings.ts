// How one setting is declared and checked, whatever it sets: a leaf that
// explains itself (its message is its documentation), names, durations and
// Kubernetes quantities, each refused in the words of the component that
// would refuse it at start. lib/config/schema.ts declares the stack's
// settings with these.
import { z } from "zod";
import { parseQuantity } from "../kubernetes/quantity";
/**
 * What stands in for an encrypted (`secure:`) value when the stack file is
 * read without Pulumi: only Pulumi can decrypt it, so the program checks it.
 */
export const encryptedValue = "[encrypted]";

/** Every leaf explains itself: `valid` is both its error message and its documentation. */
export interface Leaf {
    description: string;
    valid: string;
}

export const described = <T extends z.ZodType>(schema: T, { description, valid }: Leaf, secretable = false): T =>
    schema.meta({ description: `${description}. Valid: ${valid.replace(/^expected /, "")}`, ...(secretable ? { [secretableKey]: true } : {}) });

/** Marks, in the generated JSON Schema, a setting that may be given as `secure:`; scripts/schema.ts turns it into an alternative. */
export const secretableKey = "x-secretable";

/**
 * A string setting. `check` refuses what the pattern lets through, in its own
 * words. Only `secretable` settings may be encrypted: a kubeconfig path, a
 * context or a URL may carry a credential; a name or a number never does.
 *
 * YAML reads `0`, `30` or `20261203` as numbers, and Pulumi hands them to the
 * program as such inside an object: a whole number stands for its digits, so
 * nobody has to quote a retention of 0 or a bucket named with digits, and the
 * JSON Schema lets editors accept it too. What YAML turns into another number
 * than was written (1.50, 1e3, 0x1F, a leading zero) cannot be told from the
 * number: a fraction or an exponent is refused with the advice to quote it.
 */
export function text(leaf: Leaf, rule: { pattern?: RegExp; check?: (value: string) => string | undefined; secretable?: boolean } = {}) {
    // A pattern goes into the JSON Schema, so editors check it too; an encryptable
    // setting cannot have one there, since its stand-in would not match.
    const string =
        rule.pattern === undefined || rule.secretable
            ? z.string({ error: leaf.valid })
            : z.string({ error: leaf.valid }).regex(rule.pattern, { error: leaf.valid });
    const notDigits = `${leaf.valid}; YAML read this as a number that is not a whole one: write the text in quotes`;
    const yamlNumber = z
        .number()
        .int({ error: notDigits })
        .nonnegative({ error: notDigits })
        .max(Number.MAX_SAFE_INTEGER, { error: notDigits })
        .transform(String);
    return described(
        z.union([string, yamlNumber], { error: (issue) => (typeof issue.input === "number" ? notDigits : leaf.valid) }).superRefine((value, ctx) => {
            if (value === encryptedValue && rule.secretable) {
                return;
            }
            // Again for what came as a number, and for encryptable settings, which carry no pattern of their own.
            if (rule.pattern !== undefined && !rule.pattern.test(value)) {
                ctx.addIssue({ code: "custom", message: leaf.valid });
                return;
            }
            const complaint = rule.check?.(value);
            if (complaint !== undefined) {
                ctx.addIssue({ code: "custom", message: complaint });
            }
        }),
        leaf,
        rule.secretable,
    );
}

/** A whole number; Pulumi stores numbers given to `pulumi config set` as text, so "3" counts too. */
export function wholeNumber(leaf: Omit<Leaf, "valid">, min: number, check?: (value: number) => string | undefined) {
    const valid = `expected a whole number ≥ ${min}`;
    return described(
        z
            .union(
                [
                    z.number(),
                    z
                        .string()
                        .regex(/^-?\d+$/)
                        .transform(Number),
                ],
                { error: valid },
            )
            .pipe(
                z
                    .number()
                    .int({ error: valid })
                    .min(min, { error: valid })
                    .superRefine((value, ctx) => {
                        const complaint = check?.(value);
                        if (complaint !== undefined) {
                            ctx.addIssue({ code: "custom", message: complaint });
                        }
                    }),
            ),
        { ...leaf, valid },
    );
}

export function flag(leaf: Omit<Leaf, "valid">) {
    const valid = "expected true or false";
    return described(z.union([z.boolean(), z.enum(["true", "false"]).transform((value) => value === "true")], { error: valid }), { ...leaf, valid });
}

export function choice<T extends readonly [string, ...string[]]>(leaf: Omit<Leaf, "valid">, choices: T) {
    return described(z.enum(choices, { error: `expected one of ${choices.join(", ")}` }), { ...leaf, valid: choices.join(" or ") });
}

/** A settings object: unknown keys are refused, and the error lists the known ones so a typo gets a "did you mean". */
export function settings<T extends z.core.$ZodLooseShape>(shape: T, description: string) {
    return z
        .strictObject(shape, {
            error: (issue) =>
                issue.code === "unrecognized_keys" ? knownKeysMessage(Object.keys(shape)) : `expected an object with the keys ${Object.keys(shape).join(", ")}`,
        })
        .meta({ description });
}

/** How `settings` hands its known keys to the message formatter. */
export const knownKeysMessage = (keys: string[]) => `valid here: ${keys.join(", ")}`;

// ---------------------------------------------------------------- names

/** Namespaces, region and cluster names become DNS labels (Kubernetes names, kind's node hostnames). */
export const dns1123Label = {
    pattern: /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/,
    valid: "expected a DNS-1123 label: lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters",
};

/**
 * Label names the series of this stack already carry, which an external label
 * must not take: the sidecar sets its external labels on every series it
 * serves, over a label of the same name (Thanos pkg/store/labelpb/label.go:296-305,
 * ExtendSortedLabels, at v0.42.4), so every pod's series would become one and
 * the querier would match the name against the region instead of the series.
 * - job, instance: every scraped series (Prometheus itself);
 * - namespace, service, pod, container, endpoint, node: what prometheus-operator
 *   v0.93 relabels every ServiceMonitor and PodMonitor target with
 *   (pkg/prometheus/promcfg.go:1604-1652, 2125-2198), and kube-state-metrics' own;
 * - metrics_path: kube-prometheus-stack's kubelet and cAdvisor jobs;
 * - id, image, name: cAdvisor's container series; uid: kube-state-metrics';
 * - le, quantile: every histogram bucket and summary quantile.
 */
export const labelNamesOfSeries = [
    "job",
    "instance",
    "namespace",
    "service",
    "pod",
    "container",
    "endpoint",
    "node",
    "metrics_path",
    "id",
    "image",
    "name",
    "uid",
    "le",
    "quantile",
] as const;

/** StorageClass names are DNS-1123 subdomains: labels joined by dots, at most 253 characters. */
export const dns1123Subdomain = {
    pattern: /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
    valid: "expected a StorageClass name: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit",
};

export const labelName = {
    pattern: /^[a-zA-Z_][a-zA-Z0-9_]*$/,
    valid: `expected a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*) that scraped series do not carry (not ${labelNamesOfSeries.join(", ")})`,
    check: (value: string) =>
        value.startsWith("__")
            ? "names starting with __ are reserved by Prometheus"
            : (labelNamesOfSeries as readonly string[]).includes(value)
              ? `scraped series already carry a ${value} label: the sidecar would write this external label over it on every series, merging series that differ only in ${value} and losing them from queries that select by it; choose another name, such as region or cluster`
              : undefined,
};

// ---------------------------------------------------------------- durations

/**
 * Prometheus' duration: whole numbers with units in the order y, w, d, h, m,
 * s, ms. The Prometheus CRD's `Duration` (prometheus-operator v0.93
 * pkg/apis/monitoring/v1/types.go:53) and Thanos' model durations accept
 * exactly this; `1h1d` or `1.5h` are refused there, so here too.
 */
export const prometheusDuration = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

export function prometheusDurationSeconds(value: string): number | undefined {
    const match = value === "" ? null : prometheusDuration.exec(value);
    if (match === null) {
        return value === "0" ? 0 : undefined;
    }
    const [y, w, d, h, m, s, ms] = match.slice(1).map((part) => Number(part ?? 0));
    return (((y * 365 + w * 7 + d) * 24 + h) * 60 + m) * 60 + s + ms / 1000;
}

export function positiveDuration(leaf: Omit<Leaf, "valid">, examples: string, why: string) {
    const valid = `expected a Prometheus duration such as ${examples} (units y, w, d, h, m, s, ms, largest first)`;
    return text(
        { ...leaf, valid },
        {
            check: (value) => {
                const seconds = prometheusDurationSeconds(value);
                return seconds === undefined ? valid : seconds === 0 ? `must be longer than 0: ${why}` : undefined;
            },
        },
    );
}

// ---------------------------------------------------------------- quantities

export const binaryUnits = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];

/**
 * CPU as Kubernetes reads it: cores (2, 0.5, .5) or millicores (250m). YAML
 * numbers count: Kubernetes takes `cpu: 2`. Exponents (1e3), which
 * Kubernetes also takes, are refused as hard to read.
 */
export function cpu(leaf: Omit<Leaf, "valid">) {
    const valid = "expected CPU cores such as 2, 0.5 or 250m";
    return described(
        z.union([z.number().transform(String), z.string()], { error: valid }).pipe(
            z.string().superRefine((value, ctx) => {
                const unit = /^(?:\d+(?:\.\d*)?|\.\d+)([a-zA-Z]+)$/.exec(value)?.[1];
                if (unit !== undefined && unit !== "m") {
                    ctx.addIssue({
                        code: "custom",
                        message: `${valid}: ${unit} is ${binaryUnits.includes(unit) || /^[kMGTPE]$/.test(unit) ? "a memory unit" : "not a CPU unit"}`,
                    });
                } else if (!/^(?:\d+(?:\.\d*)?|\.\d+)m?$/.test(value)) {
                    ctx.addIssue({ code: "custom", message: valid });
                } else if (parseQuantity(value) < 0.001) {
                    ctx.addIssue({ code: "custom", message: `${valid}: Kubernetes counts CPU in steps of 1m, the least a container can get` });
                }
            }),
        ),
        { ...leaf, valid },
    );
}

/** The smallest memory any container of this stack runs in: busybox for the verification Job. */
export const smallestMemory = "16Mi";

/** Memory as Kubernetes reads it, but only sizes a container can run in: `256m` is a quarter of a byte. */
export function memory(leaf: Omit<Leaf, "valid">) {
    const valid = `expected a memory size such as 64Mi, 512Mi or 2Gi, at least ${smallestMemory}`;
    return described(
        z.union([z.number().transform(String), z.string()], { error: valid }).pipe(
            z.string().superRefine((value, ctx) => {
                if (/^(?:\d+(?:\.\d*)?|\.\d+)m$/.test(value)) {
                    ctx.addIssue({
                        code: "custom",
                        message: `${valid}: m means thousandths (a CPU unit), so ${value} of memory is ${parseQuantity(value)} bytes; write Mi for mebibytes`,
                    });
                } else if (!/^(?:\d+(?:\.\d*)?|\.\d+)(k|M|G|T|Ki|Mi|Gi|Ti)?$/.test(value)) {
                    ctx.addIssue({ code: "custom", message: valid });
                } else if (parseQuantity(value) < parseQuantity(smallestMemory)) {
                    ctx.addIssue({ code: "custom", message: `${valid}: ${parseQuantity(value)} bytes is too little for any container` });
                }
            }),
        ),
        { ...leaf, valid },
    );
}

export interface ContainerResources {
    requests: { cpu: string; memory: string };
    limits: { cpu: string; memory: string };
}

export function containerResources(what: string, fallback: ContainerResources) {
    const quantities = (kind: "requests" | "limits", fallbackQuantities: ContainerResources["requests"]) =>
        settings(
            {
                cpu: cpu({ description: `CPU ${kind === "requests" ? "reserved for" : "at most for"} ${what}` }).default(fallbackQuantities.cpu),
                memory: memory({ description: `memory ${kind === "requests" ? "reserved for" : "at most for"} ${what}` }).default(fallbackQuantities.memory),
            },
            `${kind} of ${what}`,
        ).prefault({});
    return settings(
        {
            requests: quantities("requests", fallback.requests),
            limits: quantities("limits", fallback.limits),
        },
        `requests and limits of ${what}`,
    ).prefault({});
}
