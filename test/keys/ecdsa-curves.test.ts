import { generateKeyPairSync } from "node:crypto";
import { hashAlgorithmToJSON } from "@sigstore/protobuf-specs";
import { describe, expect, it } from "vitest";
import { ECDSA_CURVES, curveForHash, curveForSigstoreHash, curveOfKey } from "../../src/keys/ecdsa-curves.js";

describe("the ECDSA curve table", () => {
  it.each(ECDSA_CURVES.map((c) => [c.name, c] as const))("%s: each name is the one Node, OpenSSL and protobuf-specs use", (name, curve) => {
    const { publicKey } = generateKeyPairSync("ec", { namedCurve: name });
    expect(publicKey.asymmetricKeyDetails?.namedCurve).toBe(curve.openssl);
    expect(curveOfKey(publicKey)).toBe(curve);
    expect(hashAlgorithmToJSON(curve.sigstoreHash)).toBe(curve.sigstoreHashName);
    expect(curveForHash(curve.hash)).toBe(curve);
    expect(curveForSigstoreHash(curve.sigstoreHash)).toBe(curve);
  });

  it("knows no other key type, curve or hash", () => {
    expect(curveOfKey(generateKeyPairSync("ec", { namedCurve: "secp256k1" }).publicKey)).toBeUndefined();
    expect(curveOfKey(generateKeyPairSync("ed25519").publicKey)).toBeUndefined();
    expect(curveForHash("sha1")).toBeUndefined();
    expect(curveForHash("constructor")).toBeUndefined();
    expect(curveForSigstoreHash(0)).toBeUndefined();
  });
});
