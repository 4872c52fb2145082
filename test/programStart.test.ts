// How `pulumi up` starts the program. The Node.js language host runs the SDK's
// cmd/run in the project directory with PULUMI_NODEJS_TYPESCRIPT=true (the
// runtime option `typescript` of Pulumi.yaml defaults to true:
// sdk/nodejs/cmd/pulumi-language-nodejs/main.go:292-303, 921-923 at v3.259.0).
// cmd/run registers ts-node with the project's tsconfig.json and passes
// transpileOnly only when PULUMI_NODEJS_TRANSPILE_ONLY or compilerOptions.noCheck
// is set (@pulumi/pulumi 3.270 cmd/run/run.js:291-310); otherwise ts-node takes
// it from the tsconfig's "ts-node" section (ts-node 10.9.2 dist/configuration.js:51).
import * as assert from "assert";
import * as path from "path";
import { create } from "ts-node";
import * as ts from "typescript";
import { projectDirectory } from "./harness";

const tsconfig = path.join(projectDirectory, "tsconfig.json");
const illTyped = 'const replicas: number = "two";\n';

/** ts-node as cmd/run creates it (run.js:301-310), with transpileOnly as cmd/run decides it. */
function asPulumiStartsIt(transpileOnly: boolean | undefined) {
    // create() installs source-map-support, whose stack formatting would slow every later test in this worker (see transpile.js).
    const nodeStackFormat = Error.prepareStackTrace;
    try {
        return create({
            compiler: "typescript",
            transpileOnly,
            project: tsconfig,
            skipProject: false,
            compilerOptions: { target: "ES2020", module: "nodenext", moduleResolution: "nodenext", sourceMap: "true", ...compilerOptions() },
        });
    } finally {
        Error.prepareStackTrace = nodeStackFormat;
    }
}

/** What cmd/run reads of tsconfig.json (tsutils.js:29-41): its compilerOptions, as written. */
function compilerOptions(): Record<string, unknown> {
    return ts.parseConfigFileTextToJson(tsconfig, ts.sys.readFile(tsconfig)!).config.compilerOptions;
}

describe("the program under pulumi up", () => {
    it("starts transpile-only, as tsconfig.json's ts-node section says; the type check stays with npm test", () => {
        // Neither the environment variable nor noCheck (which would also switch off `tsc --noEmit` in npm test): cmd/run passes undefined.
        assert.strictEqual(compilerOptions().noCheck, undefined);
        const started = asPulumiStartsIt(undefined);
        assert.strictEqual(started.options.transpileOnly, true);
        assert.doesNotThrow(() => started.compile(illTyped, path.join(projectDirectory, "probe.ts")));
        // Type checking, as without the section: the same program never starts.
        assert.throws(
            () => asPulumiStartsIt(false).compile(illTyped, path.join(projectDirectory, "probe.ts")),
            /TS2322: Type 'string' is not assignable to type 'number'/,
        );
    });
});
