import * as assert from "assert";
import Ajv2020 from "ajv/dist/2020";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { readmeFile, readmeWithReference, schemaFile, schemaFileContent } from "../scripts/schema";
import { projectDirectory } from "./harness";

const stacks = ["dev", "prod", "fleet"];
const stackFile = (stack: string) => path.join(projectDirectory, `Pulumi.${stack}.yaml`);

describe("what is generated from the config schema", () => {
    it("schema/stack.schema.json is current (npm run schema regenerates it)", () => {
        assert.strictEqual(fs.readFileSync(schemaFile, "utf8"), schemaFileContent());
    });

    it("the README's configuration reference is current (npm run schema regenerates it)", () => {
        const readme = fs.readFileSync(readmeFile, "utf8");
        assert.strictEqual(readme, readmeWithReference(readme));
        // It names every setting, defaults included.
        assert.match(readme, /\| `frontend\.splitInterval` \| `24h` \| range queries are split/);
    });

    it("the reference states each setting once, naming the storage types or cluster types it applies to", () => {
        const reference = readmeWithReference(fs.readFileSync(readmeFile, "utf8"));
        const section = (key: string) => reference.slice(reference.indexOf(`### \`${key}\``)).split("\n### ")[0];
        const settingsOf = (key: string) => [...section(key).matchAll(/^\| `([^`]+)`(?: \(([^)]+)\))? \|/gm)].map(([, name, variants]) => ({ name, variants }));
        const storage = settingsOf("storage");
        const retention = storage.filter(({ name }) => name === "retention.raw");
        assert.deepStrictEqual(retention, [{ name: "retention.raw", variants: "inCluster, s3, gcs, azure" }]);
        assert.deepStrictEqual(
            storage.filter(({ name }) => name === "credentialsSecret").map(({ variants }) => variants),
            ["s3", "gcs", "azure"],
        );
        assert.deepStrictEqual(
            storage.filter(({ name }) => name === "type").map(({ variants }) => variants),
            ["none", "inCluster", "s3", "gcs", "azure"],
        );
        assert.deepStrictEqual(
            settingsOf("clusters").filter(({ name }) => name === "name"),
            [{ name: "name", variants: "kind, existing" }],
        );
        assert.strictEqual(storage.length, 33);
    });

    it("every stack file points YAML editors at the schema", () => {
        for (const stack of stacks) {
            assert.strictEqual(fs.readFileSync(stackFile(stack), "utf8").split("\n")[0], "# yaml-language-server: $schema=./schema/stack.schema.json");
        }
    });

    describe("what an editor checks with it", () => {
        const validate = new Ajv2020({ allErrors: true, strict: false }).compile(JSON.parse(fs.readFileSync(schemaFile, "utf8")));
        const devConfig = () => structuredClone(yaml.load(fs.readFileSync(stackFile("dev"), "utf8")) as { config: Record<string, any> });
        const errorsOf = (document: unknown) => (validate(document) ? [] : validate.errors!.map((error) => `${error.instancePath} ${error.message}`));

        it("the committed stack files pass", () => {
            for (const stack of stacks) {
                assert.deepStrictEqual(errorsOf(yaml.load(fs.readFileSync(stackFile(stack), "utf8"))), [], stack);
            }
        });

        it("a typo in the project prefix, an empty value and a bad pattern are flagged", () => {
            const document = devConfig();
            document.config["thanos-global-veiw:versions"] = { thanos: "v0.42.4" };
            document.config["thanos-global-view:regions"][0].replicas = null;
            document.config["thanos-global-view:regions"][1].name = "United_States";
            const errors = errorsOf(document);
            assert.ok(errors.includes("/config must NOT have additional properties"), errors.join("\n"));
            assert.ok(
                errors.some((error) => error.startsWith("/config/thanos-global-view:regions/0/replicas")),
                errors.join("\n"),
            );
            assert.ok(
                errors.includes('/config/thanos-global-view:regions/1/name must match pattern "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"'),
                errors.join("\n"),
            );
        });

        it("text written as a YAML number: whole numbers pass where the text may be all digits, like the program says", () => {
            const document = yaml.load(`config:
  thanos-global-view:clusters: [{ name: lab, type: kind }]
  thanos-global-view:regions: [{ name: 2026, cluster: lab, replicas: 1, retention: 0 }]
  thanos-global-view:globalQuery: { cluster: lab }
  thanos-global-view:storage: { type: s3, bucket: 20261203, endpoint: s3.example.com, accessKeyId: AKIA, credentialsSecret: bucketKey, retention: { raw: 0, fiveMinutes: 0, oneHour: 0 } }
`) as { config: Record<string, any> };
            assert.strictEqual(document.config["thanos-global-view:storage"].bucket, 20261203);
            assert.deepStrictEqual(errorsOf(document), []);
            document.config["thanos-global-view:storage"].retention.raw = 1.5;
            assert.ok(
                errorsOf(document).some((error) => error.startsWith("/config/thanos-global-view:storage")),
                errorsOf(document).join("\n"),
            );
        });

        it("secure: where a secret belongs, and nowhere else", () => {
            const document = devConfig();
            document.config["thanos-global-view:globalQuery"].chart = { source: "git", gitRepository: { secure: "v1:abc" } };
            document.config["thanos-global-view:labKubeconfig"] = { secure: "v1:def" };
            assert.deepStrictEqual(errorsOf(document), []);
            document.config["thanos-global-view:regions"][0].replicas = { secure: "v1:ghi" };
            assert.ok(errorsOf(document).some((error) => error.startsWith("/config/thanos-global-view:regions/0/replicas")));
        });
    });
});
