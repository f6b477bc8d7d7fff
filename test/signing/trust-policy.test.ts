import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/digest/sha256.js";
import { parsePublicKey, publicKeyId } from "../../src/keys/load-key.js";
import type { LockedModel } from "../../src/lockfile/types.js";
import { signBlob } from "../../src/signing/blob-signature.js";
import { signLockedModel, withSignature } from "../../src/signing/sign-locked-model.js";
import { signDsseBundle } from "../../src/signing/dsse-bundle.js";
import { statementForLockedModel } from "../../src/signing/locked-model-statement.js";
import { buildModelStatement, IN_TOTO_PAYLOAD_TYPE } from "../../src/signing/model-statement.js";
import type { TrustPolicy } from "../../src/signing/trust-anchors.js";
import { checkTrustPolicy } from "../../src/signing/trust-policy.js";
import { lockedEntry, makeKeys, tempDir } from "../helpers/fixtures.js";
/** The error code checkTrustPolicy rejects with, or undefined when it resolves. */
const codeOf = (run: () => Promise<unknown>): Promise<string | undefined> =>
  run().then(
    () => undefined,
    (err: { code?: string }) => err.code,
  );

const vectors = new URL("../fixtures/vectors/cosign/", import.meta.url);
const dir = await tempDir();
const alice = await makeKeys(dir, "alice");
const mallory = await makeKeys(dir, "mallory");

const files = { "onnx/model.onnx": Buffer.from("model bytes"), "tokenizer.json": Buffer.from("{}") };
const entry = lockedEntry("org/model", files);

function trusting(...keys: { publicKey: import("node:crypto").KeyObject }[]): TrustPolicy {
  return { keys: keys.map((k) => ({ key: k.publicKey, fingerprint: publicKeyId(k.publicKey) })), allowUnsigned: false };
}


