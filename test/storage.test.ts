// Long-term storage (issue 12): the setting, the objstore config each kind of
// bucket gets, what the program creates for it under mocks (fleet: the
// in-cluster store; prod: an S3 bucket), the flags every supported Thanos
// must accept, and the proof the verification adds.
import * as assert from "assert";
import * as yaml from "js-yaml";
import { compactorArgs } from "../components/compactor";
import { objectStoreArgs } from "../components/objectStore";
import { storeGatewayArgs } from "../components/storeGateway";
import { StackConfigError, parseStackConfig } from "../lib/config/validate";
import { objstoreConfig } from "../lib/thanos/objectStorage";
import { LongTermStorage, defaults } from "../lib/config/schema";
import { readStackConfig } from "../lib/config/stackFile";
import { verificationChecks, verificationPlan } from "../lib/verification/checks";
import { bucketCheckArgs } from "../lib/thanos/workload";
import { ProgramRun, exampleSecrets, key, project, projectDirectory, runStack } from "./harness";
import { restrictedViolations, unsizedContainers } from "./podSecurityStandard";
import { refused, supportedReleases, thanosFlags } from "./thanosFlags";

const secret = "kubernetes:core/v1:Secret";
const service = "kubernetes:core/v1:Service";
const statefulSet = "kubernetes:apps/v1:StatefulSet";
const deployment = "kubernetes:apps/v1:Deployment";
const release = "kubernetes:helm.sh/v3:Release";

/** The settings of a one-cluster stack with `storage` set, parsed; `secrets` are secret settings. */
function parseWith(storage: unknown, secrets: Record<string, string> = {}, edit: (raw: Record<string, any>) => void = () => undefined) {
    const raw: Record<string, any> = {
        clusters: [{ name: "lab", type: "kind" }],
        regions: [{ name: "europe", cluster: "lab" }],
        globalQuery: { cluster: "lab" },
        storage,
        ...secrets,
    };
    edit(raw);
    return parseStackConfig(project, {
        values: Object.fromEntries(Object.entries(raw).map(([name, value]) => [key(name), value])),
        secretKeys: new Set(Object.keys(secrets).map(key)),
    });
}

function problemsWith(storage: unknown, secrets: Record<string, string> = {}, edit?: (raw: Record<string, any>) => void): string[] {
    try {
        parseWith(storage, secrets, edit);
    } catch (error) {
        assert.ok(error instanceof StackConfigError, String(error));
        return [...error.problems];
    }
    return assert.fail("accepted");
}

const accessKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const s3 = {
    type: "s3",
    bucket: "metrics-archive",
    endpoint: "s3.eu-west-1.amazonaws.com",
    accessKeyId: "AKIAIOSFODNN7EXAMPLE",
    credentialsSecret: "bucketKey",
};

