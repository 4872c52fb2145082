// Every test run gets its own chart cache holding the pinned thanos chart,
// so the program finds it there and never reaches for the network.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { banzaicloudThanosChart } from "../lib/versions";

const cacheHome = fs.mkdtempSync(path.join(os.tmpdir(), "thanos-global-view-test-cache-"));
process.env.XDG_CACHE_HOME = cacheHome;
export const cachedChartDirectory = path.join(
    cacheHome,
    "thanos-global-view",
    "charts",
    `banzai-charts-${banzaicloudThanosChart.gitCommit}`,
    banzaicloudThanosChart.gitDirectory,
);
fs.mkdirSync(cachedChartDirectory, { recursive: true });
fs.writeFileSync(path.join(cachedChartDirectory, "Chart.yaml"), `apiVersion: v1\nname: thanos\nversion: ${banzaicloudThanosChart.version}\n`);
process.on("exit", () => fs.rmSync(cacheHome, { recursive: true, force: true }));
