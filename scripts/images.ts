// `npm run images -- [--stack NAME] [--charts]`
//
// What a mirror must hold for a stack, from its config: every image its pods
// pull, one a line; with images.registry set, each as "<source> <mirror copy>",
// ready for `crane copy` / `skopeo copy`. With --charts, every chart it
// installs, with the command that saves it into a charts.mirror directory as
// the program expects it. The kind node image goes to stderr: Docker pulls it
// on this machine, not the cluster.
import * as path from "path";
import { stackCharts } from "../lib/kubernetes/charts";
import { kindNodeImages, stackImages } from "../lib/kubernetes/images";
import { StackConfig } from "../lib/config/schema";
import { readStackConfig } from "../lib/config/stackFile";

/** The lines npm run images prints on stdout. */
export function mirrorList(config: StackConfig, charts: boolean): string[] {
    if (charts) {
        const directory = config.charts.mirror?.source === "local" ? config.charts.mirror.path : "<dir>";
        return stackCharts(config).map((chart) => `${chart.name} ${chart.version}: ${chart.pull.replace("{dir}", directory)}`);
    }
    const sources = stackImages({ ...config, images: {} });
    // Same settings, same order: each source beside its copy in the mirror.
    return config.images.registry === undefined ? sources : stackImages(config).map((copy, index) => `${sources[index]} ${copy}`);
}

function main(args: string[]): void {
    const stackAt = args.indexOf("--stack");
    const stack = stackAt < 0 ? "dev" : args[stackAt + 1];
    const unknown = args.filter((arg, index) => arg !== "--charts" && index !== stackAt && index !== stackAt + 1);
    if (stack === undefined || unknown.length > 0) {
        console.error(`usage: npm run images -- [--stack NAME] [--charts] (got ${args.join(" ")})`);
        process.exitCode = 2;
        return;
    }
    const config = readStackConfig(path.resolve(__dirname, ".."), stack);
    console.log(mirrorList(config, args.includes("--charts")).join("\n"));
    for (const image of kindNodeImages(config)) {
        console.error(`kind node image, pulled by Docker on this machine: ${image} (mirror it and set clusters[].nodeImage to the copy)`);
    }
}

if (require.main === module) {
    main(process.argv.slice(2));
}
