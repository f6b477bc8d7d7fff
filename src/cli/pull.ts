import type { Command } from "commander";
import { globalOptions } from "./global-options.js";
import { countOf, writeErr, writeOut } from "./io.js";

export function registerPull(program: Command): void {
  program
    .command("pull")
    .description("download what the cache lacks for the locked models, verifying every byte")
    .argument("[names...]", "models to pull (default: all)")
    .option("--offline", "make no request; fail if anything is missing (same as HF_HUB_OFFLINE=1)")
    .action(async (names: string[], options: { offline?: boolean }, command: Command) => {
      // Loaded here, not at start-up: `modelguard --version` and other commands skip them.
      const { pullModels } = await import("../hub/pull.js");
      const { readLockfile } = await import("../lockfile/lockfile-file.js");
      const { hubContext } = await import("./hub-context.js");
      const { createDownloadProgress } = await import("./progress.js");
      const global = globalOptions(command);
      const lockfile = await readLockfile(global.lockfile);
      const { hub } = hubContext(global, options.offline);
      const progress = createDownloadProgress(global);
      const key = (f: { model: string; file: string }) => `${f.model}/${f.file}`;
      let pulled;
      try {
        pulled = await pullModels(lockfile, names.length > 0 ? names : Object.keys(lockfile.models), hub, {
          lockfilePath: global.lockfile,
          onStart: (f) => progress.start(key(f), f.size),
          onProgress: (f, bytes) => progress.advance(key(f), bytes),
          onRetry: (f, info) => {
            if (!global.quiet && !global.json) writeErr(`retrying ${key(f)} in ${Math.round(info.delayMs)} ms (${info.reason})`);
          },
          onDone: (f) => progress.finish(key(f)),
        });
      } finally {
        progress.stop();
      }
      if (global.json) {
        writeOut(JSON.stringify({ ok: true, files: pulled }, null, 2));
      } else if (!global.quiet) {
        const count = (status: string) => pulled.filter((f) => f.status === status).length;
        writeErr(`pulled ${countOf(pulled.length, "file")}: ${count("downloaded")} downloaded, ${count("repaired")} repaired, ${count("cached")} already cached and verified`);
      }
    });
}
