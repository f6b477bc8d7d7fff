import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdir, readdir, readFile, stat, writeFile, appendFile, rename, truncate, link, lstat, rm } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sweepLeftovers, CopyRoot } from "../../src/copies/copy-root.js";
import { makeVerifiedFiles, type CopyRequest } from "../../src/copies/verified-files.js";
import { HashPool } from "../../src/digest/hash-pool.js";
import { sha256Hex } from "../../src/digest/sha256.js";
import { tempDir } from "../helpers/fixtures.js";

const pool = new HashPool(2);
const copyFile = (s: string, t: string, n: number) => pool.copyFile(s, t, n);

async function cached(dir: string, files: Record<string, Uint8Array>): Promise<CopyRequest[]> {
  return Promise.all(
    Object.entries(files).map(async ([file, bytes], i) => {
      const source = join(dir, `cached-${i}`);
      await writeFile(source, bytes);
      return { ref: { model: "m", file }, source, locked: { size: bytes.length, sha256: sha256Hex(bytes) } };
    }),
  );
}

describe("private verified copies", () => {
  it("copies every byte, hashed in the same pass, laid out by locked path, in a 0700 folder of 0400 files", async () => {
    const dir = await tempDir();
    // Sizes around the 8 MiB chunk, so the three-buffer pipeline wraps around.
    const files = { "onnx/model.onnx": randomBytes(100), "onnx/model.onnx_data": randomBytes(8 * 2 ** 20 * 2 + 5), "empty.bin": new Uint8Array(0) };
    const copies = await makeVerifiedFiles(dir, await cached(dir, files), copyFile);
    try {
      expect(copies.paths["onnx/model.onnx_data"]).toBe(join(copies.dir, "onnx/model.onnx_data"));
      for (const [file, bytes] of Object.entries(files)) {
        expect((await readFile(copies.paths[file]!)).equals(bytes)).toBe(true);
        expect((await stat(copies.paths[file]!)).mode & 0o777).toBe(0o400);
      }
      expect((await stat(copies.dir)).mode & 0o777).toBe(0o700);
      expect((await stat(join(copies.dir, "onnx"))).mode & 0o777).toBe(0o700);
      const b = copies.bytes("onnx/model.onnx_data");
      expect(Buffer.from(await b.read(8 * 2 ** 20 - 2, 4)).equals(files["onnx/model.onnx_data"].subarray(8 * 2 ** 20 - 2, 8 * 2 ** 20 + 2))).toBe(true);
      await copies.check();
    } finally {
      await copies.release();
    }
    await expect(stat(copies.dir)).rejects.toMatchObject({ code: "ENOENT" });
    await copies.release(); // idempotent
  });

  it.each([
    ["a flipped byte", "DIGEST_MISMATCH", async (p: string) => { const b = await readFile(p); b[7]! ^= 1; await writeFile(p, b); }],
    ["a truncation", "SIZE_MISMATCH", (p: string) => truncate(p, 3)],
    ["an extension", "SIZE_MISMATCH", (p: string) => appendFile(p, "x")],
    ["no file", "NOT_CACHED", (p: string) => rm(p)],
  ] as const)("refuses a cached file changed by %s and leaves nothing behind", async (_what, code, tamper) => {
    const dir = await tempDir();
    const folder = join(dir, "copies");
    await mkdir(folder);
    const requests = await cached(dir, { "a.bin": randomBytes(5 * 2 ** 20), "b.bin": randomBytes(10) });
    await tamper(requests[0]!.source);
    await expect(makeVerifiedFiles(folder, requests, copyFile)).rejects.toMatchObject({ code, model: "m", file: "a.bin" });
    expect(await readdir(folder)).toEqual([]);
  });

  it("refuses a FIFO in the cache instead of hanging on it", async () => {
    const dir = await tempDir();
    const requests = await cached(dir, { "a.bin": randomBytes(10) });
    await rm(requests[0]!.source);
    execFileSync("mkfifo", [requests[0]!.source]);
    await expect(makeVerifiedFiles(dir, requests, copyFile)).rejects.toMatchObject({ code: "UNSAFE_PATH" });
  });

  it.each([
    ["a write in place", async (p: string) => { await chmod(p, 0o600); await appendFile(p, ""); await writeFile(p, Buffer.from("X"), { flag: "r+" }); await chmod(p, 0o400); }],
    ["a chmod", (p: string) => chmod(p, 0o644)],
    ["a hard link", (p: string) => link(p, `${p}.link`)],
    ["a rename over its path", async (p: string) => { await writeFile(`${p}.evil`, "evil", { mode: 0o400 }); await rename(`${p}.evil`, p); }],
    ["a truncation", async (p: string) => { await chmod(p, 0o600); await truncate(p, 1); await chmod(p, 0o400); }],
  ] as const)("detects %s to a copy after it was made and fails closed (COPY_CHANGED)", async (_what, tamper) => {
    const dir = await tempDir();
    const copies = await makeVerifiedFiles(dir, await cached(dir, { "w.bin": randomBytes(4096) }), copyFile);
    try {
      await tamper(copies.paths["w.bin"]!);
      await expect(copies.check()).rejects.toMatchObject({ code: "COPY_CHANGED", file: "w.bin" });
    } finally {
      await copies.release();
    }
  });

  it("is unchanged by a rename over, a write in place or a truncation of the cached file after the copy", async () => {
    const dir = await tempDir();
    const bytes = randomBytes(3 * 2 ** 20);
    const requests = await cached(dir, { "w.bin": bytes });
    const copies = await makeVerifiedFiles(dir, requests, copyFile);
    const source = requests[0]!.source;
    await writeFile(source, randomBytes(10), { flag: "r+" });
    await truncate(source, 100);
    await writeFile(`${source}.new`, "other");
    await rename(`${source}.new`, source);
    expect((await readFile(copies.paths["w.bin"]!)).equals(bytes)).toBe(true);
    await copies.check();
    await copies.release();
  });

  it("files other users cannot read, write or list (checked as another user when run as root)", async () => {
    const dir = await tempDir();
    const copies = await makeVerifiedFiles(dir, await cached(dir, { "w.bin": randomBytes(64) }), copyFile);
    try {
      if (process.getuid?.() !== 0) return;
      // As root every permission check passes, so an unprivileged user tries: first the 0700
      // folder stops it, then (folder opened up for the test) the 0400 file does.
      await chmod(dir, 0o755);
      // The probe is /bin/sh, not Node: the Node running the tests may live where that user cannot
      // reach it (npx's node under /root). Each step: "ok", "EACCES" (permission denied) or the error.
      const asNobody = () =>
        new Promise<string>((resolve, reject) => {
          const quote = (p: string) => `'${p.replaceAll("'", "'\\''")}'`;
          const file = quote(copies.paths["w.bin"]!);
          const steps = [`ls ${quote(copies.dir)}`, `cat ${file}`, `printf x > ${file}`];
          const probe = steps
            .map((step) => `if out=$( { ${step}; } 2>&1 >/dev/null ); then echo ok; else case "$out" in *"Permission denied"*) echo EACCES;; *) echo "$out";; esac; fi`)
            .join("; ");
          const child = spawn("/bin/sh", ["-c", probe], { uid: 65534, gid: 65534, cwd: "/" });
          let s = "";
          child.stdout.on("data", (d) => (s += d));
          child.on("error", reject);
          child.on("close", () => resolve(s.trim().split("\n").join(",")));
        });
      expect(await asNobody()).toBe("EACCES,EACCES,EACCES");
      await chmod(copies.dir, 0o711);
      expect(await asNobody()).toBe("EACCES,EACCES,EACCES");
      await copies.check();
    } finally {
      await copies.release();
    }
  });
});

