import { appendFile, readdir, rename, rm, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import ort from "onnxruntime-node";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ModelGuard } from "../../src/guard/guard.js";
import { snapshotFilePath } from "../../src/hub/cache-layout.js";
import { buildAddModel } from "../helpers/build-model.js";
import { onnxruntimeAdapter } from "../../src/runtimes/onnxruntime/onnxruntime-adapter.js";
import { makeCachedModels, tempDir } from "../helpers/fixtures.js";
import { opCases, outputBytes } from "../helpers/onnx-ops.js";

/** Every load through copies, however small the model (the defaults keep tiny models in memory). */
const viaCopies = onnxruntimeAdapter({ inMemoryLimit: 0, graphInMemoryLimit: 0 });
/** Graphs in memory, external data through copies. */
const dataViaCopies = onnxruntimeAdapter({ inMemoryLimit: 0 });

async function setup(files: Record<string, Uint8Array>) {
  const made = await makeCachedModels({ m: { repo: "org/m", files } });
  const copyDir = await tempDir("mg-copies-");
  const guard = await ModelGuard.open({ lockfile: made.lockfilePath, cacheDir: made.cacheDir, allowUnsigned: true, offline: true, copyDir });
  const pathOf = (file: string) => snapshotFilePath(made.cacheDir, "org/m", made.lockfile.models.m!.revision, file);
  /** What is left in our process's copy folder (every load's own folder is removed when released). */
  const leftovers = async () => {
    const folders = await readdir(copyDir);
    const inside = await Promise.all(folders.map((f) => readdir(join(copyDir, f))));
    return inside.flat();
  };
  return { ...made, guard, pathOf, leftovers, copyDir };
}

async function byPath(model: Uint8Array, files: Record<string, Uint8Array> = {}): Promise<ort.InferenceSession> {
  const dir = await tempDir();
  for (const [p, b] of Object.entries(files)) await writeFile(join(dir, p), b);
  await writeFile(join(dir, "model.onnx"), model);
  return ort.InferenceSession.create(join(dir, "model.onnx"));
}

afterEach(() => vi.restoreAllMocks());

