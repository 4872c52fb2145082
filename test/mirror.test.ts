// Charts and images from a mirror: every Helm release in the form the provider
// resolves (lib/kubernetes/charts.ts), every image the program sets from images.registry
// (lib/kubernetes/images.ts), and bad mirror settings refused before any resource exists.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { StackConfigError, parseStackConfig } from "../lib/config/validate";
import { stackImages } from "../lib/kubernetes/images";
import { readStackConfig } from "../lib/config/stackFile";
import { mirrorList } from "../scripts/images";
import { ProgramRun, key, project, projectDirectory, registeredSoFar, runStack } from "./harness";

const release = "kubernetes:helm.sh/v3:Release";
const mirror = "registry.example.com/mirror";
const pinned = { "kube-prometheus-stack": "88.5.3", "prometheus-operator-crds": "31.0.1", thanos: "0.4.9", grafana: "12.11.1" } as const;

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "chart-mirrors-"));
process.on("exit", () => fs.rmSync(scratch, { recursive: true, force: true }));

/** A directory holding every chart as `helm pull` saves it (the files' content is Helm's business, not the program's). */
function mirrorDirectory(leaveOut: string[] = []): string {
    const directory = fs.mkdtempSync(path.join(scratch, "mirror-"));
    for (const [name, version] of Object.entries(pinned)) {
        if (!leaveOut.includes(name)) {
            fs.writeFileSync(path.join(directory, `${name}-${version}.tgz`), "");
        }
    }
    return directory;
}

/** Each release's chart fields, by resource name. */
function chartFields(run: ProgramRun): Record<string, { chart: string; version?: string; repositoryOpts?: unknown }> {
    return Object.fromEntries(
        run.ofType(release).map((each) => [each.name, { chart: each.inputs.chart, version: each.inputs.version, repositoryOpts: each.inputs.repositoryOpts }]),
    );
}

/**
 * Every image reference in what the program registers: container images,
 * the Prometheus CR's sidecar image and the charts' image values, wherever
 * they sit in a pod spec or in Helm values.
 */
function imagesIn(value: unknown, at = ""): { at: string; image: string }[] {
    if (Array.isArray(value)) {
        return value.flatMap((each, index) => imagesIn(each, `${at}[${index}]`));
    }
    if (value === null || typeof value !== "object") {
        return [];
    }
    return Object.entries(value as Record<string, unknown>).flatMap(([name, inner]) => {
        const here = `${at}.${name}`;
        if (name === "image" && typeof inner === "string") {
            return [{ at: here, image: inner }];
        }
        if (name === "image" && inner !== null && typeof inner === "object" && "repository" in inner) {
            const image = inner as { registry?: string; repository: string; tag: string };
            // The thanos chart takes the registry in the repository (query-deployment.yaml:48).
            return [{ at: here, image: `${image.registry === undefined ? "" : `${image.registry}/`}${image.repository}:${image.tag}` }];
        }
        if (name === "imageRegistry" && typeof inner === "string") {
            return [{ at: here, image: `${inner}/` }];
        }
        return imagesIn(inner, here);
    });
}