describe("long-term storage: the setting", () => {
    it("is off unless set: dev keeps 10d in Prometheus and runs none of it", async () => {
        const config = readStackConfig(projectDirectory, "dev");
        assert.deepStrictEqual(config.storage, { type: "none" });
        assert.deepStrictEqual(
            config.regions.map((region) => region.retention),
            ["2d", "2d"],
        );
        assert.strictEqual(parseWith({ type: "none" }).regions[0].retention, "10d");
        const run = await runStack("dev");
        // Only the alerting tier's workloads and the query cache: none of long-term storage.
        assert.deepStrictEqual(
            [statefulSet, deployment].flatMap((type) => run.ofType(type)).map((workload) => workload.name),
            ["global-alerting-alertmanager", "global-alerting-ruler", "query-cache"],
        );
        assert.ok(!run.ofType(secret).some((resource) => resource.name.endsWith("objstore")));
        assert.strictEqual(run.one(release, "europe").inputs.values.prometheus.prometheusSpec.thanos.objectStorageConfig, undefined);
    });

    it("inCluster: production defaults for everything it does not say", () => {
        const config = parseWith({ type: "inCluster" });
        assert.deepStrictEqual(config.storage, {
            type: "inCluster",
            namespace: "object-store",
            volumeSize: "20Gi",
            retention: { raw: "30d", fiveMinutes: "90d", oneHour: "1y" },
            downsampling: true,
            storeGateway: defaults.storage.storeGateway,
            compactor: defaults.storage.compactor,
        });
        assert.strictEqual(defaults.storage.storeGateway.replicas, 2);
        // Prometheus keeps what a bucket outage could keep from being uploaded; the bucket keeps the rest.
        assert.strictEqual(config.regions[0].retention, "3d");
        assert.strictEqual(parseWith({ type: "inCluster" }, {}, (raw) => (raw.regions[0].retention = "7d")).regions[0].retention, "7d");
    });

    it("retention below what downsampling needs is refused, as Thanos refuses it at start (compact.go:415-423 at v0.42.4)", () => {
        assert.deepStrictEqual(problemsWith({ type: "inCluster", retention: { raw: "36h", fiveMinutes: "7d" } }), [
            'thanos-global-view:storage.retention.raw: got "36h"; at least 40h (or 0, forever) while downsampling is on: Thanos refuses to start, since blocks would be deleted before they are downsampled; raise it or set downsampling: false',
            'thanos-global-view:storage.retention.fiveMinutes: got "7d"; at least 10d (or 0, forever) while downsampling is on: Thanos refuses to start, since blocks would be deleted before they are downsampled; raise it or set downsampling: false',
        ]);
        // The boundary is allowed (Thanos compares with <), 0 keeps forever, and without downsampling anything goes.
        for (const storage of [
            { raw: "40h", fiveMinutes: "10d" },
            { raw: "0", fiveMinutes: "0d" },
        ]) {
            assert.doesNotThrow(() => parseWith({ type: "inCluster", retention: storage }));
        }
        assert.doesNotThrow(() => parseWith({ type: "inCluster", downsampling: false, retention: { raw: "36h", fiveMinutes: "7d" } }));
        assert.deepStrictEqual(problemsWith({ type: "inCluster", retention: { oneHour: "1 year" } }), [
            'thanos-global-view:storage.retention.oneHour: got "1 year"; expected a Prometheus duration such as 30d, 52w or 1y, or 0 to keep forever',
        ]);
    });

    it("a bucket's credentials come from a secret setting: missing, in plain text, or malformed, each refused without showing it", () => {
        assert.deepStrictEqual(problemsWith(s3), [
            "thanos-global-view:bucketKey: missing; storage.credentialsSecret names it: set it with `pulumi config set --secret bucketKey <secret access key>`",
        ]);
        const plain = problemsWith(s3, {}, (raw) => (raw.bucketKey = accessKey));
        assert.deepStrictEqual(plain, [
            "thanos-global-view:bucketKey: holds an S3 secret access key in plain text: store it encrypted, with `pulumi config set --secret bucketKey <secret access key>`",
        ]);
        const gcs = problemsWith(
            { type: "gcs", bucket: "metrics-archive", credentialsSecret: "gcsKey" },
            { gcsKey: '{"type": "authorized_user", "refresh_token": "1//0gSECRET"}' },
        );
        assert.deepStrictEqual(gcs, [
            'thanos-global-view:gcsKey: got a secret value; expected a service account key: the whole JSON file, with "type": "service_account" and its private_key, as `pulumi config set --secret gcsKey "$(cat service-account.json)"` stores it',
        ]);
        const azure = problemsWith(
            { type: "azure", storageAccount: "metrics", container: "blocks", credentialsSecret: "azureKey" },
            { azureKey: "key with spaces" },
        );
        assert.deepStrictEqual(azure, [
            "thanos-global-view:azureKey: got a secret value; expected the storage account key alone (base64, as the portal or `az storage account keys list` shows it), as `pulumi config set --secret azureKey <storage account key>` stores it",
        ]);
        for (const problems of [plain, gcs, azure]) {
            assert.ok(!problems.some((problem) => /wJalr|1\/\/0gSECRET|key with spaces/.test(problem)), problems.join("\n"));
        }
        assert.doesNotThrow(() => parseWith(s3, { bucketKey: accessKey }));
    });

    it("an unknown kind, a misspelt key, and an S3 endpoint with a scheme are each named", () => {
        assert.deepStrictEqual(problemsWith({ type: "minio" }), [
            'thanos-global-view:storage.type: got "minio"; expected one of none, inCluster, s3, gcs, azure',
        ]);
        assert.deepStrictEqual(problemsWith({ type: "inCluster", storeGateway: { replica: 3 } }), [
            'thanos-global-view:storage.storeGateway.replica: unknown setting (did you mean "replicas"?); valid here: replicas, resources',
        ]);
        assert.deepStrictEqual(problemsWith({ ...s3, endpoint: "https://s3.amazonaws.com" }, { bucketKey: accessKey }), [
            'thanos-global-view:storage.endpoint: got "https://s3.amazonaws.com"; expected host or host:port, without https://',
        ]);
    });

    it("the in-cluster store serves kind fleets only: a region in an existing cluster could not upload to it", () => {
        const problems = problemsWith({ type: "inCluster" }, {}, (raw) => {
            raw.clusters.push({ name: "eu", type: "existing", context: "eu-admin", storeApiExposure: "loadBalancer", loadBalancer: { cloud: "aws" } });
            raw.regions.push({ name: "asia", cluster: "eu" });
        });
        assert.deepStrictEqual(problems, [
            'thanos-global-view:storage.type: got "inCluster"; the in-cluster store runs in "lab" and the sidecars of "asia" (cluster "eu") could not upload to it: only kind clusters reach each other\'s nodes; use an existing bucket (s3, gcs or azure)',
        ]);
    });

    it("the in-cluster store needs a namespace of its own", () => {
        assert.deepStrictEqual(problemsWith({ type: "inCluster", namespace: "europe" }), [
            'thanos-global-view:storage.namespace: got "europe"; already the namespace of region "europe": the store needs a namespace of its own',
        ]);
        assert.deepStrictEqual(
            problemsWith({ type: "inCluster" }, {}, (raw) => (raw.globalQuery.namespace = "object-store")),
            [
                'thanos-global-view:storage.namespace: "object-store", the default, is already the global query\'s namespace: the store needs a namespace of its own',
            ],
        );
    });
});

