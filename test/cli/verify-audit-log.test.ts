/**
 * `modelguard verify --audit-log FILE` and MODELGUARD_AUDIT_LOG: one audit event per model the
 * gate checked, appended to the file, valid against docs/audit-event.schema.json.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { snapshotFilePath } from "../../src/hub/cache-layout.js";
import { writeLockfile } from "../../src/lockfile/lockfile-file.js";
import { withSignature } from "../../src/signing/sign-locked-model.js";
import { parseAuditLog } from "../helpers/audit-schema.js";
import { makeCachedModels, makeKeys } from "../helpers/fixtures.js";
import { runCli } from "../helpers/run-cli.js";

async function setup() {
  const made = await makeCachedModels({
    a: { repo: "org/a", files: { "model.bin": Buffer.from("aaaa"), "config.json": Buffer.from("{}") } },
    b: { repo: "org/b", files: { "weights.bin": Buffer.alloc(1000, 1) } },
  });
  const keys = await makeKeys(made.dir);
  for (const name of ["a", "b"]) made.lockfile.models[name] = withSignature(name, made.lockfile.models[name]!, keys.privateKey, keys.publicKey);
  await writeLockfile(made.lockfilePath, made.lockfile);
  const g = ["--lockfile", made.lockfilePath, "--cache-dir", made.cacheDir];
  return { ...made, keys, g, log: join(made.dir, "audit.log") };
}

const env = (extra: NodeJS.ProcessEnv = {}) => ({ ...process.env, MODELGUARD_AUDIT_LOG: "", ...extra });

describe("verify --audit-log", () => {
  it("appends one verify event per model; a refusal names the code and the file", async () => {
    const s = await setup();
    const ok = await runCli([...s.g, "verify", "--key", s.keys.publicPath, "--audit-log", s.log], { env: env() });
    expect(ok.code, ok.stderr).toBe(0);
    await writeFile(snapshotFilePath(s.cacheDir, "org/b", s.lockfile.models.b!.revision, "weights.bin"), Buffer.alloc(1000, 2));
    const bad = await runCli([...s.g, "verify", "--key", s.keys.publicPath, "b", "--audit-log", s.log], { env: env() });
    expect(bad.code).toBe(1);
    const events = parseAuditLog(await readFile(s.log, "utf8"));
    // The first run checked a and b at once: their lines come in either order.
    events.splice(0, 2, ...events.slice(0, 2).sort((x, y) => String(x.model).localeCompare(String(y.model))));
    expect(events.map((e) => [e.action, e.runtime, e.model, e.outcome, (e.error as { code?: string } | null)?.code ?? null])).toEqual([
      ["verify", null, "a", "verified", null],
      ["verify", null, "b", "verified", null],
      ["verify", null, "b", "refused", "DIGEST_MISMATCH"],
    ]);
    expect(events[2]).toMatchObject({ repo: "org/b", files: [], error: { file: "weights.bin" }, signer: { kind: "key" } });
  });

  it("MODELGUARD_AUDIT_LOG when no flag is given; the flag wins; an audit log that cannot be opened is exit 2", async () => {
    const s = await setup();
    const other = join(s.dir, "other.log");
    expect((await runCli([...s.g, "verify", "--key", s.keys.publicPath, "a"], { env: env({ MODELGUARD_AUDIT_LOG: s.log }) })).code).toBe(0);
    expect((await runCli([...s.g, "verify", "--key", s.keys.publicPath, "a", "--audit-log", other], { env: env({ MODELGUARD_AUDIT_LOG: s.log }) })).code).toBe(0);
    expect(parseAuditLog(await readFile(s.log, "utf8"))).toHaveLength(1);
    expect(parseAuditLog(await readFile(other, "utf8"))).toHaveLength(1);
    const missing = await runCli([...s.g, "verify", "--key", s.keys.publicPath, "--audit-log", join(s.dir, "no-dir", "a.log")], { env: env() });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/audit log .*no-dir/);
    expect(missing.stderr).not.toMatch(/\n\s+at /);
  });
});
