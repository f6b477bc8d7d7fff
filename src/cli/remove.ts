import type { Command } from "commander";
import { globalOptions } from "./global-options.js";
import { writeErr, writeOut } from "./io.js";

export function registerRemove(program: Command): void {
  program
    .command("remove")
    .description("drop locked models from the lockfile (all the names or none; the cache is left as it is)")
    .argument("<names...>", "models to drop")
    .action(async (names: string[], _options: object, command: Command) => {
      // Loaded here, not at start-up: `modelguard --version` and other commands skip them.
      const { updateLockfile } = await import("../lockfile/update-lockfile.js");
      const { removeModels } = await import("../lockfile/remove-models.js");
      const global = globalOptions(command);
      const unique = [...new Set(names)];
      await updateLockfile(global.lockfile, (lockfile) => removeModels(lockfile, unique, global.lockfile));
      if (global.json) writeOut(JSON.stringify({ removed: unique }));
      else if (!global.quiet) writeErr(`removed ${unique.join(", ")} from ${global.lockfile}`);
    });
}
