// `npm run up | destroy` through day 1 and day 2, against stand-ins for pulumi,
// kind, docker and kubectl (test/fakes/tool.js) that share one world and fail
// the way the real tools do.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { readStackConfig } from "../lib/config/stackFile";
import { managedReleases, regionReleaseName } from "../lib/kubernetes/releases";
import { Session, main, spawnCaptured } from "../scripts/stack";
import { runTool, tools } from "./fakes/tool";
import { projectDirectory } from "./harness";

interface Container {
    name: string;
    cluster: string;
    state: string;
}
interface HelmRecord {
    cluster: string;
    namespace: string;
    name: string;
    revision: number;
    status: string;
    created: string;
    storage?: "configmap";
}
interface ProgramResource {
    urn: string;
    type: string;
    version: string;
    cluster?: string;
    nodes?: string[];
    provider?: string;
    dependencies?: string[];
    release?: { name: string; namespace: string };
    /** A named Kubernetes object: it stays in the cluster when it leaves the state. */
    object?: { kind: string; namespace: string; name: string; autonamed?: boolean };
    protect?: boolean;
}
interface World {
    calls: string[];
    docker: { running: boolean; memoryBytes: number; containers: Container[]; context?: string; elsewhere?: string[] };
    /** Where the next `pulumi up` or `destroy` is killed (SIGKILL), and what of that step was already done. */
    interrupt?: { urn: string; effect?: "nodes" | "pending-install" | "object" };
    /** A transient failure: the first call starting with `call` fails once. */
    failures?: { call: string; stderr: string }[];
    kind: { version: string };
    helm: HelmRecord[];
    program: ProgramResource[];
    objects?: { cluster: string; kind: string; namespace: string; name: string; labels?: Record<string, string> }[];
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
        {
            urn: urn("kubernetes:batch/v1:Job", "global-view"),
            type: "kubernetes:batch/v1:Job",
            version: "1",
            cluster: "thanos-dev",
            provider: `${providerUrn}::provider-id`,
        },
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
    const providerOf = (cluster: string) =>
        `${fleetUrn("thanos-global-view:cluster:KindCluster$pulumi:providers:kubernetes", `${cluster}-provider`)}::provider-id`;
    const services = [0, 1].map((ordinal) => ({
        urn: fleetUrn("thanos-global-view:monitoring:Region$kubernetes:core/v1:Service", `europe-storeapi-${ordinal}`),
        type: "kubernetes:core/v1:Service",
        version: "1",
        cluster: "fleet-europe",
        provider: providerOf("fleet-europe"),
    }));
    const storeService = {
        urn: fleetUrn("thanos-global-view:storage:ObjectStore$kubernetes:core/v1:Service", "object-store"),
        type: "kubernetes:core/v1:Service",
        version: "1",
        cluster: "fleet-hub",
        provider: providerOf("fleet-hub"),
    };
    const objstoreSecrets = config.regions.map((region) => ({
        urn: fleetUrn("thanos-global-view:monitoring:Region$kubernetes:core/v1:Secret", `${region.name}-objstore`),
        type: "kubernetes:core/v1:Secret",
        version: "1",
        cluster: region.cluster,
        provider: providerOf(region.cluster),
        dependencies: [storeService.urn],
    }));
    const hubStatefulSets = [
        ["object-store", "object-store", "thanos-object-store"],
        ["compactor", "monitoring", "thanos-compactor"],
    ].map(([name, namespace, objectName]) => ({
        urn: fleetUrn("kubernetes:apps/v1:StatefulSet", name),
        type: "kubernetes:apps/v1:StatefulSet",
        version: "1",
        cluster: "fleet-hub",
        provider: providerOf("fleet-hub"),
        dependencies: name === "compactor" ? [storeService.urn] : [],
        object: { kind: "StatefulSet", namespace, name: objectName },
    }));
    // Each region checks the bucket with a Job of its own (components/region.ts), auto-named: in every cluster.
    const bucketChecks = config.regions.map((region, index) => ({
        urn: fleetUrn("thanos-global-view:monitoring:Region$kubernetes:batch/v1:Job", `${region.name}-bucket-check`),
        type: "kubernetes:batch/v1:Job",
        version: "1",
        cluster: region.cluster,
        provider: providerOf(region.cluster),
        dependencies: [objstoreSecrets[index].urn],
        object: { kind: "Job", namespace: region.namespace, name: `${region.name}-bucket-check-5f3c2a1b`, autonamed: true },
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
        dependencies:
            release.name === "thanos"
                ? services.map((service) => service.urn)
                : regionIndex(release.name) >= 0
                  ? [objstoreSecrets[regionIndex(release.name)].urn]
                  : [],
    }));
    return [
        ...kindClusters.flatMap((cluster) => {
            const command = fleetUrn("thanos-global-view:cluster:KindCluster$command:local:Command", `${cluster.name}-kind`);
            return [
                { urn: command, type: "command:local:Command", version: "1", cluster: cluster.name, nodes: kindNodes(cluster.name, cluster.workerNodes) },
                {
                    urn: providerOf(cluster.name).replace(/::provider-id$/, ""),
                    type: "pulumi:providers:kubernetes",
                    version: "1",
                    cluster: cluster.name,
                    dependencies: [command],
                },
            ];
        }),
        ...services,
        storeService,
        ...objstoreSecrets,
        ...bucketChecks,
        ...hubStatefulSets,
        ...releases,
        {
            urn: fleetUrn("kubernetes:batch/v1:Job", "global-view"),
            type: "kubernetes:batch/v1:Job",
            version: "1",
            cluster: "fleet-hub",
            provider: providerOf("fleet-hub"),
            dependencies: [...releases, ...hubStatefulSets].map((resource) => resource.urn),
            object: { kind: "Job", namespace: "monitoring", name: "global-view-check" },
        },
    ];
}

/** kind's node container names: <name>-control-plane, <name>-worker, <name>-worker2… (kind v0.32.0 namer.go:25-36). */
const kindNodes = (cluster: string, workers: number) => [
    `${cluster}-control-plane`,
    ...Array.from({ length: workers }, (_, i) => `${cluster}-worker${i === 0 ? "" : i + 1}`),
];

