/** Lockfiles written by an attacker: duplicate keys, absurd nesting, sizes, special files, prototype keys. */
import { execFileSync } from "node:child_process";
import { truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { publicKeyId } from "../../src/keys/load-key.js";
import { describeLockChange } from "../../src/lockfile/diff.js";
import { readLockfile, MAX_LOCKFILE_BYTES } from "../../src/lockfile/lockfile-file.js";
import { serializeLockfile } from "../../src/lockfile/serialize.js";
import { parseLockfile } from "../../src/lockfile/validate.js";
import { withSignature } from "../../src/signing/sign-locked-model.js";
import { checkTrustPolicy } from "../../src/signing/trust-policy.js";
import { lockedEntry, makeKeys, tempDir } from "../helpers/fixtures.js";
import { messageOf, rejection } from "../helpers/errors.js";

const REV = "1".repeat(40);
const file = `{ "size": 1, "sha256": "${"a".repeat(64)}" }`;
const model = (files: string) => `{ "repo": "org/m", "revision": "${REV}", "files": { ${files} } }`;

describe("duplicate keys", () => {
  it.each([
    ["the top level", `{ "lockfileVersion": 1, "models": {}, "models": { "m": ${model(`"a": ${file}`)} } }`, "models"],
    ["a model name", `{ "lockfileVersion": 1, "models": { "m": ${model(`"a": ${file}`)}, "m": ${model(`"b": ${file}`)} } }`, "models.m"],
    ["a file path, spelled with an escape", `{ "lockfileVersion": 1, "models": { "m": ${model(`"a": ${file}, "\\u0061": ${file}`)} } }`, "models.m.files.a"],
    ["a digest", `{ "lockfileVersion": 1, "models": { "m": ${model(`"a": { "size": 1, "sha256": "${"a".repeat(64)}", "sha256": "${"b".repeat(64)}" }`)} } }`, "models.m.files.a.sha256"],
    ["an object in an array", `{ "lockfileVersion": 1, "models": { "m": { "repo": "org/m", "revision": "${REV}", "signatures": [{}, { "x": 1, "x": 2 }], "files": { "a": ${file} } } } }`, "models.m.signatures[1].x"],
  ])("in %s are refused, naming the JSON path", (_where, text, path) => {
    expect(messageOf("LOCKFILE_INVALID", () => parseLockfile(text))).toContain(`${path} is given twice`);
  });

  it("are told apart from equal keys in different objects and from strings that look like keys", () => {
    const text = `{ "lockfileVersion": 1, "note": ["models", "models"], "models": { "m": ${model(`"a": ${file}, "b": ${file}`)}, "n": ${model(`"a": ${file}`)} } }`;
    expect(Object.keys(parseLockfile(text).models)).toEqual(["m", "n"]);
  });
});

describe("resource limits", () => {
  it("refuses nesting 50,000 deep cleanly, naming where", () => {
    const deep = `{ "lockfileVersion": 1, "models": {}, "x": ${"[".repeat(50_000)}${"]".repeat(50_000)} }`;
    expect(messageOf("LOCKFILE_INVALID", () => parseLockfile(deep))).toMatch(/x(\[0\])+ nests deeper than 64 levels/);
  });

  it("refuses a lockfile over the size limit without reading it, and a FIFO without blocking", async () => {
    const dir = await tempDir();
    const big = join(dir, "big.json");
    await writeFile(big, "");
    await truncate(big, MAX_LOCKFILE_BYTES + 1);
    expect(await rejection(readLockfile(big))).toMatchObject({ code: "LOCKFILE_INVALID", message: expect.stringContaining("at most") });
    const fifo = join(dir, "fifo.json");
    execFileSync("mkfifo", [fifo]);
    expect(await rejection(readLockfile(fifo))).toMatchObject({ code: "LOCKFILE_INVALID", message: expect.stringContaining("not a regular file") });
  });
});

describe("JavaScript prototype keys are data", () => {
  // A computed key: `{ "__proto__": x }` would set the literal's prototype instead.
  const files = { ["__proto__"]: Buffer.from("p"), constructor: Buffer.from("c"), "toString/x.json": Buffer.from("{}") };

  it("survive a write and a read: files, model names and unknown fields", () => {
    const entry = lockedEntry("org/m", files);
    const text = `{ "lockfileVersion": 1, "__proto__": { "note": 1 }, "models": { "constructor": ${JSON.stringify(entry)}, "toString": ${JSON.stringify(entry)} } }`;
    const lockfile = parseLockfile(text);
    const again = parseLockfile(serializeLockfile(lockfile));
    expect(Object.keys(again)).toContain("__proto__");
    expect(Object.keys(again.models)).toEqual(["constructor", "toString"]);
    expect(Object.keys(new Map(Object.entries(again.models)).get("constructor")!.files).sort()).toEqual(["__proto__", "constructor", "toString/x.json"]);
    expect(Object.getPrototypeOf(again)).toBe(Object.prototype);
  });

  it("a signed entry with such files verifies after its lockfile is written and read back", async () => {
    const keys = await makeKeys(await tempDir());
    const signed = withSignature("constructor", lockedEntry("org/m", files), keys.privateKey, keys.publicKey);
    const back = new Map(Object.entries(parseLockfile(serializeLockfile({ lockfileVersion: 1, models: { constructor: signed } })).models)).get("constructor")!;
    const policy = { keys: [{ key: keys.publicKey, fingerprint: publicKeyId(keys.publicKey) }], allowUnsigned: false };
    expect(await checkTrustPolicy("constructor", back, policy)).toMatchObject({ kind: "key" });
  });

  it("a diff does not mistake inherited properties for locked files", () => {
    const before = lockedEntry("org/m", { a: Buffer.from("a") });
    const after = lockedEntry("org/m", { a: Buffer.from("a"), constructor: Buffer.from("c") });
    expect(describeLockChange(before, after)).toEqual(["+ constructor (1 bytes)"]);
    expect(describeLockChange(after, before)).toEqual(["- constructor"]);
  });
});
