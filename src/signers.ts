/**
 * Who signed a lockfile entry, as plain data: who a signature claims (`ClaimedSigner`, read
 * without verifying), where a signature sits in the entry (`LockedSignature`), and who satisfied
 * the trust policy (`Signer`). Types only, with no imports, so the report, the audit events and
 * the BOM can name a signer without depending on how signatures are checked.
 */

export type ClaimedSigner =
  /** A key, by its id (`publicKey.hint`). */
  | { kind: "key"; fingerprint: string }
  /** Sigstore keyless: the certificate's identity (SAN) and the OIDC issuer Fulcio recorded. */
  | { kind: "identity"; subject: string; issuer: string }
  /** A certificate of the signer's own CA: its subject and SHA-256 fingerprint (as Node writes it). */
  | { kind: "certificate"; subject: string; fingerprint: string };

/**
 * A signature scheme, by the name reports give it (`via`): a signature of the whole entry
 * (`modelguard sign`), per-file cosign signatures, the publisher's `model.sig`. One module each
 * in `signing/schemes/`.
 */
export type SignatureVia = "model-signature" | "file-signatures" | "publisher-signature";

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

/** Who satisfied the policy for a model, and through which signature. */
export type Signer =
  | { kind: "key"; fingerprint: string; via: SignatureVia }
  | (Exclude<ClaimedSigner, { kind: "key" }> & { via: Exclude<SignatureVia, "file-signatures"> })
  | {
      kind: "unsigned";
      /**
       * Accepted without a trusted signature (allowUnsigned), though the entry carries signatures:
       * who they claim as signer. Absent when the entry has none. "unsigned" means "no trusted
       * signature", so a consumer that checks for it treats both alike.
       */
      untrustedSignatures?: LockedSignature[];
    };
