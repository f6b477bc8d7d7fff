import { spawnSync } from "node:child_process";
import { appendFile, chmod, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { snapshotFilePath } from "../../src/hub/cache-layout.js";
import { writeLockfile } from "../../src/lockfile/lockfile-file.js";
import { buildAddModel } from "../helpers/build-model.js";
import { withSignature } from "../../src/signing/sign-locked-model.js";
import { makeCachedModels, makeKeys } from "../helpers/fixtures.js";

const entrypoint = fileURLToPath(new URL("../../examples/deploy/entrypoint.sh", import.meta.url));
const bin = fileURLToPath(new URL("../../bin/modelguard.js", import.meta.url));

async function setup() {
  const made = await makeCachedModels({ m: { repo: "org/m", files: { "model.onnx": buildAddModel({ weights: Float32Array.from([1]), dims: [1] }).model } } });
  const keys = await makeKeys(made.dir, "ops");
  const other = await makeKeys(made.dir, "other");
  made.lockfile.models.m = withSignature("m", made.lockfile.models.m!, keys.privateKey, keys.publicKey);
  await writeLockfile(made.lockfilePath, made.lockfile);
  // `modelguard` on PATH, as `npm link` or a global install puts it in the image.
  const shim = join(made.dir, "modelguard");
  await writeFile(shim, `#!/bin/sh\nexec "${process.execPath}" "${bin}" "$@"\n`);
  await chmod(shim, 0o755);
  const run = (keyList: string) =>
    spawnSync("/bin/sh", [entrypoint, "echo", "service-started"], {
      encoding: "utf8",
      env: {
        PATH: `${made.dir}:${process.env.PATH}`,
        MODELGUARD_LOCKFILE: made.lockfilePath,
        MODELGUARD_TRUSTED_KEYS: keyList,
        HF_HUB_CACHE: made.cacheDir,
        HF_HUB_OFFLINE: "1",
      },
    });
  return { ...made, keys, other, run };
}

describe("the container entrypoint", () => {
  it("starts the service only after the gate passes, with keys from a comma-separated list", async () => {
    const s = await setup();
    const ok = s.run(`${s.other.publicPath},${s.keys.publicPath}`);
    expect(ok.stderr).toMatch(/ok m: 1 file,/);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toBe("service-started\n");
  });

  it("never starts the service on a tampered model or an untrusted signer", async () => {
    const s = await setup();
    const untrusted = s.run(s.other.publicPath);
    expect(untrusted.status).toBe(1);
    expect(untrusted.stdout).toBe("");
    await appendFile(snapshotFilePath(s.cacheDir, "org/m", s.lockfile.models.m!.revision, "model.onnx"), "x");
    const tampered = s.run(s.keys.publicPath);
    expect(tampered.status).toBe(1);
    expect(tampered.stdout).toBe("");
    expect(tampered.stderr).toMatch(/SIZE_MISMATCH.*model m: model\.onnx/);
  });
});
