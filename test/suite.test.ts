// .mocharc.json lists the test files by name, slowest-waiting first (the
// provers' tests spend their time waiting out deadlines), so that those waits
// overlap the CPU-bound files instead of trailing after them. A file left out
// of the list would never run.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";

describe("the test suite", () => {
    it("runs every test file, each once", () => {
        const root = path.resolve(__dirname, "..");
        const listed: string[] = JSON.parse(fs.readFileSync(path.join(root, ".mocharc.json"), "utf8")).spec;
        const files = fs
            .readdirSync(__dirname)
            .filter((file) => file.endsWith(".test.ts"))
            .map((file) => `test/${file}`)
            .sort();
        assert.deepStrictEqual([...listed].sort(), files);
        assert.strictEqual(new Set(listed).size, listed.length);
    });
});
