/**
 * The trust flags are one set (src/cli/trust-flags.ts): every command that takes identities takes
 * them exact or as anchored patterns, and refuses `--trusted-root` without an identity the same way.
 */
import { readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../helpers/fixtures.js";
import { runCli } from "../helpers/run-cli.js";
import { startHubEnv, type HubTestEnv } from "../hub/hub-fixture.js";

const vectors = new URL("../fixtures/vectors/model-signing/", import.meta.url);
// The reference implementation's keyless vector: signed by stefanb@us.ibm.com through IBM's issuer.
const PATTERNS = ["--identity-regexp", ".*@us\\.ibm\\.com", "--identity-provider-regexp", "https://sigstore\\.verify\\.ibm\\.com/.*"];
const OTHERS = ["--identity-regexp", ".*@example\\.com", "--identity-provider-regexp", "https://sigstore\\.verify\\.ibm\\.com/.*"];

let e: HubTestEnv;
beforeAll(async () => {
  e = await startHubEnv();
  const files: Record<string, Uint8Array> = {};
  for (const name of ["signme-1", "signme-2", "model.sig"]) files[name] = readFileSync(new URL(`v1.1.0-sigstore/${name}`, vectors));
  await e.hub.createRepo("publisher/model", { files });
});
afterAll(() => e?.hub.close());

describe("--identity-regexp and --identity-provider-regexp", () => {
  it("add verifies a publisher's keyless model.sig against patterns, and refuses one they do not match", async () => {
    const refused = await runCli([...e.g, "add", "publisher/model", "--include", "signme-*", ...OTHERS], { env: e.env });
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stderr).toContain("signed by stefanb@us.ibm.com (issuer https://sigstore.verify.ibm.com/oauth2), not by /.*@example\\.com/");
    const add = await runCli([...e.g, "add", "publisher/model", "--include", "signme-*", ...PATTERNS], { env: e.env });
    expect(add.stderr).toMatch(/publisher signature model\.sig verified: publisher signature by stefanb@us\.ibm\.com/);
    expect(add.code).toBe(0);

    // bom states the signer verified against the patterns, and refuses (exit 1) what they do not match.
    const bom = await runCli([...e.g, "bom", ...PATTERNS], { env: e.env });
    expect(bom.code, bom.stderr).toBe(0);
    const properties = Object.fromEntries(JSON.parse(bom.stdout).components[0].properties.map((p: { name: string; value: string }) => [p.name, p.value]));
    expect(properties).toMatchObject({
      "modelguard:signer:0:kind": "identity",
      "modelguard:signer:0:subject": "stefanb@us.ibm.com",
      "modelguard:signer:0:verified": "true",
    });
    const untrusted = await runCli([...e.g, "--json", "bom", ...OTHERS], { env: e.env });
    expect(untrusted.code).toBe(1);
    expect(JSON.parse(untrusted.stdout).error.code).toBe("UNTRUSTED_SIGNER");
  });
});

describe("--trusted-root without an identity", () => {
  it("is a usage error (exit 2) naming the identity flags to add, in add, verify, bom and verify-model alike", async () => {
    const dir = await tempDir();
    const model = join(dir, "model");
    await mkdir(model);
    const g = ["--lockfile", join(dir, "models.lock.json")];
    const root = ["--trusted-root", join(dir, "trusted_root.json")];
    const key = ["--key", join(dir, "key.pub")];
    const runs = [
      ["add", "org/model", ...root],
      ["add", "org/model", ...key, ...root],
      ["verify", ...root],
      ["verify", ...key, ...root],
      ["bom", ...root],
      ["bom", ...key, ...root],
      ["verify-model", model, ...key, ...root],
    ];
    for (const args of runs) {
      const result = await runCli([...g, ...args], { env: e.env });
      expect(result.stderr, args.join(" ")).toMatch(/^modelguard: --trusted-root only applies to keyless verification: add --identity or --identity-regexp, with --identity-provider or --identity-provider-regexp\n$/);
      expect(result.code, args.join(" ")).toBe(2);
    }
  });
});
