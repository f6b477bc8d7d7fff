import { sign, verify, type KeyObject } from "node:crypto";
import { ModelGuardError } from "../errors.js";
import { curveOfKey, type EcdsaCurve } from "../keys/ecdsa-curves.js";

/** The digest an ECDSA key signs with (the curve's pair in keys/ecdsa-curves.ts). */
export function hashForKey(key: KeyObject): EcdsaCurve["hash"] {
  if (key.asymmetricKeyType !== "ec") {
    throw new ModelGuardError("KEY_INVALID", `expected an ECDSA key, got ${key.asymmetricKeyType ?? "an unknown key type"}`);
  }
  const curve = curveOfKey(key);
  if (curve === undefined) {
    throw new ModelGuardError("KEY_INVALID", `unsupported elliptic curve ${key.asymmetricKeyDetails?.namedCurve ?? "?"}`);
  }
  return curve.hash;
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
