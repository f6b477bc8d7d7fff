import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFile, readFile, stat, writeFile, appendFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { snapshotFilePath } from "../../src/hub/cache-layout.js";
import { buildAddModel } from "../helpers/build-model.js";
import { makeCachedModels, makeKeys, tempDir } from "../helpers/fixtures.js";
import { runCli } from "../helpers/run-cli.js";

const cosignVectors = join(import.meta.dirname, "../fixtures/vectors/cosign");
const hasOpenssl = (() => {
  try {
    execFileSync("openssl", ["version"]);
    return true;
  } catch {
    return false;
  }
})();

describe("modelguard generate-key-pair", () => {
  it("writes a cosign key pair that sign-blob and verify-blob use, and refuses to overwrite it", async () => {
    const dir = await tempDir();
    const env = { COSIGN_PASSWORD: "s3cret" };
    const gen = await runCli(["generate-key-pair"], { cwd: dir, env });
    expect(gen.code).toBe(0);
    expect((await readFile(join(dir, "cosign.key"), "utf8")).startsWith("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n")).toBe(true);
    expect((await stat(join(dir, "cosign.key"))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(dir, "cosign.pub"), "utf8")).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);

    const again = await runCli(["generate-key-pair"], { cwd: dir, env });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/cosign\.key already exists/);

    await writeFile(join(dir, "blob"), "hello blob\n");
    const signed = await runCli(["sign-blob", "--key", "cosign.key", "--output-signature", "blob.sig", "blob"], { cwd: dir, env });
    expect(signed.code).toBe(0);
    expect(signed.stdout.trim()).toBe((await readFile(join(dir, "blob.sig"), "utf8")).trim());

    const verified = await runCli(["verify-blob", "blob", "--key", "cosign.pub", "--signature", "blob.sig"], { cwd: dir });
    expect(verified).toMatchObject({ code: 0, stderr: "Verified OK\n" });
    // cosign takes the signature itself in place of a file, too.
    const inline = await runCli(["verify-blob", "blob", "--key", "cosign.pub", "--signature", signed.stdout.trim()], { cwd: dir });
    expect(inline.code).toBe(0);

    await appendFile(join(dir, "blob"), "x");
    const bad = await runCli(["verify-blob", "blob", "--key", "cosign.pub", "--signature", "blob.sig"], { cwd: dir });
    expect(bad.code).toBe(1);
    expect(bad.stderr).not.toMatch(/Verified OK|\n\s+at /);

    if (hasOpenssl) {
      await writeFile(join(dir, "blob.der"), Buffer.from(signed.stdout.trim(), "base64"));
      await writeFile(join(dir, "blob"), "hello blob\n");
      const out = execFileSync("openssl", ["dgst", "-sha256", "-verify", "cosign.pub", "-signature", "blob.der", "blob"], { cwd: dir });
      expect(out.toString()).toContain("Verified OK");
    }
  });

  it("says 'wrong password' with exit 2 and no stack trace", async () => {
    const dir = await tempDir();
    await runCli(["generate-key-pair", "--output-key-prefix", "k"], { cwd: dir, env: { COSIGN_PASSWORD: "right" } });
    await writeFile(join(dir, "blob"), "b");
    const res = await runCli(["sign-blob", "--key", "k.key", "blob"], { cwd: dir, env: { COSIGN_PASSWORD: "wrong" } });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/wrong password/);
    expect(res.stderr).not.toMatch(/\n\s+at /);
  });

  it("reads the password from standard input when COSIGN_PASSWORD is unset", async () => {
    const dir = await tempDir();
    const gen = await runCli(["generate-key-pair"], { cwd: dir, env: { COSIGN_PASSWORD: undefined }, input: "piped\n" });
    expect(gen.code).toBe(0);
    await writeFile(join(dir, "blob"), "b");
    expect((await runCli(["sign-blob", "--key", "cosign.key", "blob"], { cwd: dir, env: { COSIGN_PASSWORD: "piped" } })).code).toBe(0);
  });
});

