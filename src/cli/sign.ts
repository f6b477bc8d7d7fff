import type { Command } from "commander";
import { ModelGuardError } from "../errors.js";
import { globalOptions } from "./global-options.js";
import { writeErr, writeOut } from "./io.js";

export function registerSign(program: Command): void {
  program
    .command("sign")
    .description("sign locked models: one signature per model over repo, revision and every file's digest")
    .argument("[names...]", "models to sign (default: all)")
    .option("--key <key>", "private key: cosign encrypted PEM or PKCS#8 PEM")
    .action(async (names: string[], options: { key?: string }, command: Command) => {
      // Loaded here, not at start-up: `modelguard --version` and other commands skip them.
      const { readLockfile, writeLockfile } = await import("../lockfile/lockfile-file.js");
      const { publicKeyId } = await import("../keys/load-key.js");
      const { withSignature } = await import("../signing/sign-locked-model.js");
      const { loadSigningKey } = await import("./signing-key.js");
      const global = globalOptions(command);
      if (!options.key) throw new ModelGuardError("USAGE", "sign needs --key");
      const lockfile = await readLockfile(global.lockfile);
      const targets = names.length > 0 ? names : Object.keys(lockfile.models);
      for (const name of targets) {
        if (!Object.hasOwn(lockfile.models, name)) {
          throw new ModelGuardError("MODEL_NOT_LOCKED", `model ${name} is not in ${global.lockfile}`, { model: name });
        }
      }
      const { privateKey, publicKey } = await loadSigningKey(options.key);
      for (const name of targets) lockfile.models[name] = withSignature(lockfile.models[name]!, privateKey, publicKey);
      await writeLockfile(global.lockfile, lockfile);
      const fingerprint = publicKeyId(publicKey);
      if (global.json) writeOut(JSON.stringify({ signed: targets, key: fingerprint }));
      else if (!global.quiet) writeErr(`signed ${targets.join(", ")} with key ${fingerprint.slice(0, 16)} in ${global.lockfile}`);
    });
}
