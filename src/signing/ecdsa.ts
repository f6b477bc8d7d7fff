import { sign, verify, type KeyObject } from "node:crypto";
import { ModelGuardError } from "../errors.js";

/**
 * The digest an ECDSA key signs with: cosign and OpenSSF model_signing pair each curve with the
 * hash of matching strength (P-256 → SHA-256, P-384 → SHA-384, P-521 → SHA-512).
 */
export function hashForKey(key: KeyObject): "sha256" | "sha384" | "sha512" {
  if (key.asymmetricKeyType !== "ec") {
    throw new ModelGuardError("KEY_INVALID", `expected an ECDSA key, got ${key.asymmetricKeyType ?? "an unknown key type"}`);
  }
  switch (key.asymmetricKeyDetails?.namedCurve) {
    case "prime256v1":
      return "sha256";
    case "secp384r1":
      return "sha384";
    case "secp521r1":
      return "sha512";
    default:
      throw new ModelGuardError("KEY_INVALID", `unsupported elliptic curve ${key.asymmetricKeyDetails?.namedCurve ?? "?"}`);
  }
}

/** ASN.1 DER ECDSA signature, as cosign and model_signing write them. */
export function signDer(data: Uint8Array, privateKey: KeyObject): Buffer {
  return sign(hashForKey(privateKey), data, { key: privateKey, dsaEncoding: "der" });
}

export function verifyDer(data: Uint8Array, signature: Uint8Array, publicKey: KeyObject): boolean {
  try {
    return verify(hashForKey(publicKey), data, { key: publicKey, dsaEncoding: "der" }, signature);
  } catch {
    return false;
  }
}
