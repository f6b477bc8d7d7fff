import type { Command } from "commander";

/** The options every command takes (contract: Global). */
export interface GlobalOptions {
  lockfile: string;
  cacheDir?: string;
  json: boolean;
  quiet: boolean;
}

export function globalOptions(command: Command): GlobalOptions {
  const o = command.optsWithGlobals() as Partial<GlobalOptions>;
  return {
    lockfile: o.lockfile ?? "models.lock.json",
    ...(o.cacheDir === undefined ? {} : { cacheDir: o.cacheDir }),
    json: o.json ?? false,
    quiet: o.quiet ?? false,
  };
}