describe("onnxruntime on private verified copies", () => {
  // Each lead moves the weights to another offset mod 64 in the file, where the copy is mapped.
  it.each([0, 1, 2, 3, 5, 8, 17, 33])("single-file models whose weights sit at offset %i (mod 64) compute what create(path) does, for every kernel", async (lead) => {
    for (const [op, c] of Object.entries(opCases(lead))) {
      const s = await setup({ "model.onnx": c.model });
      const expected = await outputBytes(await byPath(c.model), c.feeds());
      const { session } = await s.guard.load(viaCopies, "m");
      expect((await outputBytes(session, c.feeds())).equals(expected), op).toBe(true);
      await session.release();
      expect(await s.leftovers()).toEqual([]);
    }
  });

  it("an external-data model computes what create(path) does, its data mapped from copies", async () => {
    const W = Float32Array.from({ length: 4096 }, (_, i) => i / 7);
    const X = Float32Array.from({ length: 4096 }, (_, i) => -i);
    const built = buildAddModel({ weights: W, dims: [4096], external: { location: "weights/w.bin" } });
    const s = await setup({ "onnx/model.onnx": built.model, "onnx/weights/w.bin": built.externalFiles["weights/w.bin"]! });
    // The graph in memory and the data as copies; and the graph too as a copy, walked in place.
    for (const adapter of [dataViaCopies, viaCopies]) {
      const { session, files } = await s.guard.load(adapter, "m");
      expect(files).toEqual(["onnx/model.onnx", "onnx/weights/w.bin"]);
      const out = await session.run({ X: new ort.Tensor("float32", X, [4096]) });
      expect(Array.from(out.Y!.data as Float32Array)).toEqual(Array.from(X, (x, i) => Math.fround(x + W[i]!)));
      await session.release();
      expect(await s.leftovers()).toEqual([]);
    }
  });

  const tampers = {
    "a rename over it": async (p: string) => {
      await writeFile(`${p}.evil`, Buffer.alloc(10, 7));
      await rename(`${p}.evil`, p);
    },
    "a write in place": async (p: string) => {
      await writeFile(p, Buffer.alloc(4096, 0x41), { flag: "r+" });
    },
    "a truncation": (p: string) => truncate(p, 100),
  };

  it.each(Object.keys(tampers))("%s of the cached file during and after the load changes nothing the session computes", async (what) => {
    const tamper = tampers[what as keyof typeof tampers];
    const c = opCases(3).Add!;
    const expected = await outputBytes(await byPath(c.model), c.feeds());
    // During: once the copy is made, while onnxruntime creates the session from it.
    const during = await setup({ "model.onnx": c.model });
    const create = ort.InferenceSession.create.bind(ort.InferenceSession);
    vi.spyOn(ort.InferenceSession, "create").mockImplementation(async (...args: unknown[]) => {
      await tamper(during.pathOf("model.onnx"));
      return (create as (...a: unknown[]) => Promise<ort.InferenceSession>)(...args);
    });
    const { session } = await during.guard.load(viaCopies, "m");
    vi.restoreAllMocks();
    expect((await outputBytes(session, c.feeds())).equals(expected)).toBe(true);
    // After: the session keeps computing the verified weights (mapped pages it has not touched included).
    const after = await setup({ "model.onnx": c.model });
    const loaded = (await after.guard.load(viaCopies, "m")).session;
    await tamper(after.pathOf("model.onnx"));
    expect((await outputBytes(loaded, c.feeds())).equals(expected)).toBe(true);
    await Promise.all([session.release(), loaded.release()]);
    // And the next load refuses the tampered cache.
    await expect(after.guard.load(viaCopies, "m")).rejects.toMatchObject({ code: expect.stringMatching(/DIGEST_MISMATCH|SIZE_MISMATCH/) });
    expect(await after.leftovers()).toEqual([]);
  });

  it("a same-user write to a copy while onnxruntime loads it fails closed (COPY_CHANGED), leaving no session and no copy", async () => {
    const c = opCases(0).Add!;
    const s = await setup({ "model.onnx": c.model });
    const create = ort.InferenceSession.create.bind(ort.InferenceSession);
    const release = vi.fn();
    vi.spyOn(ort.InferenceSession, "create").mockImplementation(async (...args: unknown[]) => {
      const options = args[1] as { extra: { session: { model_external_initializers_file_folder_path: string } } };
      const copy = join(options.extra.session.model_external_initializers_file_folder_path, "model.onnx");
      // Root (as here) writes through the 0400 mode; another process of the same user would chmod first.
      await appendFile(copy, "");
      await writeFile(copy, Buffer.alloc(64, 0x42), { flag: "r+" });
      const session = await (create as (...a: unknown[]) => Promise<ort.InferenceSession>)(...args);
      const original = session.release.bind(session);
      session.release = async () => {
        release();
        return original();
      };
      return session;
    });
    await expect(s.guard.load(viaCopies, "m")).rejects.toMatchObject({ code: "COPY_CHANGED", file: "model.onnx" });
    expect(release).toHaveBeenCalledOnce();
    expect(await s.leftovers()).toEqual([]);
  });

  it("leaves no copy after a load onnxruntime refuses", async () => {
    // A graph that parses but names an operator onnxruntime does not have.
    const bad = buildAddModel({ weights: new Float32Array(2048), dims: [2048] });
    const text = Buffer.from(bad.model);
    const at = text.indexOf("Add");
    text.write("Qqq", at);
    const s = await setup({ "model.onnx": text });
    await expect(s.guard.load(viaCopies, "m")).rejects.toMatchObject({ code: "ONNX_INVALID" });
    expect(await s.leftovers()).toEqual([]);
  });

  it("createSession keeps tiny models in memory: no copy is made", async () => {
    const s = await setup({ "model.onnx": opCases(0).Add!.model });
    const session = await s.guard.createSession("m");
    expect(await readdir(s.copyDir)).toEqual([]);
    await session.release();
  });

  it("refuses a caller's own external-data folder", async () => {
    const s = await setup({ "model.onnx": opCases(0).Add!.model });
    const sessionOptions = { extra: { session: { model_external_initializers_file_folder_path: "/tmp" } } } as never;
    await expect(s.guard.createSession("m", { sessionOptions })).rejects.toMatchObject({ code: "USAGE" });
  });
});

describe("guard.verifiedFiles", () => {
  it("hands out private verified copies of a trusted model's files, removed by release() or close()", async () => {
    const files = { "a.bin": Buffer.alloc(5000, 1), "sub/b.bin": Buffer.alloc(10, 2) };
    const s = await setup(files);
    const copies = await s.guard.verifiedFiles("m");
    expect(Object.keys(copies.paths).sort()).toEqual(["a.bin", "sub/b.bin"]);
    await copies.release();
    expect(await s.leftovers()).toEqual([]);
    await s.guard.verifiedFiles("m", ["a.bin"]);
    expect(await s.leftovers()).toHaveLength(1);
    await s.guard.close();
    expect(await s.leftovers()).toEqual([]);
    await rm(s.copyDir, { recursive: true });
  });
});
