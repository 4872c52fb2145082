import { CommandResult } from "../../scripts/lifecycle";

/** Answers one call of a stand-in tool in this process, as its wrapper on PATH would as a process. */
export function runTool(tool: string, args: string[], env: Record<string, string | undefined>): CommandResult & { status: number };
/** The tools that have a stand-in. */
export const tools: string[];
