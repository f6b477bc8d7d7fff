/** Who a verified model signature was made by, for reports and lockfiles. */
export type ModelSigner =
  /** A trusted public key; `keyId` is modelguard's `publicKeyId` (the hint model_signing 1.1 writes). */
  | { method: "key"; keyId: string }
  /** A certificate chaining to a trusted root; `subject` is the leaf's subject DN. */
  | { method: "certificate"; subject: string; fingerprint: string }
  /** Sigstore keyless: the certificate's identity (SAN) and its OIDC issuer. */
  | { method: "sigstore"; identity: string; issuer: string };

/** A DSSE payload whose signature verified, and who signed it. */
export interface VerifiedPayload {
  payloadType: string;
  payload: Buffer;
  signer: ModelSigner;
}
