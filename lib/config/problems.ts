// How a problem with a setting is addressed: by its path, spelled the way
// `pulumi config set --path` spells it.

export type SettingPath = readonly (string | number)[];

/** One thing wrong with one setting; `showValue` false when the message is not about the value there. */
export interface Problem {
    path: SettingPath;
    message: string;
    showValue?: boolean;
}

/** `regions[0].resources.prometheus`. */
export function settingPath(path: SettingPath): string {
    return path.reduce<string>((text, part) => (typeof part === "number" ? `${text}[${part}]` : text === "" ? part : `${text}.${part}`), "");
}

export function valueAt(raw: unknown, path: SettingPath): unknown {
    return path.reduce<unknown>((value, part) => (isRecord(value) || Array.isArray(value) ? (value as Record<string, unknown>)[part] : undefined), raw);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}
