import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { isModelGuardError } from "../../src/errors.js";
import { readKeyFile, writeKeyPair } from "../../src/keys/key-files.js";
import { cosignVector, cosignVectorPath } from "./vectors.js";
import { rejection } from "../helpers/errors.js";

// Lets a test make one open() fail, as a file appearing between check and create would.
const hooks = vi.hoisted(() => ({ failOpen: undefined as { path: string; code: string } | undefined }));
vi.mock("node:fs/promises", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:fs/promises")>();
  const open: typeof actual.open = async (path, ...rest) => {
    if (hooks.failOpen !== undefined && String(path) === hooks.failOpen.path) {
      throw Object.assign(new Error(`simulated ${hooks.failOpen.code}`), { code: hooks.failOpen.code });
    }
    return actual.open(path, ...rest);
  };
  return { ...actual, open, default: { ...actual, open } };
});

// writeKeyPair only moves text; real keys are not needed here.
const pair = { privatePem: "PRIVATE\n", publicPem: "PUBLIC\n" };


let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "modelguard-keys-"));
});
afterEach(() => {
  hooks.failOpen = undefined;
  rmSync(dir, { recursive: true, force: true });
});

describe("writeKeyPair", () => {
  it("writes P.key with mode 0600 and P.pub", async () => {
    const prefix = join(dir, "cosign");
    const paths = await writeKeyPair(prefix, pair);
    expect(paths).toEqual({ privatePath: `${prefix}.key`, publicPath: `${prefix}.pub` });
    expect(readFileSync(paths.privatePath, "utf8")).toBe(pair.privatePem);
    expect(readFileSync(paths.publicPath, "utf8")).toBe(pair.publicPem);
    if (process.platform !== "win32") {
      expect(statSync(paths.privatePath).mode & 0o777).toBe(0o600);
    }
  });

  it.each(["key", "pub"])("refuses when P.%s exists, naming it, and changes nothing", async (ext) => {
    const prefix = join(dir, "cosign");
    writeFileSync(`${prefix}.${ext}`, "existing");
    const err = await rejection(writeKeyPair(prefix, pair));
    expect(isModelGuardError(err, "KEY_EXISTS")).toBe(true);
    expect((err as Error).message).toContain(`${prefix}.${ext}`);
    expect(readFileSync(`${prefix}.${ext}`, "utf8")).toBe("existing");
    const other = ext === "key" ? "pub" : "key";
    expect(existsSync(`${prefix}.${other}`)).toBe(false);
  });

  it("removes the new .key when the .pub cannot be created (race after the check)", async () => {
    const prefix = join(dir, "cosign");
    for (const code of ["EEXIST", "ENOSPC"]) {
      hooks.failOpen = { path: `${prefix}.pub`, code };
      const err = await rejection(writeKeyPair(prefix, pair));
      expect(isModelGuardError(err, code === "EEXIST" ? "KEY_EXISTS" : "USAGE"), String(err)).toBe(true);
      expect((err as Error).message).toContain(`${prefix}.pub`);
      expect(existsSync(`${prefix}.key`)).toBe(false);
    }
  });

  it("refuses a dangling symlink in the way", async () => {
    const prefix = join(dir, "cosign");
    symlinkSync(join(dir, "elsewhere"), `${prefix}.key`);
    const err = await rejection(writeKeyPair(prefix, pair));
    expect(isModelGuardError(err, "KEY_EXISTS")).toBe(true);
    expect(existsSync(join(dir, "elsewhere"))).toBe(false);
  });
});

describe("readKeyFile", () => {
  it("reads a key file", async () => {
    expect(await readKeyFile(cosignVectorPath("pemsigstorekey.pub"))).toBe(cosignVector("pemsigstorekey.pub"));
  });

  it("a missing file is FILE_MISSING naming the path", async () => {
    const path = join(dir, "nope.key");
    const err = await rejection(readKeyFile(path));
    expect(isModelGuardError(err, "FILE_MISSING")).toBe(true);
    expect((err as Error).message).toBe(`key file not found: ${path}`);
  });

  it("a directory is KEY_INVALID", async () => {
    const err = await rejection(readKeyFile(dir));
    expect(isModelGuardError(err, "KEY_INVALID")).toBe(true);
  });
});
