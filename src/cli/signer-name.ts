import type { ClaimedSigner } from "../signers.js";

/**
 * A signer in full, as `signatures` lists it and `unsign` names it: a key's whole id (what
 * `unsign --key-id` takes), an identity with its issuer, a certificate with its SHA-256
 * fingerprint (and its subject, when known). Outside text: the caller prints it escaped.
 */
export function signerName(signer: ClaimedSigner): string {
  switch (signer.kind) {
    case "key":
      return `key ${signer.fingerprint}`;
    case "identity":
      return `${signer.subject} (${signer.issuer})`;
    case "certificate":
      return signer.subject ? `certificate ${signer.subject} (sha256 ${signer.fingerprint})` : `certificate sha256 ${signer.fingerprint}`;
  }
}

/**
 * How to sign a model again the way a signer signed it: the `sign` flags of its mode
 * (signing-flags.ts); a file signature that names no key is a key's.
 */
export function signAgainHint(name: string, signer: ClaimedSigner | undefined): string {
  const flags = signer === undefined || signer.kind === "key" ? "--key KEY" : signer.kind === "certificate" ? "--key KEY --certificate CERT.pem" : "--identity-token TOKEN";
  return `modelguard sign ${name} ${flags}`;
}
