import type { Command } from "commander";
import { ModelGuardError } from "../errors.js";
import { readLockfile, writeLockfile } from "../lockfile/lockfile-file.js";
import { publicKeyId } from "../keys/load-key.js";
import { withSignature } from "../signing/sign-locked-model.js";
import { globalOptions } from "./global-options.js";
import { writeErr, writeOut } from "./io.js";
import { loadSigningKey } from "./signing-key.js";

export function registerSign(program: Command): void {
  program
    .command("sign")
    .description("sign locked models: one signature per model over repo, revision and every file's digest")
    .argument("[names...]", "models to sign (default: all)")
    .option("--key <key>", "private key: cosign encrypted PEM or PKCS#8 PEM")
    .action(async (names: string[], options: { key?: string }, command: Command) => {
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