describe("charts from a mirror", () => {
    it("a directory: each release's chart is <dir>/<chart>-<version>.tgz, as helm pull names it, with no repository", async () => {
        const directory = mirrorDirectory();
        const run = await runStack("dev", (config) => (config[key("charts")] = { mirror: { source: "local", path: directory } }));
        const file = (name: keyof typeof pinned) => ({
            chart: path.join(directory, `${name}-${pinned[name]}.tgz`),
            version: undefined,
            repositoryOpts: undefined,
        });
        assert.deepStrictEqual(chartFields(run), {
            "thanos-dev-operator-crds": file("prometheus-operator-crds"),
            europe: file("kube-prometheus-stack"),
            "united-states": file("kube-prometheus-stack"),
            global: file("thanos"),
            grafana: file("grafana"),
        });
    });

    it("a directory with an unpacked chart folder at the pinned version", async () => {
        const directory = mirrorDirectory(["grafana"]);
        fs.mkdirSync(path.join(directory, "grafana"));
        fs.writeFileSync(path.join(directory, "grafana", "Chart.yaml"), "apiVersion: v2\nname: grafana\nversion: 12.11.1\n");
        const run = await runStack("dev", (config) => (config[key("charts")] = { mirror: { source: "local", path: directory } }));
        assert.strictEqual(run.one(release, "grafana").inputs.chart, path.join(directory, "grafana"));
    });

    it("an OCI registry: oci://host/path/<chart> with the pinned version, never a repository URL", async () => {
        const run = await runStack(
            "dev",
            (config) => (config[key("charts")] = { mirror: { source: "repository", url: "oci://registry.example.com/charts/" } }),
        );
        const oci = (name: keyof typeof pinned) => ({ chart: `oci://registry.example.com/charts/${name}`, version: pinned[name], repositoryOpts: undefined });
        assert.deepStrictEqual(chartFields(run), {
            "thanos-dev-operator-crds": oci("prometheus-operator-crds"),
            europe: oci("kube-prometheus-stack"),
            "united-states": oci("kube-prometheus-stack"),
            global: oci("thanos"),
            grafana: oci("grafana"),
        });
    });

    it("an HTTPS Helm repository: the chart's name and pinned version, the URL as the repository", async () => {
        const run = await runStack("dev", (config) => (config[key("charts")] = { mirror: { source: "repository", url: "https://charts.example.com/mirror" } }));
        const repository = (name: keyof typeof pinned) => ({
            chart: name,
            version: pinned[name],
            repositoryOpts: { repo: "https://charts.example.com/mirror" },
        });
        assert.deepStrictEqual(chartFields(run).europe, repository("kube-prometheus-stack"));
        assert.deepStrictEqual(chartFields(run).global, repository("thanos"));
        assert.deepStrictEqual(chartFields(run).grafana, repository("grafana"));
    });

    it("a file:// Helm repository: the .tgz its index.yaml lists, as a chart on disk (Helm reads no file:// repository)", async () => {
        const directory = mirrorDirectory();
        fs.mkdirSync(path.join(directory, "sub"));
        fs.renameSync(path.join(directory, "grafana-12.11.1.tgz"), path.join(directory, "sub", "grafana-12.11.1.tgz"));
        const entries = Object.entries(pinned)
            .map(([name, version]) => `  ${name}:\n  - version: ${version}\n    urls: [${name === "grafana" ? "sub/" : ""}${name}-${version}.tgz]\n`)
            .join("");
        fs.writeFileSync(path.join(directory, "index.yaml"), `apiVersion: v1\nentries:\n${entries}`);
        const run = await runStack("dev", (config) => (config[key("charts")] = { mirror: { source: "repository", url: `file://${directory}` } }));
        assert.deepStrictEqual(chartFields(run).grafana, {
            chart: path.join(directory, "sub", "grafana-12.11.1.tgz"),
            version: undefined,
            repositoryOpts: undefined,
        });
        assert.deepStrictEqual(chartFields(run).europe.chart, path.join(directory, "kube-prometheus-stack-88.5.3.tgz"));
    });

    it("a chart's own source and globalQuery.chart come before the mirror", async () => {
        const directory = mirrorDirectory();
        const own = path.join(directory, "kube-prometheus-stack-88.5.3.tgz");
        const run = await runStack("dev", (config) => {
            config[key("charts")] = {
                mirror: { source: "repository", url: "oci://registry.example.com/charts" },
                kubePrometheusStack: { source: "local", path: own },
            };
            config[key("globalQuery")].chart = { source: "repository", url: "https://thanos.example.com", version: "0.4.9" };
        });
        assert.deepStrictEqual(chartFields(run).europe, { chart: own, version: undefined, repositoryOpts: undefined });
        assert.deepStrictEqual(chartFields(run).global, { chart: "thanos", version: "0.4.9", repositoryOpts: { repo: "https://thanos.example.com" } });
        assert.strictEqual(chartFields(run).grafana.chart, "oci://registry.example.com/charts/grafana");
    });

    it("a chart missing from the directory: the setting, the file expected and the helm pull that makes it, before any resource", async () => {
        const directory = mirrorDirectory(["kube-prometheus-stack", "thanos"]);
        await assert.rejects(
            runStack("dev", (config) => (config[key("charts")] = { mirror: { source: "local", path: directory } })),
            (error: unknown) => {
                assert.ok(error instanceof StackConfigError);
                assert.deepStrictEqual(error.problems, [
                    `thanos-global-view:charts.mirror.path: ${directory}/kube-prometheus-stack-88.5.3.tgz is missing; the stack installs kube-prometheus-stack 88.5.3: helm pull kube-prometheus-stack --repo https://prometheus-community.github.io/helm-charts --version 88.5.3 --destination ${directory}`,
                    `thanos-global-view:charts.mirror.path: ${directory}/thanos-0.4.9.tgz is missing; the stack installs thanos 0.4.9: git clone https://github.com/banzaicloud/banzai-charts.git banzai-charts && git -C banzai-charts checkout 51352f61c4dabfa9001e823181b6eb42e9e7803b && helm package banzai-charts/thanos --destination ${directory}`,
                ]);
                return true;
            },
        );
        assert.deepStrictEqual(registeredSoFar(), []);
    });

    it("grafana off: its chart is not asked for; an unpacked folder at another version is named", async () => {
        const directory = mirrorDirectory(["grafana", "prometheus-operator-crds"]);
        fs.mkdirSync(path.join(directory, "prometheus-operator-crds"));
        fs.writeFileSync(path.join(directory, "prometheus-operator-crds", "Chart.yaml"), "name: prometheus-operator-crds\nversion: 30.0.0\n");
        assert.deepStrictEqual(problemsOf({ charts: { mirror: { source: "local", path: directory } }, grafana: { enabled: false } }), [
            `thanos-global-view:charts.mirror.path: ${directory}/prometheus-operator-crds-31.0.1.tgz is missing (${directory}/prometheus-operator-crds holds version 30.0.0, not 31.0.1); the stack installs prometheus-operator-crds 31.0.1: helm pull prometheus-operator-crds --repo https://prometheus-community.github.io/helm-charts --version 31.0.1 --destination ${directory}`,
        ]);
    });
});

