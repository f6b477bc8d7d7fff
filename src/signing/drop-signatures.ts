/**
 * A lockfile entry without one signer's signatures (`modelguard unsign`), the last step of a key
 * rotation: sign with the new key, check `verify` passes with it, then drop the old key's. A
 * model or publisher signature is the signer's when the bundle names it (`sameSigner`: the key id,
 * the keyless identity and issuer, the certificate); a cosign file signature when it is labelled
 * with the key id or, given the public key, verifies with it (they often carry no label). Pure:
 * the caller writes the result (through updateLockfile).
 */
import type { KeyObject } from "node:crypto";
import type { LockedModel } from "../lockfile/types.js";
import { decodeBlobSignature, verifyBlobDigest } from "./blob-signature.js";
import { claimedSigner, sameSigner, type ClaimedSigner } from "./bundle-signer.js";

export interface DroppedSignatures {
  entry: LockedModel;
  /** JSON paths (in the entry as it was) of the signatures dropped. */
  dropped: string[];
}

export function withoutSignaturesBy(entry: LockedModel, signer: ClaimedSigner, publicKey?: KeyObject): DroppedSignatures {
  const dropped: string[] = [];
  const next: LockedModel = { ...entry };
  const keep = <T>(list: T[] | undefined, field: string, bundleOf: (item: T) => unknown): T[] | undefined => {
    if (!list) return undefined;
    const kept = list.filter((item, i) => {
      const mine = sameSigner(claimedSigner(bundleOf(item)), signer);
      if (mine) dropped.push(`${field}[${i}]`);
      return !mine;
    });
    return kept.length > 0 ? kept : undefined;
  };
  const signatures = keep(entry.signatures, "signatures", (b) => b);
  const publisherSignatures = keep(entry.publisherSignatures, "publisherSignatures", (p) => p.bundle);
  delete next.signatures;
  delete next.publisherSignatures;
  if (signatures) next.signatures = signatures;
  if (publisherSignatures) next.publisherSignatures = publisherSignatures;
  next.files = Object.fromEntries(
    Object.entries(entry.files).map(([path, file]) => {
      if (!file.signatures) return [path, file];
      const kept = file.signatures.filter((s, i) => {
        const sig = decodeBlobSignature(s.sig);
        const mine =
          signer.kind === "key" && (s.keyid === signer.fingerprint || (publicKey !== undefined && sig !== undefined && verifyBlobDigest(file.sha256, sig, publicKey)));
        if (mine) dropped.push(`files[${JSON.stringify(path)}].signatures[${i}]`);
        return !mine;
      });
      const { signatures: _all, ...rest } = file;
      return [path, kept.length > 0 ? { ...rest, signatures: kept } : rest];
    }),
  );
  return { entry: dropped.length > 0 ? next : entry, dropped };
}