class Sandbox {
    readonly project = fs.mkdtempSync(path.join(os.tmpdir(), "thanos-global-view-project-"));
    readonly bin = path.join(this.project, "fake-bin");
    readonly worldFile = path.join(this.project, "world.json");
    inotify = { max_user_watches: "524288", max_user_instances: "512" };
    nodeVersion = "v22.23.3";
    /** Processes of this machine that still run, as `kill -0` would find them. */
    alive: number[] = [];
    /** More of the user's environment. */
    extraEnv: Record<string, string> = {};
    /**
     * Start each tool as a process, from the wrappers on PATH, as `npm run` does.
     * Otherwise the stand-ins answer in the test's process: the same answers,
     * without a Node.js start for each of the hundreds of calls.
     */
    processes = false;

    constructor(
        world: Partial<World> = {},
        readonly stack = "dev",
    ) {
        // The real project and stack files, copied into a directory of the test's own
        // (creating the stack adds its encryptionsalt to the stack file).
        for (const file of ["Pulumi.yaml", `Pulumi.${stack}.yaml`]) {
            fs.copyFileSync(path.join(projectDirectory, file), path.join(this.project, file));
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
        const env = { PATH: `${this.bin}:${process.env.PATH}`, FAKE_WORLD: this.worldFile, HOME: this.project, ...this.extraEnv };
        const runCaptured: Session["runCaptured"] = this.processes
            ? spawnCaptured(this.project)
            : (command, commandArgs, runEnv) => {
                  assert.ok(tools.includes(command), `npm run ${action} ran ${command}, which has no stand-in`);
                  return runTool(command, commandArgs, runEnv, this.project);
              };
        const code = main([action, ...args], {
            env,
            projectDirectory: this.project,
            say: (line) => said.push(line),
            runAttached: (command, commandArgs, runEnv) => {
                const result = runCaptured(command, commandArgs, runEnv);
                said.push(...`${result.stdout}${result.stderr}`.split("\n").filter(Boolean));
                return result.status ?? 1;
            },
            runCaptured,
            pause: () => pauses++,
            now: () => now,
            hostname: os.hostname(),
            processAlive: (pid) => this.alive.includes(pid),
            nodeVersion: this.nodeVersion,
            platform: "linux",
            readFile: (file) => this.inotify[path.basename(file) as keyof Sandbox["inotify"]],
        });
        return { code, said, pauses };
    }

    get stateFile(): string {
        return path.join(this.project, ".pulumi-state", ".pulumi", "stacks", "thanos-global-view", `${this.stack}.json`);
    }

    /** The deployment in the file backend's checkpoint ({version, checkpoint: {stack, latest}}). */
    deployment(): { resources: any[]; pending_operations: any[] } {
        const { resources = [], pending_operations = [], ...rest } = JSON.parse(fs.readFileSync(this.stateFile, "utf8")).checkpoint.latest;
        return { ...rest, resources, pending_operations };
    }

    stateUrns(): string[] {
        return (this.deployment().resources as { urn: string }[]).map((resource) => resource.urn);
    }

    editState(edit: (deployment: { resources: any[]; pending_operations: any[] }) => void): void {
        const checkpoint = JSON.parse(fs.readFileSync(this.stateFile, "utf8"));
        const deployment = this.deployment();
        edit(deployment);
        checkpoint.checkpoint.latest = deployment;
        fs.writeFileSync(this.stateFile, JSON.stringify(checkpoint));
    }

    /** A lock file of the stack, as a pulumi run of `pid` on this machine (or `hostname`) leaves it (pulumi pkg/backend/diy/lock.go:39-44). */
    plantLock(pid: number, hostname = os.hostname()): void {
        const directory = path.join(this.project, ".pulumi-state", ".pulumi", "locks", "organization", "thanos-global-view", this.stack);
        fs.mkdirSync(directory, { recursive: true });
        fs.writeFileSync(
            path.join(directory, "5b8c1a52-4f3e-4f57-9d63-2a4c3b1f0e11.json"),
            JSON.stringify({ pid, username: "someone", hostname, timestamp: "2026-11-26T11:58:00Z" }),
        );
    }

    locks(): string[] {
        const directory = path.join(this.project, ".pulumi-state", ".pulumi", "locks", "organization", "thanos-global-view", this.stack);
        return fs.existsSync(directory) ? fs.readdirSync(directory) : [];
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
            world.helm.push({
                cluster: "thanos-dev",
                namespace: "europe",
                name: "kps-europe",
                revision: 2,
                status: "pending-upgrade",
                created: minutesAgo(minutes),
            });
        });
    }

    /** The fake pulumi on its own, without npm run's recovery: what a plain `pulumi` user gets. */
    pulumiDirectly(...args: string[]): { status: number | null; stderr: string } {
        return spawnSync(path.join(this.bin, "pulumi"), args, {
            env: {
                ...process.env,
                PULUMI_BACKEND_URL: `file://${path.join(this.project, ".pulumi-state")}`,
                PULUMI_CONFIG_PASSPHRASE: "",
                FAKE_WORLD: this.worldFile,
            },
            cwd: this.project,
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
        return this.world.helm
            .filter((record) => record.status === "deployed")
            .map((record) => `${record.namespace}/${record.name}`)
            .sort();
    }
}

const allReleases = () =>
    managedReleases(readStackConfig(projectDirectory, "dev"))
        .map((release) => `${release.namespace}/${release.name}`)
        .sort();

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

    it("the tools as processes, found on PATH as npm run finds them, answer as the stand-ins in the test's process do", () => {
        const [spawned, inProcess] = [new Sandbox(), new Sandbox()];
        spawned.processes = true;
        for (const sandbox of [spawned, inProcess]) {
            sandbox.npmRun("up");
            sandbox.deleteClusterByHand("thanos-dev");
        }
        const [again, againInProcess] = [spawned.npmRun("up"), inProcess.npmRun("up")];
        assert.strictEqual(again.code, 0, again.said.join("\n"));
        assert.deepStrictEqual(again.said, againInProcess.said);
        assert.deepStrictEqual(spawned.world.calls, inProcess.world.calls);
        assert.deepStrictEqual(spawned.deployed(), allReleases());
        assert.deepStrictEqual(spawned.stateUrns(), inProcess.stateUrns());
    });

    it("a fresh clone: creates the state directory, then the cluster and every release", () => {
        const sandbox = new Sandbox();
        const { code, said } = sandbox.npmRun("up");
        assert.strictEqual(code, 0, said.join("\n"));
        assert.ok(fs.statSync(path.join(sandbox.project, ".pulumi-state")).isDirectory());
        assert.deepStrictEqual(
            sandbox.world.docker.containers.map((container) => container.name),
            nodes,
        );
        assert.deepStrictEqual(sandbox.deployed(), allReleases());
        assert.deepStrictEqual(
            sandbox.world.calls.filter((call) => call.startsWith("pulumi up")),
            ["pulumi up --stack dev"],
        );
    });

    it("a second up with nothing changed changes nothing", () => {
        const sandbox = new Sandbox();
        sandbox.npmRun("up");
        const before = sandbox.world.helm;
        const { code } = sandbox.npmRun("up");
        assert.strictEqual(code, 0);
        assert.deepStrictEqual(sandbox.world.helm, before);
        assert.ok(
            !sandbox.world.calls.some((call) => call.startsWith("pulumi state") || call.startsWith("pulumi refresh") || / delete /.test(call)),
            sandbox.world.calls.join("\n"),
        );
    });

    it("the kind cluster deleted by hand: up says so and creates it again, with everything in it", () => {
        const sandbox = new Sandbox();
        sandbox.npmRun("up");
        sandbox.deleteClusterByHand("thanos-dev");
        const { code, said } = sandbox.npmRun("up");
        assert.strictEqual(code, 0, said.join("\n"));
        assert.ok(
            said.includes('kind cluster "thanos-dev" is gone: Docker is running and has no node of it (deleted by hand, or Docker was reset).'),
            said.join("\n"),
        );
        assert.ok(sandbox.world.calls.includes(`pulumi state delete --stack dev --target-dependents --yes ${kindUrn}`));
        assert.deepStrictEqual(
            sandbox.world.docker.containers.map((container) => container.name),
            nodes,
        );
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
        assert.strictEqual(result.status, 1);
        assert.match(result.stderr, /can't delete Helm Release with unreachable cluster/);
    });

    it("Docker stopped: up and destroy change nothing, drop nothing from state, and say to start Docker", () => {
        const sandbox = new Sandbox();
        sandbox.npmRun("up");
        const state = sandbox.stateUrns();
        sandbox.change((world) => (world.docker.running = false));
        const up = sandbox.npmRun("up");
        assert.strictEqual(up.code, 1);
        assert.ok(
            up.said.includes(
                "Docker is not running (Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?): start the Docker engine (Docker Desktop, or 'sudo systemctl start docker'), then run this again.",
            ),
            up.said.join("\n"),
        );
        const destroy = sandbox.npmRun("destroy");
        assert.strictEqual(destroy.code, 1);
        assert.match(
            destroy.said.join("\n"),
            /^Docker is not answering \(Cannot connect to the Docker daemon.*\), so whether kind cluster "thanos-dev" still exists cannot be told\. Start Docker, then run npm run destroy again\. Nothing was changed\.$/m,
        );
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
        assert.ok(
            said.includes(
                'Helm release europe/kps-europe in cluster "thanos-dev" was left pending-upgrade (revision 2) by an interrupted run: deleting that revision\'s record, so the release is back at revision 1 and this run applies it again.',
            ),
            said.join("\n"),
        );
        assert.deepStrictEqual(
            sandbox.world.helm.filter((record) => record.name === "kps-europe").map((record) => `${record.revision}:${record.status}`),
            ["1:superseded", "2:deployed"],
        );
    });

    it("without the recovery, the fake engine fails on a pending release as Helm does", () => {
        const sandbox = new Sandbox();
        sandbox.npmRun("up");
        sandbox.interruptEuropeUpgrade(20);
        const result = sandbox.pulumiDirectly("up", "--stack", "dev");
        assert.strictEqual(result.status, 1);
        assert.match(result.stderr, /another operation \(install\/upgrade\/rollback\) is in progress/);
    });

    it("a release pending for two minutes: while a live pulumi holds the stack it is that run's, and nothing is deleted; once no run holds it, it is cleared at once", () => {
        const sandbox = new Sandbox();
        sandbox.npmRun("up");
        sandbox.interruptEuropeUpgrade(2);
        sandbox.plantLock(4242);
        sandbox.alive = [4242];
        const held = sandbox.npmRun("up");
        assert.strictEqual(held.code, 1);
        assert.match(held.said.slice(-1)[0], /^Stack "dev" is locked by pulumi \(pid 4242, .*\): another run is still working on it, so nothing was changed\./);
        assert.strictEqual(sandbox.world.helm.filter((record) => record.status === "pending-upgrade").length, 1);
        assert.ok(!sandbox.world.calls.some((call) => /^pulumi up|delete secret/.test(call)), sandbox.world.calls.join("\n"));
        // The run that held it died (a crash, a closed terminal): its lock is stale, its Helm gone with its provider.
        sandbox.alive = [];
        const { code, said } = sandbox.npmRun("up");
        assert.strictEqual(code, 0, said.join("\n"));
        assert.ok(
            said.includes(
                'Helm release europe/kps-europe in cluster "thanos-dev" was left pending-upgrade (revision 2) by an interrupted run: deleting that revision\'s record, so the release is back at revision 1 and this run applies it again.',
            ),
            said.join("\n"),
        );
        assert.deepStrictEqual(
            sandbox.world.helm.filter((record) => record.name === "kps-europe").map((record) => `${record.revision}:${record.status}`),
            ["1:superseded", "2:deployed"],
        );
    });

    it("a first install interrupted (pending-install, a pending create in state): clears both, then installs", () => {
        const sandbox = new Sandbox();
        sandbox.npmRun("up");
        sandbox.change((world) => (world.helm = world.helm.filter((record) => record.name !== "thanos")));
        sandbox.change((world) =>
            world.helm.push({
                cluster: "thanos-dev",
                namespace: "monitoring",
                name: "thanos",
                revision: 1,
                status: "pending-install",
                created: minutesAgo(30),
            }),
        );
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
        assert.ok(
            said.includes(
                'Helm release monitoring/thanos in cluster "thanos-dev" is installed but no longer in the state (the run was interrupted before Pulumi recorded it): forgetting Helm\'s records so this run installs it again (its objects are adopted).',
            ),
            said.join("\n"),
        );
        assert.deepStrictEqual(sandbox.deployed(), allReleases());
    });

    it("an interrupted kind create: deletes the half-made cluster, then creates it whole", () => {
        const sandbox = new Sandbox();
        sandbox.npmRun("preview");
        sandbox.editState(
            (deployment) =>
                (deployment.pending_operations = [
                    {
                        resource: { urn: kindUrn, type: "command:local:Command", inputs: { environment: { KIND_CLUSTER_NAME: "thanos-dev" } } },
                        type: "creating",
                    },
                ]),
        );
        sandbox.change((world) => world.docker.containers.push({ name: "thanos-dev-control-plane", cluster: "thanos-dev", state: "running" }));
        const { code, said } = sandbox.npmRun("up");
        assert.strictEqual(code, 0, said.join("\n"));
        assert.ok(sandbox.world.calls.includes("kind delete cluster --name thanos-dev"));
        assert.deepStrictEqual(
            sandbox.world.docker.containers.map((container) => container.name),
            nodes,
        );
    });

    it("a failed up says how to read the verification's last run, from the config alone", () => {
        const sandbox = new Sandbox();
        // A release in a cluster nobody can reach fails the update, as pulumi-kubernetes does.
        sandbox.change((world) => world.program.push({ ...world.program[2], urn: releaseUrn("elsewhere"), cluster: "elsewhere" }));
        const { code, said } = sandbox.npmRun("up");
        assert.strictEqual(code, 1);
        assert.ok(
            said.some((line) => line.includes("can't create Helm Release with unreachable cluster")),
            said.join("\n"),
        );
        assert.deepStrictEqual(said.slice(-2), [
            "If the verification failed, its last run says why: kubectl --context kind-thanos-dev --namespace monitoring logs job/global-view-check",
            "If the run was interrupted or timed out, run npm run up again: it continues where it stopped.",
        ]);
    });
    it("the fake pulumi behaves as pulumi v3.274.1 does with a file backend: new stack, passphrase salt, locks, exit codes, state delete, refresh, pending creates", () => {
        const sandbox = new Sandbox();
        const backend = { PULUMI_BACKEND_URL: `file://${path.join(sandbox.project, ".pulumi-state")}`, FAKE_WORLD: sandbox.worldFile };
        const pulumi = (env: Record<string, string | undefined>, ...args: string[]) =>
            spawnSync(path.join(sandbox.bin, "pulumi"), args, { env: { PATH: process.env.PATH, ...backend, ...env }, cwd: sandbox.project, encoding: "utf8" });
        fs.mkdirSync(path.join(sandbox.project, ".pulumi-state"));
        const noPassphrase = pulumi({}, "stack", "select", "--create", "dev");
        assert.deepStrictEqual(
            [noPassphrase.status, noPassphrase.stderr],
            [
                1,
                "error: could not create secrets manager for new stack: passphrase must be set with PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE environment variables\n",
            ],
        );
        assert.strictEqual(pulumi({ PULUMI_CONFIG_PASSPHRASE: "" }, "stack", "select", "--create", "dev").status, 0);
        assert.match(fs.readFileSync(path.join(sandbox.project, "Pulumi.dev.yaml"), "utf8"), /\nencryptionsalt: v1:\S+\n$/);
        const fresh = JSON.parse(pulumi({}, "stack", "export", "--stack", "dev").stdout);
        assert.deepStrictEqual(
            [Object.keys(fresh.deployment).sort(), fresh.deployment.secrets_providers.type],
            [["manifest", "metadata", "secrets_providers"], "passphrase"],
        );
        assert.deepStrictEqual(
            [pulumi({}, "stack", "export", "--stack", "nope").status, pulumi({}, "stack", "export", "--stack", "nope").stderr],
            [6, "error: no stack named 'nope' found\n"],
        );

        const passphrase = { PULUMI_CONFIG_PASSPHRASE: "" };
        assert.strictEqual(pulumi(passphrase, "up", "--stack", "dev").status, 0);
        assert.match(pulumi({}, "state", "delete", "--stack", "dev", "--yes", kindUrn).stderr, /passphrase must be set/);
        const refused = pulumi(passphrase, "state", "delete", "--stack", "dev", "--yes", kindUrn);
        assert.deepStrictEqual(
            [refused.status, refused.stderr.split("\n")[0]],
            [1, `error: ${kindUrn} can't be safely deleted because the following resources depend on it:`],
        );
        sandbox.editState((deployment) => (deployment.resources.find((resource) => resource.urn === kindUrn).protect = true));
        assert.strictEqual(
            pulumi(passphrase, "state", "delete", "--stack", "dev", "--yes", "--target-dependents", kindUrn).stderr,
            `error: ${kindUrn} can't be safely deleted because it is protected. Re-run this command with --force to force deletion\n`,
        );

        // A lock another run holds: every command that writes the state refuses, export does not; cancel removes it.
        sandbox.plantLock(4242);
        for (const command of [["up"], ["refresh", "--yes"], ["state", "delete", "--yes", kindUrn], ["destroy", "--yes"]]) {
            const locked = pulumi(passphrase, ...command, "--stack", "dev");
            assert.strictEqual(locked.status, 1, command.join(" "));
            assert.match(
                locked.stderr,
                /^error: the stack is currently locked by 1 lock\(s\)\. Either wait for the other process\(es\) to end or delete the lock file with `pulumi cancel`\.\n {2}file:\/\/.*\.json\?no_tmp_dir=true: created by someone@.* \(pid 4242\) at 2026-11-26T11:58:00Z\n$/,
            );
        }
        assert.strictEqual(pulumi(passphrase, "stack", "export", "--stack", "dev").status, 0);
        assert.deepStrictEqual([pulumi(passphrase, "cancel", "--stack", "dev", "--yes").status, sandbox.locks()], [0, []]);

        // Pending creates: up carries them forward; --import-pending-creates drops them without importing; a refresh reads every resource.
        sandbox.interruptCreateOf("thanos");
        assert.strictEqual(pulumi(passphrase, "up", "--stack", "dev").status, 1);
        assert.deepStrictEqual(
            sandbox.deployment().pending_operations.map((operation) => operation.type),
            ["creating"],
        );
        assert.strictEqual(
            pulumi(passphrase, "refresh", "--stack", "dev", "--yes", "--import-pending-creates", releaseUrn("thanos"), "--import-pending-creates", "thanos")
                .status,
            0,
        );
        assert.deepStrictEqual([sandbox.deployment().pending_operations, sandbox.stateUrns().includes(releaseUrn("thanos"))], [[], false]);
        sandbox.change((world) => (world.helm = world.helm.filter((record) => record.name !== "grafana")));
        assert.strictEqual(pulumi(passphrase, "refresh", "--stack", "dev", "--yes").status, 0);
        assert.ok(!sandbox.stateUrns().includes(releaseUrn("grafana")));
        sandbox.deleteClusterByHand("thanos-dev");
        assert.match(pulumi(passphrase, "refresh", "--stack", "dev", "--yes").stderr, /configured Kubernetes cluster is unreachable/);
    });

    it("the fake kubectl answers with --kubeconfig alone (its current context), and logs client-go's retries before the cause, as kubectl v1.36.1 does", () => {
        const sandbox = new Sandbox();
        sandbox.npmRun("up");
        sandbox.change((world) => ((world as any).kubeconfigs = { "/home/me/.kube/lab": "thanos-dev" }));
        const kubectl = (...args: string[]) =>
            spawnSync(path.join(sandbox.bin, "kubectl"), args, { env: { ...process.env, FAKE_WORLD: sandbox.worldFile }, encoding: "utf8" });
        const listed = kubectl(
            "--kubeconfig",
            "/home/me/.kube/lab",
            "--namespace",
            "europe",
            "get",
            "secrets",
            "--selector",
            "owner=helm,name=kps-europe",
            "--output",
            "json",
        );
        assert.deepStrictEqual(
            JSON.parse(listed.stdout).items.map((item: any) => item.metadata.name),
            ["sh.helm.release.v1.kps-europe.v1"],
        );
        sandbox.deleteClusterByHand("thanos-dev");
        const refused = kubectl("--kubeconfig", "/home/me/.kube/lab", "--namespace", "europe", "get", "secrets", "--selector", "owner=helm");
        assert.match(refused.stderr, /^E1204 .*memcache\.go:265\]/);
        assert.strictEqual(
            refused.stderr.trim().split("\n").pop(),
            "The connection to the server 127.0.0.1:41093 was refused - did you specify the right host or port?",
        );
    });

    it("killed while creating a fixed-name object (path 1, and the lock it left, path 5): the next up removes the stale lock, deletes the object, clears the pending create, creates it again", () => {
        const sandbox = new Sandbox({}, "fleet");
        const compactor = urn("kubernetes:apps/v1:StatefulSet", "compactor", "fleet");
        sandbox.change((world) => (world.interrupt = { urn: compactor, effect: "object" }));
        assert.strictEqual(sandbox.npmRun("up", "--stack", "fleet").code, 137);
        assert.deepStrictEqual([sandbox.locks().length, sandbox.deployment().pending_operations.map((operation) => operation.resource.urn)], [1, [compactor]]);
        // Without the recovery, pulumi refuses the stale lock, then (cancelled) the object that exists.
        const { code, said } = sandbox.npmRun("up", "--stack", "fleet");
        assert.strictEqual(code, 0, said.join("\n"));
        assert.ok(
            said.some((line) =>
                /^Stack "fleet" is still locked by pulumi \(pid \d+, .*\), which is no longer running \(killed before it could clean up\): removing its lock \(pulumi cancel\)\.$/.test(
                    line,
                ),
            ),
            said.join("\n"),
        );
        assert.ok(
            said.includes(
                'StatefulSet monitoring/thanos-compactor in cluster "fleet-hub" was created by an interrupted run that did not record it: deleting it so that this run creates it again.',
            ),
            said.join("\n"),
        );
        assert.deepStrictEqual(
            sandbox.world.calls.filter((call) => /^(pulumi (cancel|refresh|up)|kubectl .* delete)/.test(call)),
            [
                "pulumi cancel --stack fleet --yes",
                "kubectl --context kind-fleet-hub --namespace monitoring delete statefulset.apps/thanos-compactor --ignore-not-found",
                "pulumi refresh --stack fleet --clear-pending-creates --yes --skip-preview",
                "pulumi up --stack fleet",
            ],
        );
        assert.deepStrictEqual(sandbox.world.objects?.filter((object) => object.name === "thanos-compactor").length, 1);
        assert.deepStrictEqual([sandbox.deployment().pending_operations, sandbox.stateUrns().includes(compactor)], [[], true]);
        const again = sandbox.npmRun("up", "--stack", "fleet");
        assert.deepStrictEqual(
            [again.code, again.said.filter((line) => !/^(No Pulumi backend|The local fleet stack)/.test(line))],
            [0, ["Resources: updated"]],
        );
    });

    it("killed while creating a fixed-name object that someone else made meanwhile (path 1): the object is left alone and the run stops, saying whose it is not", () => {
        const sandbox = new Sandbox({}, "fleet");
        const compactor = urn("kubernetes:apps/v1:StatefulSet", "compactor", "fleet");
        sandbox.change((world) => (world.interrupt = { urn: compactor, effect: "object" }));
        assert.strictEqual(sandbox.npmRun("up", "--stack", "fleet").code, 137);
        // The same name, but applied by kubectl: its only field manager is kubectl's.
        sandbox.change((world) =>
            world
                .objects!.filter((object) => object.name === "thanos-compactor")
                .forEach((object) => ((object as any).managedFields = [{ manager: "kubectl-client-side-apply", operation: "Update" }])),
        );
        const { code, said } = sandbox.npmRun("up", "--stack", "fleet");
        assert.strictEqual(code, 1, said.join("\n"));
        assert.ok(
            said.includes(
                'StatefulSet monitoring/thanos-compactor in cluster "fleet-hub" exists but was not created by Pulumi (no field manager pulumi-kubernetes, no label app.kubernetes.io/managed-by=pulumi), ' +
                    "and this stack must create an object of that name. Delete or rename it yourself, then run npm run up again. Nothing else was changed.",
            ),
            said.join("\n"),
        );
        assert.ok(!sandbox.world.calls.some((call) => /^kubectl .* delete|^pulumi (refresh|up)/.test(call)), sandbox.world.calls.join("\n"));
    });

    it("another run holds the stack (path 5, path 8): changes nothing, not even a half-made cluster it may still be creating, and says whose lock it is", () => {
        const sandbox = new Sandbox();
        sandbox.npmRun("preview");
        sandbox.editState(
            (deployment) =>
                (deployment.pending_operations = [
                    {
                        resource: { urn: kindUrn, type: "command:local:Command", inputs: { environment: { KIND_CLUSTER_NAME: "thanos-dev" } } },
                        type: "creating",
                    },
                ]),
        );
        sandbox.change((world) => world.docker.containers.push({ name: "thanos-dev-control-plane", cluster: "thanos-dev", state: "running" }));
        sandbox.plantLock(4242);
        sandbox.alive = [4242];
        const live = sandbox.npmRun("up");
        assert.strictEqual(live.code, 1);
        assert.deepStrictEqual(live.said.slice(-1), [
            `Stack "dev" is locked by pulumi (pid 4242, someone@${os.hostname()}, since 2026-11-26T11:58:00Z): another run is still working on it, so nothing was changed. ` +
                "Wait for it to finish and run this again; if it is gone, 'pulumi cancel --stack dev' removes its lock.",
        ]);
        sandbox.alive = [];
        sandbox.plantLock(4242, "laptop-of-someone-else");
        assert.match(
            sandbox.npmRun("destroy").said.slice(-1)[0],
            /^Stack "dev" is locked by pulumi \(pid 4242, someone@laptop-of-someone-else, since 2026-11-26T11:58:00Z\): another run is still working on it/,
        );
        assert.deepStrictEqual(
            sandbox.world.docker.containers.map((container) => container.name),
            ["thanos-dev-control-plane"],
        );
        assert.ok(!sandbox.world.calls.some((call) => /^(kind delete|pulumi (cancel|state|refresh|up|destroy))/.test(call)), sandbox.world.calls.join("\n"));
    });

    it("killed during a kind cluster replacement (path 4): the next up deletes the half-made new cluster and creates it whole, with everything in it", () => {
        const sandbox = new Sandbox();
        sandbox.npmRun("up");
        // A node setting changed: the cluster is replaced, the old one deleted first; killed while kind created the new one.
        sandbox.change((world) => {
            world.program.find((resource) => resource.urn === kindUrn)!.version = "2";
            world.interrupt = { urn: kindUrn, effect: "nodes" };
        });
        assert.strictEqual(sandbox.npmRun("up").code, 137);
        assert.deepStrictEqual(sandbox.deployment().resources.find((resource) => resource.urn === kindUrn).pendingReplacement, true);
        const { code, said } = sandbox.npmRun("up");
        assert.strictEqual(code, 0, said.join("\n"));
        assert.ok(
            said.includes(
                'kind cluster "thanos-dev" was being replaced when a previous run was interrupted: deleting the half-made new cluster so that it is created whole.',
            ),
            said.join("\n"),
        );
        // What the state held of the old cluster goes with it, before pulumi up: never deleted through the old cluster's provider.
        assert.ok(
            said.includes(
                'Removing the old kind cluster "thanos-dev", deleted before the interruption, and everything that was in it from the state of stack "dev", so that pulumi up creates them again.',
            ),
            said.join("\n"),
        );
        const calls = sandbox.world.calls;
        assert.ok(
            calls.findIndex((call) => call.startsWith(`pulumi state delete --stack dev ${kindUrn}`)) < calls.findIndex((call) => call.startsWith("pulumi up")),
            calls.join("\n"),
        );
        assert.deepStrictEqual(
            sandbox.world.docker.containers.map((container) => container.name),
            nodes,
        );
        assert.deepStrictEqual(sandbox.deployed(), allReleases());
        assert.ok(!sandbox.deployment().resources.some((resource) => resource.pendingReplacement));
    });

    it("Helm's records in each release's namespace, by Helm's labels (path 6): the Secret driver, the ConfigMap driver, and a driver outside the cluster refused", () => {
        const sandbox = new Sandbox();
        sandbox.extraEnv = { PULUMI_K8S_HELM_DRIVER: "configmap" };
        sandbox.npmRun("up");
        assert.ok(sandbox.world.helm.every((record) => record.storage === "configmap"));
        sandbox.interruptEuropeUpgrade(20);
        sandbox.change((world) => (world.helm.find((record) => record.status === "pending-upgrade")!.storage = "configmap"));
        const { code, said } = sandbox.npmRun("up");
        assert.strictEqual(code, 0, said.join("\n"));
        assert.ok(
            sandbox.world.calls.includes(
                "kubectl --context kind-thanos-dev --namespace europe get configmaps --selector owner=helm,name=kps-europe --output json",
            ),
            sandbox.world.calls.join("\n"),
        );
        assert.ok(
            sandbox.world.calls.includes("kubectl --context kind-thanos-dev --namespace europe delete configmap sh.helm.release.v1.kps-europe.v2"),
            sandbox.world.calls.join("\n"),
        );
        assert.ok(!sandbox.world.calls.some((call) => call.includes("--all-namespaces")));
        sandbox.extraEnv = { PULUMI_K8S_HELM_DRIVER: "sql" };
        assert.deepStrictEqual(sandbox.npmRun("up").said.slice(-1), [
            "PULUMI_K8S_HELM_DRIVER=sql: Helm keeps this stack's release records outside the cluster, where npm run up cannot check them after an interrupted run. " +
                "Unset it (Secrets, Helm's default) or set it to configmap, or use pulumi directly. Nothing was changed.",
        ]);
    });

    it("a cluster under another Docker context, kind on podman, paused nodes (path 10): nothing dropped for a cluster that may be alive; paused nodes are unpaused", () => {
        const sandbox = new Sandbox();
        sandbox.npmRun("up");
        const state = sandbox.stateUrns();
        // The user switched Docker contexts: this one lists no node, but the cluster's API server still answers.
        sandbox.change((world) => {
            world.docker.elsewhere = ["thanos-dev"];
            world.docker.context = "desktop-linux";
            world.docker.containers = [];
        });
        const otherContext = sandbox.npmRun("up");
        assert.deepStrictEqual(
            [otherContext.code, otherContext.said.slice(-1)],
            [
                1,
                [
                    `Docker context "desktop-linux" has no node of kind cluster "thanos-dev", yet its API server (context kind-thanos-dev) answers: the cluster runs under another Docker context or engine. ` +
                        "Switch back to it ('docker context ls', 'docker context use <name>', or DOCKER_HOST), then run this again. Nothing was changed.",
                ],
            ],
        );
        sandbox.extraEnv = { KIND_EXPERIMENTAL_PROVIDER: "podman" };
        assert.match(
            sandbox.npmRun("destroy").said.slice(-1)[0],
            /^KIND_EXPERIMENTAL_PROVIDER=podman: kind keeps this stack's nodes in podman, where npm run up cannot see them/,
        );
        assert.deepStrictEqual(sandbox.stateUrns(), state);
        assert.ok(!sandbox.world.calls.some((call) => /^pulumi (state|destroy)/.test(call)));

        sandbox.extraEnv = {};
        sandbox.change((world) => {
            world.docker.elsewhere = [];
            world.docker.containers = nodes.map((name) => ({ name, cluster: "thanos-dev", state: "paused" }));
        });
        const paused = sandbox.npmRun("up");
        assert.strictEqual(paused.code, 0, paused.said.join("\n"));
        assert.ok(sandbox.world.calls.includes(`docker unpause ${nodes.join(" ")}`));
        assert.ok(!sandbox.world.calls.some((call) => call.startsWith("docker start")));
    });

    it("a destroy killed while Helm uninstalled a release (path 11): up installs it again; destroy finishes the job", () => {
        const interrupted = () => {
            const sandbox = new Sandbox();
            sandbox.npmRun("up");
            sandbox.change((world) => (world.interrupt = { urn: releaseUrn("kps-europe") }));
            assert.strictEqual(sandbox.npmRun("destroy").code, 137);
            assert.deepStrictEqual(
                sandbox.world.helm.filter((record) => record.name === "kps-europe").map((record) => record.status),
                ["uninstalling"],
            );
            return sandbox;
        };
        const up = interrupted();
        const { code, said } = up.npmRun("up");
        assert.strictEqual(code, 0, said.join("\n"));
        assert.ok(
            said.includes(
                'Helm release europe/kps-europe in cluster "thanos-dev" was left uninstalling by an interrupted destroy: removing it from the state so that this run installs it again.',
            ),
            said.join("\n"),
        );
        assert.deepStrictEqual(up.deployed(), allReleases());
        assert.ok(!fs.existsSync(path.join(up.project, ".pulumi-recovery")));
        const destroy = interrupted();
        assert.strictEqual(destroy.npmRun("destroy").code, 0);
        assert.deepStrictEqual([destroy.stateUrns(), destroy.world.helm, destroy.world.docker.containers], [[], [], []]);
    });

    it("a stack named organization/project/name (path 7): its settings file is found by the name alone", () => {
        const sandbox = new Sandbox();
        const { code, said } = sandbox.npmRun("up", "--stack", "organization/thanos-global-view/dev");
        assert.strictEqual(code, 0, said.join("\n"));
        assert.deepStrictEqual(sandbox.deployed(), allReleases());
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
        assert.deepStrictEqual(
            sandbox.world.calls.filter((call) => !/^(pulumi version|kind version|docker info|git --version)/.test(call)),
            [],
        );
    });

    it("a kind pre-release of a newer version passes", () => {
        const sandbox = new Sandbox({ kind: { version: "0.33.0-alpha.12+0123456789abcd" } });
        assert.strictEqual(sandbox.npmRun("up").code, 0);
    });
});