describe("checkTrustPolicy with model signatures", async () => {
  const signed = withSignature("m", entry, alice.privateKey, alice.publicKey);

  it("accepts an entry signed by a trusted key and names the signer", async () => {
    expect(await checkTrustPolicy("m", signed, trusting(alice))).toEqual({
      kind: "key",
      fingerprint: publicKeyId(alice.publicKey),
      via: "model-signature",
    });
  });

  it("refuses a signature from a key that is not trusted", async () => {
    expect(await codeOf(() => checkTrustPolicy("m", signed, trusting(mallory)))).toBe("UNTRUSTED_SIGNER");
    expect(await codeOf(() => checkTrustPolicy("m", signed, trusting()))).toBe("UNTRUSTED_SIGNER");
  });

  it("refuses an unsigned entry unless unsigned models are allowed", async () => {
    expect(await codeOf(() => checkTrustPolicy("m", entry, trusting(alice)))).toBe("SIGNATURE_MISSING");
    expect(await checkTrustPolicy("m", entry, { ...trusting(alice), allowUnsigned: true })).toEqual({ kind: "unsigned" });
    // Signed, by no one trusted: allowed, and the signer it claims is reported, not "unsigned" alone.
    expect(await checkTrustPolicy("m", signed, { ...trusting(mallory), allowUnsigned: true })).toEqual({
      kind: "unsigned",
      untrustedSignatures: [{ where: "signatures[0]", kind: "model-signature", signer: { kind: "key", fingerprint: publicKeyId(alice.publicKey) } }],
    });
  });

  it("names the key that signed and the keys given when none is trusted, every signature of the model", async () => {
    const both = withSignature("m", signed, mallory.privateKey, mallory.publicKey);
    const stranger = await makeKeys(dir, "stranger");
    const err = await checkTrustPolicy("m", both, trusting(stranger)).catch((e: Error) => e);
    expect(err).toMatchObject({ code: "UNTRUSTED_SIGNER", model: "m" });
    const [a, m, s] = [alice, mallory, stranger].map((k) => publicKeyId(k.publicKey));
    expect((err as Error).message).toBe(
      `model m: signatures[0]: the model was signed by key ${a}, which is not trusted (trusted: ${s}); signatures[1]: the model was signed by key ${m}, which is not trusted (trusted: ${s})`,
    );
    // Only an identity trusted: the key that signed is still named.
    const keyless = await checkTrustPolicy("m", signed, { keys: [], identities: [{ subject: "a@example.com", issuer: "https://issuer.example" }], allowUnsigned: false }).catch((e: Error) => e);
    expect((keyless as Error).message).toContain(`signed by key ${a}; no key was given to trust (--key)`);
  });

  it("names the model of a signature that cannot be read (SIGNATURE_MALFORMED)", async () => {
    const err = await checkTrustPolicy("m", { ...entry, signatures: ["not a bundle"] }, trusting(alice)).catch((e: Error) => e);
    expect(err).toMatchObject({ code: "SIGNATURE_MALFORMED", model: "m", message: expect.stringMatching(/^model m: signatures\[0\]: /) });
    const file = await checkTrustPolicy("m", { ...entry, files: { ...entry.files, "tokenizer.json": { ...entry.files["tokenizer.json"]!, signatures: [{ sig: "%%%" }] } } }, trusting(mallory)).catch((e: Error) => e);
    expect(file).toMatchObject({ code: "SIGNATURE_MALFORMED", model: "m", file: "tokenizer.json", message: expect.stringMatching(/^model m: files\["tokenizer\.json"\]\.signatures: not base64/) });
  });

  const edits: [string, (e: LockedModel) => void][] = [
    ["a file's digest", (e) => (e.files["onnx/model.onnx"]!.sha256 = "0".repeat(64))],
    ["a file added", (e) => (e.files["extra.bin"] = { size: 1, sha256: "1".repeat(64) })],
    ["a file removed", (e) => delete e.files["tokenizer.json"]],
    ["a file renamed", (e) => { e.files["renamed.json"] = e.files["tokenizer.json"]!; delete e.files["tokenizer.json"]; }],
    ["the repo", (e) => (e.repo = "evil/model")],
    ["the revision", (e) => (e.revision = "2".repeat(40))],
  ];
  it.each(edits)("refuses an entry whose %s changed after signing, even when unsigned models are allowed", async (_what, edit) => {
    const edited = structuredClone(signed);
    edit(edited);
    expect(await codeOf(() => checkTrustPolicy("m", edited, trusting(alice)))).toBe("SIGNATURE_INVALID");
    expect(await codeOf(() => checkTrustPolicy("m", edited, { ...trusting(alice), allowUnsigned: true }))).toBe("SIGNATURE_INVALID");
  });

  it("refuses a signed entry under another model name: two signed entries cannot trade names", async () => {
    const other = withSignature("other", lockedEntry("org/other", { "onnx/model.onnx": Buffer.from("other graph") }), alice.privateKey, alice.publicKey);
    const err = await checkTrustPolicy("safety-filter", other, trusting(alice)).catch((e: Error & { code: string }) => e);
    expect(err).toMatchObject({ code: "SIGNATURE_INVALID" });
    expect((err as Error).message).toContain('signed for the model named "other", not "safety-filter"');
    expect(await codeOf(() => checkTrustPolicy("m2", signed, { ...trusting(alice), allowUnsigned: true }))).toBe("SIGNATURE_INVALID");
  });

  it("covers the gguf layout: an entry whose layout was added, edited or dropped after signing is refused", async () => {
    const gguf = lockedEntry("org/llm", { "m.gguf": Buffer.from("model"), "lora.gguf": Buffer.from("adapter") });
    const layout = { entry: "m.gguf", loras: ["lora.gguf"] };
    const signedGguf = withSignature("llm", { ...gguf, gguf: layout }, alice.privateKey, alice.publicKey);
    expect(await codeOf(() => checkTrustPolicy("llm", signedGguf, trusting(alice)))).toBeUndefined();
    // Key order is not content: the lockfile is rewritten with sorted keys.
    expect(await codeOf(() => checkTrustPolicy("llm", { ...signedGguf, gguf: { loras: ["lora.gguf"], entry: "m.gguf" } }, trusting(alice)))).toBeUndefined();
    for (const edited of [{ entry: "lora.gguf", loras: ["m.gguf"] }, { entry: "m.gguf" }, undefined]) {
      const err = await checkTrustPolicy("llm", { ...signedGguf, gguf: edited }, trusting(alice)).catch((e: Error & { code: string }) => e);
      expect(err).toMatchObject({ code: "SIGNATURE_INVALID" });
      expect((err as Error).message).toContain("gguf layout");
    }
    const signedWithout = withSignature("llm", gguf, alice.privateKey, alice.publicKey);
    expect(await codeOf(() => checkTrustPolicy("llm", { ...signedWithout, gguf: layout }, trusting(alice)))).toBe("SIGNATURE_INVALID");
  });

  it("refuses a signature whose statement does not name the model, saying to re-sign", async () => {
    const old = buildModelStatement(`${entry.repo}@${entry.revision}`, Object.entries(entry.files).map(([path, f]) => ({ path, sha256: f.sha256 })));
    const bundle = signDsseBundle(IN_TOTO_PAYLOAD_TYPE, Buffer.from(JSON.stringify(old)), alice.privateKey, alice.publicKey);
    const err = await checkTrustPolicy("m", { ...entry, signatures: [bundle] }, trusting(alice)).catch((e: Error & { code: string }) => e);
    expect(err).toMatchObject({ code: "SIGNATURE_INVALID" });
    expect((err as Error).message).toContain("re-sign it: `modelguard sign m --key KEY`");
  });

  it("refuses an altered signature from a trusted key", async () => {
    const bundle = structuredClone(signed.signatures![0]) as { dsseEnvelope: { signatures: { sig: string }[] } };
    const sig = Buffer.from(bundle.dsseEnvelope.signatures[0]!.sig, "base64");
    sig[sig.length - 1]! ^= 1;
    bundle.dsseEnvelope.signatures[0]!.sig = sig.toString("base64");
    expect(await codeOf(() => checkTrustPolicy("m", { ...signed, signatures: [bundle] }, trusting(alice)))).toBe("SIGNATURE_INVALID");
  });

  it("refuses a malformed bundle as malformed input", async () => {
    expect(await codeOf(() => checkTrustPolicy("m", { ...entry, signatures: [{ mediaType: "nope" }] }, trusting(alice)))).toBe(
      "SIGNATURE_MALFORMED",
    );
  });

  it("accepts when any one of several signatures is by a trusted key", async () => {
    const both = withSignature("m", withSignature("m", entry, mallory.privateKey, mallory.publicKey), alice.privateKey, alice.publicKey);
    expect(both.signatures).toHaveLength(2);
    expect(await checkTrustPolicy("m", both, trusting(alice))).toMatchObject({ kind: "key" });
    // Re-signing with the same key replaces its old signature instead of piling up.
    expect(withSignature("m", both, alice.privateKey, alice.publicKey).signatures).toHaveLength(2);
  });

  it("writes the OpenSSF model_signing v1.0 statement over the entry", async () => {
    const bundle = signLockedModel("m", entry, alice.privateKey, alice.publicKey);
    expect(bundle.mediaType).toBe("application/vnd.dev.sigstore.bundle.v0.3+json");
    // Written as model_signing writes it: the empty log list is there, not dropped.
    expect(bundle.verificationMaterial.tlogEntries).toEqual([]);
    const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope!.payload, "base64").toString("utf8"));
    expect(statement.predicateType).toBe("https://model_signing/signature/v1.0");
    expect(statement.subject[0].name).toBe(`org/model@${entry.revision}`);
    expect(statement.predicate.lockfile_model_name).toBe("m");
    expect(statement.predicate.resources.map((r: { name: string }) => r.name)).toEqual(["onnx/model.onnx", "tokenizer.json"]);
  });
});

