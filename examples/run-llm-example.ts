/**
 * `npm run example:llm`: a GGUF model for node-llama-cpp, end to end, with nothing downloaded.
 *
 * 1. the local Hub (loopback) serves a tiny llama model generated in code (test/helpers/tiny-llama.ts);
 * 2. `modelguard add REPO:F32` locks it by quantization tag and `modelguard sign` signs it with the
 *    demo key (the real CLI, as a user runs it);
 * 3. the service side opens a guard trusting the demo public key and `loadLlamaModel` loads it into
 *    node-llama-cpp from private verified copies; it generates a few tokens;
 * 4. one byte of the cached file changes: the same load is refused.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { getLlama, LlamaCompletion, LlamaLogLevel, type Llama } from "node-llama-cpp";
import { ModelGuard, ModelGuardError, readLockfile } from "modelguard";
import { loadLlamaModel } from "modelguard/node-llama-cpp";
import { startLocalHub } from "../local-hub/index.js";
import { tinyLlamaGguf } from "../test/helpers/tiny-llama.js";
import { snapshotDir } from "./example-cache.js";
import { exampleCli } from "./example-cli.js";

const REPO = "modelguard-examples/tiny-llama-GGUF";
const FILE = "tiny-llama-F32.gguf";
const NAME = "tiny-llama";
const PROMPT = "only verified";
const signingKey = fileURLToPath(new URL("keys/cosign.key", import.meta.url));
const publicKey = fileURLToPath(new URL("keys/cosign.pub", import.meta.url));

const hub = await startLocalHub();
const work = await mkdtemp(join(tmpdir(), "modelguard-llm-example-"));
const lockfile = join(work, "models.lock.json");
const cacheDir = join(work, "hf-cache");

/** The real CLI, against the local Hub and this example's own cache and lockfile. */
const modelguard = exampleCli(hub.url, lockfile, cacheDir);

/** The service side: trust comes from the caller's key; offline, so nothing but the cache is read. */
async function generate(llama: Llama): Promise<string> {
  const guard = await ModelGuard.open({ lockfile, cacheDir, trust: { keys: [publicKey] }, offline: true });
  const model = await loadLlamaModel(guard, llama, NAME);
  try {
    // One thread: a 55 KB model gains nothing from more, and busy threads only wait on each other.
    const context = await model.createContext({ contextSize: 128, threads: 1 });
    try {
      const completion = new LlamaCompletion({ contextSequence: context.getSequence() });
      return await completion.generateCompletion(PROMPT, { maxTokens: 5, temperature: 0 });
    } finally {
      await context.dispose();
    }
  } finally {
    await model.dispose();
    await guard.close();
  }
}

let failed = false;
try {
  await hub.createRepo(REPO, { files: { "README.md": "# a tiny llama, generated in code\n", [FILE]: tinyLlamaGguf() } });
  console.log(`local Hub at ${hub.url} serves ${REPO} (${FILE}, generated in code)`);
  await modelguard("add", `${REPO}:F32`, "--name", NAME);
  await modelguard("sign", NAME, "--key", signingKey);
  const entry = (await readLockfile(lockfile)).models[NAME]!;
  console.log(`locked ${NAME}: ${REPO}@${entry.revision.slice(0, 12)}, ${Object.keys(entry.files).join(", ")}; gguf ${JSON.stringify(entry.gguf)}`);

  // CPU only, never built, quiet: nothing is compiled or downloaded.
  const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error, progressLogs: false });
  try {
    console.log(`generated from verified copies: ${JSON.stringify(PROMPT)} -> ${JSON.stringify(await generate(llama))}`);

    const cached = join(snapshotDir(cacheDir, REPO, entry.revision), FILE);
    const bytes = await readFile(cached);
    bytes[bytes.length - 100]! ^= 0x01;
    await writeFile(cached, bytes);
    try {
      await generate(llama);
      console.error(`BUG: the guard loaded ${FILE} after a byte of it changed`);
      failed = true;
    } catch (err) {
      if (!(err instanceof ModelGuardError)) throw err;
      console.log(`after one byte of ${FILE} changed: refused [${err.code}] ${err.message}`);
    }
  } finally {
    await llama.dispose();
  }
} finally {
  await hub.close();
  await rm(work, { recursive: true, force: true });
}
process.exitCode = failed ? 1 : 0;
