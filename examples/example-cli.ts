/**
 * The real `modelguard` CLI as the examples run it (example:transformers, example:llm): a child
 * process against the local Hub, which the example serves in its own process (so never a
 * synchronous child), with the example's own lockfile and cache, and the demo key's password.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const bin = fileURLToPath(new URL("../bin/modelguard.js", import.meta.url));

/** `modelguard --lockfile L --cache-dir C --quiet ARGS...`, echoed as `$ modelguard ARGS...`. */
export function exampleCli(hubUrl: string, lockfile: string, cacheDir: string): (...args: string[]) => Promise<void> {
  return async (...args) => {
    console.log(`$ modelguard ${args.join(" ")}`);
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, "--lockfile", lockfile, "--cache-dir", cacheDir, "--quiet", ...args], {
      env: { ...process.env, HF_ENDPOINT: hubUrl, HF_HUB_OFFLINE: "", HF_TOKEN: "", COSIGN_PASSWORD: "example" },
    });
    process.stdout.write(stdout);
    process.stderr.write(stderr);
  };
}
