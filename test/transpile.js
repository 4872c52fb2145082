// Loads the project's TypeScript for mocha: each file transpiled once (no
// type check: `npm test` runs `tsc --noEmit` beside mocha for that) and kept
// in a cache that mocha's workers and later runs share, keyed by everything
// the output depends on. Stack traces point into the TypeScript through
// Node.js's own source maps.
//
// Why not ts-node's register: every mocha worker transpiled the whole program
// again (about 4 s of CPU each), and its source-map-support formats the stack
// trace the Pulumi SDK takes of every promise and resource
// (@pulumi/pulumi runtime/debuggable.js:253, resource.js:284) more slowly
// than Node.js does.
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const os = require("os");
const path = require("path");

const projectDirectory = path.resolve(__dirname, "..");
const tsconfigPath = path.join(projectDirectory, "tsconfig.json");
const cacheDirectory = path.join(os.tmpdir(), `thanos-global-view-transpiled-${os.userInfo().uid}`);
// The output also depends on the compiler, the compiler options and this file.
const cacheKeyBase = [require("typescript/package.json").version, fs.readFileSync(tsconfigPath, "utf8"), fs.readFileSync(__filename, "utf8")].join("\0");

let compilerOptions;
function transpile(source, fileName) {
    // Loaded only when the cache misses: requiring TypeScript alone costs a worker half a second.
    const ts = require("typescript");
    if (compilerOptions === undefined) {
        const { config } = ts.readConfigFile(tsconfigPath, ts.sys.readFile);
        const { options } = ts.parseJsonConfigFileContent(config, ts.sys, projectDirectory);
        compilerOptions = { ...options, sourceMap: false, inlineSourceMap: true };
    }
    return ts.transpileModule(source, { fileName, compilerOptions }).outputText;
}

function compiled(source, fileName) {
    const key = crypto.createHash("sha256").update(`${cacheKeyBase}\0${fileName}\0${source}`).digest("hex");
    const cached = path.join(cacheDirectory, `${key}.js`);
    try {
        return fs.readFileSync(cached, "utf8");
    } catch {
        const output = transpile(source, fileName);
        fs.mkdirSync(cacheDirectory, { recursive: true });
        // Written aside, then renamed: a worker reading it meanwhile sees all of it or nothing.
        const partial = `${cached}.${process.pid}`;
        fs.writeFileSync(partial, output);
        fs.renameSync(partial, cached);
        return output;
    }
}

process.setSourceMapsEnabled(true);
require.extensions[".ts"] = (module, fileName) => {
    module._compile(compiled(fs.readFileSync(fileName, "utf8"), fileName), fileName);
};
