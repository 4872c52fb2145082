// The mirror tier: every stack, with `charts.mirror` on a directory of the
// pinned charts and `images.registry` set, run under the mocks; each Helm
// release rendered by the real Helm from that directory with the values the
// program gives it (as the provider would: the chart path, the release's name,
// namespace and values), and every image of every rendered pod, custom resource
// and operator flag, with the pods the program builds itself, must come from
// the mirror and be exactly what `npm run images` lists.
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as os from "os";
import * as path from "path";
import { parseStackConfig } from "../../lib/config/validate";
import { stackImages } from "../../lib/kubernetes/images";
import { StackConfig } from "../../lib/config/schema";
import { ProgramRun, exampleSecrets, key, project, runStack, stackFileConfig } from "../harness";
import { chartPackages, helm, toolsOrSkip } from "./tools";

const mirror = "registry.example.com/mirror";
const release = "kubernetes:helm.sh/v3:Release";

/** Operator flags that name an image: the config reloader it adds to every pod it runs is pulled; base images only without an image in the CR. */
const imageFlag = /^--(prometheus-config-reloader|[\w-]*-image)=(.+)$/;

interface Found {
    /** Images some pod pulls. */
    pulled: string[];
    /** Every image reference, pulled or a default the operator would fall back to. */
    all: { at: string; image: string }[];
}

/** Images in rendered objects or in the pods the program builds: `image` strings, and operator flags naming one. */
function imagesOf(value: unknown, at: string, found: Found = { pulled: [], all: [] }): Found {
    if (Array.isArray(value)) {
        value.forEach((each, index) => {
            const flag = typeof each === "string" ? imageFlag.exec(each) : null;
            if (flag !== null) {
                found.all.push({ at: `${at}[${index}]`, image: flag[2] });
                if (flag[1] === "prometheus-config-reloader") {
                    found.pulled.push(flag[2]);
                }
            } else {
                imagesOf(each, `${at}[${index}]`, found);
            }
        });
    } else if (value !== null && typeof value === "object") {
        for (const [name, inner] of Object.entries(value)) {
            if (name === "image" && typeof inner === "string") {
                found.all.push({ at: `${at}.${name}`, image: inner });
                found.pulled.push(inner);
            } else {
                imagesOf(inner, `${at}.${name}`, found);
            }
        }
    }
    return found;
}

/** What Helm renders for one release, as the provider would install it. */
function render(helmPath: string, scratch: string, resource: ProgramRun["resources"][number]): unknown[] {
    const values = path.join(scratch, `${resource.name}.values.json`);
    fs.writeFileSync(values, JSON.stringify(resource.inputs.values ?? {}));
    const manifests = execFileSync(
        helmPath,
        ["template", resource.inputs.name, resource.inputs.chart, "--namespace", resource.inputs.namespace, "--values", values],
        {
            encoding: "utf8",
            maxBuffer: 256 * 1024 ** 2,
            stdio: ["ignore", "pipe", "pipe"],
        },
    );
    return yaml.loadAll(manifests).filter((document) => document !== null);
}

describe("mirror: every stack's charts from a mirror directory, rendered by Helm, every image from the mirror registry", () => {
    let helmPath: string;
    let scratch: string;
    let charts: string;

    before(function () {
        const tools = toolsOrSkip(this, "mirror", [helm, ...chartPackages]);
        helmPath = tools.helm;
        charts = path.dirname(tools[chartPackages[0].name]);
        scratch = fs.mkdtempSync(path.join(os.tmpdir(), "mirror-tier-"));
    });

    after(() => {
        if (scratch !== undefined && process.env.E2E_KEEP !== "1") {
            fs.rmSync(scratch, { recursive: true, force: true });
        }
    });

    for (const stack of ["dev", "prod", "fleet"]) {
        it(`${stack}: every release's chart is in the directory, and every image is in the mirror and in npm run images`, async () => {
            const mirrored = (config: Record<string, any>) => {
                config[key("charts")] = { mirror: { source: "local", path: charts } };
                config[key("images")] = { registry: mirror };
            };
            const run = await runStack(stack, mirrored);
            const found: Found = { pulled: [], all: [] };
            for (const resource of run.resources) {
                if (resource.type === release) {
                    assert.ok(resource.inputs.chart.startsWith(`${charts}/`), `${resource.name}: ${resource.inputs.chart}`);
                    render(helmPath, scratch, resource).forEach((document: any) =>
                        imagesOf(document, `${resource.name}: ${document.kind}/${document.metadata?.name}`, found),
                    );
                } else if (resource.custom) {
                    imagesOf(resource.inputs, `${resource.type}/${resource.name}`, found);
                }
            }
            assert.deepStrictEqual(
                found.all.filter(({ image }) => !image.startsWith(`${mirror}/`)),
                [],
            );
            const listed = stackImages({ ...settingsOf(stack), images: { registry: mirror } });
            assert.deepStrictEqual([...new Set(found.pulled)].sort(), [...listed].sort());
        });
    }
});

/** The stack's settings as the program reads them, with the secrets its example leaves to its user. */
function settingsOf(stack: string): StackConfig {
    const secrets = exampleSecrets[stack] ?? {};
    return parseStackConfig(project, { values: { ...stackFileConfig(stack), ...secrets }, secretKeys: new Set(Object.keys(secrets)) });
}
