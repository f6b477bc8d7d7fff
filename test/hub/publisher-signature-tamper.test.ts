/**
 * An attacker who can write the lockfile but holds no trusted key, against an entry trusted by a
 * publisher's model.sig alone: whatever they change of what loads is refused.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/digest/sha256.js";
import { ModelGuard } from "../../src/guard/guard.js";
import { buildAddModel } from "../helpers/build-model.js";
import { signModel } from "../../src/signing/model-signing/sign-model.js";
import { makeKeys, tempDir, type TestKeys } from "../helpers/fixtures.js";
import { rejection } from "../helpers/errors.js";
import { runCli } from "../helpers/run-cli.js";
import { startHubEnv, type HubTestEnv } from "./hub-fixture.js";

function repoFiles(weights: number[]): Record<string, Uint8Array> {
  return {
    "config.json": Buffer.from('{"model_type":"add"}\n'),
    "tokenizer.json": Buffer.from('{"version":"1.0"}\n'),
    "onnx/model.onnx": buildAddModel({ weights: Float32Array.from(weights), dims: [4] }).model,
  };
}

/** The files and the model.sig a publisher's `model_signing sign key` makes of them. */
async function signedByPublisher(files: Record<string, Uint8Array>, key: TestKeys): Promise<Record<string, Uint8Array>> {
  const dir = await tempDir("mg-publisher-");
  for (const [path, bytes] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), bytes);
  }
  const { bundle } = await signModel(dir, { signer: { mode: "key", privateKey: key.privateKey, publicKey: key.publicKey } });
  return { ...files, "model.sig": Buffer.from(JSON.stringify(bundle)) };
}

let env: HubTestEnv;
let publisher: TestKeys;
let attackerRevision: string;
const evil = repoFiles([666, 666, 666, 666]);
let locked: { models: Record<string, Record<string, unknown> & { files: Record<string, { size: number; sha256: string }> }> };

beforeAll(async () => {
  env = await startHubEnv();
  publisher = await makeKeys(env.dir, "publisher");
  await env.hub.createRepo("publisher/model", { files: await signedByPublisher(repoFiles([1, 2, 3, 4]), publisher) });
  // The attacker's repo: their own graph beside copies of the publisher's other files.
  attackerRevision = await env.hub.createRepo("mallory/model", { files: evil });
  const add = await runCli([...env.g, "add", "publisher/model", "--name", "safe", "--key", publisher.publicPath], { env: env.env });
  expect(add.stderr).toMatch(/publisher signature model\.sig verified/);
  expect(add.code).toBe(0);
  locked = JSON.parse(await readFile(env.lockfilePath, "utf8"));
  expect(locked.models.safe!.publisherSignatures).toMatchObject([{ path: "model.sig" }]);
});
afterAll(async () => {
  await env?.hub.close();
});

/**
 * The lockfile with `edit` applied to the entry: a library load must refuse it, and with `cli`
 * also `pull` (which fills the cache with what the edit names) then `verify`.
 */
async function expectRefused(edit: (entry: (typeof locked)["models"][string]) => void, code: string, cli = false): Promise<void> {
  const edited = structuredClone(locked);
  edit(edited.models.safe!);
  await writeFile(env.lockfilePath, JSON.stringify(edited, null, 2));
  if (cli) {
    expect((await runCli([...env.g, "pull"], { env: env.env })).code).toBe(0);
    const verify = await runCli([...env.g, "verify", "--key", publisher.publicPath], { env: env.env });
    expect(verify.stderr).toContain(code);
    expect(verify.code).toBe(1);
  }
  const guard = await ModelGuard.open({ lockfile: env.lockfilePath, cacheDir: env.cacheDir, trust: { keys: [publisher.publicPath] }, offline: true });
  expect(await rejection(guard.createSession("safe"))).toMatchObject({ code });
}

function pointAtAttacker(entry: (typeof locked)["models"][string]): void {
  entry.repo = "mallory/model";
  entry.revision = attackerRevision;
  entry.files["onnx/model.onnx"] = { size: evil["onnx/model.onnx"]!.length, sha256: sha256Hex(evil["onnx/model.onnx"]!) };
}

describe("an entry trusted by a publisher's model.sig, edited in the lockfile only", () => {
  it("add locked exactly the files the publisher signed; the untouched entry verifies with the publisher's key", async () => {
    expect(Object.keys(locked.models.safe!.files).sort()).toEqual(["config.json", "onnx/model.onnx", "tokenizer.json"]);
    await writeFile(env.lockfilePath, JSON.stringify(locked, null, 2));
    const ok = await runCli([...env.g, "verify", "--key", publisher.publicPath], { env: env.env });
    expect(ok.code).toBe(0);
  });

  it("refuses the attacker's graph when the signature's recorded path names the swapped file", async () => {
    await expectRefused((entry) => {
      pointAtAttacker(entry);
      (entry.publisherSignatures as { path: string }[])[0]!.path = "onnx/model.onnx";
    }, "SIGNATURE_INVALID", true);
  });

  it("refuses the attacker's graph whatever the recorded path says", async () => {
    for (const path of ["model.sig", "config.json", "onnx"]) {
      await expectRefused((entry) => {
        pointAtAttacker(entry);
        (entry.publisherSignatures as { path: string }[])[0]!.path = path;
      }, "SIGNATURE_INVALID");
    }
  });

  it("refuses a locked file the publisher did not sign, and a signed file left out of the lock", async () => {
    await expectRefused((entry) => {
      entry.files["extra.bin"] = { size: 1, sha256: "1".repeat(64) };
    }, "SIGNATURE_MISSING");
    await expectRefused((entry) => {
      delete entry.files["tokenizer.json"];
    }, "SIGNATURE_MISSING");
  });
});

describe("add with a publisher's trust anchors", () => {
  it("refuses a repo that carries no publisher signature instead of locking it unverified", async () => {
    const add = await runCli([...env.g, "--lockfile", join(env.dir, "unsigned.lock.json"), "add", "mallory/model", "--key", publisher.publicPath], { env: env.env });
    expect(add.stderr).toMatch(/SIGNATURE_MISSING|has no publisher signature \(model\.sig\)/);
    expect(add.code).toBe(1);
  });

  it("refuses globs that lock less than the publisher signed, naming what is left out", async () => {
    const add = await runCli([...env.g, "--lockfile", join(env.dir, "subset.lock.json"), "add", "publisher/model", "--include", "onnx/*", "--key", publisher.publicPath], { env: env.env });
    expect(add.stderr).toMatch(/also signs config\.json, tokenizer\.json, which the lockfile does not lock/);
    expect(add.code).toBe(1);
  });
});
