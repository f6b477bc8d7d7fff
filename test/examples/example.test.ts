import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/digest/sha256.js";
import { parseLockfile } from "../../src/lockfile/validate.js";
import { parsePublicKey, publicKeyId } from "../../src/keys/load-key.js";
import { checkTrustPolicy } from "../../src/signing/trust-policy.js";
import { EXAMPLE_MODEL, tinyClassifierFiles } from "../../examples/tiny-model.js";
import { tempDir } from "../helpers/fixtures.js";

const examples = join(import.meta.dirname, "../../examples");

function runExample(cacheDir: string, ...args: string[]) {
  // HF_* from the environment must not steer the example elsewhere.
  return spawnSync(process.execPath, ["--import", "tsx", join(examples, "run-example.ts"), ...args], {
    env: { ...process.env, MODELGUARD_EXAMPLE_CACHE: cacheDir, HF_ENDPOINT: "", HF_HUB_OFFLINE: "", HF_TOKEN: "" },
    encoding: "utf8",
  });
}

describe("the bundled example", () => {
  it("locks exactly the model it generates, signed by the committed example key", async () => {
    const lock = parseLockfile(readFileSync(join(examples, "models.lock.json"), "utf8"));
    const entry = lock.models[EXAMPLE_MODEL]!;
    const files = tinyClassifierFiles();
    expect(Object.keys(entry.files).sort()).toEqual(Object.keys(files).sort());
    for (const [path, bytes] of Object.entries(files)) {
      expect(entry.files[path]).toMatchObject({ size: bytes.length, sha256: sha256Hex(bytes) });
    }
    const key = parsePublicKey(readFileSync(join(examples, "keys/cosign.pub"), "utf8"));
    expect(await checkTrustPolicy(EXAMPLE_MODEL, entry, { keys: [{ key, fingerprint: publicKeyId(key) }], allowUnsigned: false })).toMatchObject({
      kind: "key",
    });
  });

  it("prints an inference result from the verified model, and refuses it after one byte changed", async () => {
    const cache = await tempDir("mg-example-");
    const ok = runExample(cache);
    expect(ok.stderr).toBe("");
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/^verified tiny-classifier .*signed by the trusted key$/m);
    expect(ok.stdout).toMatch(/-> cat \(cat 0\.5358, dog 0\.1276, bird 0\.3366\)/);
    expect(ok.stdout).toMatch(/refused \[DIGEST_MISMATCH\] model tiny-classifier: onnx\/model\.onnx_data/);

    expect(runExample(cache, "--tamper").status).toBe(0);
    const refused = runExample(cache);
    expect(refused.status).toBe(1);
    expect(refused.stdout).not.toMatch(/-> cat/);
    expect(refused.stderr).toMatch(/refused: \[DIGEST_MISMATCH\]/);

    expect(runExample(cache, "--reset").status).toBe(0);
  });

  it("with --hub, downloads the model from the local Hub, loads it, and refuses a Hub that serves a wrong byte", () => {
    const res = runExample("/nonexistent-unused", "--hub");
    expect(res.stderr).toBe("");
    expect(res.status).toBe(0);
    expect(res.stdout).toMatch(/the cache starts empty/);
    expect(res.stdout).toMatch(/-> cat \(cat 0\.5358/);
    expect(res.stdout).toMatch(/refused \[DIGEST_MISMATCH\].*nothing was cached/);
  });
});
