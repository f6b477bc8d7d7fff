/**
 * Every signer the signatures recorded in a lockfile entry claim, read without verifying
 * anything (`claimedSigner` for bundles, the `keyid` label of per-file signatures): for documents
 * made without trust anchors (a BOM), where each is reported as a claim, never as a verified
 * signer. `checkTrustPolicy` is what decides whether a signature counts.
 */
import type { LockedModel } from "../lockfile/types.js";
import { claimedSigner, type ClaimedSigner } from "./bundle-signer.js";

/** Which kind of recorded signature: a signature of the whole entry, per-file cosign signatures, the publisher's model.sig. */
export type SignatureVia = "model-signature" | "file-signatures" | "publisher-signature";

/** A signer as a signature claims it; the fields are those of the trust check's `Signer`. */
export type RecordedSigner =
  | (ClaimedSigner & { via: SignatureVia })
  /** A per-file cosign signature: its free-form `keyid` label, when it has one. */
  | { kind: "key"; fingerprint?: string; via: "file-signatures" }
  /** A bundle that names no signer modelguard can read. */
  | { kind: "unknown"; via: SignatureVia };

function fromBundle(bundle: unknown, via: SignatureVia): RecordedSigner {
  const claimed = claimedSigner(bundle);
  return claimed ? { ...claimed, via } : { kind: "unknown", via };
}

/** Every signer the entry's signatures name, each once, in the order the trust check tries them. */
export function recordedSigners(entry: LockedModel): RecordedSigner[] {
  const found: RecordedSigner[] = [
    ...(entry.signatures ?? []).map((bundle) => fromBundle(bundle, "model-signature")),
    ...Object.values(entry.files).flatMap((file) =>
      (file.signatures ?? []).map((s): RecordedSigner => ({ kind: "key", ...(s.keyid ? { fingerprint: s.keyid } : {}), via: "file-signatures" })),
    ),
    ...(entry.publisherSignatures ?? []).map((recorded) => fromBundle(recorded.bundle, "publisher-signature")),
  ];
  const seen = new Set<string>();
  return found.filter((s) => {
    const key = JSON.stringify(s);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
