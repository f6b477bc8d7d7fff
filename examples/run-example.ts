/**
 * The main job on the bundled example: put the example model into a Hugging Face cache, then
 * load it through the guard (lockfile digests + a signature by the trusted key) and classify one
 * input. Then show the guard refusing the same model after one byte of it changed.
 *
 *   npm run example              verified load + inference, then the one-byte tamper demo
 *   npm run example -- --hub     the same, downloading the model from the local Hub (loopback)
 *                                into a fresh cache, then a Hub that serves one byte wrong
 *   npm run example -- --tamper  flip one byte in the example cache itself (see `modelguard verify` fail)
 *   npm run example -- --reset   rebuild the example cache from the generated model
 */
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ort from "onnxruntime-node";
import { ModelGuard, ModelGuardError, readLockfile } from "modelguard";
import { EXAMPLE_LOCKFILE, EXAMPLE_PUBLIC_KEY, exampleCacheDir, fillExampleCache, snapshotDir, startExampleHub } from "./example-cache.js";
import { EXAMPLE_MODEL, EXAMPLE_REPO } from "./tiny-model.js";

const lockfile = EXAMPLE_LOCKFILE;
const trustedKey = EXAMPLE_PUBLIC_KEY;
const exampleCache = exampleCacheDir();
const EXAMPLE_REVISION = (await readLockfile(lockfile)).models[EXAMPLE_MODEL]!.revision;
const snapshotOf = (cacheDir: string) => snapshotDir(cacheDir, EXAMPLE_REPO, EXAMPLE_REVISION);

async function flipOneByte(cacheDir: string): Promise<string> {
  const path = join(snapshotOf(cacheDir), "onnx", "model.onnx_data");
  const bytes = await readFile(path);
  bytes[5]! ^= 0x01;
  await writeFile(path, bytes);
  return path;
}

async function classify(cacheDir: string, hubUrl?: string): Promise<void> {
  // Without a hub URL the guard stays offline: the example never reaches out to the real Hub.
  const guard = await ModelGuard.open({ lockfile, cacheDir, trust: { keys: [trustedKey] }, ...(hubUrl ? { hubUrl } : { offline: true }) });
  const session = await guard.createSession(EXAMPLE_MODEL);
  const { labels } = JSON.parse((await guard.readFile(EXAMPLE_MODEL, "config.json")).toString("utf8")) as { labels: string[] };
  const features = Float32Array.from([1.0, 0.2, -0.5, 0.3]);
  const { probabilities } = await session.run({ features: new ort.Tensor("float32", features, [1, 4]) });
  const p = Array.from(probabilities!.data as Float32Array);
  const best = p.indexOf(Math.max(...p));
  console.log(`verified ${EXAMPLE_MODEL} (${EXAMPLE_REPO}@${EXAMPLE_REVISION.slice(0, 12)}), signed by the trusted key`);
  console.log(`input [${Array.from(features, (x) => +x.toFixed(3)).join(", ")}] -> ${labels[best]} (${p.map((x, i) => `${labels[i]} ${x.toFixed(4)}`).join(", ")})`);
  await session.release();
}

async function refused(cacheDir: string, hubUrl?: string): Promise<ModelGuardError | undefined> {
  try {
    await classify(cacheDir, hubUrl);
    return undefined;
  } catch (err) {
    if (err instanceof ModelGuardError) return err;
    throw err;
  }
}

const args = new Set(process.argv.slice(2));

if (args.has("--hub")) {
  const hub = await startExampleHub();
  const work = await mkdtemp(join(tmpdir(), "modelguard-example-"));
  try {
    console.log(`local Hub at ${hub.url} serves ${EXAMPLE_REPO}@${EXAMPLE_REVISION.slice(0, 12)}; the cache starts empty`);
    const failure = await refused(join(work, "cache"), hub.url);
    if (failure) {
      console.error(`refused: [${failure.code}] ${failure.message}`);
      process.exit(1);
    }
    hub.injectFault({ kind: "wrong-bytes", path: "onnx/model.onnx_data", times: Infinity });
    const err = await refused(join(work, "cache-2"), hub.url);
    if (!err) throw new Error("BUG: the guard loaded bytes the Hub served wrong");
    console.log(`a Hub serving one wrong byte of onnx/model.onnx_data: refused [${err.code}] ${err.message}`);
  } finally {
    await hub.close();
    await rm(work, { recursive: true, force: true });
  }
  process.exit(0);
}

if (args.has("--reset")) await rm(exampleCache, { recursive: true, force: true });
await fillExampleCache(exampleCache);

if (args.has("--tamper")) {
  console.log(`flipped one byte of ${await flipOneByte(exampleCache)}; \`npm run example\` now refuses it (--reset restores it)`);
  process.exit(0);
}

const failure = await refused(exampleCache);
if (failure) {
  console.error(`refused: [${failure.code}] ${failure.message}`);
  process.exit(1);
}

// The same model with one byte changed, in a copy of the cache: the guard must refuse it.
const work = await mkdtemp(join(tmpdir(), "modelguard-example-"));
const tampered = join(work, "tampered-cache");
await cp(exampleCache, tampered, { recursive: true });
const path = await flipOneByte(tampered);
const err = await refused(tampered);
await rm(work, { recursive: true, force: true });
if (!err) {
  console.error(`BUG: the guard loaded ${path} after a byte of it changed`);
  process.exit(1);
}
console.log(`after one byte of onnx/model.onnx_data changed: refused [${err.code}] ${err.message}`);
