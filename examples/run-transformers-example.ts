/**
 * transformers.js reading only verified bytes, end to end (`npm run example:transformers`):
 *
 * 1. the local Hub (loopback) serves a tiny BERT-like model generated in code (tiny-bert.ts),
 *    with its weights in external data;
 * 2. `modelguard add --preset feature-extraction` locks what that pipeline asks for, `modelguard sign` signs it
 *    with the demo key (the real CLI, as a user runs it);
 * 3. the service opens a guard trusting the demo public key, installs `guardTransformers`, and
 *    runs `pipeline("feature-extraction", ...)`: embeddings from verified bytes only, no network;
 * 4. one byte of the cached weights changes: the same pipeline call is refused.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { env, pipeline } from "@huggingface/transformers";
import { ModelGuard, ModelGuardError, readLockfile } from "modelguard";
import { guardTransformers } from "modelguard/transformers";
import { startLocalHub } from "../local-hub/index.js";
import { snapshotDir } from "./example-cache.js";
import { exampleCli } from "./example-cli.js";
import { tinyBertFiles } from "./tiny-bert.js";

const REPO = "modelguard-examples/tiny-bert";
const NAME = "tiny-bert";
const SENTENCES = ["the cat sat on the mat", "a dog sat on the mat", "verified bytes load fast"];
const signingKey = fileURLToPath(new URL("keys/cosign.key", import.meta.url));
const publicKey = fileURLToPath(new URL("keys/cosign.pub", import.meta.url));

const hub = await startLocalHub();
const work = await mkdtemp(join(tmpdir(), "modelguard-transformers-example-"));
const lockfile = join(work, "models.lock.json");
const cacheDir = join(work, "hf-cache");

/** The real CLI, against the local Hub and this example's own cache and lockfile. */
const modelguard = exampleCli(hub.url, lockfile, cacheDir);

async function embed(): Promise<number[][]> {
  // The service side: trust comes from the caller's key; offline, so nothing but the cache is read.
  const guard = await ModelGuard.open({ lockfile, cacheDir, trust: { keys: [publicKey] }, offline: true });
  const handle = guardTransformers(env, guard);
  try {
    const extractor = await pipeline("feature-extraction", REPO);
    const output = await extractor(SENTENCES, { pooling: "mean", normalize: true });
    await extractor.dispose();
    return output.tolist() as number[][];
  } finally {
    handle.dispose();
  }
}

try {
  await hub.createRepo(REPO, { files: tinyBertFiles({ externalData: true }) });
  console.log(`local Hub at ${hub.url} serves ${REPO}`);
  await modelguard("add", REPO, "--name", NAME, "--preset", "feature-extraction");
  await modelguard("sign", NAME, "--key", signingKey);
  const entry = (await readLockfile(lockfile)).models[NAME]!;
  console.log(`locked ${NAME}: ${REPO}@${entry.revision.slice(0, 12)}, ${Object.keys(entry.files).join(", ")}`);

  const vectors = await embed();
  console.log("embeddings from verified bytes (mean-pooled, normalized; first 4 of 16 dimensions):");
  SENTENCES.forEach((s, i) => console.log(`  ${JSON.stringify(s).padEnd(28)} [${vectors[i]!.slice(0, 4).map((x) => x.toFixed(4)).join(", ")}, ...]`));
  const cosine = (a: number[], b: number[]) => a.reduce((sum, x, i) => sum + x * b[i]!, 0);
  console.log(`  similarity: cat/dog ${cosine(vectors[0]!, vectors[1]!).toFixed(4)}, cat/bytes ${cosine(vectors[0]!, vectors[2]!).toFixed(4)}`);

  const data = join(snapshotDir(cacheDir, REPO, entry.revision), "onnx", "model.onnx_data");
  const bytes = await readFile(data);
  bytes[5]! ^= 0x01;
  await writeFile(data, bytes);
  try {
    await embed();
    console.error(`BUG: transformers.js loaded ${data} after a byte of it changed`);
    process.exitCode = 1;
  } catch (err) {
    if (!(err instanceof ModelGuardError)) throw err;
    console.log(`after one byte of onnx/model.onnx_data changed: refused [${err.code}] ${err.message}`);
  }
} finally {
  await hub.close();
  await rm(work, { recursive: true, force: true });
}
