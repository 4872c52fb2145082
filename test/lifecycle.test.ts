// `npm run up | destroy` through day 1 and day 2, against stand-ins for pulumi,
// kind, docker and kubectl (test/fakes/tool.js) that share one world and fail
// the way the real tools do.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { readStackConfig } from "../lib/stackConfig";
import { managedReleases, regionReleaseName } from "../lib/releases";
import { main } from "../scripts/stack";
import { projectDirectory } from "./harness";

interface Container { name: string; cluster: string; state: string }
interface HelmRecord { cluster: string; namespace: string; name: string; revision: number; status: string; created: string }
interface ProgramResource {
    urn: string; type: string; version: string; cluster?: string; nodes?: string[]; provider?: string; dependencies?: string[];
    release?: { name: string; namespace: string };
    /** A named Kubernetes object: it stays in the cluster when it leaves the state. */
    object?: { kind: string; namespace: string; name: string };
}
interface World {
    calls: string[];
    docker: { running: boolean; memoryBytes: number; containers: Container[] };
    kind: { version: string };
    helm: HelmRecord[];
    program: ProgramResource[];
    objects?: { cluster: string; kind: string; namespace: string; name: string }[];
}

const now = new Date("2026-11-26T12:00:00Z");
const minutesAgo = (minutes: number) => new Date(now.getTime() - minutes * 60_000).toISOString();
const urn = (type: string, name: string, stack = "dev") => `urn:pulumi:${stack}::thanos-global-view::${type}::${name}`;
const kindUrn = urn("thanos-global-view:cluster:KindCluster$command:local:Command", "thanos-dev-kind");
const providerUrn = urn("thanos-global-view:cluster:KindCluster$pulumi:providers:kubernetes", "thanos-dev-provider");
const nodes = ["thanos-dev-control-plane", "thanos-dev-worker", "thanos-dev-worker2"];

/** What index.ts declares for the dev stack, as the fake engine needs it: the cluster, its provider, every release (from the real config). */
function devProgram(): ProgramResource[] {
    const releases = managedReleases(readStackConfig(projectDirectory, "dev"));
    return [
        { urn: kindUrn, type: "command:local:Command", version: "1", cluster: "thanos-dev", nodes },
        { urn: providerUrn, type: "pulumi:providers:kubernetes", version: "1", cluster: "thanos-dev", dependencies: [kindUrn] },
        ...releases.map((release) => ({
            urn: urn("kubernetes:helm.sh/v3:Release", release.name),
            type: "kubernetes:helm.sh/v3:Release",
            version: "1",
            cluster: release.cluster,
            provider: `${providerUrn}::provider-id`,
            release: { name: release.name, namespace: release.namespace },
        })),
        { urn: urn("kubernetes:batch/v1:Job", "global-view"), type: "kubernetes:batch/v1:Job", version: "1", cluster: "thanos-dev", provider: `${providerUrn}::provider-id` },
    ];
}

const releaseUrn = (name: string) => urn("kubernetes:helm.sh/v3:Release", name);

/**
 * The fleet stack as the fake engine needs it: two kind clusters, each with
 * its provider and releases; europe's per-replica Services in its cluster;
 * the global query's release in the hub, depending on those Services (its
 * endpoints are their outputs), and the Job on every release. Long-term
 * storage: the in-cluster store's Service in the hub, each region's objstore
 * Secret depending on it (it holds the store's address, a NodePort for europe)
 * and each region's release on its Secret; the store's and the compactor's
 * StatefulSets under their fixed names.
 */