describe("modelguard with cosign's own files", () => {
  it("verifies cosign's sign-blob signature and signs with cosign's encrypted keys", async () => {
    const dir = await tempDir();
    const ok = await runCli(["verify-blob", "blob.txt", "--key", "pemsigstorekey.pub", "--signature", "blob.txt.sig"], { cwd: cosignVectors });
    expect(ok).toMatchObject({ code: 0, stderr: "Verified OK\n" });
    for (const key of ["pemsigstorekey", "pemcosignkey"]) {
      const sig = await runCli(["sign-blob", "--key", join(cosignVectors, `${key}.key`), join(cosignVectors, "blob.txt")], { env: { COSIGN_PASSWORD: "hello" } });
      expect(sig.code).toBe(0);
      await writeFile(join(dir, `${key}.sig`), sig.stdout);
      const check = await runCli(["verify-blob", join(cosignVectors, "blob.txt"), "--key", join(cosignVectors, `${key}.pub`), "--signature", join(dir, `${key}.sig`)]);
      expect(check.code).toBe(0);
    }
  });

  it("refuses cosign's SEC1 key vector with a clear message", async () => {
    const res = await runCli(["sign-blob", "--key", join(cosignVectors, "pemcosigneckey.key"), join(cosignVectors, "blob.txt")], { env: { COSIGN_PASSWORD: "hello" } });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/PKCS#8|ParseECPrivateKey/);
    expect(res.stderr).not.toMatch(/\n\s+at /);
  });

  it("gives usage errors exit 2: unknown flag, missing file", async () => {
    expect((await runCli(["verify-blob", "--bogus"])).code).toBe(2);
    const missing = await runCli(["verify-blob", "/nonexistent", "--key", join(cosignVectors, "pemsigstorekey.pub"), "--signature", "AAAA"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/\/nonexistent: not found/);
  });
});

describe("modelguard sign and verify", () => {
  const W = Float32Array.from([1, 2, 3, 4]);
  const external = buildAddModel({ weights: W, dims: [4], external: { location: "model.onnx_data" } });

  async function setup() {
    const made = await makeCachedModels({
      add: { repo: "org/add", files: { "onnx/model.onnx": external.model, "onnx/model.onnx_data": external.externalFiles["model.onnx_data"]! } },
      other: { repo: "org/other", files: { "config.json": Buffer.from("{}") } },
    });
    const keys = await makeKeys(made.dir, "ci");
    const g = ["--lockfile", made.lockfilePath, "--cache-dir", made.cacheDir];
    return { ...made, keys, g };
  }

  it("signs every locked model and verifies them with the trusted key", async () => {
    const s = await setup();
    const before = await readFile(s.lockfilePath, "utf8");
    expect((await runCli([...s.g, "verify", "--key", s.keys.publicPath])).code).toBe(1);
    const sign = await runCli([...s.g, "sign", "--key", s.keys.privatePath]);
    expect(sign.code).toBe(0);
    const after = JSON.parse(await readFile(s.lockfilePath, "utf8"));
    expect(after.models.add.signatures).toHaveLength(1);
    expect(after.models.other.signatures).toHaveLength(1);
    expect(before).not.toEqual(await readFile(s.lockfilePath, "utf8"));

    const ok = await runCli([...s.g, "verify", "--key", s.keys.publicPath]);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toMatch(/ok add: 2 files/);

    const json = await runCli([...s.g, "verify", "--key", s.keys.publicPath, "--json", "add"]);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report).toMatchObject({ ok: true, models: [{ name: "add", signer: { kind: "key" } }] });
    expect(report.models).toHaveLength(1);
  });

  it("fails with exit 1 naming the model and file when a cached byte changed, and lists every failure", async () => {
    const s = await setup();
    await runCli([...s.g, "sign", "--key", s.keys.privatePath]);
    const data = snapshotFilePath(s.cacheDir, "org/add", s.lockfile.models.add!.revision, "onnx/model.onnx_data");
    const bytes = await readFile(data);
    bytes[0]! ^= 1;
    await writeFile(data, bytes);
    await appendFile(snapshotFilePath(s.cacheDir, "org/other", s.lockfile.models.other!.revision, "config.json"), " ");
    const res = await runCli([...s.g, "verify", "--key", s.keys.publicPath]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/DIGEST_MISMATCH.*model add: onnx\/model\.onnx_data/);
    expect(res.stderr).toMatch(/SIZE_MISMATCH.*model other: config\.json/);
    const json = await runCli([...s.g, "verify", "--key", s.keys.publicPath, "--json"]);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout).ok).toBe(false);
  });

  it("refuses unsigned models unless --allow-unsigned, and untrusted signers", async () => {
    const s = await setup();
    const unsigned = await runCli([...s.g, "verify", "--key", s.keys.publicPath]);
    expect(unsigned.code).toBe(1);
    expect(unsigned.stderr).toMatch(/SIGNATURE_MISSING/);
    expect((await runCli([...s.g, "verify", "--allow-unsigned"])).code).toBe(0);
    await runCli([...s.g, "sign", "add", "--key", s.keys.privatePath]);
    const stranger = await makeKeys(s.dir, "stranger");
    const res = await runCli([...s.g, "verify", "add", "--key", stranger.publicPath]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/UNTRUSTED_SIGNER/);
  });

  it("refuses a lockfile edited after signing", async () => {
    const s = await setup();
    await runCli([...s.g, "sign", "--key", s.keys.privatePath]);
    const lock = JSON.parse(await readFile(s.lockfilePath, "utf8"));
    lock.models.other.files["config.json"].sha256 = "0".repeat(64);
    await writeFile(s.lockfilePath, JSON.stringify(lock));
    const res = await runCli([...s.g, "verify", "other", "--key", s.keys.publicPath]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/SIGNATURE_INVALID.*changed after signing/);
  });

  it("exits 3 when a locked file is not cached, and 2 on a malformed lockfile or unknown model", async () => {
    const s = await setup();
    const empty = await runCli(["--lockfile", s.lockfilePath, "--cache-dir", join(s.dir, "empty"), "verify", "--allow-unsigned"]);
    expect(empty.code).toBe(3);
    expect(empty.stderr).toMatch(/NOT_CACHED/);
    const bad = join(s.dir, "bad.lock.json");
    await copyFile(s.lockfilePath, bad);
    await writeFile(bad, (await readFile(bad, "utf8")).replace(/"size": 2/, '"size": -2'));
    const malformed = await runCli(["--lockfile", bad, "verify", "--allow-unsigned"]);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toMatch(/size must be a non-negative integer/);
    expect((await runCli([...s.g, "verify", "nope", "--allow-unsigned"])).code).toBe(2);
  });
});