describe("long-term storage: the objstore config of each kind of bucket", () => {
    const storage = (settings: Record<string, unknown>, credential = accessKey) =>
        parseWith(settings, "credentialsSecret" in settings ? { bucketKey: credential } : {}).storage as LongTermStorage;
    /** Keys each provider declares (objstore client/factory.go:48 and providers/*: s3.go:117-131, gcs.go:42-43, azure.go:49-56 at d1dd89d41f97; the same at 71d60dfee488). */
    const known: Record<string, string[]> = {
        S3: ["bucket", "endpoint", "region", "access_key", "insecure", "secret_key", "bucket_lookup_type"],
        GCS: ["bucket", "service_account"],
        AZURE: ["storage_account", "storage_account_key", "container"],
    };
    const read = (text: string) => {
        const config = yaml.load(text) as { type: string; config: Record<string, unknown>; prefix: string };
        assert.deepStrictEqual(Object.keys(config).sort(), ["config", "prefix", "type"]);
        assert.deepStrictEqual(
            Object.keys(config.config).filter((name) => !known[config.type].includes(name)),
            [],
        );
        return config;
    };

    it("in-cluster: plain HTTP and path-style to SeaweedFS, the generated key, the stack's prefix", () => {
        assert.deepStrictEqual(
            read(
                objstoreConfig(storage({ type: "inCluster" }), {
                    credential: "generated",
                    endpoint: "fleet-hub-control-plane:31000",
                    prefix: "thanos-global-view/fleet",
                }),
            ),
            {
                type: "S3",
                config: {
                    bucket: "thanos",
                    endpoint: "fleet-hub-control-plane:31000",
                    region: "us-east-1",
                    insecure: true,
                    bucket_lookup_type: "path",
                    access_key: "thanos",
                    secret_key: "generated",
                },
                prefix: "thanos-global-view/fleet",
            },
        );
    });

    it("S3, GCS and Azure: the bucket the stack names, the credential from its secret setting", () => {
        assert.deepStrictEqual(read(objstoreConfig(storage({ ...s3, region: "eu-west-1" }), { credential: accessKey, prefix: "p" })).config, {
            bucket: "metrics-archive",
            endpoint: "s3.eu-west-1.amazonaws.com",
            region: "eu-west-1",
            access_key: "AKIAIOSFODNN7EXAMPLE",
            secret_key: accessKey,
        });
        // An S3-compatible store of your own: plain HTTP and path-style, when asked for.
        assert.deepStrictEqual(
            read(objstoreConfig(storage({ ...s3, endpoint: "ceph-rgw.storage:7480", insecure: true, pathStyle: true }), { credential: accessKey, prefix: "p" }))
                .config,
            {
                bucket: "metrics-archive",
                endpoint: "ceph-rgw.storage:7480",
                access_key: "AKIAIOSFODNN7EXAMPLE",
                secret_key: accessKey,
                insecure: true,
                bucket_lookup_type: "path",
            },
        );
        const serviceAccount = JSON.stringify(
            {
                type: "service_account",
                client_email: "thanos@p.iam.gserviceaccount.com",
                private_key: "-----BEGIN PRIVATE KEY-----\nMII\n-----END PRIVATE KEY-----\n",
            },
            null,
            2,
        );
        const gcs = read(
            objstoreConfig(storage({ type: "gcs", bucket: "metrics-archive", credentialsSecret: "bucketKey" }, serviceAccount), {
                credential: serviceAccount,
                prefix: "p",
            }),
        );
        // The key file's line breaks survive YAML.
        assert.deepStrictEqual(gcs, { type: "GCS", config: { bucket: "metrics-archive", service_account: serviceAccount }, prefix: "p" });
        assert.deepStrictEqual(
            read(
                objstoreConfig(storage({ type: "azure", storageAccount: "metrics", container: "blocks", credentialsSecret: "bucketKey" }, "a2V5"), {
                    credential: "a2V5",
                    prefix: "p",
                }),
            ),
            {
                type: "AZURE",
                config: { storage_account: "metrics", storage_account_key: "a2V5", container: "blocks" },
                prefix: "p",
            },
        );
    });
});