function fleetProgram(): ProgramResource[] {
    const fleetUrn = (type: string, name: string) => urn(type, name, "fleet");
    const config = readStackConfig(projectDirectory, "fleet");
    const kindClusters = config.clusters.flatMap((cluster) => (cluster.type === "kind" ? [cluster] : []));
    const providerOf = (cluster: string) => `${fleetUrn("thanos-global-view:cluster:KindCluster$pulumi:providers:kubernetes", `${cluster}-provider`)}::provider-id`;
    const services = [0, 1].map((ordinal) => ({
        urn: fleetUrn("thanos-global-view:monitoring:Region$kubernetes:core/v1:Service", `europe-storeapi-${ordinal}`),
        type: "kubernetes:core/v1:Service", version: "1", cluster: "fleet-europe", provider: providerOf("fleet-europe"),
    }));
    const storeService = {
        urn: fleetUrn("thanos-global-view:storage:ObjectStore$kubernetes:core/v1:Service", "object-store"),
        type: "kubernetes:core/v1:Service", version: "1", cluster: "fleet-hub", provider: providerOf("fleet-hub"),
    };
    const objstoreSecrets = config.regions.map((region) => ({
        urn: fleetUrn("thanos-global-view:monitoring:Region$kubernetes:core/v1:Secret", `${region.name}-objstore`),
        type: "kubernetes:core/v1:Secret", version: "1", cluster: region.cluster, provider: providerOf(region.cluster), dependencies: [storeService.urn],
    }));
    const hubStatefulSets = [["object-store", "object-store", "thanos-object-store"], ["compactor", "monitoring", "thanos-compactor"]].map(([name, namespace, objectName]) => ({
        urn: fleetUrn("kubernetes:apps/v1:StatefulSet", name), type: "kubernetes:apps/v1:StatefulSet", version: "1", cluster: "fleet-hub", provider: providerOf("fleet-hub"),
        dependencies: name === "compactor" ? [storeService.urn] : [], object: { kind: "StatefulSet", namespace, name: objectName },
    }));
    const regionIndex = (release: string) => config.regions.findIndex((region) => regionReleaseName(region.name) === release);
    const releases = managedReleases(config).map((release) => ({
        // Every cluster has a CRDs release of the same name: the program tells them apart by cluster.
        urn: fleetUrn("kubernetes:helm.sh/v3:Release", release.name === "prometheus-operator-crds" ? `${release.cluster}-operator-crds` : release.name),
        type: "kubernetes:helm.sh/v3:Release",
        version: "1",
        cluster: release.cluster,
        provider: providerOf(release.cluster),
        release: { name: release.name, namespace: release.namespace },
        dependencies: release.name === "thanos" ? services.map((service) => service.urn)
            : regionIndex(release.name) >= 0 ? [objstoreSecrets[regionIndex(release.name)].urn] : [],
    }));
    return [
        ...kindClusters.flatMap((cluster) => {
            const command = fleetUrn("thanos-global-view:cluster:KindCluster$command:local:Command", `${cluster.name}-kind`);
            return [
                { urn: command, type: "command:local:Command", version: "1", cluster: cluster.name, nodes: kindNodes(cluster.name, cluster.workerNodes) },
                { urn: providerOf(cluster.name).replace(/::provider-id$/, ""), type: "pulumi:providers:kubernetes", version: "1", cluster: cluster.name, dependencies: [command] },
            ];
        }),
        ...services,
        storeService,
        ...objstoreSecrets,
        ...hubStatefulSets,
        ...releases,
        {
            urn: fleetUrn("kubernetes:batch/v1:Job", "global-view"), type: "kubernetes:batch/v1:Job", version: "1", cluster: "fleet-hub",
            provider: providerOf("fleet-hub"), dependencies: [...releases, ...hubStatefulSets].map((resource) => resource.urn),
            object: { kind: "Job", namespace: "monitoring", name: "global-view-check" },
        },
    ];
}

/** kind's node container names: <name>-control-plane, <name>-worker, <name>-worker2… (kind v0.32.0 namer.go:25-36). */
const kindNodes = (cluster: string, workers: number) =>
    [`${cluster}-control-plane`, ...Array.from({ length: workers }, (_, i) => `${cluster}-worker${i === 0 ? "" : i + 1}`)];

class Sandbox {
    readonly project = fs.mkdtempSync(path.join(os.tmpdir(), "thanos-global-view-project-"));
    readonly bin = path.join(this.project, "fake-bin");
    readonly worldFile = path.join(this.project, "world.json");
    inotify = { max_user_watches: "524288", max_user_instances: "512" };
    nodeVersion = "v22.23.3";

