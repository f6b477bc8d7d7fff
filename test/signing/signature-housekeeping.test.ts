import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { publicKeyId } from "../../src/keys/load-key.js";
import { removeModels } from "../../src/lockfile/remove-models.js";
import type { Lockfile, LockedModel } from "../../src/lockfile/types.js";
import { signBlob } from "../../src/signing/blob-signature.js";
import { withoutSignaturesBy } from "../../src/signing/drop-signatures.js";
import { listSignatures } from "../../src/signing/list-signatures.js";
import { withSignature } from "../../src/signing/sign-locked-model.js";
import { lockedEntry, makeKeys, tempDir } from "../helpers/fixtures.js";

const vectors = new URL("../fixtures/vectors/model-signing/", import.meta.url);
const publisherSig = (folder: string) => JSON.parse(readFileSync(new URL(`${folder}/model.sig`, vectors), "utf8")) as unknown;

async function twoKeys() {
  const dir = await tempDir();
  return { old: await makeKeys(dir, "old"), next: await makeKeys(dir, "new") };
}

describe("removeModels", () => {
  // `extra`: a field this version does not know, which a rewrite must keep (the types name none).
  const lockfile = {
    lockfileVersion: 1,
    models: { a: lockedEntry("org/a", { x: Buffer.from("a") }), b: lockedEntry("org/b", { x: Buffer.from("b") }) },
    extra: "kept",
  } as Lockfile;
  it("drops the named entries and keeps everything else", () => {
    expect(removeModels(lockfile, ["a"])).toEqual({ lockfileVersion: 1, models: { b: lockfile.models.b }, extra: "kept" });
    expect(Object.keys(lockfile.models)).toEqual(["a", "b"]); // not mutated
  });
  it("removes nothing when one name is not locked, naming each missing one", () => {
    expect(() => removeModels(lockfile, ["a", "nope", "gone"])).toThrow(expect.objectContaining({ code: "MODEL_NOT_LOCKED", message: expect.stringMatching(/not locked: nope, gone \(locked: a, b\)/) }));
  });
});

describe("listSignatures and withoutSignaturesBy: rotating a key", () => {
  it("lists the key ids of model, file and publisher signatures, and certificate identities", async () => {
    const { old, next } = await twoKeys();
    const base = lockedEntry("org/m", { "model.onnx": Buffer.from("m"), "config.json": Buffer.from("{}") });
    let entry: LockedModel = withSignature("m", withSignature("m", base, old.privateKey, old.publicKey), next.privateKey, next.publicKey);
    entry = {
      ...entry,
      files: { ...entry.files, "config.json": { ...entry.files["config.json"]!, signatures: [{ sig: signBlob(Buffer.from("{}"), old.privateKey) }] } },
      publisherSignatures: [
        { path: "model.sig", bundle: publisherSig("v1.1.0-sigstore") },
        { path: "key.sig", bundle: publisherSig("v1.1.0-elliptic-key") },
      ],
    };
    const listed = listSignatures(entry);
    // In the order the trust check asks the schemes: model, file, then publisher signatures.
    expect(listed).toEqual([
      { where: "signatures[0]", kind: "model-signature", signer: { kind: "key", fingerprint: publicKeyId(old.publicKey) } },
      { where: "signatures[1]", kind: "model-signature", signer: { kind: "key", fingerprint: publicKeyId(next.publicKey) } },
      { where: 'files["config.json"].signatures[0]', kind: "file-signature" },
      { where: "publisherSignatures[0]", kind: "publisher-signature", path: "model.sig", signer: { kind: "identity", subject: expect.stringContaining("stefanb@us.ibm.com"), issuer: "https://sigstore.verify.ibm.com/oauth2" } },
      { where: "publisherSignatures[1]", kind: "publisher-signature", path: "key.sig", signer: { kind: "key", fingerprint: expect.stringMatching(/^[0-9a-f]{64}$/) } },
    ]);
    // A signature naming no one (not a bundle) is listed without a signer; verify reports it.
    expect(listSignatures({ ...base, signatures: [{ not: "a bundle" }] })).toEqual([{ where: "signatures[0]", kind: "model-signature" }]);
  });

  it("drops exactly the old key's signatures: by key id, and by the public key for file signatures that name none", async () => {
    const { old, next } = await twoKeys();
    const base = lockedEntry("org/m", { "model.onnx": Buffer.from("m") });
    const signed: LockedModel = {
      ...withSignature("m", withSignature("m", base, old.privateKey, old.publicKey), next.privateKey, next.publicKey),
      files: { "model.onnx": { ...base.files["model.onnx"]!, signatures: [{ sig: signBlob(Buffer.from("m"), old.privateKey) }, { sig: signBlob(Buffer.from("m"), next.privateKey), keyid: publicKeyId(next.publicKey) }] } },
    };
    // By id alone the file signature without a keyid is not provably the old key's: it stays.
    const oldKey = { kind: "key" as const, fingerprint: publicKeyId(old.publicKey) };
    const nextKey = { kind: "key" as const, fingerprint: publicKeyId(next.publicKey) };
    const byId = withoutSignaturesBy(signed, oldKey);
    expect(byId.dropped).toEqual(["signatures[0]"]);
    expect(listSignatures(byId.entry).map((s) => s.signer)).toEqual([nextKey, undefined, nextKey]);
    const byKey = withoutSignaturesBy(signed, oldKey, old.publicKey);
    expect(byKey.dropped).toEqual(["signatures[0]", 'files["model.onnx"].signatures[0]']);
    expect(byKey.entry.signatures).toEqual([signed.signatures![1]]);
    expect(byKey.entry.files["model.onnx"]!.signatures).toEqual([signed.files["model.onnx"]!.signatures![1]]);
    // A key that signed nothing changes nothing; the last signature gone leaves no empty array.
    expect(withoutSignaturesBy(signed, { kind: "key", fingerprint: "0".repeat(64) })).toEqual({ entry: signed, dropped: [] });
    const none = withoutSignaturesBy(byKey.entry, nextKey).entry;
    expect(none.signatures).toBeUndefined();
    expect(none.files["model.onnx"]!.signatures).toBeUndefined();
    expect(none).toEqual(base);
  });
});
