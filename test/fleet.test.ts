// The fleet stack: regions in several clusters behind one global view, every
// replica of a remote region reached on its own address, every StoreAPI
// connection mutual TLS.
import * as assert from "assert";
import { createHash } from "crypto";
import { kindClusterMemoryBytes } from "../lib/kubernetes/podResources";
import { readStackConfig } from "../lib/config/stackFile";
import { verificationChecks, verificationPlan } from "../lib/verification/checks";
import { ProgramRun, key, projectDirectory, runStack } from "./harness";

const release = "kubernetes:helm.sh/v3:Release";
const service = "kubernetes:core/v1:Service";
const secret = "kubernetes:core/v1:Secret";
const pem = (kind: string, name: string) => `-----BEGIN ${kind}-----\n${name}\n-----END ${kind}-----\n`;
const queryExtraArgs = (run: ProgramRun) => run.one(release, "global").inputs.values.query.extraArgs as string[];
const sdConfig = (run: ProgramRun) => JSON.parse(queryExtraArgs(run)[0].replace("--endpoint.sd-config=", ""));

describe("the fleet stack", () => {
    let run: ProgramRun;
    before(async () => {
        run = await runStack("fleet");
    });

    it("creates each kind cluster with its own provider, and applies nothing of one cluster to the other", () => {
        const provider = (cluster: string) => {
            const resource = run.one("pulumi:providers:kubernetes", `${cluster}-provider`);
            return `${resource.urn}::${resource.name}-id`;
        };
        const inEurope = run.resources
            .filter((r) => r.type.startsWith("kubernetes:") && r.provider === provider("fleet-europe"))
            .map((r) => `${r.type.split(":").pop()}/${r.name}`)
            .sort();
        assert.deepStrictEqual(inEurope, [
            "Job/europe-bucket-check",
            "Namespace/europe",
            "Release/europe",
            "Release/fleet-europe-operator-crds",
            "Secret/europe-objstore",
            "Secret/europe-storeapi-tls",
            "Service/europe-storeapi-0",
            "Service/europe-storeapi-1",
        ]);
        const elsewhere = run.resources.filter((r) => r.type.startsWith("kubernetes:") && r.provider !== provider("fleet-europe"));
        assert.ok(
            elsewhere.every((r) => r.provider === provider("fleet-hub")),
            elsewhere.map((r) => r.name).join(", "),
        );
        // Each cluster's first region keeps that cluster's kubelet Service.
        assert.deepStrictEqual(
            [run.one(release, "europe"), run.one(release, "united-states")].map((r) => r.inputs.values.prometheusOperator.kubeletService.enabled),
            [true, true],
        );
    });

    it("reaches every replica of the remote region on its own address, built from the Services' outputs", () => {
        const services = [0, 1].map((ordinal) => run.one(service, `europe-storeapi-${ordinal}`));
        assert.deepStrictEqual(
            services.map((s) => [s.inputs.spec.type, s.inputs.spec.selector, s.inputs.spec.ports, s.inputs.metadata.annotations]),
            [0, 1].map((ordinal) => [
                "NodePort",
                { "statefulset.kubernetes.io/pod-name": `prometheus-kps-europe-prometheus-${ordinal}` },
                [{ name: "grpc", port: 10901, targetPort: "grpc" }],
                { "pulumi.com/skipAwait": "true" },
            ]),
        );
        const summaries = run.exports.regionSummaries as { name: string; storeApiEndpoints: string[] }[];
        const europe = summaries.find((summary) => summary.name === "europe")!.storeApiEndpoints;
        assert.strictEqual(europe.length, 2);
        europe.forEach((endpoint) => assert.match(endpoint, /^fleet-europe-control-plane:3\d{4}$/));
        assert.notStrictEqual(europe[0], europe[1]);
        assert.deepStrictEqual(
            sdConfig(run).endpoints.map((e: { address: string }) => e.address),
            [
                ...europe,
                "dnssrv+_grpc._tcp.prometheus-operated.united-states.svc.cluster.local",
                "dnssrv+_grpc._tcp.thanos-store-gateway.monitoring.svc.cluster.local",
                "dnssrv+_grpc._tcp.thanos-rule.monitoring.svc.cluster.local",
            ],
        );
    });

    it("creates the two clusters in parallel: neither waits for anything", () => {
        for (const cluster of ["fleet-hub", "fleet-europe"]) {
            assert.deepStrictEqual(run.one("command:local:Command", `${cluster}-kind`).dependencies, [], cluster);
        }
    });

    it("adding a region in a third cluster adds its endpoints and restarts no other region", async () => {
        const grown = await runStack("fleet", (config) => {
            config[key("clusters")].push({ name: "fleet-asia", type: "kind", workerNodes: 1 });
            config[key("regions")].push({ name: "asia", cluster: "fleet-asia", replicas: 1 });
        });
        for (const region of ["europe", "united-states"]) {
            assert.deepStrictEqual(grown.one(release, region).inputs.values, run.one(release, region).inputs.values, region);
        }
        const addresses = sdConfig(grown).endpoints.map((e: { address: string }) => e.address);
        assert.strictEqual(addresses.length, 6);
        assert.match(addresses[3], /^fleet-asia-control-plane:3\d{4}$/);
    });

    it("keeps the critical path: the global query waits for the remote replicas' Services, not for their Prometheus", () => {
        const global = run.one(release, "global");
        const europe = run.one(release, "europe");
        assert.ok(!global.dependencies.includes(europe.urn));
        const waitsOn = (urn: string) => run.resources.find((r) => r.urn === urn);
        assert.deepStrictEqual(
            global.dependencies
                .map(waitsOn)
                .filter((r) => r?.type === service)
                .map((r) => r!.name)
                .sort(),
            ["europe-storeapi-0", "europe-storeapi-1"],
        );
    });

    it("wires one CA's certificates to both ends: a server certificate per region, the querier's client certificate", () => {
        const europeSecret = run.one(secret, "europe-storeapi-tls");
        assert.deepStrictEqual(europeSecret.inputs.stringData, {
            "tls.crt": pem("CERTIFICATE", "storeapi-europe"),
            "tls.key": pem("PRIVATE KEY", "storeapi-europe"),
            "ca.crt": pem("CERTIFICATE", "storeapi-ca"),
        });
        assert.deepStrictEqual(europeSecret.secretInputs, ["stringData"]);
        const client = run.one(secret, "global-storeapi-client-tls");
        assert.deepStrictEqual(client.inputs.stringData["tls.crt"], pem("CERTIFICATE", "storeapi-querier"));
        assert.deepStrictEqual(client.secretInputs, ["stringData"]);
        const query = run.one(release, "global").inputs.values.query;
        assert.strictEqual(query.certSecretName, "global-storeapi-client-tls-x7k2p9");
        // The querier reads its CA only at start: a new certificate or CA restarts it.
        assert.deepStrictEqual(query.annotations, {
            "thanos-global-view/storeapi-client-sha256": createHash("sha256")
                .update(pem("CERTIFICATE", "storeapi-querier") + pem("CERTIFICATE", "storeapi-ca"))
                .digest("hex"),
        });
        const server = run.one("tls:index/certRequest:CertRequest", "storeapi-europe").inputs;
        assert.deepStrictEqual(server.dnsNames, ["storeapi.thanos-global-view.internal"]);
        const signed = run.one("tls:index/locallySignedCert:LocallySignedCert", "storeapi-europe").inputs;
        assert.deepStrictEqual(
            [signed.allowedUses, signed.validityPeriodHours, signed.earlyRenewalHours],
            [["digital_signature", "key_encipherment", "server_auth"], 8760, 720],
        );
    });

    it("every sidecar requires a client certificate from that CA, local ones too, and restarts when it is renewed", () => {
        for (const region of ["europe", "united-states"]) {
            assert.deepStrictEqual([run.one(secret, `${region}-storeapi-tls`).inputs.metadata], [{ name: "storeapi-tls", namespace: region }]);
            const spec = run.one(release, region).inputs.values.prometheus.prometheusSpec;
            const directory = "/etc/prometheus/secrets/storeapi-tls";
            assert.deepStrictEqual(spec.secrets, ["storeapi-tls"]);
            // caFile becomes --grpc-server-tls-client-ca (operator statefulset.go:584-605): Thanos then requires
            // and verifies a client certificate (pkg/tls/options.go:71-72 at v0.37.0, 87-88 at v0.42.4).
            assert.deepStrictEqual(spec.thanos.grpcServerTlsConfig, {
                certFile: `${directory}/tls.crt`,
                keyFile: `${directory}/tls.key`,
                caFile: `${directory}/ca.crt`,
            });
            assert.deepStrictEqual(spec.thanos.volumeMounts, [{ name: "secret-storeapi-tls", mountPath: directory }]);
            const certificate = pem("CERTIFICATE", `storeapi-${region}`);
            // The objstore config too: the operator hands it to the sidecar as an environment variable, read at start.
            const objstoreConfig = run.one(secret, `${region}-objstore`).inputs.stringData["objstore.yml"];
            assert.deepStrictEqual(spec.podMetadata.annotations, {
                "thanos-global-view/storeapi-certificate-sha256": createHash("sha256").update(certificate).digest("hex"),
                "thanos-global-view/objstore-config-sha256": createHash("sha256").update(objstoreConfig).digest("hex"),
            });
        }
    });

    it("Thanos v0.42: the querier's client certificate and server name in the endpoint config, no deprecated flags", () => {
        assert.strictEqual(queryExtraArgs(run).length, 1);
        // Thanos reads this config leniently: a misspelt key would turn TLS off without a word. The
        // keys Thanos v0.42.4 knows (cmd/thanos/endpointset.go:46-72):
        const known = {
            config: ["default_client_config", "endpoints"],
            client: ["tls_config", "server_name", "compression"],
            tls: ["enabled", "insecure_skip_verify", "cert_file", "key_file", "ca_file", "min_version"],
            endpoint: ["strict", "group", "address", "service_config", "client_config"],
        };
        const config = sdConfig(run);
        const unknown = (object: object, keys: string[]) => Object.keys(object).filter((name) => !keys.includes(name));
        assert.deepStrictEqual(
            [
                unknown(config, known.config),
                unknown(config.default_client_config, known.client),
                unknown(config.default_client_config.tls_config, known.tls),
                ...config.endpoints.map((endpoint: object) => unknown(endpoint, known.endpoint)),
            ].flat(),
            [],
        );
        assert.deepStrictEqual(sdConfig(run).default_client_config, {
            tls_config: { enabled: true, cert_file: "/etc/certs/tls.crt", key_file: "/etc/certs/tls.key", ca_file: "/etc/certs/ca.crt" },
            server_name: "storeapi.thanos-global-view.internal",
        });
    });

    it("proves the remote HA pair like a local one: each replica seen without deduplication, once with it", () => {
        const checks = verificationChecks(verificationPlan(readStackConfig(projectDirectory, "fleet")));
        assert.deepStrictEqual(
            checks.filter((check) => check.region === "europe").map((check) => [check.dedup, check.expect]),
            [
                [false, { kind: "everyValue", value: 2 }],
                [true, { kind: "everyValue", value: 1 }],
                [true, { kind: "everyValue", value: 0, samples: 2 }],
            ],
        );
    });

    it("fits a laptop giving Docker 12 GiB: both clusters' requests with kind's own, as npm run up adds them up", () => {
        const config = readStackConfig(projectDirectory, "fleet");
        const needed = config.clusters.map((cluster) => (cluster.type === "kind" ? kindClusterMemoryBytes(config, cluster) : 0));
        assert.strictEqual(needed.length, 2);
        assert.ok(
            needed.every((bytes) => bytes > 2 * 1024 ** 3),
            "each cluster counts",
        );
        assert.ok(needed[0] + needed[1] < 7 * 1024 ** 3, `${(needed[0] + needed[1]) / 1024 ** 3} GiB`);
    });
});