    constructor(world: Partial<World> = {}, readonly stack = "dev") {
        // The real project and stack files, linked into a directory of the test's own.
        for (const file of ["Pulumi.yaml", `Pulumi.${stack}.yaml`]) {
            fs.symlinkSync(path.join(projectDirectory, file), path.join(this.project, file));
        }
        fs.mkdirSync(this.bin);
        for (const tool of ["pulumi", "kind", "docker", "kubectl", "git"]) {
            const wrapper = path.join(this.bin, tool);
            fs.writeFileSync(wrapper, `#!/bin/sh\nexec "${process.execPath}" "${path.join(__dirname, "fakes", "tool.js")}" ${tool} "$@"\n`);
            fs.chmodSync(wrapper, 0o755);
        }
        this.world = {
            calls: [],
            docker: { running: true, memoryBytes: 16 * 1024 ** 3, containers: [] },
            kind: { version: "0.32.0" },
            helm: [],
            program: stack === "fleet" ? fleetProgram() : devProgram(),
            ...world,
        };
    }

    get world(): World {
        return JSON.parse(fs.readFileSync(this.worldFile, "utf8"));
    }

    set world(world: World) {
        fs.writeFileSync(this.worldFile, JSON.stringify(world));
    }

    change(edit: (world: World) => void): void {
        const world = this.world;
        edit(world);
        this.world = world;
    }

    /** Runs `npm run <action>` as a newcomer with no backend configured; what it said and its exit code. */
    npmRun(action: string, ...args: string[]): { code: number; said: string[]; pauses: number } {
        this.change((world) => (world.calls = []));
        const said: string[] = [];
        let pauses = 0;
        const env = { PATH: `${this.bin}:${process.env.PATH}`, FAKE_WORLD: this.worldFile, HOME: this.project };
        const code = main([action, ...args], {
            env,
            projectDirectory: this.project,
            say: (line) => said.push(line),
            runAttached: (command, commandArgs, runEnv) => {
                const result = spawnSync(command, commandArgs, { env: runEnv, encoding: "utf8" });
                said.push(...`${result.stdout}${result.stderr}`.split("\n").filter(Boolean));
                return result.status ?? 1;
            },
            pause: () => pauses++,
            now: () => now,
            nodeVersion: this.nodeVersion,
            platform: "linux",
            readFile: (file) => this.inotify[path.basename(file) as keyof Sandbox["inotify"]],
        });
        return { code, said, pauses };
    }

    stateUrns(): string[] {
        const file = path.join(this.project, ".pulumi-state", ".pulumi", "stacks", "thanos-global-view", `${this.stack}.json`);
        return (JSON.parse(fs.readFileSync(file, "utf8")).resources as { urn: string }[]).map((resource) => resource.urn);
    }

    editState(edit: (deployment: { resources: any[]; pending_operations: any[] }) => void): void {
        const file = path.join(this.project, ".pulumi-state", ".pulumi", "stacks", "thanos-global-view", `${this.stack}.json`);
        const deployment = JSON.parse(fs.readFileSync(file, "utf8"));
        edit(deployment);
        fs.writeFileSync(file, JSON.stringify(deployment));
    }

    /** `kind delete cluster` behind the stack's back: the nodes go, and with them every Helm record in the cluster. */
    deleteClusterByHand(cluster: string): void {
        this.change((world) => {
            world.docker.containers = world.docker.containers.filter((container) => container.cluster !== cluster);
            world.helm = world.helm.filter((record) => record.cluster !== cluster);
            world.objects = (world.objects ?? []).filter((object) => object.cluster !== cluster);
        });
    }

