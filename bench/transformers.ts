/**
 * `npm run bench:transformers`: a transformers.js feature-extraction pipeline load (`pipeline()`
 * until it returns) over a generated BERT-like model (tiny-bert.ts with a word-embedding table
 * scaled to BENCH_MODEL_BYTES), three ways, each load in a fresh process (bench/transformers-child.ts),
 * paired runs in a rotating order, page cache warm:
 *
 *   - `bytes`: `guardTransformers(env, guard)` serving verified bytes (the graph and its external
 *     data in memory, `InferenceSession.create(bytes, { externalData })`);
 *   - `copies`: `guardTransformers(env, guard, { serve: "copies" })` serving the path of a private
 *     verified copy (`InferenceSession.create(path)` on the copy);
 *   - `unguarded`: transformers.js reading the same files from a local folder by path, nothing verified;
 *
 * for the model with external data (`onnx/model.onnx` + `onnx/model.onnx_data`, declared in the
 * config) and as one file. The guard is opened (trust checked) before the clock starts.
 *
 *   BENCH_MODEL_BYTES (default 300e6)   BENCH_RUNS (default 3)
 *   node --import tsx bench/transformers.ts   (after npm run build)
 */
import { spawnSync } from "node:child_process";
import { realpath, mkdir, link } from "node:fs/promises";
import { dirname, join } from "node:path";
import { tinyBertConfig, tinyBertFiles, tinyBertGraph, TINY_BERT } from "../examples/tiny-bert.js";
import { BenchCache, envNumber, root, rotated } from "./fixtures.js";
import { copyRootNote, heading, median, mib, seconds, spread, table, writeReadmeSection } from "./report.js";

const DEFAULT_BYTES = 300e6;
const bytes = envNumber("BENCH_MODEL_BYTES", DEFAULT_BYTES);
const runs = Math.round(envNumber("BENCH_RUNS", 3));
const METHODS = ["bytes", "copies", "unguarded"] as const;
type Method = (typeof METHODS)[number];

interface Sample {
  seconds: number;
  peakBefore: number;
  peakAfter: number;
  rssHeld: number;
  copyHeld: number;
  mapped: boolean;
  first: number[];
}

const cache = await BenchCache.create("mg-bench-tjs-");
try {
  const wordRows = Math.round(bytes / 4 / TINY_BERT.hidden);
  const text = tinyBertFiles({ quantized: false });
  const cases = [
    { label: "external data", repo: "bench/bert-external", external: true },
    { label: "single file", repo: "bench/bert-single", external: false },
  ];
  const localDir = join(cache.dir, "local");
  for (const c of cases) {
    const name = c.repo.split("/")[1]!;
    const built = tinyBertGraph({ wordRows, ...(c.external ? { externalLocation: "model.onnx_data" } : {}) });
    const files: Record<string, Uint8Array> = {
      "config.json": Buffer.from(`${JSON.stringify(tinyBertConfig(c.external), null, 2)}\n`),
      "tokenizer.json": text["tokenizer.json"]!,
      "tokenizer_config.json": text["tokenizer_config.json"]!,
      "onnx/model.onnx": built.model,
      ...Object.fromEntries(Object.entries(built.externalFiles).map(([l, b]) => [`onnx/${l}`, b])),
    };
    for (const [path, data] of Object.entries(files)) {
      const snapshot = await cache.addFile(name, c.repo, path, async (sink) => {
        for (let at = 0; at < data.length; at += 64 * 2 ** 20) await sink(data.subarray(at, at + 64 * 2 ** 20));
      });
      // The unguarded load reads the same blobs (hard links: one copy in the page cache).
      const local = join(localDir, c.repo, path);
      await mkdir(dirname(local), { recursive: true });
      await link(await realpath(snapshot), local);
    }
  }
  const { lockfilePath, publicKeyPath } = await cache.lockAndSign();

  const load = (method: Method, repo: string): Sample => {
    const spec = { method, repo, lockfile: lockfilePath, cacheDir: cache.cacheDir, publicKey: publicKeyPath, localDir };
    const child = spawnSync(process.execPath, ["--expose-gc", "--import", "tsx", join(root, "bench/transformers-child.ts"), JSON.stringify(spec)], {
      encoding: "utf8",
      maxBuffer: 2 ** 24,
    });
    if (child.status !== 0) throw new Error(`${method} ${repo}: exit ${child.status}\n${child.stderr}`);
    return JSON.parse(child.stdout) as Sample;
  };

  const rows: string[][] = [];
  for (const c of cases) {
    const samples: Record<Method, Sample[]> = { bytes: [], copies: [], unguarded: [] };
    for (let run = 0; run < runs; run++) {
      for (const method of rotated(METHODS, run)) samples[method].push(load(method, c.repo));
      process.stderr.write(`${c.label}: run ${run + 1}/${runs}\n`);
    }
    const reference = samples.unguarded[0]!.first;
    for (const method of METHODS) {
      for (const s of samples[method]) {
        if (s.first.some((v, i) => Math.abs(v - reference[i]!) > 1e-6)) throw new Error(`${c.label}: ${method} computed ${s.first}, unguarded ${reference}`);
      }
    }
    for (const method of METHODS) {
      const s = samples[method];
      const ratios = s.map((x, i) => x.seconds / samples.unguarded[i]!.seconds);
      rows.push([
        c.label,
        method === "unguarded" ? "unguarded, by path" : method === "bytes" ? "guarded, verified bytes" : "guarded, verified copy path",
        `${seconds(median(s.map((x) => x.seconds)))} (${spread(s.map((x) => x.seconds), seconds)})`,
        method === "unguarded" ? "1" : median(ratios).toFixed(2),
        mib(median(s.map((x) => x.peakAfter))),
        mib(median(s.map((x) => x.rssHeld))),
        mib(median(s.map((x) => x.copyHeld))),
        s[0]!.mapped ? "yes" : "no",
      ]);
    }
  }
  const modelMiB = `${mib(bytes)} MiB of weights`;
  const markdown = [
    heading(`one \`pipeline("feature-extraction")\` load per fresh process, median of ${runs} paired runs, ${modelMiB}`, bytes === DEFAULT_BYTES && runs >= 3 ? undefined : `BENCH_MODEL_BYTES=${bytes}, BENCH_RUNS=${runs}`),
    "",
    table(["model", "load", "seconds (min–max)", "÷ unguarded", "peak RSS MiB", "RSS held MiB", "copies held MiB", "model file mapped"], rows),
    "",
    await copyRootNote(),
  ].join("\n");
  console.log(markdown);
  if (process.env.BENCH_WRITE_README !== "0") await writeReadmeSection("transformers", markdown);
} finally {
  await cache.remove();
}