describe("long-term storage on the fleet stack: in-cluster store, gateway, compactor, uploads", () => {
    let run: ProgramRun;
    before(async () => {
        run = await runStack("fleet");
    });
    const objstoreOf = (name: string) =>
        yaml.load(run.one(secret, name).inputs.stringData["objstore.yml"]) as { config: Record<string, unknown>; prefix: string };
    const generatedKey = () => run.one("random:index/randomPassword:RandomPassword", "object-store-secret-key");

    it("exactly one compactor: a StatefulSet of one replica whose fixed pod name the namespace can hold once, never two", () => {
        const compactors = [...run.ofType(statefulSet), ...run.ofType(deployment)].filter(
            (r) => r.inputs.metadata.labels?.["app.kubernetes.io/component"] === "compactor",
        );
        assert.strictEqual(compactors.length, 1);
        const [compactor] = compactors;
        assert.deepStrictEqual([compactor.type, compactor.inputs.metadata.name, compactor.inputs.spec.replicas], [statefulSet, "thanos-compactor", 1]);
        // A new volume size or namespace replaces a StatefulSet (diff.go:196-203); the provider deletes first only when
        // name and namespace stay (provider.go:1645-1660): the program asks for it always.
        assert.strictEqual(compactor.deleteBeforeReplace, true);
        assert.deepStrictEqual(compactor.inputs.spec.volumeClaimTemplates, [
            {
                metadata: { name: "data" },
                spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "20Gi" } } },
            },
        ]);
        // One stack, one compactor, and its own prefix in the bucket: another stack on the same bucket has its own.
        assert.strictEqual(objstoreOf("compactor-objstore").prefix, "organization/thanos-global-view/test");
        assert.strictEqual((run.exports.longTermStorage as { bucketPrefix: string }).bucketPrefix, "organization/thanos-global-view/test");
        assert.ok(compactor.inputs.spec.template.spec.containers[0].args.includes("--wait"));
    });

    it("a Store Gateway of 2 replicas, kept available through drains, reached by DNS SRV like the sidecars", () => {
        const gateway = run.one(deployment, "store-gateway");
        assert.strictEqual(gateway.inputs.spec.replicas, 2);
        assert.deepStrictEqual(run.one("kubernetes:policy/v1:PodDisruptionBudget", "store-gateway").inputs.spec, {
            minAvailable: 1,
            selector: gateway.inputs.spec.selector,
        });
        const headless = run.one(service, "store-gateway").inputs;
        assert.deepStrictEqual(
            [headless.metadata.name, headless.metadata.namespace, headless.spec.clusterIP, headless.spec.selector],
            ["thanos-store-gateway", "monitoring", "None", gateway.inputs.spec.selector.matchLabels],
        );
        assert.deepStrictEqual(headless.spec.ports[0], { name: "grpc", port: 10901, targetPort: "grpc" });
        const endpoints = JSON.parse(run.one(release, "global").inputs.values.query.extraArgs[0].replace("--endpoint.sd-config=", "")).endpoints.map(
            (e: { address: string }) => e.address,
        );
        assert.ok(endpoints.includes(`dnssrv+_grpc._tcp.${headless.metadata.name}.${headless.metadata.namespace}.svc.cluster.local`), endpoints.join(" "));
        // The gateway adds no replica label of its own: the regions' and the Ruler pair's only.
        assert.deepStrictEqual(run.one(release, "global").inputs.values.query.replicaLabels, ["replica", "rule_replica"]);
        assert.deepStrictEqual((run.exports.longTermStorage as { storeGatewayEndpoints: string[] }).storeGatewayEndpoints, [
            "dnssrv+_grpc._tcp.thanos-store-gateway.monitoring.svc.cluster.local",
        ]);
    });

    it("serves the StoreAPI with mutual TLS, like every sidecar of a fleet: its own server certificate from the one CA", () => {
        const tls = run.one(secret, "store-gateway-tls");
        assert.strictEqual(tls.inputs.stringData["tls.crt"], "-----BEGIN CERTIFICATE-----\nstoreapi-store-gateway\n-----END CERTIFICATE-----\n");
        assert.strictEqual(tls.inputs.stringData["ca.crt"], "-----BEGIN CERTIFICATE-----\nstoreapi-ca\n-----END CERTIFICATE-----\n");
        assert.deepStrictEqual(run.one("tls:index/certRequest:CertRequest", "storeapi-store-gateway").inputs.dnsNames, [
            "storeapi.thanos-global-view.internal",
        ]);
        const pod = run.one(deployment, "store-gateway").inputs.spec.template.spec;
        assert.deepStrictEqual(
            pod.containers[0].args.filter((arg: string) => arg.startsWith("--grpc-server-tls")),
            [
                "--grpc-server-tls-cert=/etc/thanos/tls/tls.crt",
                "--grpc-server-tls-key=/etc/thanos/tls/tls.key",
                "--grpc-server-tls-client-ca=/etc/thanos/tls/ca.crt",
            ],
        );
        assert.deepStrictEqual(
            pod.volumes.find((volume: { name: string }) => volume.name === "tls"),
            { name: "tls", secret: { secretName: "store-gateway-tls-x7k2p9" } },
        );
    });

    it("every sidecar uploads: the Prometheus CR points at the Secret in its namespace, whose endpoint that cluster reaches", () => {
        const store = run.one(service, "object-store");
        assert.deepStrictEqual(
            [store.inputs.metadata.name, store.inputs.metadata.namespace, store.inputs.spec.type],
            ["thanos-object-store", "object-store", "NodePort"],
        );
        const nodePort = run.one(service, "object-store").inputs.spec.ports[0];
        for (const region of ["europe", "united-states"]) {
            const written = run.one(secret, `${region}-objstore`);
            // Named by the provider: a copy left behind when the hub's loss takes it out of the state never blocks the next one.
            assert.deepStrictEqual(written.inputs.metadata, { namespace: region });
            assert.deepStrictEqual(written.secretInputs, ["stringData"]);
            const thanos = run.one(release, region).inputs.values.prometheus.prometheusSpec.thanos;
            assert.deepStrictEqual(thanos.objectStorageConfig, { existingSecret: { name: `${region}-objstore-x7k2p9`, key: "objstore.yml" } });
            assert.ok(run.one(release, region).dependencies.includes(written.urn));
            // Only a digest of the config reaches the values (a restart on change): they stay readable in a diff.
            assert.deepStrictEqual(run.one(release, region).secretInputs, []);
        }
        // The hub's own region by the Service's DNS name; europe, in another kind cluster, through the hub's NodePort.
        assert.strictEqual(objstoreOf("united-states-objstore").config.endpoint, "thanos-object-store.object-store.svc.cluster.local:8333");
        assert.match(objstoreOf("europe-objstore").config.endpoint as string, /^fleet-hub-control-plane:3\d{4}$/);
        assert.strictEqual(nodePort.port, 8333);
        // Every reader signs with the identity the store was started with.
        const identity = run.one(secret, "object-store-credentials").inputs.stringData;
        assert.strictEqual(identity.AWS_ACCESS_KEY_ID, "thanos");
        for (const name of ["europe-objstore", "united-states-objstore", "store-gateway-objstore", "compactor-objstore"]) {
            assert.deepStrictEqual([objstoreOf(name).config.access_key, objstoreOf(name).config.secret_key], ["thanos", identity.AWS_SECRET_ACCESS_KEY], name);
        }
        assert.strictEqual(generatedKey().inputs.length, 40);
    });

    it("the in-cluster store: pinned SeaweedFS, its generated key only in Secrets, a volume kept across a replacement, restricted", () => {
        const store = run.one(statefulSet, "object-store");
        const pod = store.inputs.spec.template.spec;
        assert.deepStrictEqual([store.inputs.metadata.name, store.inputs.spec.replicas, store.deleteBeforeReplace], ["thanos-object-store", 1, true]);
        assert.deepStrictEqual(store.inputs.spec.persistentVolumeClaimRetentionPolicy, { whenDeleted: "Retain", whenScaled: "Retain" });
        assert.deepStrictEqual(
            [pod.containers[0].image, pod.containers[0].command, pod.containers[0].args],
            ["docker.io/chrislusf/seaweedfs:4.44", ["/usr/bin/weed"], objectStoreArgs()],
        );
        assert.deepStrictEqual(objectStoreArgs().slice(0, 2), ["-logtostderr=true", "mini"]);
        assert.deepStrictEqual(
            pod.containers[0].env.map((env: { name: string; value?: string; valueFrom?: object }) => [env.name, env.value ?? Boolean(env.valueFrom)]),
            [
                ["AWS_ACCESS_KEY_ID", true],
                ["AWS_SECRET_ACCESS_KEY", true],
                ["GOMEMLIMIT", "819MiB"],
            ],
        );
        // Ready once the bucket exists, not merely once S3 answers (Thanos' own e2e learnt the same, thanos-io/thanos#9037).
        assert.deepStrictEqual(pod.containers[0].readinessProbe.exec.command, [
            "wget",
            "-q",
            "-O",
            "/dev/null",
            "http://127.0.0.1:8888/buckets/thanos?metadata=true",
        ]);
        // Only S3, which checks credentials, is let in; the filer, volume and master ports are not.
        assert.deepStrictEqual(run.one("kubernetes:networking.k8s.io/v1:NetworkPolicy", "object-store").inputs.spec, {
            podSelector: { matchLabels: store.inputs.spec.selector.matchLabels },
            policyTypes: ["Ingress"],
            ingress: [{ ports: [{ protocol: "TCP", port: 8333 }] }],
        });
        assert.deepStrictEqual(pod.securityContext, {
            runAsNonRoot: true,
            runAsUser: 1000,
            runAsGroup: 1000,
            fsGroup: 1000,
            seccompProfile: { type: "RuntimeDefault" },
        });
        // The key appears nowhere but in Secrets: not in a pod spec, not in a Helm value.
        const key = objstoreOf("compactor-objstore").config.secret_key as string;
        assert.strictEqual(key.length, 40);
        const holders = run.resources
            .filter((r) => JSON.stringify(r.inputs).includes(key))
            .map((r) => `${r.type.split(":").pop()}/${r.name}`)
            .sort();
        assert.deepStrictEqual(holders, [
            "Secret/compactor-objstore",
            "Secret/europe-objstore",
            "Secret/object-store-credentials",
            "Secret/store-gateway-objstore",
            "Secret/united-states-objstore",
        ]);
        assert.ok(run.resources.filter((r) => r.type === secret && JSON.stringify(r.inputs).includes(key)).every((r) => r.secretInputs.includes("stringData")));
        assert.deepStrictEqual(
            [run.one(deployment, "store-gateway"), run.one(statefulSet, "compactor"), store].map((r) => r.secretInputs),
            [[], [], []],
        );
    });

    it("every pod of every workload the program builds itself is sized and meets `restricted`, in namespaces that enforce it", () => {
        const workloads = ["kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:batch/v1:Job"].flatMap((type) => run.ofType(type));
        assert.deepStrictEqual(workloads.map((workload) => workload.name).sort(), [
            "compactor",
            "europe-bucket-check",
            "global-alerting-alertmanager",
            "global-alerting-ruler",
            "global-view",
            "object-store",
            "query-cache",
            "store-gateway",
            "united-states-bucket-check",
        ]);
        for (const workload of workloads) {
            const spec = workload.inputs.spec.template.spec;
            assert.deepStrictEqual(restrictedViolations(spec), [], workload.name);
            assert.deepStrictEqual(unsizedContainers(spec), [], workload.name);
        }
        assert.strictEqual(run.one("kubernetes:core/v1:Namespace", "object-store").inputs.metadata.labels["pod-security.kubernetes.io/enforce"], "restricted");
    });

    it("the gateway and the compactor start after the store answers, and the verification waits for both", () => {
        const store = run.one(statefulSet, "object-store");
        assert.ok(run.one(deployment, "store-gateway").dependencies.includes(store.urn));
        assert.ok(run.one(statefulSet, "compactor").dependencies.includes(store.urn));
        const job = run.one("kubernetes:batch/v1:Job", "global-view");
        for (const workload of [run.one(deployment, "store-gateway"), run.one(statefulSet, "compactor")]) {
            assert.ok(job.dependencies.includes(workload.urn), workload.name);
        }
        // A new generation of either runs the proof again.
        const revisions = job.inputs.spec.template.spec.containers[0].env.find((env: { name: string }) => env.name === "DEPLOYED_REVISIONS").value;
        assert.match(revisions, /,store-gateway-x7k2p9=1,thanos-compactor=1,thanos-rule=1$/);
    });

    it("every region alerts on its sidecars' failing uploads; the one scraping the global tier also on a halted compactor", () => {
        const alerts = (region: string) =>
            run
                .one(release, region)
                .inputs.values.additionalPrometheusRulesMap["long-term-storage"].groups.flatMap((group: { rules: { alert: string; expr: string }[] }) =>
                    group.rules.map((rule) => [rule.alert, rule.expr]),
                );
        assert.deepStrictEqual(alerts("europe"), [
            [
                "ThanosSidecarUploadsFailing",
                'sum by (pod) (rate(thanos_shipper_upload_failures_total{namespace="europe", container="thanos-sidecar"}[5m])) > 0',
            ],
            [
                "ThanosSidecarBucketOperationsFailing",
                'sum by (pod, operation) (rate(thanos_objstore_bucket_operation_failures_total{namespace="europe", container="thanos-sidecar"}[5m])) > 0',
            ],
        ]);
        assert.deepStrictEqual(alerts("united-states").slice(2), [
            ["ThanosCompactorHalted", 'max(thanos_compact_halted{namespace="monitoring"}) == 1'],
            [
                "ThanosBucketOperationsFailing",
                'sum by (job, operation) (rate(thanos_objstore_bucket_operation_failures_total{namespace="monitoring"}[5m])) > 0',
            ],
        ]);
        const monitors = run.one(release, "united-states").inputs.values.prometheus.additionalServiceMonitors.map((monitor: { name: string }) => monitor.name);
        assert.deepStrictEqual(monitors.slice(-4, -2), ["global-thanos-store-gateway", "global-thanos-compactor"]);
    });

    it("every region lists the bucket from its own namespace with its sidecars' config, failing the deploy when it cannot: europe through the hub's NodePort", () => {
        for (const region of ["europe", "united-states"]) {
            const check = run.one("kubernetes:batch/v1:Job", `${region}-bucket-check`);
            const pod = check.inputs.spec.template.spec;
            assert.deepStrictEqual(pod.containers[0].args, ["tools", "bucket", "ls", "--objstore.config-file=/etc/thanos/objstore/objstore.yml"]);
            // The very Secret the Prometheus CR hands the sidecar.
            const existingSecret = run.one(release, region).inputs.values.prometheus.prometheusSpec.thanos.objectStorageConfig.existingSecret.name;
            assert.deepStrictEqual(pod.volumes, [{ name: "objstore", secret: { secretName: existingSecret } }]);
            assert.strictEqual(check.inputs.metadata.namespace, region);
            assert.deepStrictEqual([check.inputs.spec.backoffLimit, check.inputs.spec.activeDeadlineSeconds, check.customTimeouts.create], [6, 720, "780s"]);
            // After the store answers, wherever it runs.
            assert.ok(check.dependencies.includes(run.one(statefulSet, "object-store").urn), region);
        }
        assert.strictEqual(run.one("kubernetes:batch/v1:Job", "europe-bucket-check").provider, run.one(release, "europe").provider);
    });

    it("Grafana gets a fourth dashboard, for the bucket and its users", () => {
        const data = run.one("kubernetes:core/v1:ConfigMap", "grafana-dashboards").inputs.data as Record<string, string>;
        assert.deepStrictEqual(Object.keys(data).sort(), [
            "global-alerts.json",
            "global-view.json",
            "kubernetes-resources.json",
            "long-term-storage.json",
            "query-path.json",
        ]);
        const panels = JSON.parse(data["long-term-storage.json"]).panels.map((panel: { title: string }) => panel.title);
        assert.deepStrictEqual(panels.slice(0, 2), ["Compactor halted", "Store Gateways each querier is connected to"]);
    });

    it("the proof adds: the gateway connected to every querier, the bucket reached, the compactor not halted, every sidecar with its bucket", () => {
        const checks = verificationChecks(verificationPlan(readStackConfig(projectDirectory, "fleet")));
        const storage = checks.filter(
            (check) => check.query.includes("thanos_store_nodes") || check.query.includes("thanos_objstore") || check.query.includes("thanos_compact"),
        );
        assert.deepStrictEqual(
            storage.map((check) => [check.region, check.query, check.expect]),
            [
                [
                    undefined,
                    'sum by (pod) (thanos_store_nodes_grpc_connections{namespace="monitoring",job="thanos-query-http",store_type="store"})',
                    { kind: "everyValue", value: 2, samples: 2 },
                ],
                [
                    undefined,
                    'sum by (pod) (increase(thanos_objstore_bucket_operation_failures_total{namespace="monitoring",job=~"thanos-store-gateway|thanos-compactor"}[3m]))',
                    { kind: "everyValue", value: 0, samples: 3 },
                ],
                [
                    undefined,
                    'max by (pod) (thanos_compact_halted{namespace="monitoring",job="thanos-compactor"})',
                    { kind: "everyValue", value: 0, samples: 1 },
                ],
                [
                    "europe",
                    'sum by (pod) (increase(thanos_objstore_bucket_operation_failures_total{cluster="europe",container="thanos-sidecar"}[3m]))',
                    { kind: "everyValue", value: 0, samples: 2 },
                ],
                [
                    "united-states",
                    'sum by (pod) (increase(thanos_objstore_bucket_operation_failures_total{cluster="united-states",container="thanos-sidecar"}[3m]))',
                    { kind: "everyValue", value: 0, samples: 1 },
                ],
            ],
        );
    });
});