describe("a fleet with an existing cluster", () => {
    it("a remote region there reached on addresses the user routes: one ClusterIP Service per replica to route to", async () => {
        const run = await runStack("fleet", (config) => {
            config[key("clusters")][1] = { name: "fleet-europe", type: "existing", context: "prod-eu" };
            // The in-cluster store is for kind fleets (test/storage.test.ts); these are about the StoreAPI.
            config[key("storage")] = { type: "none" };
            config[key("regions")][0].storeApiAddresses = ["eu-0.thanos.example.com:443", "eu-1.thanos.example.com:443"];
        });
        assert.deepStrictEqual(
            [0, 1].map((ordinal) => run.one(service, `europe-storeapi-${ordinal}`).inputs.spec.type),
            ["ClusterIP", "ClusterIP"],
        );
        assert.deepStrictEqual(
            (run.exports.regionSummaries as { name: string; storeApiEndpoints: string[] }[]).find((s) => s.name === "europe")!.storeApiEndpoints,
            ["eu-0.thanos.example.com:443", "eu-1.thanos.example.com:443"],
        );
    });

    it("a remote region there gets one load balancer per replica, its address read from the Service's status", async () => {
        const run = await runStack("fleet", (config) => {
            config[key("clusters")][1] = {
                name: "fleet-europe",
                type: "existing",
                context: "prod-eu",
                storeApiExposure: "loadBalancer",
                loadBalancer: { cloud: "gcp" },
            };
            config[key("storage")] = { type: "none" };
        });
        const services = [0, 1].map((ordinal) => run.one(service, `europe-storeapi-${ordinal}`));
        assert.deepStrictEqual(
            services.map((s) => s.inputs.spec.type),
            ["LoadBalancer", "LoadBalancer"],
        );
        // Internal by default: GKE's annotation, no source ranges needed.
        assert.deepStrictEqual(
            services.map((s) => [s.inputs.metadata.annotations, s.inputs.spec.loadBalancerSourceRanges]),
            [0, 1].map(() => [{ "networking.gke.io/load-balancer-type": "Internal" }, undefined]),
        );
        const europe = (run.exports.regionSummaries as { name: string; storeApiEndpoints: string[] }[]).find((s) => s.name === "europe")!.storeApiEndpoints;
        europe.forEach((endpoint) => assert.match(endpoint, /^203\.0\.113\.\d+:10901$/));
    });

    it("a public load balancer only with source ranges; annotations of your own beside or instead of the cloud's", async () => {
        const run = await runStack("fleet", (config) => {
            config[key("clusters")][1] = {
                name: "fleet-europe",
                type: "existing",
                context: "prod-eu",
                storeApiExposure: "loadBalancer",
                loadBalancer: {
                    cloud: "aws",
                    internal: false,
                    sourceRanges: ["198.51.100.0/24", "2001:db8::/32"],
                    annotations: { "service.beta.kubernetes.io/aws-load-balancer-type": "nlb" },
                },
            };
            config[key("storage")] = { type: "none" };
        });
        const europe = run.one(service, "europe-storeapi-0").inputs;
        assert.deepStrictEqual(
            [europe.metadata.annotations, europe.spec.loadBalancerSourceRanges],
            [{ "service.beta.kubernetes.io/aws-load-balancer-type": "nlb" }, ["198.51.100.0/24", "2001:db8::/32"]],
        );
    });
});
