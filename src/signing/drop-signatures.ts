/**
 * A lockfile entry without one signer's signatures (`modelguard unsign`), the last step of a key
 * rotation: sign with the new key, check `verify` passes with it, then drop the old key's. Each
 * scheme drops its own (`SignatureScheme.without`): a model or publisher signature when the
 * bundle names the signer (the key id, the keyless identity and issuer, the certificate); a
 * cosign file signature when it is labelled with the key id or, given the public key, verifies
 * with it. Pure: the caller writes the result (through updateLockfile).
 */
import type { KeyObject } from "node:crypto";
import type { LockedModel } from "../lockfile/types.js";
import { SIGNATURE_SCHEMES } from "./schemes/index.js";
import type { DroppedSignatures } from "./schemes/signature-scheme.js";
import type { ClaimedSigner } from "../signers.js";

export function withoutSignaturesBy(entry: LockedModel, signer: ClaimedSigner, publicKey?: KeyObject): DroppedSignatures {
  let next = entry;
  const dropped: string[] = [];
  for (const scheme of SIGNATURE_SCHEMES) {
    const result = scheme.without(next, signer, publicKey);
    next = result.entry;
    dropped.push(...result.dropped);
  }
  return { entry: dropped.length > 0 ? next : entry, dropped };
}
