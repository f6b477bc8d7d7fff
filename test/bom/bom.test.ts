/**
 * The ML-BOM as plain data: package URLs, the model card, who signed, and the whole document
 * held to the CycloneDX library's strict 1.6 JSON schema validator (which must also reject a
 * broken one, or these checks would prove nothing).
 */
import { X509Certificate } from "node:crypto";
import { appendFile } from "node:fs/promises";
import { join } from "node:path";
import { Spec, Validation } from "@cyclonedx/cyclonedx-library";
import { describe, expect, it } from "vitest";
import { bomModels } from "../../src/bom/bom-models.js";
import { buildModelBom, contentUuid, serializeBom, type BomModel, type CycloneDxBom } from "../../src/bom/build-bom.js";
import { fileResolveUrl, huggingFacePurl } from "../../src/bom/huggingface-purl.js";
import { modelCardFromConfig } from "../../src/bom/model-card.js";
import { snapshotFilePath } from "../../src/hub/cache-layout.js";
import { publicKeyId } from "../../src/keys/load-key.js";
import type { LockedModel } from "../../src/lockfile/types.js";
import { signBlob } from "../../src/signing/blob-signature.js";
import { recordedSigners } from "../../src/signing/recorded-signers.js";
import { withSignature } from "../../src/signing/sign-locked-model.js";
import { lockedEntry, makeCachedModels, makeKeys, tempDir } from "../helpers/fixtures.js";
import { hasOpenssl, makeCertificateFactory } from "../helpers/openssl-ca.js";

const validator = new Validation.JsonStrictValidator(Spec.Version.v1dot6);

async function expectValid(bom: CycloneDxBom): Promise<void> {
  expect(await validator.validate(serializeBom(bom))).toBeNull();
}

const REV = "0123456789abcdef0123456789abcdef01234567";

function entry(): LockedModel {
  return {
    ...lockedEntry("Xenova/all-MiniLM-L6-v2", { "onnx/model.onnx": Buffer.from("graph"), "config.json": Buffer.from("{}"), "a b#c.txt": Buffer.from("x") }, REV),
    ref: "main",
  };
}

function models(): BomModel[] {
  return [
    {
      name: "minilm",
      entry: entry(),
      signers: [{ kind: "key", fingerprint: "ab".repeat(32), via: "model-signature", verified: true }],
      modelCard: { modelParameters: { task: "feature-extraction", architectureFamily: "bert", modelArchitecture: "BertModel" } },
    },
    { name: "gpt2", entry: lockedEntry("gpt2", { "model.onnx": Buffer.from("g") }, REV), signers: [] },
  ];
}

describe("package URLs and Hub addresses", () => {
  it("keeps the repo's case, lower-cases the commit, and names another Hub only as repository_url", () => {
    expect(huggingFacePurl("Xenova/all-MiniLM-L6-v2", "ABCDEF0123456789ABCDEF0123456789ABCDEF01")).toBe(
      "pkg:huggingface/Xenova/all-MiniLM-L6-v2@abcdef0123456789abcdef0123456789abcdef01",
    );
    expect(huggingFacePurl("gpt2", REV)).toBe(`pkg:huggingface/gpt2@${REV}`);
    expect(huggingFacePurl("org/m", REV, "https://huggingface.co/")).toBe(`pkg:huggingface/org/m@${REV}`);
    expect(huggingFacePurl("org/m", REV, "http://127.0.0.1:8080")).toBe(`pkg:huggingface/org/m@${REV}?repository_url=http%3A%2F%2F127.0.0.1%3A8080`);
  });

  it("encodes each segment of a file path in its download URL", () => {
    expect(fileResolveUrl("org/m", REV, "onnx/a b#c.onnx")).toBe(`https://huggingface.co/org/m/resolve/${REV}/onnx/a%20b%23c.onnx`);
  });
});

