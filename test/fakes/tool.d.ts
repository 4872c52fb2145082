import { CommandResult } from "../../scripts/lifecycle";

/** Answers one call of a stand-in tool in this process, as its wrapper on PATH would as a process started in `directory`. */
export function runTool(tool: string, args: string[], env: Record<string, string | undefined>, directory?: string): CommandResult & { status: number };
/** The tools that have a stand-in. */
export const tools: string[];
