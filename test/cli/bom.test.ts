/**
 * `modelguard bom` as users run it: on the example lockfile, with and without the cache and trust
 * anchors, and on bad input. Every BOM printed is held to the CycloneDX library's strict 1.6
 * JSON schema validator.
 */
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Spec, Validation } from "@cyclonedx/cyclonedx-library";
import { describe, expect, it } from "vitest";
import { writeLockfile } from "../../src/lockfile/lockfile-file.js";
import { withSignature } from "../../src/signing/sign-locked-model.js";
import { publicKeyId } from "../../src/keys/load-key.js";
import { makeCachedModels, makeKeys } from "../helpers/fixtures.js";
import { runCli } from "../helpers/run-cli.js";

const validator = new Validation.JsonStrictValidator(Spec.Version.v1dot6);
const EXAMPLE_LOCKFILE = join(import.meta.dirname, "../../examples/models.lock.json");
// No HF_* of the developer's shell may steer a case.
const env = { HF_ENDPOINT: "", HF_HUB_OFFLINE: "", HF_HUB_CACHE: "", HF_HOME: "" };

async function expectValidBom(text: string) {
  expect(await validator.validate(text)).toBeNull();
  return JSON.parse(text);
}

const propertiesOf = (component: { properties: { name: string; value: string }[] }) =>
  Object.fromEntries(component.properties.map((p) => [p.name, p.value]));

async function setup() {
  const made = await makeCachedModels({
    bert: {
      repo: "Org/Bert-Tiny",
      files: {
        "config.json": Buffer.from(JSON.stringify({ architectures: ["BertForSequenceClassification"], model_type: "bert", problem_type: "single_label_classification" })),
        "onnx/model.onnx": Buffer.from("graph"),
      },
    },
    plain: { repo: "org/plain", files: { "model.onnx": Buffer.from("other graph") } },
  });
  const keys = await makeKeys(made.dir);
  made.lockfile.models.bert = withSignature("bert", made.lockfile.models.bert!, keys.privateKey, keys.publicKey);
  await writeLockfile(made.lockfilePath, made.lockfile);
  return { ...made, keys, g: ["--lockfile", made.lockfilePath, "--cache-dir", made.cacheDir] };
}

describe("modelguard bom", () => {
  it("describes the example lockfile as valid CycloneDX 1.6, from the lockfile alone, byte for byte the same with --reproducible", async () => {
    const s = await setup();
    const g = ["--lockfile", EXAMPLE_LOCKFILE, "--cache-dir", join(s.dir, "empty-cache")];
    const [first, second] = await Promise.all([runCli([...g, "bom", "--reproducible"], { env }), runCli([...g, "bom", "--reproducible"], { env })]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toBe(second.stdout);
    const bom = await expectValidBom(first.stdout);
    expect(bom.metadata).not.toHaveProperty("timestamp");
    expect(bom.components.map((c: { name: string; type: string }) => [c.type, c.name])).toEqual([
      ["machine-learning-model", "tiny-classifier"],
      ["machine-learning-model", "tiny-regressor"],
    ]);
    // No trust anchors given: the signer the signature names, marked as not verified.
    expect(propertiesOf(bom.components[0])).toMatchObject({
      "modelguard:signer:0:kind": "key",
      "modelguard:signer:0:via": "model-signature",
      "modelguard:signer:0:verified": "false",
    });
    // config.json is locked but not cached: said on stderr, no model card made up.
    expect(first.stderr).toContain("model tiny-classifier: no model card: config.json is not in the cache");
    expect(bom.components[0]).not.toHaveProperty("modelCard");
  });

  it("adds what a cached config.json states as the model card and the verified signer with --key, into --output", async () => {
    const s = await setup();
    const out = join(s.dir, "bom.json");
    const written = await runCli([...s.g, "bom", "bert", "--key", s.keys.publicPath, "--output", out], { env });
    expect(written.code, written.stderr).toBe(0);
    expect(written.stdout).toBe("");
    const bom = await expectValidBom(await readFile(out, "utf8"));
    expect(bom.metadata.timestamp).toMatch(/^\d{4}-/);
    expect(bom.components).toHaveLength(1);
    expect(bom.components[0]).toMatchObject({
      group: "Org",
      name: "Bert-Tiny",
      purl: `pkg:huggingface/Org/Bert-Tiny@${s.lockfile.models.bert!.revision}`,
      modelCard: { modelParameters: { task: "single_label_classification", architectureFamily: "bert", modelArchitecture: "BertForSequenceClassification" } },
    });
    expect(propertiesOf(bom.components[0])).toMatchObject({
      "modelguard:signer:0:kind": "key",
      "modelguard:signer:0:fingerprint": publicKeyId(s.keys.publicKey),
      "modelguard:signer:0:verified": "true",
    });
  });

  it("fails like verify when the trust anchors given are not satisfied (exit 1), and writes nothing", async () => {
    const s = await setup();
    const other = await makeKeys(s.dir, "other");
    const out = join(s.dir, "bom.json");
    const untrusted = await runCli([...s.g, "--json", "bom", "bert", "--key", other.publicPath, "--output", out], { env });
    expect(untrusted.code).toBe(1);
    expect(JSON.parse(untrusted.stdout).error.code).toBe("UNTRUSTED_SIGNER");
    expect(untrusted.stderr).toContain("model bert");
    expect(existsSync(out)).toBe(false);
  });

  it("refuses an unknown model and a malformed lockfile with exit 2", async () => {
    const s = await setup();
    const unknown = await runCli([...s.g, "--json", "bom", "nope"], { env });
    expect(unknown.code).toBe(2);
    expect(JSON.parse(unknown.stdout).error.code).toBe("MODEL_NOT_LOCKED");
    await writeFile(s.lockfilePath, "{\"lockfileVersion\": 1, \"models\": {\"x\": {}}}\n");
    const malformed = await runCli([...s.g, "bom"], { env });
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain("models.x");
  });
});