describe("the model card from config.json", () => {
  it("states the architecture, the model type and the task the config states", () => {
    expect(modelCardFromConfig({ architectures: ["BertForSequenceClassification"], model_type: "bert", problem_type: "single_label_classification", hidden_size: 384 })).toEqual({
      modelParameters: { task: "single_label_classification", architectureFamily: "bert", modelArchitecture: "BertForSequenceClassification" },
    });
    expect(modelCardFromConfig({ architectures: ["A", "B"], pipeline_tag: "text-generation", task: "other" })).toEqual({
      modelParameters: { task: "text-generation", modelArchitecture: "A, B" },
    });
  });

  it("invents nothing: no field it does not state, and no card when it states none", () => {
    expect(modelCardFromConfig({ labels: ["cat", "dog"] })).toBeUndefined();
    expect(modelCardFromConfig({ architectures: "BertModel", model_type: 7, task: "" })).toBeUndefined();
    expect(modelCardFromConfig({ architectures: ["BertModel", 3], model_type: "bert" })).toEqual({ modelParameters: { architectureFamily: "bert" } });
    expect(modelCardFromConfig([{ model_type: "bert" }])).toBeUndefined();
    expect(modelCardFromConfig(null)).toBeUndefined();
    expect(modelCardFromConfig({ model_type: "x".repeat(300) })).toBeUndefined();
  });
});

describe("the BOM document", () => {
  it("is valid CycloneDX 1.6: one machine-learning-model per model, its files nested with digest and size", async () => {
    const bom = await buildModelBom(models());
    await expectValid(bom);
    expect(bom).toMatchObject({ bomFormat: "CycloneDX", specVersion: "1.6", version: 1 });
    expect(bom.serialNumber).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
    expect((bom.metadata as { timestamp: string }).timestamp).toMatch(/^\d{4}-\d\d-\d\dT/);
    const tools = (bom.metadata as { tools: { components: { name: string; version: string }[] } }).tools.components;
    expect(tools.map((t) => t.name)).toEqual(["modelguard", "cyclonedx-library"]);
    expect(tools[0]!.version).toMatch(/^\d+\.\d+\.\d+/);

    const [minilm, gpt2] = bom.components as Record<string, any>[];
    expect(minilm).toMatchObject({
      type: "machine-learning-model",
      group: "Xenova",
      name: "all-MiniLM-L6-v2",
      version: REV,
      purl: `pkg:huggingface/Xenova/all-MiniLM-L6-v2@${REV}`,
      externalReferences: [{ type: "distribution", url: `https://huggingface.co/Xenova/all-MiniLM-L6-v2/tree/${REV}` }],
      modelCard: { modelParameters: { task: "feature-extraction", architectureFamily: "bert", modelArchitecture: "BertModel" } },
    });
    expect(minilm!.properties).toEqual([
      { name: "modelguard:model", value: "minilm" },
      { name: "modelguard:ref", value: "main" },
      { name: "modelguard:signer:0:kind", value: "key" },
      { name: "modelguard:signer:0:fingerprint", value: "ab".repeat(32) },
      { name: "modelguard:signer:0:via", value: "model-signature" },
      { name: "modelguard:signer:0:verified", value: "true" },
    ]);
    const files = minilm!.components as Record<string, any>[];
    expect(files.map((f) => f.name)).toEqual(["a b#c.txt", "config.json", "onnx/model.onnx"]);
    const locked = entry().files["onnx/model.onnx"]!;
    expect(files[2]).toMatchObject({
      type: "file",
      hashes: [{ alg: "SHA-256", content: locked.sha256 }],
      properties: [{ name: "modelguard:size", value: String(locked.size) }],
      externalReferences: [{ type: "distribution", url: `https://huggingface.co/Xenova/all-MiniLM-L6-v2/resolve/${REV}/onnx/model.onnx` }],
    });
    expect(gpt2).toMatchObject({ name: "gpt2", purl: `pkg:huggingface/gpt2@${REV}` });
    expect(gpt2).not.toHaveProperty("group");
    expect(gpt2).not.toHaveProperty("modelCard");
    expect(gpt2!.properties).toEqual([{ name: "modelguard:model", value: "gpt2" }]);
  });

  it("with reproducible, is the same bytes every time, with no timestamp and a serial number that follows the content", async () => {
    const a = serializeBom(await buildModelBom(models(), { reproducible: true }));
    const b = serializeBom(await buildModelBom(models(), { reproducible: true }));
    expect(a).toBe(b);
    expect(JSON.parse(a).metadata).not.toHaveProperty("timestamp");
    const changed = models();
    changed[0]!.entry.files["config.json"]!.sha256 = "0".repeat(64);
    const c = JSON.parse(serializeBom(await buildModelBom(changed, { reproducible: true })));
    expect(c.serialNumber).not.toBe(JSON.parse(a).serialNumber);
    // Without it: a fresh serial number and the time.
    const d = await buildModelBom(models(), { timestamp: new Date("2026-01-02T03:04:05Z") });
    const e = await buildModelBom(models(), { timestamp: new Date("2026-01-02T03:04:05Z") });
    expect(d.serialNumber).not.toBe(e.serialNumber);
    expect((d.metadata as { timestamp: string }).timestamp).toBe("2026-01-02T03:04:05.000Z");
  });

  it("serial numbers are RFC 9562 version 8 UUIDs made from SHA-256", () => {
    expect(contentUuid("abc")).toBe("ba7816bf-8f01-8fea-8141-40de5dae2223");
    expect(contentUuid("abd")).not.toBe(contentUuid("abc"));
  });

  it("a broken BOM is rejected by the same validator", async () => {
    const good = await buildModelBom(models(), { reproducible: true });
    const broken: [string, (bom: any) => void][] = [
      ["a digest that is not SHA-256 hex", (bom) => (bom.components[0].components[0].hashes[0].content = "xyz")],
      ["an invented component type", (bom) => (bom.components[0].type = "ml-model")],
      ["a model card field CycloneDX does not have", (bom) => (bom.components[0].modelCard.modelParameters.parameters = 22_000_000)],
      ["a property without a name", (bom) => bom.components[0].properties.push({ value: "x" })],
      ["a serial number that is not a UUID URN", (bom) => (bom.serialNumber = "urn:uuid:not-one")],
    ];
    for (const [what, breakIt] of broken) {
      const bom = structuredClone(good);
      breakIt(bom);
      expect(await validator.validate(serializeBom(bom)), what).not.toBeNull();
    }
  });
});

