import * as assert from "assert";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as os from "os";
import * as path from "path";
import { readStackConfig, readStackFileConfig } from "../lib/config/stackFile";
import { registeredSoFar, runProgram } from "./harness";
import { whatPulumiHandsTheProgram } from "./pulumiConfig";

const project = "thanos-global-view";
const ciphertexts: Record<string, string> = {
    "v1:mirror": "https://ci:glpat-s3cr3t@git.internal/mirrors/banzai-charts.git",
    "v1:bad-mirror": "git.internal/mirrors/banzai-charts?token=glpat-s3cr3t",
    "v1:gcs-key": JSON.stringify({
        type: "service_account",
        private_key: "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n",
        client_email: "thanos@example.iam.gserviceaccount.com",
    }),
};

/** A project directory with one stack file holding `config` (YAML text under `config:`). */
function projectWith(configYaml: string): string {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), "stack-"));
    fs.writeFileSync(path.join(directory, "Pulumi.yaml"), `name: ${project}\nruntime: nodejs\n`);
    fs.writeFileSync(path.join(directory, "Pulumi.paths.yaml"), `config:\n${configYaml}`);
    return directory;
}

const base = `
  thanos-global-view:clusters:
    - name: lab
      type: kind
  thanos-global-view:regions:
    - name: europe
      cluster: lab
      replicas: 2
`;

/** The verdict of `npm run up`'s check of the file, and of the program fed what Pulumi would hand it. */
async function verdicts(configYaml: string): Promise<{ file: string; program: string; createdByProgram: number }> {
    const directory = projectWith(configYaml);
    const outcome = async (run: () => unknown) => {
        try {
            await run();
            return "accepted";
        } catch (error) {
            return (error as Error).message;
        }
    };
    const file = await outcome(() => readStackConfig(directory, "paths"));
    const handed = whatPulumiHandsTheProgram(readStackFileConfig(directory, "paths"), (ciphertext) => ciphertexts[ciphertext]);
    const program = await outcome(() => runProgram(handed.config, handed.secretKeys));
    return { file, program, createdByProgram: program === "accepted" ? -1 : registeredSoFar().length };
}

describe("both ways in agree: the stack file check and the program", () => {
    it("a setting with no value: the same one message, and nothing created", async () => {
        const { file, program, createdByProgram } = await verdicts(`${base}
  thanos-global-view:globalQuery:
    cluster: lab
  thanos-global-view:verification:
`);
        const expected =
            'Invalid stack configuration (1 problem):\n  - thanos-global-view:verification: is empty: give it a value, or delete the line to use its default (README.md, "Configuration reference")';
        assert.deepStrictEqual([file, program, createdByProgram], [expected, expected, 0]);
    });

    it("a date and a number where text is expected stay what Pulumi hands over: the bucket 2026-12-04, a retention of 0", async () => {
        const { file, program } = await verdicts(`${base}
  thanos-global-view:globalQuery:
    cluster: lab
  thanos-global-view:storage:
    type: gcs
    bucket: 2026-12-04
    credentialsSecret: bucketKey
    retention: { raw: 0, fiveMinutes: 0, oneHour: 0 }
  thanos-global-view:bucketKey:
    secure: v1:gcs-key
`);
        assert.deepStrictEqual([file, program], ["accepted", "accepted"]);
    });

    it("a value left empty inside an object", async () => {
        const { file, program } = await verdicts(`${base}
  thanos-global-view:globalQuery:
    cluster: lab
    queryReplicas:
`);
        assert.strictEqual(file, program);
        assert.match(file, /globalQuery\.queryReplicas: is empty/);
    });

    it("an encrypted chart URL with a token in it is accepted by both", async () => {
        const { file, program } = await verdicts(`${base}
  thanos-global-view:globalQuery:
    cluster: lab
    chart:
      source: repository
      url:
        secure: v1:mirror
`);
        assert.deepStrictEqual([file, program], ["accepted", "accepted"]);
    });

    it("a top-level value that is not a list: the same words, though YAML and Pulumi differ in type", async () => {
        const { file, program } = await verdicts(`
  thanos-global-view:clusters: 3
  thanos-global-view:regions:
    - name: europe
      cluster: lab
  thanos-global-view:globalQuery:
    cluster: lab
`);
        assert.strictEqual(file, program);
        assert.match(file, /thanos-global-view:clusters: got "3"; expected a list of clusters/);
    });

    it("a bad encrypted value is refused by the program without showing it", async () => {
        const { file, program } = await verdicts(`${base}
  thanos-global-view:globalQuery:
    cluster: lab
    chart:
      source: git
      gitRepository:
        secure: v1:bad-mirror
`);
        // Only Pulumi can decrypt it: the file check leaves it to the program.
        assert.strictEqual(file, "accepted");
        assert.strictEqual(
            program,
            "Invalid stack configuration (1 problem):\n" +
                "  - thanos-global-view:globalQuery.chart.gitRepository: got a secret value; expected a git repository URL (https://, ssh://, git://, file:// or user@host:path)",
        );
        assert.ok(!program.includes("s3cr3t"));
    });

    it("the committed stack files pass both ways (prod once its bucket's secret key is set, as its comment says)", async () => {
        const projectDirectory = path.join(__dirname, "..");
        for (const stack of ["dev", "prod", "fleet"]) {
            let text = fs.readFileSync(path.join(projectDirectory, `Pulumi.${stack}.yaml`), "utf8");
            let directory = projectDirectory;
            if (stack === "prod") {
                // What `pulumi config set --secret bucketSecretKey …` appends.
                text += "  thanos-global-view:bucketSecretKey:\n    secure: v1:c2VjcmV0LWFjY2Vzcy1rZXk=\n";
                directory = fs.mkdtempSync(path.join(os.tmpdir(), "prod-"));
                fs.copyFileSync(path.join(projectDirectory, "Pulumi.yaml"), path.join(directory, "Pulumi.yaml"));
                fs.writeFileSync(path.join(directory, "Pulumi.prod.yaml"), text);
            }
            const fileConfig = yaml.load(text) as { config: Record<string, unknown> };
            const handed = whatPulumiHandsTheProgram(fileConfig.config, (ciphertext) => {
                assert.strictEqual(stack, "prod", "dev and fleet hold no secrets");
                return Buffer.from(ciphertext.replace(/^v1:/, ""), "base64").toString();
            });
            if (stack === "dev") {
                await runProgram(handed.config, handed.secretKeys);
            }
            assert.ok(readStackConfig(directory, stack).regions.length > 0);
        }
    });
});
