import type { Command } from "commander";
import { ModelGuardError } from "../errors.js";
import { globalOptions } from "./global-options.js";
import { writeErr, writeOut } from "./io.js";
import { addSigningOptions, type SigningFlags } from "./signing-flags.js";

export function registerSign(program: Command): void {
  addSigningOptions(
    program
      .command("sign")
      .description("sign locked models: one signature per model over repo, revision and every file's digest (key, certificate or Sigstore keyless)")
      .argument("[names...]", "models to sign (default: all)"),
  ).action(async (names: string[], options: SigningFlags, command: Command) => {
    // Loaded here, not at start-up: `modelguard --version` and other commands skip them.
    const { readLockfile, writeLockfile } = await import("../lockfile/lockfile-file.js");
    const { signLockedModelWith, withBundle } = await import("../signing/sign-locked-model.js");
    const { claimedSigner } = await import("../signing/bundle-signer.js");
    const { signerName } = await import("../signing/describe-signer.js");
    const { signerFromFlags } = await import("./signing-flags.js");
    const global = globalOptions(command);
    const lockfile = await readLockfile(global.lockfile);
    const targets = names.length > 0 ? names : Object.keys(lockfile.models);
    for (const name of targets) {
      if (!Object.hasOwn(lockfile.models, name)) {
        throw new ModelGuardError("MODEL_NOT_LOCKED", `model ${name} is not in ${global.lockfile}`, { model: name });
      }
    }
    const signer = await signerFromFlags("sign", options);
    let signedBy;
    // Every model is signed before the lockfile is written once: a failure leaves it as it was.
    for (const name of targets) {
      const bundle = await signLockedModelWith(lockfile.models[name]!, signer);
      signedBy = claimedSigner(bundle);
      lockfile.models[name] = withBundle(lockfile.models[name]!, bundle);
    }
    await writeLockfile(global.lockfile, lockfile);
    if (global.json) {
      writeOut(JSON.stringify({ signed: targets, ...(signedBy?.kind === "key" ? { key: signedBy.fingerprint } : {}), signer: signedBy ?? null }));
    } else if (!global.quiet) {
      writeErr(`signed ${targets.join(", ")} in ${global.lockfile}${signedBy ? ` by ${signerName(signedBy)}` : ""}`);
    }
  });
}
