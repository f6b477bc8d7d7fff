import type { KeyObject } from "node:crypto";
import type { Command } from "commander";
import { ModelGuardError } from "../errors.js";
import type { LockedModel } from "../lockfile/types.js";
import type { ClaimedSigner } from "../signers.js";
import { globalOptions } from "./global-options.js";
import { writeErr, writeOut } from "./io.js";
import { targetNames } from "./locked-models.js";
import { signAgainHint, signerName } from "./signer-name.js";

interface Options {
  keyId?: string;
  key?: string;
  identity?: string;
  identityProvider?: string;
  certificateFingerprint?: string;
}

const KEY_ID = /^[0-9a-f]{64}$/;
const ONE_SIGNER = "give the signer to drop with one of --key-id ID, --key PUB, --identity SUBJECT with --identity-provider ISSUER, or --certificate-fingerprint FP";

/**
 * The one signer whose signatures to drop, exactly as `signatures` prints it: a key by id or by
 * its public key (which also finds file signatures labelled with no id), a keyless identity with
 * its issuer, a certificate by fingerprint (with or without colons, in either case).
 */
async function signerToDrop(options: Options): Promise<{ signer: ClaimedSigner; publicKey?: KeyObject }> {
  const { keyId, key, identity, identityProvider, certificateFingerprint } = options;
  if ([keyId, key, identity ?? identityProvider, certificateFingerprint].filter((v) => v !== undefined).length !== 1) throw new ModelGuardError("USAGE", ONE_SIGNER);
  if (key !== undefined) {
    const { readPublicKeyFile } = await import("../keys/key-files.js");
    const { publicKeyId } = await import("../keys/load-key.js");
    const publicKey = await readPublicKeyFile(key);
    return { signer: { kind: "key", fingerprint: publicKeyId(publicKey) }, publicKey };
  }
  if (keyId !== undefined) {
    if (!KEY_ID.test(keyId.toLowerCase())) throw new ModelGuardError("USAGE", `--key-id ${keyId} is not a key id: 64 hex digits, as modelguard signatures prints it`);
    return { signer: { kind: "key", fingerprint: keyId.toLowerCase() } };
  }
  if (certificateFingerprint !== undefined) {
    const hex = certificateFingerprint.replaceAll(":", "").toUpperCase();
    if (!/^[0-9A-F]{64}$/.test(hex)) {
      throw new ModelGuardError("USAGE", `--certificate-fingerprint ${certificateFingerprint} is not a SHA-256 fingerprint: 64 hex digits (colons allowed), as modelguard signatures prints it`);
    }
    // Node's spelling (X509Certificate.fingerprint256), as signatures carry it; the subject plays no part in matching.
    return { signer: { kind: "certificate", subject: "", fingerprint: hex.match(/../g)!.join(":") } };
  }
  if (identity === undefined || identityProvider === undefined) {
    throw new ModelGuardError("USAGE", "--identity and --identity-provider go together: a keyless signer is its identity and the OIDC issuer, as modelguard signatures prints them (SUBJECT (ISSUER))");
  }
  return { signer: { kind: "identity", subject: identity, issuer: identityProvider } };
}

export function registerUnsign(program: Command): void {
  program
    .command("unsign")
    .description("drop one signer's signatures from locked models (model, file and publisher signatures): the last step of rotating a key, an identity or a certificate")
    .argument("[names...]", "models to drop them from (default: all)")
    .option("--key-id <id>", "the key's id, as modelguard signatures and verify print it (64 hex digits)")
    .option("--key <file>", "the key's public key (PEM): also finds file signatures that carry no key id, by verifying them")
    .option("--identity <id>", "a keyless (Sigstore) signer's identity, exactly as modelguard signatures prints it; with --identity-provider")
    .option("--identity-provider <iss>", "the OIDC issuer of that identity, as modelguard signatures prints it in parentheses")
    .option("--certificate-fingerprint <fp>", "a certificate signer's SHA-256 fingerprint, as modelguard signatures prints it (64 hex digits, colons allowed)")
    .action(async (names: string[], options: Options, command: Command) => {
      // Loaded here, not at start-up: `modelguard --version` and other commands skip them.
      const { updateLockfile } = await import("../lockfile/update-lockfile.js");
      const { withoutSignaturesBy } = await import("../signing/drop-signatures.js");
      const { listSignatures } = await import("../signing/list-signatures.js");
      const global = globalOptions(command);
      const { signer, publicKey } = await signerToDrop(options);
      const dropped: { name: string; dropped: string[]; left: number }[] = [];
      await updateLockfile(global.lockfile, (lockfile) => {
        dropped.length = 0;
        const targets = targetNames(lockfile, names, { path: global.lockfile, unchanged: "nothing was changed" });
        // A Map, not assignment into an object: a model named "__proto__" is a model like any other.
        const replaced = new Map<string, LockedModel>();
        for (const name of targets) {
          const result = withoutSignaturesBy(lockfile.models[name]!, signer, publicKey);
          if (result.dropped.length === 0) continue;
          // What is left, of every scheme: listSignatures is the one reader of an entry's signatures.
          const left = listSignatures(result.entry).length;
          replaced.set(name, result.entry);
          dropped.push({ name, dropped: result.dropped, left });
        }
        if (dropped.length === 0) {
          // A typo in a key id, identity or fingerprint must not pass as "done": nothing signed by it is an error.
          throw new ModelGuardError("USAGE", `no signature of ${targets.join(", ") || "any model"} in ${global.lockfile} is by ${signerName(signer)}; nothing was changed (modelguard signatures lists who signed)`);
        }
        return { ...lockfile, models: Object.fromEntries(Object.entries(lockfile.models).map(([name, entry]) => [name, replaced.get(name) ?? entry])) };
      });
      if (global.json) {
        // `key` as before for a key; `signer` names any signer as it was given (a certificate by its fingerprint alone).
        const given = signer.kind === "certificate" ? { kind: signer.kind, fingerprint: signer.fingerprint } : signer;
        writeOut(JSON.stringify({ ...(signer.kind === "key" ? { key: signer.fingerprint } : {}), signer: given, models: dropped }, null, 2));
        return;
      }
      for (const d of dropped) {
        if (!global.quiet) writeErr(`${d.name}: dropped ${d.dropped.join(", ")}`);
        // Said even with --quiet: the gate refuses this model until it is signed again.
        if (d.left === 0) writeErr(`${d.name} has no signature left: verify refuses it until it is signed again (${signAgainHint(d.name, signer)})`);
      }
    });
}
