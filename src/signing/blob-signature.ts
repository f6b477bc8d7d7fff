import type { KeyObject } from "node:crypto";
import { p256 } from "@noble/curves/nist.js";
import { hashForKey, signDer, verifyDer } from "./ecdsa.js";

/**
 * cosign `sign-blob --key`: base64 of an ASN.1 DER ECDSA signature over the blob's digest.
 */
export function signBlob(blob: Uint8Array, privateKey: KeyObject): string {
  return signDer(blob, privateKey).toString("base64");
}

/** cosign writes the signature base64, often newline-terminated; either form is accepted. */
export function decodeBlobSignature(text: string): Buffer | undefined {
  const trimmed = text.trim();
  // Strict, as cosign decodes: a file name that happens to use only base64 letters is not a signature.
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) || trimmed.length % 4 !== 0) return undefined;
  return Buffer.from(trimmed, "base64");
}

export function verifyBlob(blob: Uint8Array, signature: Uint8Array, publicKey: KeyObject): boolean {
  return verifyDer(blob, signature, publicKey);
}

/**
 * Verifies a cosign blob signature against a digest already computed while the file was read,
 * so a locked file is never hashed a second time for its signature. Node's crypto only verifies
 * over a message it hashes itself; @noble/curves verifies over a given digest (`prehash: false`).
 * cosign's P-256 signatures are over SHA-256, the digest the lockfile records; other curves sign
 * a different hash, which the lockfile does not hold, so they do not verify here.
 */
export function verifyBlobDigest(sha256Hex: string, signature: Uint8Array, publicKey: KeyObject): boolean {
  if (hashForKey(publicKey) !== "sha256") return false;
  const jwk = publicKey.export({ format: "jwk" });
  if (!jwk.x || !jwk.y) return false;
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, "base64url"), Buffer.from(jwk.y, "base64url")]);
  try {
    // Go's crypto/ecdsa does not normalise S, so high-S signatures are valid cosign output.
    return p256.verify(signature, Buffer.from(sha256Hex, "hex"), point, {
      prehash: false,
      lowS: false,
      format: "der",
    });
  } catch {
    return false;
  }
}