describe("images from a mirror", () => {
    for (const stack of ["dev", "prod", "fleet"]) {
        it(`${stack}: every image the program sets comes from images.registry`, async () => {
            const run = await runStack(stack, (config) => (config[key("images")] = { registry: mirror }));
            const images = run.resources.flatMap((resource) => imagesIn(resource.inputs, `${resource.type}/${resource.name}`));
            assert.ok(images.length > 0);
            assert.deepStrictEqual(
                images.filter(({ image }) => !image.startsWith(`${mirror}/`)),
                [],
            );
        });
    }

    it("the charts' own images through global.imageRegistry; the program's by their own name and tag", async () => {
        const run = await runStack("dev", (config) => (config[key("images")] = { registry: mirror }));
        const europe = run.one(release, "europe").inputs.values;
        assert.deepStrictEqual(europe.global, { imageRegistry: mirror });
        assert.strictEqual(europe.prometheus.prometheusSpec.thanos.image, `${mirror}/thanos/thanos:v0.42.4`);
        assert.deepStrictEqual(run.one(release, "global").inputs.values.image, {
            repository: `${mirror}/thanos/thanos`,
            tag: "v0.42.4",
            pullPolicy: "IfNotPresent",
        });
        assert.deepStrictEqual(run.one(release, "grafana").inputs.values.image, { registry: mirror, repository: "grafana/grafana", tag: "13.2.0" });
        assert.strictEqual(run.one("kubernetes:batch/v1:Job", "global-view").inputs.spec.template.spec.containers[0].image, `${mirror}/thanos/thanos:v0.42.4`);
    });

    it("without a mirror, nothing changes: no global values, every image from its own registry", async () => {
        const run = await runStack("dev");
        assert.strictEqual(run.one(release, "europe").inputs.values.global, undefined);
        assert.strictEqual(run.one(release, "europe").inputs.values.prometheus.prometheusSpec.thanos.image, "quay.io/thanos/thanos:v0.42.4");
    });

    it("npm run images: what the fleet stack pulls, from the mirror", () => {
        const config = readStackConfig(projectDirectory, "fleet");
        assert.deepStrictEqual(stackImages({ ...config, images: { registry: mirror } }), [
            `${mirror}/thanos/thanos:v0.42.4`,
            `${mirror}/prometheus-operator/prometheus-operator:v0.93.1`,
            `${mirror}/prometheus-operator/prometheus-config-reloader:v0.93.1`,
            `${mirror}/prometheus/prometheus:v3.14.0-distroless`,
            `${mirror}/jkroepke/kube-webhook-certgen:1.8.7`,
            `${mirror}/grafana/grafana:13.2.0`,
            `${mirror}/chrislusf/seaweedfs:4.44`,
            `${mirror}/prometheus/alertmanager:v0.34.0`,
            `${mirror}/library/memcached:1.6.38`,
        ]);
    });
});

