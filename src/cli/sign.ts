import type { Command } from "commander";
import { ModelGuardError } from "../errors.js";
import type { LockedModel, Lockfile } from "../lockfile/types.js";
import { globalOptions } from "./global-options.js";
import { writeErr, writeOut } from "./io.js";
import { targetNames } from "./locked-models.js";
import { addSigningOptions, type SigningFlags } from "./signing-flags.js";

export function registerSign(program: Command): void {
  addSigningOptions(
    program
      .command("sign")
      .description("sign locked models: one signature per model over its name, repo, revision and every file's digest (key, certificate or Sigstore keyless)")
      .argument("[names...]", "models to sign (default: all)"),
  ).action(async (names: string[], options: SigningFlags, command: Command) => {
    // Loaded here, not at start-up: `modelguard --version` and other commands skip them.
    const { readLockfile } = await import("../lockfile/lockfile-file.js");
    const { updateLockfile } = await import("../lockfile/update-lockfile.js");
    const { signLockedModelWith, withBundle } = await import("../signing/sign-locked-model.js");
    const { claimedSigner } = await import("../signing/bundle-signer.js");
    const { signerName } = await import("../signing/describe-signer.js");
    const { signerFromFlags } = await import("./signing-flags.js");
    const global = globalOptions(command);
    const chosen = (lockfile: Lockfile): string[] => targetNames(lockfile, names, { path: global.lockfile, unchanged: "nothing was signed" });
    const lockfile = await readLockfile(global.lockfile);
    const targets = chosen(lockfile);
    const signer = await signerFromFlags("sign", options);
    // Signed outside the lock (keyless signing talks to Fulcio and Rekor), then written under it,
    // each only onto the entry it signed: one another writer changed meanwhile is not signed.
    const bundles = new Map<string, Awaited<ReturnType<typeof signLockedModelWith>>>();
    let signedBy;
    for (const name of targets) {
      const bundle = await signLockedModelWith(name, lockfile.models[name]!, signer);
      signedBy = claimedSigner(bundle);
      bundles.set(name, bundle);
    }
    const unsigned = (entry: LockedModel) => JSON.stringify({ ...entry, signatures: undefined });
    await updateLockfile(global.lockfile, (current) => {
      for (const name of chosen(current)) {
        if (unsigned(current.models[name]!) !== unsigned(lockfile.models[name]!)) {
          throw new ModelGuardError("LOCKFILE_BUSY", `model ${name} changed in ${global.lockfile} while it was being signed; nothing was written, run again`, { model: name });
        }
      }
      const models = Object.fromEntries(
        Object.entries(current.models).map(([name, entry]) => [name, bundles.has(name) ? withBundle(entry, bundles.get(name)!) : entry]),
      );
      return { ...current, models };
    });
    if (global.json) {
      writeOut(JSON.stringify({ signed: targets, ...(signedBy?.kind === "key" ? { key: signedBy.fingerprint } : {}), signer: signedBy ?? null }));
    } else if (!global.quiet) {
      writeErr(`signed ${targets.join(", ")} in ${global.lockfile}${signedBy ? ` by ${signerName(signedBy)}` : ""}`);
    }
  });
}
