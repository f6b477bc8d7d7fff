/**
 * A signature scheme: one way a lockfile entry can be signed, as one module of `signing/schemes/`
 * (the way sigstore-js's verifier has one module per transparency-log entry kind). The trust
 * policy (`../trust-policy.ts`) asks each scheme in turn, strongest first (`./index.ts`); listing
 * (`modelguard signatures`), the BOM's recorded signers and `unsign` go through the same modules,
 * so a scheme's knowledge of where its signatures sit in an entry lives in one file.
 */
import type { KeyObject } from "node:crypto";
import type { LockedModel } from "../../lockfile/types.js";
import type { ClaimedSigner, LockedSignature, SignatureVia, Signer } from "../../signers.js";
import type { TrustAnchors } from "../trust-anchors.js";

/** Why a scheme's signatures did not satisfy the policy, each a message naming the signature. */
export interface Findings {
  /**
   * A signature that is broken (a bad signature, a certificate that does not parse) or, by a
   * trusted signer, no longer matches the entry: tampering. The trust policy tries no weaker
   * scheme after one (a later signature of the same scheme may still be trusted).
   */
  invalid: string[];
  /** Valid signatures by signers the policy does not trust. */
  untrusted: string[];
  /** Valid, trusted signatures that leave some locked file unattested. */
  uncovered: string[];
}

/** A trusted signer, or what was found instead (all empty when the entry has none of the scheme's signatures). */
export type SchemeVerdict = { signer: Signer } | ({ signer?: undefined } & Findings);

/** A lockfile entry by its name in the lockfile (a lockfile signature binds the name). */
export interface NamedEntry {
  name: string;
  entry: LockedModel;
}

/** The entry without one signer's signatures, and the JSON paths (in the entry as it was) dropped. */
export interface DroppedSignatures {
  entry: LockedModel;
  dropped: string[];
}

export interface SignatureScheme {
  /** The scheme's name in reports, audit events and the BOM: the `via` of the signers it yields. */
  readonly via: SignatureVia;
  /**
   * Whether a signer the anchors trust signed the entry this way. Reads no file bytes: a
   * signature covers the entry, and the bytes are then held to that same entry. Throws only
   * what is no finding (a signature that cannot be read: SIGNATURE_MALFORMED).
   */
  verify(model: NamedEntry, anchors: TrustAnchors): Promise<SchemeVerdict>;
  /** Each of its signatures the entry records, with who it claims signed it; verifies nothing. */
  list(entry: LockedModel): LockedSignature[];
  /**
   * The entry without the signatures `signer` made this way (`unsign`); `publicKey`, when given,
   * finds signatures that do not name their signer. Pure: the caller writes the result.
   */
  without(entry: LockedModel, signer: ClaimedSigner, publicKey?: KeyObject): DroppedSignatures;
}

/** No signature of the scheme was trusted, and none was found wanting either. */
export function noFindings(): Findings {
  return { invalid: [], untrusted: [], uncovered: [] };
}