describe("who signed, as the recorded signatures say", () => {
  it("reads the key id of a lockfile signature and the keyid label of per-file signatures, each signer once", async () => {
    const keys = await makeKeys(await tempDir("mg-bom-"));
    const signed = withSignature("m", entry(), keys.privateKey, keys.publicKey);
    for (const file of Object.values(signed.files)) file.signatures = [{ sig: signBlob(Buffer.from("x"), keys.privateKey), keyid: "release-key" }];
    expect(recordedSigners(signed)).toEqual([
      { kind: "key", fingerprint: publicKeyId(keys.publicKey), via: "model-signature" },
      { kind: "key", fingerprint: "release-key", via: "file-signatures" },
    ]);
    expect(recordedSigners(entry())).toEqual([]);
  });

  it("reads the identity and issuer a signing certificate names, or its subject when it names none", { skip: !hasOpenssl }, () => {
    const ca = makeCertificateFactory();
    const root = ca.issue({ cn: "root", ca: true, keyUsage: "critical, keyCertSign" });
    const fulcio = ca.issue({
      cn: "sigstore",
      extensions: ["subjectAltName = email:alice@example.com", "1.3.6.1.4.1.57264.1.8 = ASN1:UTF8String:https://accounts.example.com"],
    }, root);
    const plain = ca.issue({ cn: "release signer" }, root);
    const bundle = (der: Buffer) => ({
      mediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
      verificationMaterial: { certificate: { rawBytes: der.toString("base64") }, tlogEntries: [] },
      dsseEnvelope: { payload: "", payloadType: "application/vnd.in-toto+json", signatures: [] },
    });
    const withCerts = { ...entry(), signatures: [bundle(fulcio.der)], publisherSignatures: [{ path: "model.sig", bundle: bundle(plain.der) }] };
    expect(recordedSigners(withCerts)).toEqual([
      { kind: "identity", subject: "alice@example.com", issuer: "https://accounts.example.com", via: "model-signature" },
      { kind: "certificate", subject: "CN=release signer", fingerprint: new X509Certificate(plain.der).fingerprint256, via: "publisher-signature" },
    ]);
  });

  it("a signature that names no signer it can read is listed as unknown, not left out", () => {
    const bad = { ...entry(), signatures: [{ mediaType: "x", verificationMaterial: {} }] };
    expect(recordedSigners(bad)).toEqual([{ kind: "unknown", via: "model-signature" }]);
  });
});