    /** Ctrl-C during the upgrade of europe's release: Pulumi kept the old inputs, Helm a pending revision 2. */
    interruptEuropeUpgrade(minutes: number): void {
        this.change((world) => {
            world.program.find((resource) => resource.urn === releaseUrn("kps-europe"))!.version = "2";
            world.helm.push({ cluster: "thanos-dev", namespace: "europe", name: "kps-europe", revision: 2, status: "pending-upgrade", created: minutesAgo(minutes) });
        });
    }

    /** The fake pulumi on its own, without npm run's recovery: what a plain `pulumi` user gets. */
    pulumiDirectly(...args: string[]): { status: number | null; stderr: string } {
        return spawnSync(path.join(this.bin, "pulumi"), args, {
            env: { ...process.env, PULUMI_BACKEND_URL: `file://${path.join(this.project, ".pulumi-state")}`, FAKE_WORLD: this.worldFile },
            encoding: "utf8",
        });
    }

    /** Interrupted while Pulumi created this release: it is not in state, only a pending create is. */
    interruptCreateOf(releaseName: string): void {
        this.editState((deployment) => {
            const release = deployment.resources.find((resource) => resource.urn === releaseUrn(releaseName));
            deployment.resources = deployment.resources.filter((resource) => resource !== release);
            deployment.pending_operations = [{ resource: release, type: "creating" }];
        });
    }

    deployed(): string[] {
        return this.world.helm.filter((record) => record.status === "deployed").map((record) => `${record.namespace}/${record.name}`).sort();
    }
}

const allReleases = () => managedReleases(readStackConfig(projectDirectory, "dev")).map((release) => `${release.namespace}/${release.name}`).sort();

