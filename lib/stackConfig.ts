// The two ways in to the one config model: the Pulumi runtime (the program)
// and the stack file itself (`npm run verify`, which runs without Pulumi).
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { StackConfig, parseStackConfig } from "./config";

/** Reads and validates the running stack's config; a bad one ends the program listing its problems. */
export function loadStackConfig(): StackConfig {
    const project = pulumi.getProject();
    const settings = projectSettings(project, pulumi.runtime.allConfig());
    return parseStackConfig(project, Object.fromEntries(Object.entries(settings).map(([key, value]) => [key, decodeConfigValue(value)])));
}

/** This project's settings, keyed without the `<project>:` prefix; other namespaces (such as `pulumi:`) are left out. */
function projectSettings<T>(project: string, config: Record<string, T>): Record<string, T> {
    return Object.fromEntries(Object.entries(config)
        .filter(([key]) => key.startsWith(`${project}:`))
        .map(([key, value]) => [key.slice(project.length + 1), value]));
}

/** A secret stack setting, such as the kubeconfig an existing cluster's `kubeconfigSecret` names. */
export function secretSetting(key: string): pulumi.Output<string> {
    return new pulumi.Config().requireSecret(key);
}

/** Pulumi hands structured values over as JSON text and everything else as plain strings. */
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

/** The `config:` of Pulumi.<stack>.yaml, keys as Pulumi writes them (`<project>:<key>`). */
export function readStackFileConfig(projectDirectory: string, stack: string): Record<string, unknown> {
    const file = path.join(projectDirectory, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) {
        throw new Error(`No stack file ${file}: name a stack that has one (such as dev)`);
    }
    const content = yaml.load(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | undefined;
    return content?.config ?? {};
}

/** The validated model of a stack, straight from its file: for tools that run without the Pulumi CLI. */
export function readStackConfig(projectDirectory: string, stack: string): StackConfig {
    const project = readProjectName(projectDirectory);
    return parseStackConfig(project, projectSettings(project, readStackFileConfig(projectDirectory, stack)));
}