describe("npm run images", () => {
    it("with a mirror: each image beside its copy, for crane copy or skopeo copy", () => {
        const config = readStackConfig(projectDirectory, "dev");
        assert.deepStrictEqual(mirrorList({ ...config, images: { registry: mirror } }, false).slice(0, 2), [
            `quay.io/thanos/thanos:v0.42.4 ${mirror}/thanos/thanos:v0.42.4`,
            `quay.io/prometheus-operator/prometheus-operator:v0.93.1 ${mirror}/prometheus-operator/prometheus-operator:v0.93.1`,
        ]);
    });

    it("--charts: each chart with the command that saves it into the mirror directory", () => {
        const config = readStackConfig(projectDirectory, "dev");
        assert.deepStrictEqual(mirrorList({ ...config, grafana: { enabled: false }, charts: { mirror: { source: "local", path: "/srv/charts" } } }, true), [
            "kube-prometheus-stack 88.5.3: helm pull kube-prometheus-stack --repo https://prometheus-community.github.io/helm-charts --version 88.5.3 --destination /srv/charts",
            "prometheus-operator-crds 31.0.1: helm pull prometheus-operator-crds --repo https://prometheus-community.github.io/helm-charts --version 31.0.1 --destination /srv/charts",
            "thanos 0.4.9: git clone https://github.com/banzaicloud/banzai-charts.git banzai-charts && git -C banzai-charts checkout 51352f61c4dabfa9001e823181b6eb42e9e7803b && helm package banzai-charts/thanos --destination /srv/charts",
        ]);
    });
});

/** The problems a minimal stack with these settings has. */
function problemsOf(settings: Record<string, unknown>): string[] {
    const values: Record<string, unknown> = {
        [key("clusters")]: [{ name: "lab", type: "kind" }],
        [key("regions")]: [{ name: "europe", cluster: "lab", replicas: 1 }],
        [key("globalQuery")]: { cluster: "lab" },
        ...Object.fromEntries(Object.entries(settings).map(([name, value]) => [key(name), value])),
    };
    try {
        parseStackConfig(project, { values, secretKeys: new Set() });
        return [];
    } catch (error) {
        assert.ok(error instanceof StackConfigError, String(error));
        return [...error.problems];
    }
}

