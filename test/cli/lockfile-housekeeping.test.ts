/**
 * Lockfile housekeeping through the real CLI: `remove`, `signatures`, `unsign`, and the README's
 * "Rotating keys" recipe run step by step as written there.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { publicKeyId } from "../../src/keys/load-key.js";
import { signBlob } from "../../src/signing/blob-signature.js";
import { makeCachedModels, makeKeys } from "../helpers/fixtures.js";
import { runCli } from "../helpers/run-cli.js";

async function setup() {
  const made = await makeCachedModels({
    a: { repo: "org/a", files: { "config.json": Buffer.from('{"a":1}') } },
    b: { repo: "org/b", files: { "config.json": Buffer.from('{"b":1}') } },
    c: { repo: "org/c", files: { "config.json": Buffer.from('{"c":1}') } },
  });
  const g = ["--lockfile", made.lockfilePath, "--cache-dir", made.cacheDir];
  const lock = async () => JSON.parse(await readFile(made.lockfilePath, "utf8")) as { models: Record<string, { signatures?: unknown[]; files: Record<string, { signatures?: unknown[] }> }> };
  // What every MODEL_NOT_LOCKED of these commands says: the missing names, this lockfile and what it locks, then what was not done.
  const notLocked = (missing: string, unchanged?: string) =>
    new RegExp(`not locked: ${missing} \\(locked in ${made.lockfilePath.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: a, b, c\\)${unchanged === undefined ? "" : `; ${unchanged}`}`);
  return { ...made, g, lock, notLocked };
}

describe("modelguard remove", () => {
  it("drops the named models, and nothing when one name is not locked", async () => {
    const s = await setup();
    const before = await readFile(s.lockfilePath, "utf8");
    const typo = await runCli([...s.g, "remove", "a", "nope"]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(s.notLocked("nope", "nothing was removed"));
    expect(await readFile(s.lockfilePath, "utf8")).toBe(before);
    const ok = await runCli([...s.g, "remove", "a", "c"]);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toContain(`removed a, c from ${s.lockfilePath}`);
    expect(Object.keys((await s.lock()).models)).toEqual(["b"]);
    const json = await runCli([...s.g, "--json", "remove", "b"]);
    expect(JSON.parse(json.stdout)).toEqual({ removed: ["b"] });
    expect((await s.lock()).models).toEqual({});
    expect((await runCli([...s.g, "remove"])).code).toBe(2);
  });
});

describe("modelguard signatures and unsign", () => {
  it("lists who signed each model without trusting anyone, and drops one key's signatures by key id", async () => {
    const s = await setup();
    const old = await makeKeys(s.dir, "old");
    const next = await makeKeys(s.dir, "new");
    const [oldId, nextId] = [publicKeyId(old.publicKey), publicKeyId(next.publicKey)];
    expect((await runCli([...s.g, "sign", "a", "b", "--key", old.privatePath])).code).toBe(0);
    expect((await runCli([...s.g, "sign", "a", "--key", next.privatePath])).code).toBe(0);

    const text = await runCli([...s.g, "signatures"]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^a  org/a@1{40}\\n  signatures\\[0\\]  model signature +  key ${oldId}\\n  signatures\\[1\\]  model signature +  key ${nextId}\\nb  org/b@1{40}\\n  signatures\\[0\\]  model signature +  key ${oldId}\\nc  org/c@1{40}\\n  no signatures\\n$`));
    expect(text.stderr).toMatch(/not verified/);
    const json = await runCli([...s.g, "--json", "signatures", "b"]);
    expect(JSON.parse(json.stdout)).toEqual({
      models: [{ name: "b", repo: "org/b", revision: "1".repeat(40), signatures: [{ where: "signatures[0]", kind: "model-signature", signer: { kind: "key", fingerprint: oldId } }] }],
    });
    const unknown = await runCli([...s.g, "signatures", "a", "nope", "gone"]);
    expect(unknown).toMatchObject({ code: 2, stderr: expect.stringMatching(s.notLocked("nope, gone")) });
    const unknownUnsign = await runCli([...s.g, "unsign", "nope", "--key-id", oldId]);
    expect(unknownUnsign).toMatchObject({ code: 2, stderr: expect.stringMatching(s.notLocked("nope", "nothing was changed")) });
    // sign and pull word it alike, and check every name before they sign or fetch anything.
    const beforeSign = await readFile(s.lockfilePath, "utf8");
    const unknownSign = await runCli([...s.g, "sign", "a", "nope", "--key", old.privatePath]);
    expect(unknownSign).toMatchObject({ code: 2, stderr: expect.stringMatching(s.notLocked("nope", "nothing was signed")) });
    expect(await readFile(s.lockfilePath, "utf8")).toBe(beforeSign);
    const unknownPull = await runCli([...s.g, "pull", "a", "nope", "--offline"]);
    expect(unknownPull).toMatchObject({ code: 2, stderr: expect.stringMatching(s.notLocked("nope", "nothing was pulled")) });

    // A key id that signed nothing (a typo): exit 2, nothing written.
    const before = await readFile(s.lockfilePath, "utf8");
    const typo = await runCli([...s.g, "unsign", "--key-id", "0".repeat(64)]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/no signature of a, b, c in .* is by key 0{64}; nothing was changed/);
    expect((await runCli([...s.g, "unsign", "--key-id", "abc"])).stderr).toMatch(/is not a key id: 64 hex digits/);
    expect((await runCli([...s.g, "unsign"])).code).toBe(2);
    expect((await runCli([...s.g, "unsign", "--key-id", oldId, "--key", old.publicPath])).code).toBe(2);
    expect(await readFile(s.lockfilePath, "utf8")).toBe(before);

    const dropped = await runCli([...s.g, "unsign", "--key-id", oldId.toUpperCase()]);
    expect(dropped.code).toBe(0);
    expect(dropped.stderr).toContain("a: dropped signatures[0]");
    expect(dropped.stderr).toContain("b: dropped signatures[0]");
    expect(dropped.stderr).toContain("b has no signature left: verify refuses it until it is signed again (modelguard sign b --key KEY)");
    expect(dropped.stderr).not.toContain("a has no signature left");
    const after = await s.lock();
    expect(after.models.a!.signatures).toHaveLength(1);
    expect(after.models.b!.signatures).toBeUndefined();
    expect((await runCli([...s.g, "verify", "a", "--key", next.publicPath])).code).toBe(0);
    expect((await runCli([...s.g, "verify", "a", "--key", old.publicPath])).code).toBe(1);
  });

  it("--key PUB also drops cosign file signatures that carry no key id, found by verifying them", async () => {
    const s = await setup();
    const old = await makeKeys(s.dir, "old");
    const lock = await s.lock();
    (lock.models.c!.files["config.json"] as { signatures?: unknown[] }).signatures = [{ sig: signBlob(Buffer.from('{"c":1}'), old.privateKey) }];
    await writeFile(s.lockfilePath, JSON.stringify(lock));
    expect((await runCli([...s.g, "verify", "c", "--key", old.publicPath])).code).toBe(0);
    const listed = await runCli([...s.g, "signatures", "c"]);
    expect(listed.stdout).toMatch(/files\["config\.json"\]\.signatures\[0\]  file signature +  no key id/);
    expect((await runCli([...s.g, "unsign", "c", "--key-id", publicKeyId(old.publicKey)])).code).toBe(2);
    const json = await runCli([...s.g, "--json", "unsign", "c", "--key", old.publicPath]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ key: publicKeyId(old.publicKey), signer: { kind: "key", fingerprint: publicKeyId(old.publicKey) }, models: [{ name: "c", dropped: ['files["config.json"].signatures[0]'], left: 0 }] });
    expect((await s.lock()).models.c!.files["config.json"]!.signatures).toBeUndefined();
  });
});

describe("README: Rotating keys", () => {
  it("runs the recipe step by step, as written", async () => {
    const readme = await readFile(new URL("../../README.md", import.meta.url), "utf8");
    const section = /\n## Rotating keys\n([\s\S]*?)\n## /.exec(readme)?.[1] ?? "";
    const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? "";
    const steps = block
      .split("\n")
      .map((line) => line.replace(/#.*$/, "").trim())
      .filter(Boolean);
    expect(steps.map((l) => l.split(" ")[1])).toEqual(["generate-key-pair", "sign", "signatures", "verify", "unsign", "signatures"]);

    // Today's state, as the recipe starts from it: every model signed by keys/old.key, in the cache.
    const s = await setup();
    await mkdir(join(s.dir, "keys"));
    const old = await makeKeys(join(s.dir, "keys"), "old");
    expect((await runCli([...s.g, "sign", "--key", old.privatePath])).code).toBe(0);
    const env = { HF_HUB_CACHE: s.cacheDir, COSIGN_PASSWORD: "rotate" };
    const results = [];
    for (const step of steps) {
      const [command, ...args] = step.split(/\s+/);
      expect(command).toBe("modelguard");
      const res = await runCli(args, { cwd: s.dir, env });
      expect(res.code, `${step}\n${res.stderr}`).toBe(0);
      results.push(res);
    }
    const newKey = (await import("../../src/keys/key-files.js")).readPublicKeyFile(join(s.dir, "keys/new.pub"));
    const [oldId, newId] = [publicKeyId(old.publicKey), publicKeyId(await newKey)];
    for (const name of ["a", "b", "c"]) {
      expect(results[2]!.stdout).toMatch(new RegExp(`${name}  org/${name}@1{40}\\n  signatures\\[0\\]  model signature +  key ${oldId}\\n  signatures\\[1\\]  model signature +  key ${newId}\\n`));
      expect(results[5]!.stdout).toMatch(new RegExp(`${name}  org/${name}@1{40}\\n  signatures\\[0\\]  model signature +  key ${newId}\\n`));
    }
    expect(results[5]!.stdout).not.toContain(oldId);
    expect((await runCli(["verify", "--key", "keys/new.pub"], { cwd: s.dir, env })).code).toBe(0);
    const refused = await runCli(["verify", "--key", "keys/old.pub"], { cwd: s.dir, env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/UNTRUSTED_SIGNER/);
  });
});