describe("checkTrustPolicy with per-file cosign signatures", async () => {
  it("accepts cosign's own sign-blob signature, checked against the locked digest", async () => {
    const blob = readFileSync(new URL("blob.txt", vectors));
    const sig = readFileSync(new URL("blob.txt.sig", vectors), "utf8");
    const key = parsePublicKey(readFileSync(new URL("pemsigstorekey.pub", vectors), "utf8"));
    const e: LockedModel = { repo: "a/b", revision: "3".repeat(40), files: { "blob.txt": { size: blob.length, sha256: sha256Hex(blob), signatures: [{ sig }] } } };
    const policy = { keys: [{ key, fingerprint: publicKeyId(key) }], allowUnsigned: false };
    expect(await checkTrustPolicy("m", e, policy)).toMatchObject({ kind: "key", via: "file-signatures" });
    e.files["blob.txt"]!.sha256 = sha256Hex(Buffer.from("other"));
    expect(await codeOf(() => checkTrustPolicy("m", e, policy))).toBe("UNTRUSTED_SIGNER");
  });

  it("needs every locked file signed by one trusted key", async () => {
    const e = structuredClone(entry);
    e.files["onnx/model.onnx"]!.signatures = [{ sig: signBlob(files["onnx/model.onnx"], alice.privateKey) }];
    expect(await codeOf(() => checkTrustPolicy("m", e, trusting(alice)))).toBe("UNTRUSTED_SIGNER");
    e.files["tokenizer.json"]!.signatures = [{ sig: signBlob(files["tokenizer.json"], alice.privateKey) }];
    expect(await checkTrustPolicy("m", e, trusting(alice))).toMatchObject({ kind: "key", via: "file-signatures" });
    expect(await codeOf(() => checkTrustPolicy("m", e, trusting(mallory)))).toBe("UNTRUSTED_SIGNER");
  });
});