describe("malformed input is exit 2 with a clear message, never a stack trace", () => {
  it("a --signature naming a file that does not exist", async () => {
    const res = await runCli(["verify-blob", "blob.txt", "--key", "pemsigstorekey.pub", "--signature", "blob.sig"], { cwd: cosignVectors });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/signature "blob\.sig" is neither a file nor base64/);
  });

  it("a cosign legacy bundle whose fields have the wrong types", async () => {
    const dir = await tempDir();
    const bundle = join(dir, "b.json");
    const sig = (await readFile(join(cosignVectors, "blob.txt.sig"), "utf8")).trim();
    // A well-formed Rekor body, so the reader gets as far as the log id, which is a number here.
    const blobSha256 = createHash("sha256").update(await readFile(join(cosignVectors, "blob.txt"))).digest("hex");
    const body = Buffer.from(JSON.stringify({ apiVersion: "0.0.1", kind: "hashedrekord", spec: { data: { hash: { algorithm: "sha256", value: blobSha256 } } } })).toString("base64");
    await writeFile(bundle, JSON.stringify({ base64Signature: sig, rekorBundle: { SignedEntryTimestamp: "x", Payload: { body, logID: 7, logIndex: 1, integratedTime: 1 } } }));
    const res = await runCli(["verify-blob", join(cosignVectors, "blob.txt"), "--bundle", bundle, "--key", join(cosignVectors, "pemsigstorekey.pub")]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/not a valid cosign bundle/);
    expect(res.stderr).not.toMatch(/\n\s+at /);
  });

  it("a file that cannot be written, for any command", async () => {
    const dir = await tempDir();
    const res = await runCli(["sign-blob", "--key", join(cosignVectors, "pemsigstorekey.key"), "--output-signature", join(dir, "no-such-dir", "x.sig"), join(cosignVectors, "blob.txt")], { env: { COSIGN_PASSWORD: "hello" } });
    expect(res.code).toBe(2);
    expect(res.stderr).not.toMatch(/internal error|\n\s+at /);
  });
});
