import { readdir, readFile, rename, rm, writeFile, open } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { env, pipeline } from "@huggingface/transformers";
import { ModelGuard } from "../../../src/guard/guard.js";
import { isModelGuardError, type ErrorCode } from "../../../src/errors.js";
import { snapshotFilePath } from "../../../src/hub/cache-layout.js";
import { guardTransformers } from "../../../src/transformers.js";
import { tinyBertConfig, tinyBertFiles, tinyBertGraph } from "../../../examples/tiny-bert.js";
import { makeCachedModels, REVISION, tempDir } from "../../helpers/fixtures.js";
import { rejection } from "../../helpers/errors.js";
import { refuseNetworkInEachTest } from "../../helpers/refuse-network.js";

// guardTransformers(env, guard, { serve: "copies" }): graphs and their external data reach
// onnxruntime as paths of private verified copies. The rest of the behaviour (refusals, pins, no
// fetch) is the same as serving bytes, tested in guard-transformers.test.ts.

const REPO = "modelguard-tests/tiny-bert";
const TEXT = ["Hello world, the cat sat!", "verified bytes load fast"];
const saved = { ...env };
const network = refuseNetworkInEachTest();
let dirs: string[] = [];

afterEach(async () => {
  Object.assign(env, saved);
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  dirs = [];
});

/** The model cached and locked, and a guard over it whose copies go to a folder of the test's own. */
async function lockedModel(files: Record<string, Uint8Array>) {
  const cached = await makeCachedModels({ "tiny-bert": { repo: REPO, files } });
  const copyDir = await tempDir("mg-tjs-copies-");
  dirs.push(cached.dir, copyDir);
  const guard = await ModelGuard.open({ lockfile: cached.lockfilePath, cacheDir: cached.cacheDir, allowUnsigned: true, offline: true, env: {}, copyDir });
  return { ...cached, guard, copyDir };
}

/** Every file under `dir` (the copies still there). */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

async function embeddings(guard: ModelGuard, serve: "bytes" | "copies"): Promise<number[]> {
  const handle = guardTransformers(env, guard, { serve });
  try {
    const embed = await pipeline("feature-extraction", REPO);
    const out = await embed(TEXT);
    await embed.dispose();
    return Array.from(out.data as Float32Array);
  } finally {
    await handle.dispose();
  }
}

async function expectRefused(p: Promise<unknown>, code: ErrorCode, message: RegExp): Promise<void> {
  const err = await rejection(p);
  expect(isModelGuardError(err, code), `expected ${code}, got ${String(err)}`).toBe(true);
  expect((err as Error).message).toMatch(message);
}

