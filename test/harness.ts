// Runs the real program (index.ts) against Pulumi's mock engine with the
// config of a real stack file, and records every resource it registers:
// type, name, inputs, provider, parent and dependencies.
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { readStackFileConfig } from "../lib/config/stackFile";

// Internal modules of the SDK: the mock monitor (to record what MockResourceArgs
// leaves out) and the RPC queue (to know when the program has finished). The
// package's exports map does not declare them, so no import can name them.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const mocks = require("@pulumi/pulumi/runtime/mocks");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const settings = require("@pulumi/pulumi/runtime/settings");

export const projectDirectory = path.resolve(__dirname, "..");
export const project = "thanos-global-view";
const programPath = path.join(projectDirectory, "index.ts");

/** What the mocked kind create command prints: a kubeconfig. */
export const fakeKubeconfig = "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n";

const secretSignature = "1b47061264138c4ac30d75fd1eb44270";

export interface RecordedResource {
    urn: string;
    type: string;
    name: string;
    custom: boolean;
    inputs: Record<string, any>;
    /** Top-level input names whose values were sent as secrets. */
    secretInputs: string[];
    /** Provider reference, `<provider urn>::<id>`. */
    provider: string;
    parent: string;
    dependencies: string[];
    additionalSecretOutputs: string[];
    deleteBeforeReplace: boolean;
    /** The URN of the resource whose deletion takes this one along; "" when none. */
    deletedWith: string;
    customTimeouts: { create: string; update: string; delete: string };
}

export interface ProgramRun {
    resources: RecordedResource[];
    /** The stack outputs, resolved. */
    exports: Record<string, unknown>;
    /** Whether the program marks that stack output secret. */
    isSecretExport(name: string): Promise<boolean>;
    /** The resources of one type, in the order the program registered them. */
    ofType(type: string): RecordedResource[];
    /** The one resource of that type and name; fails the test if there is not exactly one. */
    one(type: string, name: string): RecordedResource;
    /** The component resources of one type. */
    components(type: string): RecordedResource[];
}

let recording: RecordedResource[] = [];
let recorderInstalled = false;

function installRecorder(): void {
    if (recorderInstalled) {
        return;
    }
    recorderInstalled = true;
    const register = mocks.MockMonitor.prototype.registerResource;
    mocks.MockMonitor.prototype.registerResource = function (this: unknown, req: any, callback: any) {
        register.call(this, req, (error: unknown, response: any) => {
            if (!error) {
                const raw = req.getObject()?.toJavaScript() ?? {};
                recording.push({
                    urn: response.getUrn(),
                    type: req.getType(),
                    name: req.getName(),
                    custom: req.getCustom(),
                    inputs: unwrapSecrets(raw),
                    secretInputs: Object.keys(raw).filter((key) => raw[key]?.["4dabf18193072939515e22adb298388d"] === secretSignature),
                    provider: req.getProvider(),
                    parent: req.getParent(),
                    dependencies: req.getDependenciesList(),
                    additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
                    deleteBeforeReplace: req.getDeletebeforereplace(),
                    deletedWith: req.getDeletedwith(),
                    customTimeouts: {
                        create: req.getCustomtimeouts()?.getCreate() ?? "",
                        update: req.getCustomtimeouts()?.getUpdate() ?? "",
                        delete: req.getCustomtimeouts()?.getDelete() ?? "",
                    },
                });
            }
            callback(error, response);
        });
    };
}

function unwrapSecrets(value: any): any {
    if (Array.isArray(value)) {
        return value.map(unwrapSecrets);
    }
    if (value !== null && typeof value === "object") {
        if (value["4dabf18193072939515e22adb298388d"] === secretSignature) {
            return unwrapSecrets(value.value);
        }
        return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, unwrapSecrets(inner)]));
    }
    return value;
}

/** The name the mock provider gives an object left unnamed, as pulumi-kubernetes would with a random suffix. */
export const autoNamed = (name: string) => `${name}-x7k2p9`;

