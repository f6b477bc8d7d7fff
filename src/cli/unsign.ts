import type { KeyObject } from "node:crypto";
import type { Command } from "commander";
import { ModelGuardError } from "../errors.js";
import type { LockedModel } from "../lockfile/types.js";
import { globalOptions } from "./global-options.js";
import { writeErr, writeOut } from "./io.js";
import { targetNames } from "./locked-models.js";

interface Options {
  keyId?: string;
  key?: string;
}

const KEY_ID = /^[0-9a-f]{64}$/;

export function registerUnsign(program: Command): void {
  program
    .command("unsign")
    .description("drop one key's signatures from locked models (model, file and publisher signatures): the last step of rotating a key")
    .argument("[names...]", "models to drop them from (default: all)")
    .option("--key-id <id>", "the key's id, as modelguard signatures and verify print it (64 hex digits)")
    .option("--key <file>", "the key's public key (PEM): also finds file signatures that carry no key id, by verifying them")
    .action(async (names: string[], options: Options, command: Command) => {
      // Loaded here, not at start-up: `modelguard --version` and other commands skip them.
      const { readPublicKeyFile } = await import("../keys/key-files.js");
      const { publicKeyId } = await import("../keys/load-key.js");
      const { updateLockfile } = await import("../lockfile/update-lockfile.js");
      const { withoutSignaturesBy } = await import("../signing/drop-signatures.js");
      const global = globalOptions(command);
      if (Boolean(options.keyId) === Boolean(options.key)) throw new ModelGuardError("USAGE", "give the key to drop with --key-id ID or --key PUB (one of them)");
      let publicKey: KeyObject | undefined;
      let keyId: string;
      if (options.key) {
        publicKey = await readPublicKeyFile(options.key);
        keyId = publicKeyId(publicKey);
      } else {
        keyId = options.keyId!.toLowerCase();
        if (!KEY_ID.test(keyId)) throw new ModelGuardError("USAGE", `--key-id ${options.keyId} is not a key id: 64 hex digits, as modelguard signatures prints it`);
      }
      const signer = { kind: "key" as const, fingerprint: keyId };
      const dropped: { name: string; dropped: string[]; left: number }[] = [];
      await updateLockfile(global.lockfile, (lockfile) => {
        dropped.length = 0;
        const targets = targetNames(lockfile, names, "nothing was changed");
        // A Map, not assignment into an object: a model named "__proto__" is a model like any other.
        const replaced = new Map<string, LockedModel>();
        for (const name of targets) {
          const result = withoutSignaturesBy(lockfile.models[name]!, signer, publicKey);
          if (result.dropped.length === 0) continue;
          const left =
            (result.entry.signatures?.length ?? 0) +
            (result.entry.publisherSignatures?.length ?? 0) +
            Object.values(result.entry.files).reduce((n, f) => n + (f.signatures?.length ?? 0), 0);
          replaced.set(name, result.entry);
          dropped.push({ name, dropped: result.dropped, left });
        }
        if (dropped.length === 0) {
          // A typo in a key id must not pass as "done": nothing signed by it is an error.
          throw new ModelGuardError("USAGE", `no signature of ${targets.join(", ") || "any model"} in ${global.lockfile} is by key ${keyId}; nothing was changed (modelguard signatures lists who signed)`);
        }
        return { ...lockfile, models: Object.fromEntries(Object.entries(lockfile.models).map(([name, entry]) => [name, replaced.get(name) ?? entry])) };
      });
      if (global.json) {
        writeOut(JSON.stringify({ key: keyId, models: dropped }, null, 2));
        return;
      }
      for (const d of dropped) {
        if (!global.quiet) writeErr(`${d.name}: dropped ${d.dropped.join(", ")}`);
        // Said even with --quiet: the gate refuses this model until it is signed again.
        if (d.left === 0) writeErr(`${d.name} has no signature left: verify refuses it until it is signed again (modelguard sign ${d.name} --key KEY)`);
      }
    });
}