describe("long-term storage: flags every supported Thanos accepts", () => {
    const inCluster = parseWith({ type: "inCluster" }).storage as LongTermStorage;

    it("the Store Gateway and the compactor as built, with TLS and without, at v0.37.0, v0.41.0 and v0.42.4", () => {
        for (const version of supportedReleases) {
            const { store, compact } = thanosFlags[version];
            for (const tls of [false, true]) {
                const [command, ...flags] = storeGatewayArgs("1Gi", tls);
                assert.strictEqual(command, "store");
                assert.deepStrictEqual(refused(flags, store), [], `${version} store tls=${tls}`);
            }
            for (const downsampling of [true, false]) {
                const [command, ...flags] = compactorArgs({ ...inCluster, downsampling });
                assert.strictEqual(command, "compact");
                assert.deepStrictEqual(refused(flags, compact), [], `${version} compact`);
            }
        }
    });

    it("the bucket check: `tools bucket ls` with the objstore config, at every supported release", () => {
        for (const version of supportedReleases) {
            const [tools, bucket, ls, ...flags] = bucketCheckArgs();
            assert.deepStrictEqual([tools, bucket, ls], ["tools", "bucket", "ls"]);
            assert.deepStrictEqual(refused(flags, thanosFlags[version].bucketLs), [], version);
        }
    });

    it("values are what Thanos parses: memory pools in base-2 units within the limit, retention as model durations", () => {
        assert.deepStrictEqual(
            storeGatewayArgs("1Gi", false).filter((arg) => /cache-size|pool-size/.test(arg)),
            ["--index-cache-size=128MB", "--chunk-pool-size=256MB"],
        );
        assert.deepStrictEqual(
            compactorArgs({ ...inCluster, retention: { raw: "0", fiveMinutes: "90d", oneHour: "1y" } }).filter((arg) => arg.startsWith("--retention")),
            ["--retention.resolution-raw=0d", "--retention.resolution-5m=90d", "--retention.resolution-1h=1y"],
        );
        assert.ok(compactorArgs({ ...inCluster, downsampling: false }).includes("--downsampling.disable"));
        assert.ok(!compactorArgs(inCluster).includes("--downsampling.disable"));
    });

    it("the banzaicloud chart's compactor, as its template renders it (compact-deployment.yaml:51-64 at 51352f61), is refused by every supported Thanos", () => {
        const chartCompactor = [
            "--log.level=info",
            "--log.format=logfmt",
            "--http-address=0.0.0.0:10902",
            "--objstore.config-file=/etc/config/object-store.yaml",
            "--data-dir=/var/thanos/compact",
            "--consistency-delay=30m",
            "--retention.resolution-raw=30d",
            "--retention.resolution-5m=120d",
            "--retention.resolution-1h=1y",
            "--block-sync-concurrency=20",
            "--compact.concurrency=1",
            "--wait",
        ];
        for (const version of supportedReleases) {
            assert.deepStrictEqual(refused(chartCompactor, thanosFlags[version].compact), ["unknown flag --block-sync-concurrency"], version);
        }
    });
});

