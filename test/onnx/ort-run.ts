import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import ort from "onnxruntime-node";

/** Shared fixtures: W has zeros so a sparse W differs from its dense form. */
export const DIMS = [2, 3] as const;
export const W = Float32Array.of(1, 0, 3, 0, 5, 6);
export const X = Float32Array.of(10, 20, 30, 40, 50, 60);
export const X_PLUS_W = Array.from(X, (x, i) => x + W[i]!);
/** What Y is when onnxruntime read the decoy copy of W (every weight times 100) from disk. */
export const X_PLUS_DECOY = Array.from(X, (x, i) => x + 100 * W[i]!);

/** A copy of float32 bytes with every value times 100: a decoy to tell disk reads from memory reads. */
export function decoyOf(bytes: Uint8Array): Uint8Array {
  const f = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  return new Uint8Array(f.map((v) => v * 100).buffer);
}

export type RunResult = { y: number[] } | { error: string };

/** Y for input X, in this process, from model bytes. */
export async function runAdd(
  model: Uint8Array,
  options: ort.InferenceSession.SessionOptions = {},
): Promise<RunResult> {
  try {
    const session = await ort.InferenceSession.create(model, options);
    const out = await session.run({ X: new ort.Tensor("float32", X, [...DIMS]) });
    return { y: Array.from(out.Y!.data as Float32Array) };
  } catch (err) {
    return { error: String((err as Error).message) };
  }
}

const CHILD = `
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
const [ortPath, modelPath, optionsJson, xJson, dimsJson] = process.argv.slice(1);
const ort = (await import(pathToFileURL(ortPath).href)).default;
const options = JSON.parse(optionsJson);
if (options.externalData) options.externalData = options.externalData.map((e) => ({ path: e.path, data: readFileSync(e.file) }));
try {
  const session = await ort.InferenceSession.create(readFileSync(modelPath), options);
  const out = await session.run({ X: new ort.Tensor("float32", Float32Array.from(JSON.parse(xJson)), JSON.parse(dimsJson)) });
  console.log(JSON.stringify({ y: Array.from(out.Y.data) }));
} catch (err) {
  console.log(JSON.stringify({ error: String(err.message) }));
}
`;

export interface ChildRun {
  model: Uint8Array;
  /** Files to create in the child's working directory, by relative path. */
  cwdFiles?: Record<string, Uint8Array>;
  /** Handed to onnxruntime as in-memory `externalData`. */
  externalData?: Record<string, Uint8Array>;
  sessionOptions?: Omit<ort.InferenceSession.SessionOptions, "externalData">;
}

/**
 * Creates a session from model bytes in a child process whose working directory is a fresh
 * temp dir (vitest workers cannot chdir), to observe which files onnxruntime reads on its own.
 */
export function runAddInChild(run: ChildRun): RunResult {
  const root = mkdtempSync(join(tmpdir(), "modelguard-ort-"));
  try {
    const cwd = join(root, "cwd");
    mkdirSync(cwd);
    const modelPath = join(root, "model.onnx");
    writeFileSync(modelPath, run.model);
    for (const [rel, bytes] of Object.entries(run.cwdFiles ?? {})) {
      mkdirSync(dirname(join(cwd, rel)), { recursive: true });
      writeFileSync(join(cwd, rel), bytes);
    }
    const externalData = Object.entries(run.externalData ?? {}).map(([path, bytes], i) => {
      const file = join(root, `memory-${i}.bin`);
      writeFileSync(file, bytes);
      return { path, file };
    });
    const options = { ...run.sessionOptions, ...(run.externalData ? { externalData } : {}) };
    const ortPath = createRequire(import.meta.url).resolve("onnxruntime-node");
    const stdout = execFileSync(
      process.execPath,
      ["--input-type=module", "-e", CHILD, ortPath, modelPath, JSON.stringify(options), JSON.stringify(Array.from(X)), JSON.stringify(DIMS)],
      { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
    );
    return JSON.parse(stdout.trim().split("\n").pop()!) as RunResult;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
