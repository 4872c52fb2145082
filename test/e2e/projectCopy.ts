// A copy of the project for a tier: the program, its scripts and its stack
// files as they are in this checkout, plus the tier's own stack file, so that
// `npm run verify -- --stack <tier>` (and later the Pulumi CLI) read a stack
// file the same way a user's copy would. node_modules is linked, not copied.
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { projectDirectory, stackFileConfig } from "../harness";

/** What a user's checkout holds that the program and its scripts need. */
const programFiles = ["package.json", "package-lock.json", "tsconfig.json", "Pulumi.yaml", "index.ts", "components", "lib", "scripts", "schema"];

/**
 * Copies the project into `directory` and writes `Pulumi.<stack>.yaml`: a
 * shipped stack file's config, changed by `edit` (each tier says why).
 */
export function copyProject(directory: string, stack: string, from: string, edit: (config: Record<string, any>) => void = () => undefined): string {
    for (const entry of [...programFiles, ...fs.readdirSync(projectDirectory).filter((file) => /^Pulumi\..+\.yaml$/.test(file))]) {
        fs.cpSync(path.join(projectDirectory, entry), path.join(directory, entry), { recursive: true });
    }
    fs.symlinkSync(path.join(projectDirectory, "node_modules"), path.join(directory, "node_modules"));
    writeStackFile(directory, stack, from, edit);
    return directory;
}

/** Writes `Pulumi.<stack>.yaml` into a copy: the shipped `from` stack file's config, changed by `edit`. */
export function writeStackFile(directory: string, stack: string, from: string, edit: (config: Record<string, any>) => void = () => undefined): void {
    const config = structuredClone(stackFileConfig(from)) as Record<string, any>;
    edit(config);
    fs.writeFileSync(path.join(directory, `Pulumi.${stack}.yaml`), yaml.dump({ config }, { lineWidth: -1 }));
}
