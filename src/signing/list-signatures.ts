/**
 * Who signed a lockfile entry, as its signatures claim (`modelguard signatures`): for key
 * rotation, to see which models still carry only the old key's signature. Nothing here verifies
 * anything or decides trust (`verify` does, with the anchors the caller trusts).
 */
import type { LockedModel } from "../lockfile/types.js";
import { claimedSigner, type ClaimedSigner } from "./bundle-signer.js";

export interface LockedSignature {
  /** Where it sits in the entry, as a JSON path: `signatures[0]`, `publisherSignatures[0]`, `files["a.onnx"].signatures[0]`. */
  where: string;
  kind: "model-signature" | "file-signature" | "publisher-signature";
  /**
   * Who it claims signed it: a key by its id, a keyless identity, a certificate. For a file
   * signature, the key id it is labelled with (cosign's often carry none: then absent).
   */
  signer?: ClaimedSigner;
  /** For publisher signatures: where the repo holds it (`model.sig`). */
  path?: string;
}

export function listSignatures(entry: LockedModel): LockedSignature[] {
  const out: LockedSignature[] = [];
  const bundles = [
    ...(entry.signatures ?? []).map((bundle, i) => ({ where: `signatures[${i}]`, kind: "model-signature" as const, bundle })),
    ...(entry.publisherSignatures ?? []).map((p, i) => ({ where: `publisherSignatures[${i}]`, kind: "publisher-signature" as const, bundle: p.bundle, path: p.path })),
  ];
  for (const { bundle, ...rest } of bundles) {
    const signer = claimedSigner(bundle);
    out.push({ ...rest, ...(signer ? { signer } : {}) });
  }
  for (const [path, file] of Object.entries(entry.files)) {
    for (const [i, s] of (file.signatures ?? []).entries()) {
      out.push({
        where: `files[${JSON.stringify(path)}].signatures[${i}]`,
        kind: "file-signature",
        ...(s.keyid ? { signer: { kind: "key", fingerprint: s.keyid } } : {}),
      });
    }
  }
  return out;
}
