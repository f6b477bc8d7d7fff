/**
 * Maintainer tool: rewrites examples/models.lock.json for the generated example model and signs
 * it with examples/keys/cosign.key (a demo key; password "example"). The revision is the commit
 * the local Hub gives the example repo (its commits are deterministic), so `npm run example --
 * --hub` downloads exactly what is locked. Run after changing tiny-model.ts:
 * `COSIGN_PASSWORD=example npx tsx examples/make-lockfile.ts`.
 */
import { createPublicKey } from "node:crypto";
import { readFile } from "node:fs/promises";
import { sha256Hex } from "../src/digest/sha256.js";
import { parsePrivateKey } from "../src/keys/load-key.js";
import { readPassword } from "../src/keys/password.js";
import { writeLockfile } from "../src/lockfile/lockfile-file.js";
import type { Lockfile } from "../src/lockfile/types.js";
import { withSignature } from "../src/signing/sign-locked-model.js";
import { startLocalHub } from "../local-hub/index.js";
import { EXAMPLE_MODEL, EXAMPLE_REPO, tinyClassifierFiles } from "./tiny-model.js";

const here = new URL(".", import.meta.url);
const files = tinyClassifierFiles();
const hub = await startLocalHub();
const revision = await hub.createRepo(EXAMPLE_REPO, { files });
await hub.close();
const entry = {
  repo: EXAMPLE_REPO,
  revision,
  ref: "main",
  files: Object.fromEntries(Object.entries(files).map(([p, b]) => [p, { size: b.length, sha256: sha256Hex(b) }])),
};
const privateKey = await parsePrivateKey(await readFile(new URL("keys/cosign.key", here), "utf8"), () => readPassword());
const lockfile: Lockfile = {
  lockfileVersion: 1,
  models: { [EXAMPLE_MODEL]: withSignature(entry, privateKey, createPublicKey(privateKey)) },
};
await writeLockfile(new URL("models.lock.json", here).pathname, lockfile);
console.error("wrote examples/models.lock.json");
