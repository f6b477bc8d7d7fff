/**
 * The example service on the bundled example models (examples/service/, `npm run serve`).
 *
 *   npm run serve                       fill examples/.hf-cache with the generated models, serve them
 *   npm run serve -- --hub              start the local Hub with the example repos; the service
 *                                       fetches the models into an empty cache, verifying each byte
 *   npm run serve -- --port 9000 ...    anything else goes to the service (see --help)
 *
 * The example lockfile, key, cache and loopback address are defaults only: MODELGUARD_LOCKFILE,
 * MODELGUARD_TRUSTED_KEYS, HF_HUB_CACHE, HOST (and HF_HUB_OFFLINE) or the service's flags override them.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXAMPLE_LOCKFILE, EXAMPLE_PUBLIC_KEY, exampleCacheDir, fillExampleCache, startExampleHub } from "./example-cache.js";
import { closeOnSignals, runService } from "./service/server.js";

const args = process.argv.slice(2);
const viaHub = args.includes("--hub");
const serviceArgs = args.filter((a) => a !== "--hub");
const env: NodeJS.ProcessEnv = {
  ...process.env,
  MODELGUARD_LOCKFILE: process.env.MODELGUARD_LOCKFILE || EXAMPLE_LOCKFILE,
  MODELGUARD_TRUSTED_KEYS: process.env.MODELGUARD_TRUSTED_KEYS || EXAMPLE_PUBLIC_KEY,
  // A demo on a workstation: loopback only, unlike the service's container default.
  HOST: process.env.HOST || "127.0.0.1",
};
let cleanup = async (): Promise<void> => {};

// The usage text needs no Hub and no cache.
const helpOnly = serviceArgs.includes("--help");
if (viaHub && !helpOnly) {
  const hub = await startExampleHub();
  const work = await mkdtemp(join(tmpdir(), "modelguard-serve-"));
  cleanup = async () => {
    await hub.close();
    await rm(work, { recursive: true, force: true });
  };
  process.stderr.write(`local Hub at ${hub.url} serves the example repos; the cache ${join(work, "hub")} starts empty\n`);
  env.HF_ENDPOINT = hub.url;
  // --hub exists to show the fetch; an HF_HUB_OFFLINE left in the shell would only defeat it.
  env.HF_HUB_OFFLINE = "";
  env.HF_HUB_CACHE = process.env.HF_HUB_CACHE || join(work, "hub");
} else if (!helpOnly && !process.env.HF_HUB_CACHE) {
  // Only the example's own cache is filled: a cache the user names is served as it is, so
  // `HF_HUB_CACHE=/empty HF_HUB_OFFLINE=1 npm run serve` shows the refusal.
  env.HF_HUB_CACHE = exampleCacheDir();
  await fillExampleCache(env.HF_HUB_CACHE);
}

const result = await runService(serviceArgs, env);
if (typeof result === "number") {
  await cleanup();
  process.exit(result);
}
closeOnSignals(result, cleanup);
