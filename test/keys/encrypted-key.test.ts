import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { describe, expect, it } from "vitest";
import { isModelGuardError } from "../../src/errors.js";
import {
  checkEncryptedKey,
  COSIGN_PRIVATE_KEY_LABEL,
  decryptPrivateKey,
  encryptPrivateKey,
  SIGSTORE_PRIVATE_KEY_LABEL,
} from "../../src/keys/encrypted-key.js";
import { parsePublicKey } from "../../src/keys/load-key.js";
import { cosignVector, envelopeJson, PASSWORD, withEnvelope } from "./vectors.js";
import { rejection } from "../helpers/errors.js";

function spkiDer(key: KeyObject): Buffer {
  return (key.type === "private" ? createPublicKey(key) : key).export({ type: "spki", format: "der" });
}


function freshPkcs8(curve = "P-256"): Buffer {
  return generateKeyPairSync("ec", { namedCurve: curve }).privateKey.export({ type: "pkcs8", format: "der" });
}

describe("cosign vectors", () => {
  it.each([
    ["pemsigstorekey", SIGSTORE_PRIVATE_KEY_LABEL],
    ["pemcosignkey", COSIGN_PRIVATE_KEY_LABEL],
  ])("%s.key (%s) decrypts with the password and matches its .pub", async (name, label) => {
    const pem = cosignVector(`${name}.key`);
    expect(pem.startsWith(`-----BEGIN ${label}-----`)).toBe(true);
    const key = await decryptPrivateKey(pem, PASSWORD);
    expect(key.type).toBe("private");
    expect(key.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    const expected = parsePublicKey(cosignVector(`${name}.pub`));
    expect(spkiDer(key)).toEqual(spkiDer(expected));
  });

  it("pemcosigneckey.key (SEC1 plaintext) is refused with KEY_INVALID, as cosign does", async () => {
    const err = await rejection(decryptPrivateKey(cosignVector("pemcosigneckey.key"), PASSWORD));
    expect(isModelGuardError(err, "KEY_INVALID")).toBe(true);
    const message = (err as Error).message;
    expect(message).toContain("SEC1");
    expect(message).toContain("EC PRIVATE KEY");
    expect(message).toContain("not PKCS#8");
    expect(message).toContain("use ParseECPrivateKey instead");
  });

  it("a wrong password is WRONG_PASSWORD", async () => {
    const err = await rejection(decryptPrivateKey(cosignVector("pemsigstorekey.key"), "not-hello"));
    expect(isModelGuardError(err, "WRONG_PASSWORD")).toBe(true);
    expect((err as Error).message).toContain("wrong password");
    expect((err as Error).message).not.toMatch(/\n\s+at /);
  });
});

describe("encryptPrivateKey", () => {
  it.each([32768, 65536, 131072])("round-trips with N=%i", async (N) => {
    const der = freshPkcs8();
    const pem = await encryptPrivateKey(der, "pw", { N });
    expect(JSON.parse(envelopeJson(pem)).kdf.params.N).toBe(N);
    const key = await decryptPrivateKey(pem, "pw");
    expect(key.export({ type: "pkcs8", format: "der" })).toEqual(der);
  });

  it("writes cosign's exact envelope: key order, field sizes, PEM layout", async () => {
    const pem = await encryptPrivateKey(freshPkcs8(), "", {});
    const lines = pem.split("\n");
    expect(lines[0]).toBe(`-----BEGIN ${SIGSTORE_PRIVATE_KEY_LABEL}-----`);
    expect(lines.at(-2)).toBe(`-----END ${SIGSTORE_PRIVATE_KEY_LABEL}-----`);
    expect(lines.at(-1)).toBe("");
    const body = lines.slice(1, -2);
    for (const line of body.slice(0, -1)) expect(line).toHaveLength(64);
    expect(body.at(-1)!.length).toBeGreaterThan(0);
    expect(body.at(-1)!.length).toBeLessThanOrEqual(64);

    const json = envelopeJson(pem);
    const m = json.match(
      /^\{"kdf":\{"name":"scrypt","params":\{"N":65536,"r":8,"p":1\},"salt":"([A-Za-z0-9+/=]+)"\},"cipher":\{"name":"nacl\/secretbox","nonce":"([A-Za-z0-9+/=]+)"\},"ciphertext":"([A-Za-z0-9+/=]+)"\}$/,
    );
    expect(m, json).not.toBeNull();
    expect(Buffer.from(m![1]!, "base64")).toHaveLength(32);
    expect(Buffer.from(m![2]!, "base64")).toHaveLength(24);
    // P-256 PKCS#8 from OpenSSL is 138 bytes, plus the 16-byte Poly1305 tag.
    expect(Buffer.from(m![3]!, "base64")).toHaveLength(138 + 16);
  });

  it("refuses an N cosign would not read", async () => {
    const err = await rejection(encryptPrivateKey(freshPkcs8(), "pw", { N: 1024 }));
    expect(isModelGuardError(err, "USAGE")).toBe(true);
  });

  it("refuses bytes that are not a PKCS#8 key", async () => {
    const sec1 = createPrivateKey({ key: freshPkcs8(), format: "der", type: "pkcs8" }).export({ type: "sec1", format: "der" });
    const err = await rejection(encryptPrivateKey(sec1, "pw"));
    expect(isModelGuardError(err, "KEY_INVALID")).toBe(true);
  });

  it("refuses non-ECDSA keys", async () => {
    const ed = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "der" });
    const err = await rejection(encryptPrivateKey(ed, "pw"));
    expect(isModelGuardError(err, "KEY_INVALID")).toBe(true);
    expect((err as Error).message).toContain("ed25519");
  });
});

