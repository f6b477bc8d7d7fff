import { createHash, createPublicKey, generateKeyPairSync } from "node:crypto";
import { describe, expect, it, vi } from "vitest";
import { isModelGuardError } from "../../src/errors.js";
import {
  publicKeyId,
  parsePrivateKey,
  parsePublicKey,
} from "../../src/keys/load-key.js";
import { cosignVector, envelopeJson, modelSigningVector, PASSWORD, withEnvelope } from "./vectors.js";
import { rejection } from "../helpers/errors.js";

function expectKeyInvalid(fn: () => unknown, mention?: string): void {
  try {
    fn();
  } catch (err) {
    expect(isModelGuardError(err, "KEY_INVALID"), String(err)).toBe(true);
    if (mention !== undefined) expect((err as Error).message).toContain(mention);
    return;
  }
  throw new Error("expected KEY_INVALID");
}


describe("parsePrivateKey", () => {
  it("asks for the password of an encrypted cosign key, once", async () => {
    const password = vi.fn(async () => PASSWORD);
    const key = await parsePrivateKey(cosignVector("pemsigstorekey.key"), password);
    expect(password).toHaveBeenCalledTimes(1);
    expect(createPublicKey(key).export({ type: "spki", format: "der" })).toEqual(
      parsePublicKey(cosignVector("pemsigstorekey.pub")).export({ type: "spki", format: "der" }),
    );
  });

  it("loads an unencrypted PKCS#8 PEM without asking for a password", async () => {
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-384" });
    const pem = `some preamble\n${privateKey.export({ type: "pkcs8", format: "pem" })}`;
    const password = vi.fn(async () => "unused");
    const key = await parsePrivateKey(pem, password);
    expect(password).not.toHaveBeenCalled();
    expect(key.asymmetricKeyDetails?.namedCurve).toBe("secp384r1");
  });

  it("loads an unencrypted SEC1 key, skipping an EC PARAMETERS block in front", async () => {
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const params = "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n";
    const key = await parsePrivateKey(params + String(privateKey.export({ type: "sec1", format: "pem" })), async () => "");
    expect(publicKeyId(key)).toBe(publicKeyId(privateKey));
  });

  it("loads the OpenSSF model-signing P-384 private key (SEC1 with a text preamble)", async () => {
    const key = await parsePrivateKey(modelSigningVector("keys/signing-key.pem"), async () => "unused");
    expect(publicKeyId(key)).toBe(publicKeyId(parsePublicKey(modelSigningVector("keys/signing-key-pub.pem"))));
  });

  it("rejects a malformed encrypted key before asking for the password", async () => {
    const doc = JSON.parse(envelopeJson(cosignVector("pemsigstorekey.key")));
    doc.kdf.params.N = 1024;
    const password = vi.fn(async () => PASSWORD);
    const err = await rejection(parsePrivateKey(withEnvelope("ENCRYPTED SIGSTORE PRIVATE KEY", JSON.stringify(doc)), password));
    expect(isModelGuardError(err, "KEY_INVALID")).toBe(true);
    expect((err as Error).message).toContain("N=1024");
    expect(password).not.toHaveBeenCalled();
  });

  it.each([
    ["RSA PRIVATE KEY", () => generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ type: "pkcs1", format: "pem" })],
    ["PUBLIC KEY", () => cosignVector("pemsigstorekey.pub")],
    ["no PEM", () => "just text"],
  ])("%s is KEY_INVALID", async (mention, make) => {
    const err = await rejection(parsePrivateKey(String(make()), async () => PASSWORD));
    expect(isModelGuardError(err, "KEY_INVALID")).toBe(true);
    expect((err as Error).message).toContain(mention === "no PEM" ? "no PEM block" : mention);
  });

  it("rejects an unencrypted non-ECDSA key", async () => {
    const pem = String(generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }));
    const err = await rejection(parsePrivateKey(pem, async () => ""));
    expect(isModelGuardError(err, "KEY_INVALID")).toBe(true);
    expect((err as Error).message).toContain("ed25519");
  });
});

describe("parsePublicKey", () => {
  it("accepts the cosign .pub files", () => {
    expect(parsePublicKey(cosignVector("pemcosignkey.pub")).asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
  });

  it("tolerates the GnuTLS preamble of the OpenSSF model-signing key", () => {
    const key = parsePublicKey(modelSigningVector("keys/signing-key-pub.pem"));
    expect(key.asymmetricKeyDetails?.namedCurve).toBe("secp384r1");
  });

  it("tolerates CRLF line endings", () => {
    const key = parsePublicKey(cosignVector("pemsigstorekey.pub").replace(/\n/g, "\r\n"));
    expect(key.type).toBe("public");
  });

  it("refuses certificates, private keys, several blocks and garbage", () => {
    expectKeyInvalid(() => parsePublicKey(modelSigningVector("keys/signing-key-cert.pem")), "certificates are not accepted");
    expectKeyInvalid(() => parsePublicKey(modelSigningVector("keys/signing-key.pem")), "private key");
    const pub = cosignVector("pemsigstorekey.pub");
    expectKeyInvalid(() => parsePublicKey(pub + cosignVector("pemcosignkey.pub")), "found 2");
    expectKeyInvalid(() => parsePublicKey("hello"), "no PEM block");
    expectKeyInvalid(() => parsePublicKey(pub.replace("MFkw", "MFk*")), "base64");
    expectKeyInvalid(() => parsePublicKey(pub.replace("-----END PUBLIC KEY-----", "")), "END PUBLIC KEY");
    expectKeyInvalid(() => parsePublicKey("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"), "SPKI");
  });

  it("refuses non-ECDSA public keys", () => {
    const pem = String(generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ type: "spki", format: "pem" }));
    expectKeyInvalid(() => parsePublicKey(pem), "rsa");
  });
});

describe("key fingerprints and the model_signing hint", () => {
  const pubText = modelSigningVector("keys/signing-key-pub.pem");
  const key = parsePublicKey(pubText);
  const bundle = JSON.parse(modelSigningVector("v1.1.0-elliptic-key/model.sig")) as {
    verificationMaterial: { publicKey: { hint: string } };
  };

  it("model_signing 1.1 hint is SHA-256 of the PEM SPKI text, not of the DER", () => {
    const hint = bundle.verificationMaterial.publicKey.hint;
    expect(hint).toBe("e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e");
    expect(publicKeyId(key)).toBe(hint);
    expect(publicKeyId(key)).not.toBe(createHash("sha256").update(key.export({ type: "spki", format: "der" })).digest("hex"));
    const pemBlock = pubText.slice(pubText.indexOf("-----BEGIN PUBLIC KEY-----"));
    expect(createHash("sha256").update(pemBlock).digest("hex")).toBe(hint);
  });

  it("both accept a private key and hash its public half", async () => {
    const priv = await parsePrivateKey(modelSigningVector("keys/signing-key.pem"), async () => "");
    expect(publicKeyId(priv)).toBe(bundle.verificationMaterial.publicKey.hint);
    expect(publicKeyId(priv)).toBe(publicKeyId(key));
  });
});