describe("npm run up and destroy on the fleet stack", () => {
    const fleetReleases = () =>
        managedReleases(readStackConfig(projectDirectory, "fleet"))
            .map((release) => `${release.namespace}/${release.name}`)
            .sort();

    it("creates both kind clusters and every release in its own cluster", () => {
        const sandbox = new Sandbox({}, "fleet");
        const { code, said } = sandbox.npmRun("up", "--stack", "fleet");
        assert.strictEqual(code, 0, said.join("\n"));
        assert.deepStrictEqual(
            sandbox.world.docker.containers.map((container) => container.name).sort(),
            [...kindNodes("fleet-europe", 2), ...kindNodes("fleet-hub", 1)].sort(),
        );
        assert.deepStrictEqual(sandbox.deployed(), fleetReleases());
        assert.deepStrictEqual(
            sandbox.world.helm.filter((record) => record.name === "kps-europe").map((record) => record.cluster),
            ["fleet-europe"],
        );
    });

    it("europe's cluster deleted by hand: up creates it again, and the global query, which depended on it, is installed again over its old record", () => {
        const sandbox = new Sandbox({}, "fleet");
        sandbox.npmRun("up", "--stack", "fleet");
        sandbox.deleteClusterByHand("fleet-europe");
        const { code, said } = sandbox.npmRun("up", "--stack", "fleet");
        assert.strictEqual(code, 0, said.join("\n"));
        assert.ok(
            said.includes('kind cluster "fleet-europe" is gone: Docker is running and has no node of it (deleted by hand, or Docker was reset).'),
            said.join("\n"),
        );
        // The hub's global query depended on europe's Services: removed from state with them, its Helm record forgotten, then installed again.
        assert.ok(
            said.includes(
                'Helm release monitoring/thanos in cluster "fleet-hub" is installed but no longer in the state (it left the state with what it depended on): forgetting Helm\'s records so this run installs it again (its objects are adopted).',
            ),
            said.join("\n"),
        );
        assert.ok(
            !sandbox.world.calls.some((call) => call.startsWith("pulumi state delete") && call.includes("fleet-hub-kind")),
            sandbox.world.calls.join("\n"),
        );
        // The verification Job depended on europe too; it still existed in the hub, under its fixed name.
        assert.ok(
            said.includes(
                'Job monitoring/global-view-check in cluster "fleet-hub" left the state with the lost cluster: deleting it so that this run creates it again.',
            ),
            said.join("\n"),
        );
        // The bucket-check Job of the hub's region stayed in the state (path 2: the clean-up no longer waits for every Job to be gone).
        assert.deepStrictEqual(
            sandbox.world.objects
                ?.filter((object) => object.kind === "Job")
                .map(({ cluster, namespace, name }) => `${cluster}:${namespace}/${name}`)
                .sort(),
            [
                "fleet-europe:europe/europe-bucket-check-5f3c2a1b",
                "fleet-hub:monitoring/global-view-check",
                "fleet-hub:united-states/united-states-bucket-check-5f3c2a1b",
            ],
        );
        // The hub's store and compactor did not depend on europe: they stayed, once each.
        assert.deepStrictEqual(
            sandbox.world.objects?.filter((object) => object.kind === "StatefulSet").map((object) => object.name),
            ["thanos-object-store", "thanos-compactor"],
        );
        assert.deepStrictEqual(sandbox.deployed(), fleetReleases());
    });

    it("the hub's cluster deleted by hand: up creates it again; europe's release, which held the hub's store address, is installed again over its old record", () => {
        const sandbox = new Sandbox({}, "fleet");
        sandbox.npmRun("up", "--stack", "fleet");
        sandbox.deleteClusterByHand("fleet-hub");
        const { code, said } = sandbox.npmRun("up", "--stack", "fleet");
        assert.strictEqual(code, 0, said.join("\n"));
        assert.ok(
            said.includes('kind cluster "fleet-hub" is gone: Docker is running and has no node of it (deleted by hand, or Docker was reset).'),
            said.join("\n"),
        );
        // Its objstore Secret depended on the hub's store: both left the state; the Secret is named by the
        // provider, so the new one is created beside the old, and Helm's records of the release are forgotten.
        assert.ok(
            said.includes(
                'Helm release europe/kps-europe in cluster "fleet-europe" is installed but no longer in the state (it left the state with what it depended on): forgetting Helm\'s records so this run installs it again (its objects are adopted).',
            ),
            said.join("\n"),
        );
        assert.ok(
            !sandbox.world.calls.some((call) => call.startsWith("pulumi state delete") && call.includes("fleet-europe-kind")),
            sandbox.world.calls.join("\n"),
        );
        // The fixed names came back in the new hub, once each.
        // An auto-named object is created beside the old one: europe's bucket check ran again under a new name.
        assert.deepStrictEqual(
            sandbox.world.objects?.map((object) => object.name.replace(/^(europe-bucket-check)-(?!5f3c2a1b)[0-9a-f]{8}$/, "$1-new")).sort(),
            [
                "europe-bucket-check-5f3c2a1b",
                "europe-bucket-check-new",
                "global-view-check",
                "thanos-compactor",
                "thanos-object-store",
                "united-states-bucket-check-5f3c2a1b",
            ],
        );
        assert.deepStrictEqual(sandbox.deployed(), fleetReleases());
    });

    it("a run that fails after removing europe's lost cluster from the state (path 3, path 9): says the cause, and the next run still forgets the global query's records and deletes the Job", () => {
        const sandbox = new Sandbox({}, "fleet");
        sandbox.npmRun("up", "--stack", "fleet");
        sandbox.deleteClusterByHand("fleet-europe");
        // The hub's API server times out once, right after the state was changed.
        const timeout =
            'E1126 12:00:01.000000    4242 memcache.go:265] "Unhandled Error" err="couldn\'t get current server API group list"\nError from server (Timeout): the server was unable to return a response in the time allotted';
        sandbox.change(
            (world) =>
                (world.failures = [{ call: "kubectl --context kind-fleet-hub --namespace monitoring get job.batch/global-view-check", stderr: timeout }]),
        );
        const failed = sandbox.npmRun("up", "--stack", "fleet");
        assert.deepStrictEqual(
            [failed.code, failed.said.slice(-1)],
            [
                1,
                [
                    'Could not look for Job monitoring/global-view-check in cluster "fleet-hub": kubectl failed: Error from server (Timeout): the server was unable to return a response in the time allotted',
                ],
            ],
        );
        assert.ok(!sandbox.stateUrns().includes(releaseUrn("thanos").replace(":dev::", ":fleet::")));
        const { code, said } = sandbox.npmRun("up", "--stack", "fleet");
        assert.strictEqual(code, 0, said.join("\n"));
        assert.ok(
            said.includes(
                'Job monitoring/global-view-check in cluster "fleet-hub" left the state with the lost cluster: deleting it so that this run creates it again.',
            ),
            said.join("\n"),
        );
        assert.ok(
            said.includes(
                'Helm release monitoring/thanos in cluster "fleet-hub" is installed but no longer in the state (it left the state with what it depended on): forgetting Helm\'s records so this run installs it again (its objects are adopted).',
            ),
            said.join("\n"),
        );
        assert.deepStrictEqual(sandbox.deployed(), fleetReleases());
        assert.ok(!fs.existsSync(path.join(sandbox.project, ".pulumi-recovery")));
    });

    it("destroy removes both clusters", () => {
        const sandbox = new Sandbox({}, "fleet");
        sandbox.npmRun("up", "--stack", "fleet");
        const { code, said } = sandbox.npmRun("destroy", "--stack", "fleet");
        assert.strictEqual(code, 0, said.join("\n"));
        assert.deepStrictEqual(sandbox.world.docker.containers, []);
    });
});