describe("decryptPrivateKey input checks (no KDF run)", () => {
  const base = JSON.parse(envelopeJson(cosignVector("pemsigstorekey.key"))) as {
    kdf: { name: string; params: Record<string, number>; salt: string };
    cipher: { name: string; nonce: string };
    ciphertext: string;
  };
  function edited(edit: (doc: typeof base) => void, label = SIGSTORE_PRIVATE_KEY_LABEL): string {
    const doc = structuredClone(base);
    edit(doc);
    return withEnvelope(label, JSON.stringify(doc));
  }

  it.each([
    ["N=1024", (d: typeof base) => void (d.kdf.params.N = 1024), "N=1024"],
    ["N=1048576", (d: typeof base) => void (d.kdf.params.N = 1048576), "N=1048576"],
    ["r=16", (d: typeof base) => void (d.kdf.params.r = 16), "r=16"],
    ["p=2", (d: typeof base) => void (d.kdf.params.p = 2), "p=2"],
    ["kdf argon2", (d: typeof base) => void (d.kdf.name = "argon2"), "argon2"],
    ["cipher aes", (d: typeof base) => void (d.cipher.name = "aes-gcm"), "aes-gcm"],
    ["short nonce", (d: typeof base) => void (d.cipher.nonce = Buffer.alloc(12).toString("base64")), "nonce"],
    ["bad base64", (d: typeof base) => void (d.ciphertext = "!!!!"), "base64"],
  ])("%s is KEY_INVALID naming the problem", async (_name, edit, mention) => {
    const pem = edited(edit);
    expect(() => checkEncryptedKey(pem)).toThrow(mention);
    const err = await rejection(decryptPrivateKey(pem, PASSWORD));
    expect(isModelGuardError(err, "KEY_INVALID")).toBe(true);
    expect((err as Error).message).toContain(mention);
  });

  it("other PEM labels are KEY_INVALID", async () => {
    const pem = withEnvelope("ENCRYPTED PRIVATE KEY", JSON.stringify(base));
    const err = await rejection(decryptPrivateKey(pem, PASSWORD));
    expect(isModelGuardError(err, "KEY_INVALID")).toBe(true);
    expect((err as Error).message).toContain("ENCRYPTED PRIVATE KEY");
  });

  it("a body that is not JSON is KEY_INVALID", async () => {
    const err = await rejection(decryptPrivateKey(withEnvelope(SIGSTORE_PRIVATE_KEY_LABEL, "not json"), PASSWORD));
    expect(isModelGuardError(err, "KEY_INVALID")).toBe(true);
  });

  it("checkEncryptedKey reports label and N of the vectors", () => {
    expect(checkEncryptedKey(cosignVector("pemcosignkey.key"))).toEqual({ label: COSIGN_PRIVATE_KEY_LABEL, N: 32768 });
    expect(checkEncryptedKey(cosignVector("pemcosigneckey.key"))).toEqual({ label: COSIGN_PRIVATE_KEY_LABEL, N: 65536 });
  });
});