describe("npm run up and destroy, day 1 and day 2", () => {
    it("the fake pulumi refuses a file backend whose directory is missing, as pulumi does", () => {
        const sandbox = new Sandbox();
        const missing = path.join(sandbox.project, "nowhere");
        const result = spawnSync(path.join(sandbox.bin, "pulumi"), ["stack", "select", "--create", "dev"], {
            env: { ...process.env, PULUMI_BACKEND_URL: `file://${missing}`, FAKE_WORLD: sandbox.worldFile },
            encoding: "utf8",
        });
        assert.strictEqual(result.status, 255);
        assert.strictEqual(result.stderr, `error: unable to open state directory "file://${missing}": stat ${missing}: no such file or directory\n`);
    });

    it("a fresh clone: creates the state directory, then the cluster and every release", () => {
        const sandbox = new Sandbox();
        const { code, said } = sandbox.npmRun("up");
        assert.strictEqual(code, 0, said.join("\n"));
        assert.ok(fs.statSync(path.join(sandbox.project, ".pulumi-state")).isDirectory());
        assert.deepStrictEqual(sandbox.world.docker.containers.map((container) => container.name), nodes);
        assert.deepStrictEqual(sandbox.deployed(), allReleases());
        assert.deepStrictEqual(sandbox.world.calls.filter((call) => call.startsWith("pulumi up")), ["pulumi up --stack dev"]);
    });

    it("a second up with nothing changed changes nothing", () => {
        const sandbox = new Sandbox();
        sandbox.npmRun("up");
        const before = sandbox.world.helm;
        const { code } = sandbox.npmRun("up");
        assert.strictEqual(code, 0);
        assert.deepStrictEqual(sandbox.world.helm, before);
        assert.ok(!sandbox.world.calls.some((call) => call.startsWith("pulumi state") || call.startsWith("kubectl --context kind-thanos-dev --namespace")), sandbox.world.calls.join("\n"));
    });

    it("the kind cluster deleted by hand: up says so and creates it again, with everything in it", () => {
        const sandbox = new Sandbox();
        sandbox.npmRun("up");
        sandbox.deleteClusterByHand("thanos-dev");
        const { code, said } = sandbox.npmRun("up");
        assert.strictEqual(code, 0, said.join("\n"));
        assert.ok(said.includes('kind cluster "thanos-dev" is gone: Docker is running and has no node of it (deleted by hand, or Docker was reset).'), said.join("\n"));
        assert.ok(sandbox.world.calls.includes(`pulumi state delete --stack dev --target-dependents --yes ${kindUrn}`));
        assert.deepStrictEqual(sandbox.world.docker.containers.map((container) => container.name), nodes);
        assert.deepStrictEqual(sandbox.deployed(), allReleases());
    });

    it("the kind cluster deleted by hand: destroy still succeeds and leaves an empty stack", () => {
        const sandbox = new Sandbox();
        sandbox.npmRun("up");
        sandbox.deleteClusterByHand("thanos-dev");
        const { code, said } = sandbox.npmRun("destroy");
        assert.strictEqual(code, 0, said.join("\n"));
        assert.deepStrictEqual(sandbox.stateUrns(), []);
    });

    it("without the recovery, the fake engine fails destroy on the lost cluster as pulumi-kubernetes does", () => {
        const sandbox = new Sandbox();
        sandbox.npmRun("up");
        sandbox.deleteClusterByHand("thanos-dev");
        const result = sandbox.pulumiDirectly("destroy", "--stack", "dev");
        assert.strictEqual(result.status, 255);
        assert.match(result.stderr, /can't delete Helm Release with unreachable cluster/);
    });

    it("Docker stopped: up and destroy change nothing, drop nothing from state, and say to start Docker", () => {
        const sandbox = new Sandbox();
        sandbox.npmRun("up");
        const state = sandbox.stateUrns();
        sandbox.change((world) => (world.docker.running = false));
        const up = sandbox.npmRun("up");
        assert.strictEqual(up.code, 1);
        assert.ok(up.said.includes("Docker is not running (Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?): start the Docker engine (Docker Desktop, or 'sudo systemctl start docker'), then run this again."), up.said.join("\n"));
        const destroy = sandbox.npmRun("destroy");
        assert.strictEqual(destroy.code, 1);
        assert.match(destroy.said.join("\n"), /^Docker is not answering \(Cannot connect to the Docker daemon.*\), so whether kind cluster "thanos-dev" still exists cannot be told\. Start Docker, then run npm run destroy again\. Nothing was changed\.$/m);
        assert.deepStrictEqual(sandbox.stateUrns(), state);
        assert.ok(!sandbox.world.calls.some((call) => /^pulumi (state|up|destroy)/.test(call)), sandbox.world.calls.join("\n"));
    });

    it("Docker restarted and the nodes stayed down: starts them, waits for the API server, keeps the state", () => {
        const sandbox = new Sandbox();
        sandbox.npmRun("up");
        const state = sandbox.stateUrns();
        sandbox.change((world) => world.docker.containers.forEach((container) => (container.state = "exited")));
        const { code, said } = sandbox.npmRun("up");
        assert.strictEqual(code, 0, said.join("\n"));
        assert.ok(sandbox.world.calls.includes(`docker start ${nodes.join(" ")}`));
        assert.ok(said.includes('kind cluster "thanos-dev" answers again.'));
        assert.deepStrictEqual(sandbox.stateUrns(), state);
    });

    it("an upgrade interrupted long ago (pending-upgrade): clears that record, then the update goes through", () => {
        const sandbox = new Sandbox();
        sandbox.npmRun("up");
        sandbox.interruptEuropeUpgrade(20);
        const { code, said } = sandbox.npmRun("up");
        assert.strictEqual(code, 0, said.join("\n"));
        assert.ok(said.includes('Helm release europe/kps-europe in cluster "thanos-dev" was left pending-upgrade (revision 2) by an interrupted run: deleting that revision\'s record, so the release is back at revision 1 and this run applies it again.'), said.join("\n"));
        assert.deepStrictEqual(sandbox.world.helm.filter((record) => record.name === "kps-europe").map((record) => `${record.revision}:${record.status}`), ["1:superseded", "2:deployed"]);
    });

    it("without the recovery, the fake engine fails on a pending release as Helm does", () => {
        const sandbox = new Sandbox();
        sandbox.npmRun("up");
        sandbox.interruptEuropeUpgrade(20);
        const result = sandbox.pulumiDirectly("up", "--stack", "dev");
        assert.strictEqual(result.status, 255);
        assert.match(result.stderr, /another operation \(install\/upgrade\/rollback\) is in progress/);
    });

    it("a release pending for less than the slowest release timeout: may be another run at work; stops, says what to run, deletes nothing", () => {
        const sandbox = new Sandbox();
        sandbox.npmRun("up");
        sandbox.interruptEuropeUpgrade(2);
        const { code, said } = sandbox.npmRun("up");
        assert.strictEqual(code, 1);
        assert.deepStrictEqual(said.slice(-1), [
            `Helm release europe/kps-europe in cluster "thanos-dev" is pending-upgrade since ${minutesAgo(2)}: another pulumi up may still be working on it. ` +
                `If none is, run npm run up again after ${minutesAgo(2 - 15)}, or now: kubectl --context kind-thanos-dev --namespace europe delete secret sh.helm.release.v1.kps-europe.v2`,
        ]);
        assert.strictEqual(sandbox.world.helm.filter((record) => record.status === "pending-upgrade").length, 1);
        assert.ok(!sandbox.world.calls.some((call) => call.startsWith("pulumi up")));
    });

    it("a first install interrupted (pending-install, a pending create in state): clears both, then installs", () => {
        const sandbox = new Sandbox();
        sandbox.npmRun("up");
        sandbox.change((world) => (world.helm = world.helm.filter((record) => record.name !== "thanos")));
        sandbox.change((world) => world.helm.push({ cluster: "thanos-dev", namespace: "monitoring", name: "thanos", revision: 1, status: "pending-install", created: minutesAgo(30) }));
        sandbox.interruptCreateOf("thanos");
        const { code, said } = sandbox.npmRun("up");
        assert.strictEqual(code, 0, said.join("\n"));
        assert.ok(sandbox.world.calls.includes("kubectl --context kind-thanos-dev --namespace monitoring delete secret sh.helm.release.v1.thanos.v1"));
        assert.ok(sandbox.world.calls.includes("pulumi refresh --stack dev --clear-pending-creates --yes --skip-preview"));
        assert.deepStrictEqual(sandbox.deployed(), allReleases());
    });

    it("interrupted after Helm installed but before Pulumi recorded it: forgets Helm's records, then installs again", () => {
        const sandbox = new Sandbox();
        sandbox.npmRun("up");
        sandbox.interruptCreateOf("thanos");
        const { code, said } = sandbox.npmRun("up");
        assert.strictEqual(code, 0, said.join("\n"));
        assert.ok(said.includes('Helm release monitoring/thanos in cluster "thanos-dev" is installed but no longer in the state (the run was interrupted before Pulumi recorded it): forgetting Helm\'s records so this run installs it again (its objects are adopted).'), said.join("\n"));
        assert.deepStrictEqual(sandbox.deployed(), allReleases());
    });

    it("an interrupted kind create: deletes the half-made cluster, then creates it whole", () => {
        const sandbox = new Sandbox();
        sandbox.npmRun("preview");
        sandbox.editState((deployment) => (deployment.pending_operations = [{
            resource: { urn: kindUrn, type: "command:local:Command", inputs: { environment: { KIND_CLUSTER_NAME: "thanos-dev" } } },
            type: "creating",
        }]));
        sandbox.change((world) => world.docker.containers.push({ name: "thanos-dev-control-plane", cluster: "thanos-dev", state: "running" }));
        const { code, said } = sandbox.npmRun("up");
        assert.strictEqual(code, 0, said.join("\n"));
        assert.ok(sandbox.world.calls.includes("kind delete cluster --name thanos-dev"));
        assert.deepStrictEqual(sandbox.world.docker.containers.map((container) => container.name), nodes);
    });

    it("a failed up says how to read the verification's last run, from the config alone", () => {
        const sandbox = new Sandbox();
        // A release in a cluster nobody can reach fails the update, as pulumi-kubernetes does.
        sandbox.change((world) => world.program.push({ ...world.program[2], urn: releaseUrn("elsewhere"), cluster: "elsewhere" }));
        const { code, said } = sandbox.npmRun("up");
        assert.strictEqual(code, 255);
        assert.ok(said.some((line) => line.includes("can't create Helm Release with unreachable cluster")), said.join("\n"));
        assert.deepStrictEqual(said.slice(-2), [
            "If the verification failed, its last run says why: kubectl --context kind-thanos-dev --namespace monitoring logs job/global-view-check",
            "If the run was interrupted or timed out, run npm run up again: it continues where it stopped.",
        ]);
    });
});

describe("npm run up checks the machine first", () => {
    it("kind too old, too little memory for Docker, inotify limits too low, Node.js too old: every problem, with what to change, and nothing run", () => {
        const sandbox = new Sandbox({ kind: { version: "0.31.0" } });
        sandbox.change((world) => (world.docker.memoryBytes = 2 * 1024 ** 3));
        sandbox.inotify = { max_user_watches: "8192", max_user_instances: "128" };
        sandbox.nodeVersion = "v20.20.2";
        const { code, said } = sandbox.npmRun("up");
        assert.strictEqual(code, 1);
        // 4.7 GiB: three Prometheus replicas at 512Mi + 64Mi sidecar + 32Mi reloader, two operators at 64Mi,
        // Query 2 × 256Mi, Query Frontend 2 × 128Mi, Grafana 192Mi, the check 16Mi (2928Mi), the Ruler, Alertmanager
        // and memcached pairs 2 × (64Mi + 64Mi + 64Mi), and kind's 1024Mi + 2 × 256Mi.
        assert.deepStrictEqual(said, [
            "Node.js v20.20.2 is too old: the Pulumi SDK needs Node.js 22 or newer. Install Node.js 22 (for example with nvm: nvm install 22).",
            "kind is kind v0.31.0 go1.26.3 linux/amd64: this stack needs kind v0.32.0 or newer (its node image is the one pinned here). Upgrade kind.",
            "Docker has 2.0 GiB of memory; this stack's pods request 4.7 GiB together with kind's own components. Give Docker at least 5 GiB (Docker Desktop: Settings → Resources → Memory), or run fewer replicas.",
            "fs.inotify.max_user_watches is 8192; kind needs at least 524288 (kind's known issue \"Pod errors due to too many open files\"). Run 'sudo sysctl fs.inotify.max_user_watches=524288', and add 'fs.inotify.max_user_watches = 524288' to /etc/sysctl.conf to keep it.",
            "fs.inotify.max_user_instances is 128; kind needs at least 512 (kind's known issue \"Pod errors due to too many open files\"). Run 'sudo sysctl fs.inotify.max_user_instances=512', and add 'fs.inotify.max_user_instances = 512' to /etc/sysctl.conf to keep it.",
            'Nothing was changed. See README.md, "Prerequisites".',
        ]);
        assert.deepStrictEqual(sandbox.world.calls.filter((call) => !/^(pulumi version|kind version|docker info|git --version)/.test(call)), []);
    });

    it("a kind pre-release of a newer version passes", () => {
        const sandbox = new Sandbox({ kind: { version: "0.33.0-alpha.12+0123456789abcd" } });
        assert.strictEqual(sandbox.npmRun("up").code, 0);
    });
});

describe("npm run up and destroy on the fleet stack", () => {
    const fleetReleases = () => managedReleases(readStackConfig(projectDirectory, "fleet")).map((release) => `${release.namespace}/${release.name}`).sort();

    it("creates both kind clusters and every release in its own cluster", () => {
        const sandbox = new Sandbox({}, "fleet");
        const { code, said } = sandbox.npmRun("up", "--stack", "fleet");
        assert.strictEqual(code, 0, said.join("\n"));
        assert.deepStrictEqual(sandbox.world.docker.containers.map((container) => container.name).sort(),
            [...kindNodes("fleet-europe", 2), ...kindNodes("fleet-hub", 1)].sort());
        assert.deepStrictEqual(sandbox.deployed(), fleetReleases());
        assert.deepStrictEqual(sandbox.world.helm.filter((record) => record.name === "kps-europe").map((record) => record.cluster), ["fleet-europe"]);
    });

    it("europe's cluster deleted by hand: up creates it again, and the global query, which depended on it, is installed again over its old record", () => {
        const sandbox = new Sandbox({}, "fleet");
        sandbox.npmRun("up", "--stack", "fleet");
        sandbox.deleteClusterByHand("fleet-europe");
        const { code, said } = sandbox.npmRun("up", "--stack", "fleet");
        assert.strictEqual(code, 0, said.join("\n"));
        assert.ok(said.includes('kind cluster "fleet-europe" is gone: Docker is running and has no node of it (deleted by hand, or Docker was reset).'), said.join("\n"));
        // The hub's global query depended on europe's Services: removed from state with them, its Helm record forgotten, then installed again.
        assert.ok(said.includes('Helm release monitoring/thanos in cluster "fleet-hub" is installed but no longer in the state (it depended on the lost cluster): forgetting Helm\'s records so this run installs it again (its objects are adopted).'), said.join("\n"));
        assert.ok(!sandbox.world.calls.some((call) => call.startsWith("pulumi state delete") && call.includes("fleet-hub-kind")), sandbox.world.calls.join("\n"));
        // The verification Job depended on europe too; it still existed in the hub, under its fixed name.
        assert.ok(said.includes('The verification Job monitoring/global-view-check left the state with the lost cluster: deleting it in cluster "fleet-hub" so that this run creates it again.'), said.join("\n"));
        assert.deepStrictEqual(sandbox.world.objects?.filter((object) => object.kind === "Job"), [{ cluster: "fleet-hub", kind: "Job", namespace: "monitoring", name: "global-view-check" }]);
        // The hub's store and compactor did not depend on europe: they stayed, once each.
        assert.deepStrictEqual(sandbox.world.objects?.filter((object) => object.kind === "StatefulSet").map((object) => object.name), ["thanos-object-store", "thanos-compactor"]);
        assert.deepStrictEqual(sandbox.deployed(), fleetReleases());
    });

    it("the hub's cluster deleted by hand: up creates it again; europe's release, which held the hub's store address, is installed again over its old record", () => {
        const sandbox = new Sandbox({}, "fleet");
        sandbox.npmRun("up", "--stack", "fleet");
        sandbox.deleteClusterByHand("fleet-hub");
        const { code, said } = sandbox.npmRun("up", "--stack", "fleet");
        assert.strictEqual(code, 0, said.join("\n"));
        assert.ok(said.includes('kind cluster "fleet-hub" is gone: Docker is running and has no node of it (deleted by hand, or Docker was reset).'), said.join("\n"));
        // Its objstore Secret depended on the hub's store: both left the state; the Secret is named by the
        // provider, so the new one is created beside the old, and Helm's records of the release are forgotten.
        assert.ok(said.includes('Helm release europe/kps-europe in cluster "fleet-europe" is installed but no longer in the state (it depended on the lost cluster): forgetting Helm\'s records so this run installs it again (its objects are adopted).'), said.join("\n"));
        assert.ok(!sandbox.world.calls.some((call) => call.startsWith("pulumi state delete") && call.includes("fleet-europe-kind")), sandbox.world.calls.join("\n"));
        // The fixed names came back in the new hub, once each.
        assert.deepStrictEqual(sandbox.world.objects?.map((object) => object.name).sort(), ["global-view-check", "thanos-compactor", "thanos-object-store"]);
        assert.deepStrictEqual(sandbox.deployed(), fleetReleases());
    });

    it("destroy removes both clusters", () => {
        const sandbox = new Sandbox({}, "fleet");
        sandbox.npmRun("up", "--stack", "fleet");
        const { code, said } = sandbox.npmRun("destroy", "--stack", "fleet");
        assert.strictEqual(code, 0, said.join("\n"));
        assert.deepStrictEqual(sandbox.world.docker.containers, []);
    });
});