describe("long-term storage on prod: an existing S3 bucket", () => {
    it("uploads with the access key the stack names and the secret key from its secret setting; no in-cluster store", async () => {
        const run = await runStack("prod");
        assert.deepStrictEqual(
            run.ofType(statefulSet).map((r) => r.name),
            ["global-alerting-alertmanager", "global-alerting-ruler", "compactor"],
        );
        const config = yaml.load(run.one(secret, "eu-west-objstore").inputs.stringData["objstore.yml"]);
        assert.deepStrictEqual(config, {
            type: "S3",
            config: {
                bucket: "example-thanos-blocks",
                endpoint: "s3.eu-west-1.amazonaws.com",
                region: "eu-west-1",
                access_key: "AKIAIOSFODNN7EXAMPLE",
                secret_key: exampleSecrets.prod[key("bucketSecretKey")],
            },
            prefix: "organization/thanos-global-view/test",
        });
        assert.deepStrictEqual(run.one(statefulSet, "compactor").inputs.spec.volumeClaimTemplates[0].spec.resources.requests, { storage: "100Gi" });
        // Every StoreAPI stays in-cluster: no TLS for the gateway.
        assert.ok(
            !run.one(deployment, "store-gateway").inputs.spec.template.spec.containers[0].args.some((arg: string) => arg.startsWith("--grpc-server-tls")),
        );
    });
});
