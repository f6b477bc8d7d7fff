/**
 * Every signer the signatures recorded in a lockfile entry claim, read without verifying
 * anything (`claimedSigner` for bundles, the `keyid` label of per-file signatures): for documents
 * made without trust anchors (a BOM), where each is reported as a claim, never as a verified
 * signer. `checkTrustPolicy` is what decides whether a signature counts.
 */
import type { LockedModel } from "../lockfile/types.js";
import type { ClaimedSigner } from "./bundle-signer.js";
import { listSignatures, type LockedSignature } from "./list-signatures.js";

/** Which kind of recorded signature: a signature of the whole entry, per-file cosign signatures, the publisher's model.sig. */
export type SignatureVia = "model-signature" | "file-signatures" | "publisher-signature";

/** A signer as a signature claims it; the fields are those of the trust check's `Signer`. */
export type RecordedSigner =
  | (ClaimedSigner & { via: SignatureVia })
  /** A per-file cosign signature: its free-form `keyid` label, when it has one. */
  | { kind: "key"; fingerprint?: string; via: "file-signatures" }
  /** A bundle that names no signer modelguard can read. */
  | { kind: "unknown"; via: SignatureVia };

/** The order the trust check tries them in, and the name each kind has here. */
const VIA: Record<LockedSignature["kind"], SignatureVia> = {
  "model-signature": "model-signature",
  "file-signature": "file-signatures",
  "publisher-signature": "publisher-signature",
};
const ORDER = Object.keys(VIA);

function recorded(s: LockedSignature): RecordedSigner {
  const via = VIA[s.kind];
  if (s.signer) return { ...s.signer, via } as RecordedSigner;
  return s.kind === "file-signature" ? { kind: "key", via: "file-signatures" } : { kind: "unknown", via };
}

/**
 * Every signer the entry's signatures name, each once, in the order the trust check tries them:
 * `listSignatures` (the one reader of what an entry's signatures claim) without the places.
 */
export function recordedSigners(entry: LockedModel): RecordedSigner[] {
  const found = listSignatures(entry)
    .sort((a, b) => ORDER.indexOf(a.kind) - ORDER.indexOf(b.kind))
    .map(recorded);
  const seen = new Set<string>();
  return found.filter((s) => {
    const key = JSON.stringify(s);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