describe("guardTransformers serve: copies", () => {
  for (const externalData of [false, true]) {
    const layout = externalData ? "external data" : "single file";
    it(`computes what serving verified bytes computes, and leaves no copy after dispose (${layout})`, async () => {
      const { guard, copyDir } = await lockedModel(tinyBertFiles({ externalData }));
      const bytes = await embeddings(guard, "bytes");
      expect(await embeddings(guard, "copies")).toEqual(bytes);
      expect(await filesUnder(copyDir)).toEqual([]);
      expect(network.calls).toEqual([]);
    });
  }

  it("hands onnxruntime the copy: a rename over or a write in place of the cached files after the load changes nothing", async () => {
    const files = tinyBertFiles({ externalData: true });
    const { guard, cacheDir, copyDir } = await lockedModel(files);
    const expected = await embeddings(guard, "bytes");
    const handle = guardTransformers(env, guard, { serve: "copies" });
    try {
      const embed = await pipeline("feature-extraction", REPO);
      const copies = await filesUnder(copyDir);
      expect(copies.map((p) => p.slice(p.lastIndexOf("/onnx/") + 1)).sort()).toEqual(["onnx/model.onnx", "onnx/model.onnx_data"]);
      // onnxruntime maps the external data from the copy (Linux shows it), not from the cache.
      const maps = await readFile("/proc/self/maps", "utf8").catch(() => undefined);
      if (maps !== undefined) expect(maps).toContain(copies.find((p) => p.endsWith("model.onnx_data")));
      // Other weights renamed over the graph, the external data overwritten in place.
      const graph = snapshotFilePath(cacheDir, REPO, REVISION, "onnx/model.onnx");
      const data = snapshotFilePath(cacheDir, REPO, REVISION, "onnx/model.onnx_data");
      await writeFile(`${graph}.new`, files["onnx/model_quantized.onnx"]!);
      await rename(`${graph}.new`, graph);
      const fh = await open(data, "r+");
      await fh.write(Buffer.alloc((await fh.stat()).size, 0x7f), 0, undefined, 0);
      await fh.close();
      expect(Array.from((await embed(TEXT)).data as Float32Array)).toEqual(expected);
      // A second pipeline under the same handle is served the same copy.
      const again = await pipeline("feature-extraction", REPO);
      expect(Array.from((await again(TEXT)).data as Float32Array)).toEqual(expected);
      await Promise.all([embed.dispose(), again.dispose()]);
    } finally {
      await handle.dispose();
    }
    expect(await filesUnder(copyDir)).toEqual([]);
    // A new load verifies again, and refuses the changed cache.
    const next = guardTransformers(env, guard, { serve: "copies" });
    try {
      await expectRefused(pipeline("feature-extraction", REPO), "SIZE_MISMATCH", /onnx\/model\.onnx is \d+ bytes, the lockfile says/);
    } finally {
      await next.dispose();
    }
    expect(await filesUnder(copyDir)).toEqual([]);
    expect(network.calls).toEqual([]);
  });

  it("by default serves a graph up to 1 MiB (with its data) as bytes and a larger one as a copy, computing the same", async () => {
    const small = tinyBertFiles({ externalData: true, quantized: false });
    // 20,000 rows of 16 floats: 1.28 MB of word embeddings, the first rows (the vocabulary) unchanged.
    const built = tinyBertGraph({ wordRows: 20_000, externalLocation: "model.onnx_data" });
    const large = { ...small, "onnx/model.onnx": built.model, "onnx/model.onnx_data": built.externalFiles["model.onnx_data"]! };
    const outputs: number[][] = [];
    for (const [files, copied] of [[small, 0], [large, 2]] as const) {
      const { guard, copyDir } = await lockedModel(files);
      const handle = guardTransformers(env, guard);
      try {
        const embed = await pipeline("feature-extraction", REPO);
        expect((await filesUnder(copyDir)).length).toBe(copied);
        outputs.push(Array.from((await embed(TEXT)).data as Float32Array));
        await embed.dispose();
      } finally {
        await handle.dispose();
      }
      expect(await filesUnder(copyDir)).toEqual([]);
    }
    expect(outputs[1]).toEqual(outputs[0]);
  });

  it("refuses what serving bytes refuses: a flipped byte, undeclared external data; guard.close() removes copies left", async () => {
    const files = tinyBertFiles({ externalData: true });
    const { guard, cacheDir, copyDir } = await lockedModel(files);
    const handle = guardTransformers(env, guard, { serve: "copies" });
    try {
      const embed = await pipeline("feature-extraction", REPO);
      await embed.dispose();
      expect((await filesUnder(copyDir)).length).toBe(2);
      // guard.close() takes the copies even without dispose().
      await guard.close();
      expect(await filesUnder(copyDir)).toEqual([]);
    } finally {
      await handle.dispose();
    }

    // The config declares a second chunk the lock does not have: refused as serving bytes refuses it.
    const twoChunks = { ...files, "config.json": Buffer.from(JSON.stringify({ ...tinyBertConfig(false), "transformers.js_config": { use_external_data_format: 2 } })) };
    const chunked = await lockedModel(twoChunks);
    const h1 = guardTransformers(env, chunked.guard, { serve: "copies" });
    try {
      await expectRefused(pipeline("feature-extraction", REPO), "FILE_NOT_LOCKED", /onnx\/model\.onnx_data_1, which is not a locked data file of onnx\/model\.onnx/);
    } finally {
      await h1.dispose();
    }
    expect(await filesUnder(chunked.copyDir)).toEqual([]);

    const undeclared = { ...files, "config.json": Buffer.from(JSON.stringify(tinyBertConfig(false))) };
    const second = await lockedModel(undeclared);
    const h2 = guardTransformers(env, second.guard, { serve: "copies" });
    try {
      await expectRefused(pipeline("feature-extraction", REPO), "EXTERNAL_DATA_UNVERIFIED", /does not declare/);
      const data = snapshotFilePath(cacheDir, REPO, REVISION, "onnx/model.onnx_data");
      const bytes = await readFile(data);
      bytes[3]! ^= 0x01;
      await writeFile(data, bytes);
    } finally {
      await h2.dispose();
    }
    expect(await filesUnder(second.copyDir)).toEqual([]);
    const h3 = guardTransformers(env, guard, { serve: "copies" });
    try {
      await expectRefused(pipeline("feature-extraction", REPO), "DIGEST_MISMATCH", /onnx\/model\.onnx_data/);
    } finally {
      await h3.dispose();
    }
    expect(await filesUnder(copyDir)).toEqual([]);
    expect(network.calls).toEqual([]);
  });
});