describe("the copy folder of a process", () => {
  it("is swept by the next process when its owner was killed (kill -9), never while it runs", async () => {
    const root = await tempDir();
    const script = `
      import { CopyRoot } from ${JSON.stringify(new URL("../../src/copies/copy-root.ts", import.meta.url).href)};
      const folder = await CopyRoot.folderIn(${JSON.stringify(root)});
      (await import("node:fs")).writeFileSync(folder + "/leftover", "x");
      console.log(folder);
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    const folder = await new Promise<string>((resolve) => child.stdout.once("data", (d) => resolve(String(d).trim())));
    expect(await sweepLeftovers(root)).toEqual([]); // its owner is alive
    expect((await lstat(folder)).isDirectory()).toBe(true);
    child.kill("SIGKILL");
    await new Promise((r) => child.once("close", r));
    expect(await sweepLeftovers(root)).toEqual([folder]);
    await expect(lstat(folder)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("a folder whose pid now belongs to another process (pid reuse) is swept; another user's folder or a symlink is not", async () => {
    const root = await tempDir();
    const { mkdir, symlink } = await import("node:fs/promises");
    // Our own pid with a start time that is not ours: a process that died and whose pid was reused.
    const reused = join(root, `modelguard-${process.ppid}-1-abcdef`);
    await mkdir(reused);
    const target = await tempDir();
    const linked = join(root, "modelguard-999999-1-zzzzzz");
    await symlink(target, linked);
    const ours = await CopyRoot.folderIn(root);
    await expect(lstat(reused)).rejects.toMatchObject({ code: "ENOENT" });
    expect((await lstat(linked)).isSymbolicLink()).toBe(true);
    expect((await lstat(target)).isDirectory()).toBe(true);
    expect((await stat(ours)).mode & 0o777).toBe(0o700);
  });
});
