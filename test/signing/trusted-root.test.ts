import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadTrustedRoot, parseTrustedRoot, publicGoodTrustedRootJson } from "../../src/signing/sigstore/trusted-root.js";
import { messageOf, rejection } from "../helpers/errors.js";
import { tempDir } from "../helpers/fixtures.js";
import { runCli } from "../helpers/run-cli.js";

type Root = Record<string, { publicKey?: { validFor?: Record<string, string> }; validFor?: Record<string, string>; certChain?: unknown; logId?: unknown }[]>;
const root = () => structuredClone(publicGoodTrustedRootJson()) as Root;

describe("a malformed trusted root is refused, not read leniently", () => {
  it("accepts the public-good root", () => {
    expect(parseTrustedRoot(root(), "public good").certificateAuthorities.length).toBeGreaterThan(0);
  });

  const edits: [string, (r: Root) => void, RegExp][] = [
    ["a log key without a validity start", (r) => delete r.tlogs![0]!.publicKey!.validFor!.start, /tlogs\[0\]\.publicKey has no valid validFor\.start/],
    ["a CT log key without validity", (r) => delete r.ctlogs![1]!.publicKey!.validFor, /ctlogs\[1\]\.publicKey has no valid validFor\.start/],
    ["a CA without a validity start", (r) => delete r.certificateAuthorities![0]!.validFor!.start, /certificateAuthorities\[0\] has no valid validFor\.start/],
    ["a timestamp authority with a start that is not a time", (r) => (r.timestampAuthorities![0]!.validFor!.start = "soon"), /timestampAuthorities\[0\] has no valid validFor\.start/],
    ["a CA whose validity ends before it starts", (r) => (r.certificateAuthorities![1]!.validFor = { start: "2030-01-01T00:00:00Z", end: "2020-01-01T00:00:00Z" }), /not after its start/],
    ["a CA without certificates", (r) => (r.certificateAuthorities![0]!.certChain = { certificates: [] }), /has no certificate chain/],
    ["a log without a log id", (r) => delete r.tlogs![0]!.logId, /tlogs\[0\] has no logId\.keyId/],
  ];
  it("accepts a root without certificate authorities (key-signed bundles checked against its logs)", () => {
    const r = root();
    r.certificateAuthorities = [];
    expect(parseTrustedRoot(r, "logs only").tlogs.length).toBeGreaterThan(0);
  });

  it.each(edits)("%s", (_what, edit, message) => {
    const r = root();
    edit(r);
    expect(messageOf("TRUSTED_ROOT_INVALID", () => parseTrustedRoot(r, "trusted root r.json"))).toMatch(message);
  });

  it("a file with a key given twice, through the CLI with exit 2", async () => {
    const dir = await tempDir();
    const path = join(dir, "trusted_root.json");
    const text = JSON.stringify(root());
    await writeFile(path, text.replace('"mediaType"', '"tlogs": [], "mediaType"'));
    expect(await rejection(loadTrustedRoot(path))).toMatchObject({ code: "TRUSTED_ROOT_INVALID", message: expect.stringContaining("tlogs is given twice") });
    const r = root();
    delete r.tlogs![0]!.publicKey!.validFor!.start;
    await writeFile(path, JSON.stringify(r));
    await writeFile(join(dir, "models.lock.json"), JSON.stringify({ lockfileVersion: 1, models: {} }));
    const run = await runCli(["--lockfile", join(dir, "models.lock.json"), "verify", "--identity", "a@example.com", "--identity-provider", "https://issuer.example", "--trusted-root", path]);
    expect(run.stderr).toMatch(/TRUSTED_ROOT_INVALID|has no valid validFor\.start/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.code).toBe(2);
  });
});