describe("the BOM's inputs from a lockfile and a cache (bomModels)", () => {
  async function cached(config: Buffer) {
    const made = await makeCachedModels({
      bert: { repo: "org/bert", files: { "config.json": config, "model.onnx": Buffer.from("graph") } },
      plain: { repo: "org/plain", files: { "model.onnx": Buffer.from("other") } },
    });
    const keys = await makeKeys(made.dir);
    made.lockfile.models.bert = withSignature("bert", made.lockfile.models.bert!, keys.privateKey, keys.publicKey);
    return { ...made, keys, policy: { keys: [{ key: keys.publicKey, fingerprint: publicKeyId(keys.publicKey) }], allowUnsigned: false } };
  }

  it("takes the model card from the verified cached config.json, and the verified signer under a policy", async () => {
    const s = await cached(Buffer.from(JSON.stringify({ model_type: "bert" })));
    const [bert] = await bomModels(s.lockfile, ["bert"], { cacheDir: s.cacheDir, policy: s.policy });
    expect(bert).toMatchObject({
      name: "bert",
      modelCard: { modelParameters: { architectureFamily: "bert" } },
      signers: [{ kind: "key", fingerprint: publicKeyId(s.keys.publicKey), via: "model-signature", verified: true }],
    });
  });

  it("says what it left out: a config.json not cached, not JSON, or stating nothing; no cache, no card", async () => {
    const s = await cached(Buffer.from("not json"));
    const notes: string[] = [];
    const [bert] = await bomModels(s.lockfile, undefined, { cacheDir: s.cacheDir, onNote: (n) => notes.push(n) });
    expect(bert).not.toHaveProperty("modelCard");
    expect(notes).toEqual(["model bert: no model card: config.json is not JSON"]);
    notes.length = 0;
    await bomModels(s.lockfile, ["bert"], { cacheDir: join(s.dir, "empty"), onNote: (n) => notes.push(n) });
    expect(notes[0]).toContain("config.json is not in the cache");
    expect((await bomModels(s.lockfile, ["bert"]))[0]).not.toHaveProperty("modelCard");
    const stated = await cached(Buffer.from("{}"));
    notes.length = 0;
    await bomModels(stated.lockfile, ["bert"], { cacheDir: stated.cacheDir, onNote: (n) => notes.push(n) });
    expect(notes).toEqual(["model bert: no model card: config.json states no architecture, model type or task"]);
  });

  it("fails on every model the policy refuses and on a cached config.json that does not match the lock, most serious first", async () => {
    const s = await cached(Buffer.from(JSON.stringify({ model_type: "bert" })));
    await appendFile(snapshotFilePath(s.cacheDir, "org/bert", s.lockfile.models.bert!.revision, "config.json"), " ");
    const err = await bomModels(s.lockfile, undefined, { cacheDir: s.cacheDir, policy: s.policy }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "SIZE_MISMATCH", model: "bert", file: "config.json" });
    expect((err as Error).message).toContain("model plain has no signature");
    await expect(bomModels(s.lockfile, ["nope"])).rejects.toMatchObject({ code: "MODEL_NOT_LOCKED" });
  });
});
