/**
 * Byte-exactness against cosign: with cosign's salt and nonce, encryptPrivateKey must rebuild the
 * vector file byte for byte (same JSON field order, base64, PEM line layout).
 */
import { scryptSync } from "node:crypto";
import nacl from "tweetnacl";
import { describe, expect, it, vi } from "vitest";
import { encryptPrivateKey } from "../../src/keys/encrypted-key.js";
import { cosignVector, envelopeJson, PASSWORD } from "./vectors.js";

const queue = vi.hoisted(() => ({ bytes: [] as Buffer[] }));
vi.mock("node:crypto", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:crypto")>();
  const randomBytes = ((size: number) => {
    const next = queue.bytes.shift();
    if (next === undefined) return actual.randomBytes(size);
    expect(next.length).toBe(size);
    return next;
  }) as typeof actual.randomBytes;
  return { ...actual, randomBytes, default: { ...actual, randomBytes } };
});

describe("encryptPrivateKey reproduces cosign's output", () => {
  it("pemsigstorekey.key, byte for byte", async () => {
    const vector = cosignVector("pemsigstorekey.key");
    const doc = JSON.parse(envelopeJson(vector));
    const salt = Buffer.from(doc.kdf.salt, "base64");
    const nonce = Buffer.from(doc.cipher.nonce, "base64");
    // Decrypt independently of the code under test to get cosign's exact PKCS#8 bytes.
    const key = scryptSync(PASSWORD, salt, 32, { N: doc.kdf.params.N, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
    const plain = nacl.secretbox.open(Buffer.from(doc.ciphertext, "base64"), nonce, key);
    expect(plain).not.toBeNull();

    queue.bytes.push(salt, nonce);
    const pem = await encryptPrivateKey(plain!, PASSWORD, { N: doc.kdf.params.N });
    expect(queue.bytes).toHaveLength(0);
    expect(pem).toBe(vector);
  });
});
