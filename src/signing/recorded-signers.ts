/**
 * Every signer the signatures recorded in a lockfile entry claim, read without verifying
 * anything (each scheme's `list`: `claimedSigner` for bundles, the `keyid` label of per-file
 * signatures): for documents made without trust anchors (a BOM), where each is reported as a
 * claim, never as a verified signer. `checkTrustPolicy` is what decides whether a signature counts.
 */
import type { LockedModel } from "../lockfile/types.js";
import { SIGNATURE_SCHEMES } from "./schemes/index.js";
import type { ClaimedSigner, LockedSignature, SignatureVia } from "../signers.js";

/** A signer as a signature claims it; the fields are those of the trust check's `Signer`. */
export type RecordedSigner =
  | (ClaimedSigner & { via: SignatureVia })
  /** A per-file cosign signature: its free-form `keyid` label, when it has one. */
  | { kind: "key"; fingerprint?: string; via: "file-signatures" }
  /** A bundle that names no signer modelguard can read. */
  | { kind: "unknown"; via: SignatureVia };

function recorded(s: LockedSignature, via: SignatureVia): RecordedSigner {
  if (s.signer) return { ...s.signer, via } as RecordedSigner;
  return via === "file-signatures" ? { kind: "key", via } : { kind: "unknown", via };
}

/** Every signer the entry's signatures name, each once, in the order the trust check tries them. */
export function recordedSigners(entry: LockedModel): RecordedSigner[] {
  const found = SIGNATURE_SCHEMES.flatMap((scheme) => scheme.list(entry).map((s) => recorded(s, scheme.via)));
  const seen = new Set<string>();
  return found.filter((s) => {
    const key = JSON.stringify(s);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