/** What the engine would report back: inputs, plus what a provider fills in. */
function mockState(type: string, name: string, inputs: any): any {
    if (type === "command:local:Command") {
        return { ...inputs, stdout: fakeKubeconfig };
    }
    // Like the tls provider, PEM blocks; named after the resource so a test can follow each one to where it is used.
    if (type === "tls:index/privateKey:PrivateKey") {
        return { ...inputs, privateKeyPem: `-----BEGIN PRIVATE KEY-----\n${name}\n-----END PRIVATE KEY-----\n` };
    }
    if (type === "tls:index/certRequest:CertRequest") {
        return { ...inputs, certRequestPem: `-----BEGIN CERTIFICATE REQUEST-----\n${name}\n-----END CERTIFICATE REQUEST-----\n` };
    }
    if (type === "tls:index/selfSignedCert:SelfSignedCert" || type === "tls:index/locallySignedCert:LocallySignedCert") {
        return { ...inputs, certPem: `-----BEGIN CERTIFICATE-----\n${name}\n-----END CERTIFICATE-----\n`, readyForRenewal: false };
    }
    if (type === "random:index/randomPassword:RandomPassword") {
        // Like the provider: `length` characters, letters and digits when `special` is off.
        const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        return { ...inputs, result: Array.from({ length: inputs.length }, (_, i) => alphabet[(i * 7 + name.length) % alphabet.length]).join("") };
    }
    if (type === "kubernetes:helm.sh/v3:Release") {
        return { ...inputs, status: { name: inputs.name, namespace: inputs.namespace, revision: 1, status: "deployed" } };
    }
    if (type === "kubernetes:core/v1:Service" && ["NodePort", "LoadBalancer"].includes(inputs.spec?.type)) {
        // The API server allocates a free NodePort; a load balancer gets an address. Deterministic here, distinct per Service.
        const nodePort = 30000 + [...name].reduce((sum, char) => (sum * 31 + char.charCodeAt(0)) % 2768, 0);
        const spec = { ...inputs.spec, ports: inputs.spec.ports.map((port: object) => ({ ...port, nodePort })) };
        const status = inputs.spec.type === "LoadBalancer" ? { loadBalancer: { ingress: [{ ip: `203.0.113.${nodePort % 250}` }] } } : {};
        return { ...inputs, metadata: { ...inputs.metadata, name: inputs.metadata.name ?? autoNamed(name) }, spec, status };
    }
    if (type.startsWith("kubernetes:") && inputs.metadata !== undefined) {
        // The provider names objects left unnamed after the resource, with a random suffix;
        // the API server gives a workload its first generation.
        const generation = /^kubernetes:apps\/v1:(Deployment|StatefulSet)$/.test(type) ? { generation: 1 } : {};
        return { ...inputs, metadata: { ...inputs.metadata, name: inputs.metadata.name ?? autoNamed(name), ...generation } };
    }
    return inputs;
}

/** What the last run registered, also when the program failed. */
export function registeredSoFar(): RecordedResource[] {
    return [...recording];
}

/** The `config:` of a committed stack file, keys `<project>:<key>`. */
export function stackFileConfig(stack: string): Record<string, unknown> {
    return readStackFileConfig(projectDirectory, stack);
}

function encodeConfig(config: Record<string, unknown>): Record<string, string> {
    return Object.fromEntries(Object.entries(config).map(([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)]));
}

/** Reads an Output's value (the mock engine resolves everything outside preview). */
export function valueOf<T>(output: pulumi.Input<T>): Promise<T> {
    return new Promise((resolve) =>
        pulumi.output(output).apply((value) => {
            resolve(value as T);
            return value;
        }),
    );
}

/**
 * Runs index.ts with the given config (keys `<project>:<key>`), as a fresh
 * program each time. Rejects with the program's error if it throws.
 */
export async function runProgram(config: Record<string, unknown>, secretKeys: string[] = []): Promise<ProgramRun> {
    installRecorder();
    recording = [];
    pulumi.runtime.setAllConfig(encodeConfig(config), secretKeys);
    await pulumi.runtime.setMocks(
        {
            newResource: (args) => ({ id: `${args.name}-id`, state: mockState(args.type, args.name, args.inputs) }),
            call: (args) => {
                throw new Error(`the program made an unexpected call: ${args.token}`);
            },
            // The organization a file backend reports (what `npm run up` uses).
        },
        project,
        "test",
        false,
        "organization",
    );

    delete require.cache[require.resolve(programPath)];
    let program: Record<string, unknown>;
    try {
        // Loaded anew for each run, after the mocks are set, as the engine loads it: an import would load it once.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        program = require(programPath) as Record<string, unknown>;
    } catch (error) {
        // Let whatever the program declared before it failed reach the recording.
        await settings.waitForRPCs();
        throw error;
    }
    const stackOutputs: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(program)) {
        stackOutputs[name] = await valueOf(value);
    }
    await settings.waitForRPCs();

    const resources = [...recording];
    return {
        resources,
        exports: stackOutputs,
        isSecretExport: (name) => pulumi.isSecret(pulumi.output(program[name])),
        ofType: (type) => resources.filter((resource) => resource.type === type),
        components: (type) => resources.filter((resource) => !resource.custom && resource.type === type),
        one: (type, name) => {
            const matches = resources.filter((resource) => resource.type === type && resource.name === name);
            if (matches.length !== 1) {
                throw new Error(`expected one ${type} named ${name}, found ${matches.length}`);
            }
            return matches[0];
        },
    };
}

export const key = (name: string) => `${project}:${name}`;

/**
 * The secret settings a stack file names but, being an example, leaves to its
 * user (`pulumi config set --secret`): the prod example's bucket secret key.
 */
export const exampleSecrets: Readonly<Record<string, Record<string, string>>> = {
    prod: { [key("bucketSecretKey")]: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" },
};

/** Runs the program with a stack file's config (and the secrets its user would set), changed by `edit`. */
export function runStack(stack: string, edit: (config: Record<string, any>) => void = () => undefined): Promise<ProgramRun> {
    const secrets = exampleSecrets[stack] ?? {};
    const config = { ...(structuredClone(stackFileConfig(stack)) as Record<string, any>), ...secrets };
    edit(config);
    return runProgram(config, Object.keys(secrets));
}

/** Adds a third region to the dev stack; its kind cluster has room for one replica more. */
export function withAsia(config: Record<string, any>): void {
    config[key("regions")].push({ name: "asia", cluster: "thanos-dev", replicas: 1 });
}
