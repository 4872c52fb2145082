// The e2e tiers' binaries (test/e2e/tools.ts): found in E2E_BIN, each one's
// version checked against what lib/versions.ts pins, a missing one named.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { findTools, prometheus, thanos, weed } from "./e2e/tools";

describe("e2e tiers: the real binaries they need", () => {
    let bin: string;
    const binary = (name: string, prints: string) => {
        fs.writeFileSync(path.join(bin, name), `#!/bin/sh\necho '${prints}'\n`, { mode: 0o755 });
    };

    beforeEach(() => {
        bin = fs.mkdtempSync(path.join(os.tmpdir(), "e2e-bin-"));
    });
    afterEach(() => fs.rmSync(bin, { recursive: true, force: true }));

    it("names every binary that is missing, and where it looked", () => {
        binary("thanos", "thanos, version 0.42.4 (branch: HEAD, revision: 45c4f39)");
        assert.deepStrictEqual(findTools([thanos, prometheus, weed], { E2E_BIN: bin, PATH: "" }), {
            missing: [`prometheus (not in E2E_BIN=${bin})`, `weed (not in E2E_BIN=${bin})`],
        });
        assert.deepStrictEqual(findTools([thanos], { PATH: "" }), { missing: ["thanos (E2E_BIN is not set)"] });
    });

    it("refuses a binary of another version than the program pins, saying which", () => {
        binary("thanos", "thanos, version 0.41.0 (branch: HEAD, revision: 0123abc)");
        assert.throws(() => findTools([thanos], { E2E_BIN: bin, PATH: "" }), {
            message: `${bin}/thanos is not the version the program deploys: lib/versions.ts defaultVersions.thanos expects "version 0.42.4" in \`thanos --version\`, which printed: thanos, version 0.41.0 (branch: HEAD, revision: 0123abc). Build the pinned tag (README, "End-to-end tiers").`,
        });
    });

    it("finds the pinned ones", () => {
        binary("thanos", "thanos, version 0.42.4 (branch: HEAD, revision: 45c4f39)");
        binary("prometheus", "prometheus, version 3.14.0 (branch: HEAD, revision: d7598b7)");
        binary("weed", "version 30GB 4.44 35637386 linux amd64");
        assert.deepStrictEqual(findTools([thanos, prometheus, weed], { E2E_BIN: bin, PATH: "" }), {
            paths: { thanos: path.join(bin, "thanos"), prometheus: path.join(bin, "prometheus"), weed: path.join(bin, "weed") },
            substitutes: [],
        });
    });
});