describe("checkTrustPolicy with a publisher's model.sig", () => {
  const files = { "model.onnx": Buffer.from("graph"), ".gitattributes": Buffer.from("*.onnx filter=lfs\n") };
  const entry = lockedEntry("org/model", files);
  const publish = (statementFiles: { path: string; sha256: string }[]) =>
    signDsseBundle(
      IN_TOTO_PAYLOAD_TYPE,
      Buffer.from(JSON.stringify(buildModelStatement("model", statementFiles))),
      alice.privateKey,
      alice.publicKey,
    );
  const withPublisher = (bundle: unknown) => ({ ...entry, publisherSignatures: [{ path: "model.sig", bundle }] });

  it("accepts a publisher signature that attests every locked file", async () => {
    const bundle = publish(Object.entries(entry.files).map(([path, f]) => ({ path, sha256: f.sha256 })));
    expect(await checkTrustPolicy("m", withPublisher(bundle), trusting(alice))).toMatchObject({ kind: "key", via: "publisher-signature" });
  });

  it("does not count a file the signature's ignore rules skip as attested when its signed digest differs", async () => {
    // .gitattributes is always ignored by model_signing's comparison, but here it is signed with
    // other bytes than the lockfile holds: the lockfile was edited.
    const bundle = publish([
      { path: "model.onnx", sha256: entry.files["model.onnx"]!.sha256 },
      { path: ".gitattributes", sha256: "0".repeat(64) },
    ]);
    expect(await codeOf(() => checkTrustPolicy("m", withPublisher(bundle), trusting(alice)))).toBe("SIGNATURE_INVALID");
  });

  const signedAsLocked = () => publish(Object.entries(entry.files).map(([path, f]) => ({ path, sha256: f.sha256 })));

  it("exempts no locked file because the recorded signature path names it", async () => {
    const edited = { ...structuredClone(entry), publisherSignatures: [{ path: "model.onnx", bundle: signedAsLocked() }] };
    edited.files["model.onnx"] = { size: 4, sha256: sha256Hex(Buffer.from("evil")) };
    expect(await codeOf(() => checkTrustPolicy("m", edited, trusting(alice)))).toBe("SIGNATURE_INVALID");
    expect(await codeOf(() => checkTrustPolicy("m", edited, { ...trusting(alice), allowUnsigned: true }))).toBe("SIGNATURE_INVALID");
  });

  it("refuses a signed file the lockfile leaves out, and a locked file the signature does not list", async () => {
    const subset = { ...withPublisher(signedAsLocked()), files: { "model.onnx": entry.files["model.onnx"]! } };
    expect(await codeOf(() => checkTrustPolicy("m", subset, trusting(alice)))).toBe("SIGNATURE_MISSING");
    const extra = withPublisher(publish([{ path: "model.onnx", sha256: entry.files["model.onnx"]!.sha256 }]));
    expect(await codeOf(() => checkTrustPolicy("m", extra, trusting(alice)))).toBe("SIGNATURE_MISSING");
  });

  it("refuses a locked file under the signature's own ignore rules that it does not sign", async () => {
    const bundle = signDsseBundle(
      IN_TOTO_PAYLOAD_TYPE,
      Buffer.from(JSON.stringify(buildModelStatement("model", [{ path: "model.onnx", sha256: entry.files["model.onnx"]!.sha256 }], [".gitattributes"]))),
      alice.privateKey,
      alice.publicKey,
    );
    expect(await codeOf(() => checkTrustPolicy("m", withPublisher(bundle), trusting(alice)))).toBe("SIGNATURE_MISSING");
  });
});

describe("a weaker signature does not cover up a lockfile signature the entry no longer matches", () => {
  it("per-file signatures by the same key do not pass an entry renamed after it was signed", async () => {
    const e = structuredClone(entry);
    for (const [path, bytes] of Object.entries(files)) e.files[path]!.signatures = [{ sig: signBlob(bytes, alice.privateKey) }];
    const signed = withSignature("m", e, alice.privateKey, alice.publicKey);
    expect(await checkTrustPolicy("m", signed, trusting(alice))).toMatchObject({ via: "model-signature" });
    // Under another name the lockfile signature fails; the per-file ones, which bind no name, would pass.
    expect(await codeOf(() => checkTrustPolicy("safety-filter", signed, trusting(alice)))).toBe("SIGNATURE_INVALID");
    // Without the lockfile signature the per-file ones are what they are: accepted.
    expect(await checkTrustPolicy("safety-filter", { ...signed, signatures: [] }, trusting(alice))).toMatchObject({ via: "file-signatures" });
  });
});

describe("a lockfile signature with a malformed statement", () => {
  it("is SIGNATURE_INVALID, not a crash, even when signed by a trusted key", async () => {
    const statement = statementForLockedModel("m", entry) as unknown as { predicate: { resources: { digest: unknown }[] } };
    statement.predicate.resources[0]!.digest = 42;
    const bundle = signDsseBundle(IN_TOTO_PAYLOAD_TYPE, Buffer.from(JSON.stringify(statement)), alice.privateKey, alice.publicKey);
    expect(await codeOf(() => checkTrustPolicy("m", { ...entry, signatures: [bundle] }, trusting(alice)))).toBe("SIGNATURE_INVALID");
  });
});