describe("mirror settings: bad input named, with what would be valid", () => {
    const directory = mirrorDirectory();
    const cases: [string, Record<string, unknown>, string][] = [
        [
            "a registry with a scheme",
            { images: { registry: "https://registry.example.com/mirror" } },
            'thanos-global-view:images.registry: got "https://registry.example.com/mirror"; no scheme: images are pulled as host/path/name:tag; expected a registry host with an optional path, without scheme or trailing /, such as registry.example.com/mirror or registry.example.com:5000',
        ],
        [
            "a registry with a trailing slash",
            { images: { registry: "registry.example.com/mirror/" } },
            'thanos-global-view:images.registry: got "registry.example.com/mirror/"; no trailing /: the image\'s repository is appended after a /; expected a registry host with an optional path, without scheme or trailing /, such as registry.example.com/mirror or registry.example.com:5000',
        ],
        [
            "a registry a runtime would read as a Docker Hub namespace",
            { images: { registry: "mirror/images" } },
            'thanos-global-view:images.registry: got "mirror/images"; "mirror" has no dot or port, so container runtimes read it as a Docker Hub namespace, not a registry; expected a registry host with an optional path, without scheme or trailing /, such as registry.example.com/mirror or registry.example.com:5000',
        ],
        [
            "a registry path in capitals",
            { images: { registry: "registry.example.com/Mirror" } },
            'thanos-global-view:images.registry: got "registry.example.com/Mirror"; expected a registry host with an optional path, without scheme or trailing /, such as registry.example.com/mirror or registry.example.com:5000',
        ],
        [
            "a relative mirror directory",
            { charts: { mirror: { source: "local", path: "charts" } } },
            'thanos-global-view:charts.mirror.path: got "charts"; a relative path; expected an absolute path or one starting with ~/ (the program runs in the project directory, the provider elsewhere)',
        ],
        [
            "a mirror directory that is not there",
            { charts: { mirror: { source: "local", path: "/nonexistent/charts" } } },
            'thanos-global-view:charts.mirror.path: got "/nonexistent/charts"; nothing like that there; expected a directory of charts',
        ],
        [
            "an OCI registry without oci://",
            { charts: { mirror: { source: "repository", url: "registry.example.com/charts" } } },
            'thanos-global-view:charts.mirror.url: got "registry.example.com/charts"; no scheme; expected a Helm repository (https://, http:// or file:// with an index.yaml) or an OCI registry path (oci://registry/path)',
        ],
        [
            "a scheme Helm cannot read",
            { charts: { mirror: { source: "repository", url: "s3://bucket/charts" } } },
            'thanos-global-view:charts.mirror.url: got "s3://bucket/charts"; s3:// is not a chart repository Helm reads; expected a Helm repository (https://, http:// or file:// with an index.yaml) or an OCI registry path (oci://registry/path)',
        ],
        [
            "a file:// repository with a relative path",
            { charts: { mirror: { source: "repository", url: "file://charts" } } },
            'thanos-global-view:charts.mirror.url: got "file://charts"; expected file:///absolute/path (three slashes: file:// and an absolute path); expected a Helm repository (https://, http:// or file:// with an index.yaml) or an OCI registry path (oci://registry/path)',
        ],
        [
            "a file:// repository without index.yaml",
            { charts: { mirror: { source: "repository", url: `file://${directory}` } } },
            `thanos-global-view:charts.mirror.url: got "file://${directory}"; no index.yaml in ${directory} (helm repo index ${directory} writes it); expected a Helm repository (https://, http:// or file:// with an index.yaml) or an OCI registry path (oci://registry/path)`,
        ],
        [
            "a chart's own relative path",
            { charts: { grafana: { source: "local", path: "./grafana-12.11.1.tgz" } } },
            'thanos-global-view:charts.grafana.path: got "./grafana-12.11.1.tgz"; a relative path; expected an absolute path or one starting with ~/ (the program runs in the project directory, the provider elsewhere)',
        ],
        [
            "a mirror of another kind",
            { charts: { mirror: { source: "git" } } },
            'thanos-global-view:charts.mirror.source: got "git"; expected one of local, repository',
        ],
        [
            "a chart the program does not install",
            { charts: { thanos: { source: "local", path: directory } } },
            "thanos-global-view:charts.thanos: unknown setting; valid here: mirror, kubePrometheusStack, prometheusOperatorCrds, grafana",
        ],
    ];
    for (const [what, settings, expected] of cases) {
        it(what, () => assert.deepStrictEqual(problemsOf(settings), [expected]));
    }

    it("a mirror's pinned charts all there: no problem", () => {
        assert.deepStrictEqual(problemsOf({ charts: { mirror: { source: "local", path: directory } }, images: { registry: "localhost:5000" } }), []);
    });
});
