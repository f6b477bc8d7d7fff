/**
 * The ECDSA curves modelguard signs and verifies with, and every name a format gives a curve or
 * its hash: one table, so a curve or a name is added in one place.
 *
 * cosign and OpenSSF model_signing pair each curve with the hash of matching strength
 * (P-256 → SHA-256, P-384 → SHA-384, P-521 → SHA-512); a Sigstore bundle names that hash by
 * its protobuf-specs `HashAlgorithm`.
 */
import type { KeyObject } from "node:crypto";
import { HashAlgorithm } from "@sigstore/protobuf-specs";

export interface EcdsaCurve {
  /** The NIST name (JWK, cosign and model_signing say it this way). */
  readonly name: "P-256" | "P-384" | "P-521";
  /** OpenSSL's name, which Node reports as `asymmetricKeyDetails.namedCurve`. */
  readonly openssl: "prime256v1" | "secp384r1" | "secp521r1";
  /** Node's name of the hash signatures with this curve are over. */
  readonly hash: "sha256" | "sha384" | "sha512";
  /** That hash in a Sigstore bundle: the protobuf-specs enum value and its JSON name. */
  readonly sigstoreHash: HashAlgorithm;
  readonly sigstoreHashName: "SHA2_256" | "SHA2_384" | "SHA2_512";
}

export const ECDSA_CURVES: readonly EcdsaCurve[] = [
  { name: "P-256", openssl: "prime256v1", hash: "sha256", sigstoreHash: HashAlgorithm.SHA2_256, sigstoreHashName: "SHA2_256" },
  { name: "P-384", openssl: "secp384r1", hash: "sha384", sigstoreHash: HashAlgorithm.SHA2_384, sigstoreHashName: "SHA2_384" },
  { name: "P-521", openssl: "secp521r1", hash: "sha512", sigstoreHash: HashAlgorithm.SHA2_512, sigstoreHashName: "SHA2_512" },
];

/** The curve of an ECDSA key, or undefined for another key type or curve (callers name the problem). */
export function curveOfKey(key: KeyObject): EcdsaCurve | undefined {
  if (key.asymmetricKeyType !== "ec") return undefined;
  const named = key.asymmetricKeyDetails?.namedCurve;
  return ECDSA_CURVES.find((c) => c.openssl === named);
}

/** The row whose hash is `hash` (Node's name, e.g. Rekor's `sha256`), if any. */
export function curveForHash(hash: string): EcdsaCurve | undefined {
  return ECDSA_CURVES.find((c) => c.hash === hash);
}

/** The row whose Sigstore `HashAlgorithm` is `algorithm`, if any. */
export function curveForSigstoreHash(algorithm: HashAlgorithm): EcdsaCurve | undefined {
  return ECDSA_CURVES.find((c) => c.sigstoreHash === algorithm);
}
