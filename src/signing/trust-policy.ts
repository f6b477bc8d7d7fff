/**
 * Whether a lockfile entry was approved by a signer the operator trusts: each signature scheme
 * (`schemes/`) is asked in turn, strongest first, and the first trusted signer wins; when none
 * is found, what the schemes found decides the error.
 */
import { ModelGuardError, withErrorContext } from "../errors.js";
import type { LockedModel } from "../lockfile/types.js";
import { listSignatures } from "./list-signatures.js";
import { SIGNATURE_SCHEMES } from "./schemes/index.js";
import { noFindings } from "./schemes/signature-scheme.js";
import type { Signer } from "../signers.js";
import type { TrustPolicy } from "./trust-anchors.js";

/**
 * Decides whether a lockfile entry was approved by a trusted signer: a signature of the entry
 * (`modelguard sign`) by a trusted key, certificate chain or keyless identity, cosign blob
 * signatures of every file by one trusted key, or the publisher's model.sig by any of those.
 * Reads no file bytes: signatures cover the entry (repo, revision, every file's digest) and the
 * bytes are then checked against that same entry. A signature that verifies with a trusted key
 * but no longer matches the entry fails even with `allowUnsigned`: it is evidence of tampering,
 * not the absence of a signature.
 */
export async function checkTrustPolicy(modelName: string, entry: LockedModel, policy: TrustPolicy): Promise<Signer> {
  try {
    return await decideTrust(modelName, entry, policy);
  } catch (err) {
    // A signature that cannot be read (SIGNATURE_MALFORMED, ...) names the model it belongs to.
    if (err instanceof ModelGuardError && err.model === undefined) throw withErrorContext(err, { prefix: `model ${modelName}`, model: modelName });
    throw err;
  }
}

async function decideTrust(modelName: string, entry: LockedModel, policy: TrustPolicy): Promise<Signer> {
  const findings = noFindings();
  // Strongest first. Once a scheme has found a signature broken or not matching the entry (and
  // none of its signatures was trusted), no weaker scheme is tried: the entry was changed after a trusted signer approved it,
  // and a per-file or publisher signature, which cannot bind the name, repo or paths, must not
  // cover that up.
  for (const scheme of SIGNATURE_SCHEMES) {
    const verdict = await scheme.verify({ name: modelName, entry }, policy);
    if (verdict.signer) return verdict.signer;
    findings.invalid.push(...verdict.invalid);
    findings.untrusted.push(...verdict.untrusted);
    findings.uncovered.push(...verdict.uncovered);
    if (findings.invalid.length > 0) break;
  }
  const where = { model: modelName };
  if (findings.invalid.length > 0) {
    throw new ModelGuardError("SIGNATURE_INVALID", `model ${modelName}: ${findings.invalid[0]}`, where);
  }
  if (policy.allowUnsigned) {
    // Signed, just not by anyone trusted: allowed, but not called unsigned (the report says by whom).
    const present = listSignatures(entry);
    return present.length > 0 ? { kind: "unsigned", untrustedSignatures: present } : { kind: "unsigned" };
  }
  if (findings.uncovered.length > 0) {
    throw new ModelGuardError("SIGNATURE_MISSING", `model ${modelName}: ${findings.uncovered[0]}`, where);
  }
  if (findings.untrusted.length > 0) {
    const hint = policy.keys.length === 0 && !policy.identities?.length && !policy.certificateRoots?.length ? " (no trusted keys, certificates or identities were given)" : "";
    // Every signature that was not trusted, each saying who signed it: the operator may hold the right key under another file.
    throw new ModelGuardError("UNTRUSTED_SIGNER", `model ${modelName}: ${findings.untrusted.join("; ")}${hint}`, where);
  }
  throw new ModelGuardError("SIGNATURE_MISSING", `model ${modelName} has no signature; sign it with \`modelguard sign ${modelName} --key cosign.key\` or allow unsigned models`, where);
}
