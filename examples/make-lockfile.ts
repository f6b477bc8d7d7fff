/**
 * Maintainer tool: rewrites examples/models.lock.json for the generated example models and signs
 * each entry with examples/keys/cosign.key (a demo key; password "example"). The revisions are the
 * commits the local Hub gives the example repos (its commits are deterministic), so `--hub` runs
 * download exactly what is locked. Run after changing tiny-model.ts:
 * `COSIGN_PASSWORD=example npx tsx examples/make-lockfile.ts`.
 */
import { fileURLToPath } from "node:url";
import { loadSigningKey } from "../src/cli/signing-key.js";
import { sha256Hex } from "../src/digest/sha256.js";
import { updateLockfile } from "../src/lockfile/update-lockfile.js";
import type { Lockfile } from "../src/lockfile/types.js";
import { withSignature } from "../src/signing/sign-locked-model.js";
import { startLocalHub } from "../local-hub/index.js";
import { EXAMPLE_MODELS } from "./tiny-model.js";

const here = new URL(".", import.meta.url);
const { privateKey, publicKey } = await loadSigningKey(fileURLToPath(new URL("keys/cosign.key", here)));
const lockfile: Lockfile = { lockfileVersion: 1, models: {} };
const hub = await startLocalHub();
try {
  for (const model of EXAMPLE_MODELS) {
    const files = model.files();
    const revision = await hub.createRepo(model.repo, { files });
    const entry = {
      repo: model.repo,
      revision,
      ref: "main",
      files: Object.fromEntries(Object.entries(files).map(([p, b]) => [p, { size: b.length, sha256: sha256Hex(b) }])),
    };
    lockfile.models[model.name] = withSignature(model.name, entry, privateKey, publicKey);
  }
} finally {
  await hub.close();
}
await updateLockfile(fileURLToPath(new URL("models.lock.json", here)), () => lockfile, { create: true });
console.error(`wrote examples/models.lock.json (${EXAMPLE_MODELS.map((m) => m.name).join(", ")})`);
