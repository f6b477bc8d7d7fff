import { appendFile, chmod, cp, readdir, readFile, stat, symlink, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { publicGoodTrustedRootJson } from "../../src/signing/sigstore/trusted-root.js";
import { tempDir } from "../helpers/fixtures.js";
import { hasOpenssl, makeCertificateFactory } from "../helpers/openssl-ca.js";
import { runCli } from "../helpers/run-cli.js";

const vectors = fileURLToPath(new URL("../fixtures/vectors/model-signing/", import.meta.url));
const keys = join(vectors, "keys");
const IDENTITY = "stefanb@us.ibm.com";
const ISSUER = "https://sigstore.verify.ibm.com/oauth2";

type Kind = "elliptic-key" | "certificate" | "sigstore";

const TRUST: Record<Kind, string[]> = {
  "elliptic-key": ["--key", join(keys, "signing-key-pub.pem")],
  certificate: ["--certificate-chain", join(keys, "ca-cert.pem")],
  sigstore: ["--identity", IDENTITY, "--identity-provider", ISSUER],
};

/** A writable copy of a vector folder or file (a test must never change the vectors). */
async function copyWritable(source: string, target: string): Promise<void> {
  await cp(source, target, { recursive: true });
  const entries = [target, ...((await stat(target)).isDirectory() ? await readdir(target, { recursive: true }) : []).map((e) => join(target, e))];
  for (const entry of entries) await chmod(entry, (await stat(entry)).isDirectory() ? 0o755 : 0o644);
}

/** A private copy of a vector folder, under its own name (the name is the signed subject's). */
async function copyVector(folder: string): Promise<string> {
  const dir = join(await tempDir(), folder);
  await copyWritable(join(vectors, folder), dir);
  return dir;
}

/** What to pass as the model: v1.0.0's key vector signed its one file as a single-file model. */
function modelPath(folder: string, dir: string): string {
  return folder === "v1.0.0-elliptic-key" ? join(dir, "signme-1") : dir;
}

/** The vectors' ignore-me is left out with --ignore-paths, except in 1.1.0 whose signatures record it. */
function ignoreArgs(folder: string, dir: string): string[] {
  return existsSync(join(dir, "ignore-me")) && !folder.startsWith("v1.1.0") ? ["--ignore-paths", "ignore-me"] : [];
}

async function editBundle(dir: string, edit: (bundle: Record<string, any>) => void): Promise<void> {
  const path = join(dir, "model.sig");
  const bundle = JSON.parse(await readFile(path, "utf8"));
  edit(bundle);
  await writeFile(path, JSON.stringify(bundle));
}

function verifyModel(folder: string, dir: string, kind: Kind, extra: string[] = []) {
  return runCli(["verify-model", modelPath(folder, dir), ...TRUST[kind], ...ignoreArgs(folder, dir), ...extra], { cwd: dir });
}

const FOLDERS = ["v1.0.0", "v1.0.1", "v1.1.0"].flatMap((version) =>
  (["elliptic-key", "certificate", "sigstore"] as const).map((kind) => ({ folder: `${version}-${kind}`, kind })),
);

describe("modelguard verify-model with the model_signing vectors", () => {
  it.concurrent.each(FOLDERS)("$folder verifies, and fails once a signed file changes", async ({ folder, kind }) => {
    const dir = await copyVector(folder);
    const ok = await verifyModel(folder, dir, kind);
    expect(ok.stderr).toMatch(/^Verification succeeded: /);
    expect(ok.code).toBe(0);

    await appendFile(join(dir, "signme-1"), "x");
    const changed = await verifyModel(folder, dir, kind);
    expect(changed.code).toBe(1);
    expect(changed.stderr).toMatch(/does not match its signature:[\s\S]*Hash mismatches \(1\):\n\s+(signme-1|\.): expected sha256:/);
    expect(changed.stderr).not.toMatch(/\n\s+at /);
  });

  it.concurrent.each(FOLDERS)("$folder fails when a file is added (unless --ignore-unsigned-files)", async ({ folder, kind }) => {
    const dir = await copyVector(folder);
    await writeFile(join(dir, "extra.bin"), "not signed");
    if (folder === "v1.0.0-elliptic-key") {
      // A single-file model has no room for another file; its directory is not the model.
      const asDirectory = await runCli(["verify-model", dir, ...TRUST[kind]]);
      expect(asDirectory.code).toBe(1);
      expect(asDirectory.stderr).toMatch(/single-file model/);
      return;
    }
    const added = await verifyModel(folder, dir, kind);
    expect(added.code).toBe(1);
    expect(added.stderr).toMatch(/Extra files \(not in the signature\) \(1\):\n\s+extra\.bin/);
    expect((await verifyModel(folder, dir, kind, ["--ignore-unsigned-files"])).code).toBe(0);
    expect((await verifyModel(folder, dir, kind, ["--ignore-paths", "extra.bin"])).code).toBe(0);
    await writeFile(join(dir, "signme-2"), "changed");
    expect((await verifyModel(folder, dir, kind, ["--ignore-unsigned-files"])).code).toBe(1);
  });

  it.concurrent.each(FOLDERS)("$folder fails when the signature or the signed statement is altered", async ({ folder, kind }) => {
    const dir = await copyVector(folder);
    const original = await readFile(join(dir, "model.sig"), "utf8");
    await editBundle(dir, (b) => {
      const sig = Buffer.from(b.dsseEnvelope.signatures[0].sig, "base64");
      sig[sig.length - 3]! ^= 0x01;
      b.dsseEnvelope.signatures[0].sig = sig.toString("base64");
    });
    const badSig = await verifyModel(folder, dir, kind);
    expect(badSig.code).toBe(1);
    expect(badSig.stderr).toMatch(/does not verify|not trusted/);

    await writeFile(join(dir, "model.sig"), original);
    await editBundle(dir, (b) => {
      // Re-point the statement at a modified file: the digests are consistent, the signature is not.
      const statement = JSON.parse(Buffer.from(b.dsseEnvelope.payload, "base64").toString("utf8"));
      statement.subject[0].name = "renamed";
      b.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement, null, 2)).toString("base64");
    });
    const badPayload = await verifyModel(folder, dir, kind);
    expect(badPayload.code).toBe(1);

    await writeFile(join(dir, "model.sig"), original.slice(0, original.length / 2));
    const truncated = await verifyModel(folder, dir, kind);
    expect(truncated.code).toBe(2);
    expect(truncated.stderr).toMatch(/^modelguard: the signature is not JSON/);
  });

  it("uses --signature, refuses mixed or missing trust flags, and needs the signature file", async () => {
    const dir = await copyVector("v1.1.0-elliptic-key");
    const elsewhere = join(await tempDir(), "publisher.sig");
    await cp(join(dir, "model.sig"), elsewhere);
    await writeFile(join(dir, "model.sig"), "{}");
    expect((await runCli(["verify-model", dir, "--signature", elsewhere, ...TRUST["elliptic-key"]])).code).toBe(0);
    const mixed = await runCli(["verify-model", dir, ...TRUST["elliptic-key"], ...TRUST.sigstore]);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toContain("give exactly one of --key, --certificate-chain, or an identity: --identity or --identity-regexp, with --identity-provider or --identity-provider-regexp");
    expect((await runCli(["verify-model", dir])).code).toBe(2);
    const missing = await runCli(["verify-model", dir, "--signature", join(dir, "nope.sig"), ...TRUST["elliptic-key"]]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.sig: not found/);
    const notABundle = await runCli(["verify-model", dir, ...TRUST["elliptic-key"]]);
    expect(notABundle.code).toBe(2);
    expect(notABundle.stderr).toMatch(/not a Sigstore bundle|not a valid model signature/);
  });

  it("refuses the wrong kind of trust, another key, and an untrusted certificate root", async () => {
    const dir = await copyVector("v1.1.0-certificate");
    const asKey = await runCli(["verify-model", dir, ...TRUST["elliptic-key"]]);
    expect(asKey.code).toBe(1);
    expect(asKey.stderr).toMatch(/signed with a certificate/);
    const intermediateOnly = await runCli(["verify-model", dir, "--certificate-chain", join(keys, "int-ca-cert.pem")]);
    expect(intermediateOnly.code).toBe(1);
    expect(intermediateOnly.stderr).toMatch(/not trusted/);
    const notPem = await runCli(["verify-model", dir, "--certificate-chain", join(dir, "signme-1")]);
    expect(notPem.code).toBe(2);

    const keyDir = await copyVector("v1.1.0-elliptic-key");
    const otherKey = join(await tempDir(), "other.pub");
    await writeFile(otherKey, (await import("node:crypto")).generateKeyPairSync("ec", { namedCurve: "P-384" }).publicKey.export({ type: "spki", format: "pem" }));
    const wrongKey = await runCli(["verify-model", keyDir, "--key", otherKey]);
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toMatch(/signed by key e8450dec.*, which is not trusted \(trusted: [0-9a-f]{64}\)/);
  });

  it("refuses symbolic links in the model", async () => {
    const dir = await copyVector("v1.1.0-elliptic-key");
    await symlink("/etc/passwd", join(dir, "link"));
    const result = await verifyModel("v1.1.0-elliptic-key", dir, "elliptic-key");
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/link is a symbolic link/);
    // An ignored path is never looked at, as in the reference.
    expect((await verifyModel("v1.1.0-elliptic-key", dir, "elliptic-key", ["--ignore-paths", "link"])).code).toBe(0);
  });
});

describe("modelguard verify-model, keyless (Sigstore), offline", () => {
  const folder = "v1.1.0-sigstore";

  async function withTrustedRoot(edit: (root: Record<string, any>) => void): Promise<string> {
    const root = structuredClone(publicGoodTrustedRootJson()) as Record<string, any>;
    edit(root);
    const path = join(await tempDir(), "trusted_root.json");
    await writeFile(path, JSON.stringify(root));
    return path;
  }

  it("refuses a wrong identity and a wrong issuer, matching both exactly", async () => {
    const dir = await copyVector(folder);
    for (const [identity, issuer] of [
      ["someone@us.ibm.com", ISSUER],
      ["stefanb@us.ibm.co", ISSUER],
      [IDENTITY, "https://accounts.google.com"],
      [IDENTITY, `${ISSUER}/`],
    ]) {
      const result = await runCli(["verify-model", dir, "--identity", identity!, "--identity-provider", issuer!]);
      expect(result.code, `${identity} ${issuer}`).toBe(1);
      expect(result.stderr).toMatch(/was signed by stefanb@us\.ibm\.com \(issuer https:\/\/sigstore\.verify\.ibm\.com\/oauth2\), not by/);
    }
  });

  it("takes the identity and issuer as anchored patterns, as verify does (--identity-regexp, --identity-provider-regexp)", async () => {
    const dir = await copyVector(folder);
    const run = (...flags: string[]) => runCli(["verify-model", dir, ...flags]);
    expect((await run("--identity-regexp", "stefanb@us\\.ibm\\.com", "--identity-provider", ISSUER)).code).toBe(0);
    expect((await run("--identity", IDENTITY, "--identity-provider-regexp", "https://sigstore\\.verify\\.ibm\\.com/.*")).code).toBe(0);
    expect((await run("--identity-regexp", ".*@us\\.ibm\\.com", "--identity-provider-regexp", "https://.*\\.ibm\\.com/oauth2")).code).toBe(0);
    // Anchored at both ends: a part of the identity or issuer does not match.
    const partial = await run("--identity-regexp", "stefanb", "--identity-provider", ISSUER);
    expect(partial.code).toBe(1);
    expect(partial.stderr).toMatch(/was signed by stefanb@us\.ibm\.com/);
    expect((await run("--identity", IDENTITY, "--identity-provider-regexp", "https://sigstore\\.verify")).code).toBe(1);
    // One of each part, and keyless trust is still one kind of trust.
    const both = await run("--identity", IDENTITY, "--identity-regexp", ".*", "--identity-provider", ISSUER);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/one of --identity and --identity-regexp/);
    const noIssuer = await run("--identity-regexp", ".*");
    expect(noIssuer.code).toBe(2);
    const mixed = await run(...TRUST["elliptic-key"], "--identity-regexp", ".*", "--identity-provider", ISSUER);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toContain("give exactly one of --key, --certificate-chain, or an identity: --identity or --identity-regexp, with --identity-provider or --identity-provider-regexp");
  });

  it("accepts --trusted-root with the public-good root, refuses an unrelated root", async () => {
    const dir = await copyVector(folder);
    const same = await withTrustedRoot(() => {});
    expect((await runCli(["verify-model", dir, ...TRUST.sigstore, "--trusted-root", same])).code).toBe(0);

    if (hasOpenssl) {
      // Another Sigstore instance: its own CA. The Fulcio certificate does not chain to it.
      const other = makeCertificateFactory().issue({ cn: "other fulcio", ca: true, keyUsage: "critical, keyCertSign" });
      const unrelated = await withTrustedRoot((root) => {
        for (const ca of root.certificateAuthorities) ca.certChain.certificates = [{ rawBytes: other.der.toString("base64") }];
      });
      const result = await runCli(["verify-model", dir, ...TRUST.sigstore, "--trusted-root", unrelated]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/not trusted by the trusted root/);
    }
    const noLogs = await withTrustedRoot((root) => {
      root.tlogs = [];
    });
    expect((await runCli(["verify-model", dir, ...TRUST.sigstore, "--trusted-root", noLogs])).code).toBe(1);
    const malformed = join(await tempDir(), "root.json");
    await writeFile(malformed, '{"mediaType": "application/json"}');
    const bad = await runCli(["verify-model", dir, ...TRUST.sigstore, "--trusted-root", malformed]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/not a Sigstore trusted root/);
  });

  it("refuses a certificate whose CA was not valid when the signature was logged (expired at signing)", async () => {
    const dir = await copyVector(folder);
    const expired = await withTrustedRoot((root) => {
      for (const ca of root.certificateAuthorities) ca.validFor = { start: "2021-01-01T00:00:00Z", end: "2024-12-31T23:59:59Z" };
    });
    const result = await runCli(["verify-model", dir, ...TRUST.sigstore, "--trusted-root", expired]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/certificate/i);
  });

  it("refuses a tampered transparency-log entry", async () => {
    for (const tamper of [
      (entry: Record<string, any>) => (entry.integratedTime = String(Number(entry.integratedTime) + 1)),
      (entry: Record<string, any>) => (entry.logIndex = String(Number(entry.logIndex) + 1)),
      (entry: Record<string, any>) => (entry.inclusionProof.hashes[0] = Buffer.alloc(32, 7).toString("base64")),
    ]) {
      const dir = await copyVector(folder);
      await editBundle(dir, (b) => tamper(b.verificationMaterial.tlogEntries[0]));
      const result = await runCli(["verify-model", dir, ...TRUST.sigstore]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/does not verify/);
    }
    // A log entry for another signature: the body no longer matches the envelope.
    const dir = await copyVector(folder);
    const otherEntry = JSON.parse(await readFile(join(vectors, "v1.0.1-sigstore/model.sig"), "utf8")).verificationMaterial.tlogEntries[0];
    await editBundle(dir, (b) => (b.verificationMaterial.tlogEntries = [otherEntry]));
    expect((await runCli(["verify-model", dir, ...TRUST.sigstore])).code).toBe(1);
  });

  it("refuses a keyless bundle without its transparency-log entry", async () => {
    const dir = await copyVector("v1.0.1-sigstore");
    await editBundle(dir, (b) => (b.verificationMaterial.tlogEntries = []));
    const result = await runCli(["verify-model", dir, ...TRUST.sigstore, "--ignore-paths", "ignore-me"]);
    expect(result.code).toBe(1);
  });
});

describe("modelguard sign-model", () => {
  it("signs with the vector's P-384 key; the statement is the reference's; verify-model accepts it", async () => {
    const dir = await copyVector("v1.1.0-elliptic-key");
    const signed = await runCli(["sign-model", dir, "--key", join(keys, "signing-key.pem"), "--ignore-paths", "ignore-me"]);
    expect(signed.code).toBe(0);
    expect(signed.stderr).toMatch(/Signed .* \(2 files\) by key e8450dec/);
    const ours = JSON.parse(await readFile(join(dir, "model.sig"), "utf8"));
    const theirs = JSON.parse(await readFile(join(vectors, "v1.1.0-elliptic-key/model.sig"), "utf8"));
    expect(ours.mediaType).toBe(theirs.mediaType);
    expect(ours.verificationMaterial).toEqual(theirs.verificationMaterial);
    expect(ours.dsseEnvelope.payloadType).toBe(theirs.dsseEnvelope.payloadType);
    const statement = (b: any) => {
      const s = JSON.parse(Buffer.from(b.dsseEnvelope.payload, "base64").toString("utf8"));
      s.predicate.serialization.ignore_paths.sort();
      return s;
    };
    expect(statement(ours)).toEqual(statement(theirs));

    expect((await runCli(["verify-model", dir, "--key", join(keys, "signing-key-pub.pem")])).code).toBe(0);
    await appendFile(join(dir, "signme-2"), "!");
    expect((await runCli(["verify-model", dir, "--key", join(keys, "signing-key-pub.pem")])).code).toBe(1);
  });

  it("signs a single-file model and a nested directory, with --signature outside the model", async () => {
    const root = await tempDir();
    const model = join(root, "model");
    await copyWritable(join(vectors, "v1.0.1-elliptic-key"), model);
    await writeFile(join(root, "weights.onnx"), "onnx bytes");
    const sig = join(root, "weights.sig");
    expect((await runCli(["sign-model", join(root, "weights.onnx"), "--key", join(keys, "signing-key.pem"), "--signature", sig])).code).toBe(0);
    const payload = JSON.parse(Buffer.from(JSON.parse(await readFile(sig, "utf8")).dsseEnvelope.payload, "base64").toString("utf8"));
    expect(payload.subject[0].name).toBe("weights.onnx");
    expect(payload.predicate.resources.map((r: { name: string }) => r.name)).toEqual(["."]);
    expect((await runCli(["verify-model", join(root, "weights.onnx"), "--signature", sig, ...TRUST["elliptic-key"]])).code).toBe(0);

    await copyWritable(join(vectors, "v1.0.1-elliptic-key"), join(model, "sub", "dir"));
    await writeFile(join(model, ".gitattributes"), "*.bin filter=lfs");
    const out = join(root, "model.sig");
    expect((await runCli(["sign-model", model, "--key", join(keys, "signing-key.pem"), "--signature", out])).code).toBe(0);
    const names = JSON.parse(Buffer.from(JSON.parse(await readFile(out, "utf8")).dsseEnvelope.payload, "base64").toString("utf8"))
      .predicate.resources.map((r: { name: string }) => r.name);
    // The top-level model.sig (the vector's old signature) and git files are not part of the
    // model; a model.sig deeper down is an ordinary file, as in the reference.
    expect(names).toEqual(["ignore-me", "signme-1", "signme-2", "sub/dir/ignore-me", "sub/dir/model.sig", "sub/dir/signme-1", "sub/dir/signme-2"]);
    expect(basename(out)).toBe("model.sig");
    expect((await runCli(["verify-model", model, "--signature", out, ...TRUST["elliptic-key"]])).code).toBe(0);
  });

  it("refuses a model with a symbolic link and a missing key", async () => {
    const dir = await copyVector("v1.1.0-elliptic-key");
    await symlink("signme-1", join(dir, "alias"));
    const result = await runCli(["sign-model", dir, "--key", join(keys, "signing-key.pem")]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/symbolic link/);
    expect((await runCli(["sign-model", dir])).code).toBe(2);
  });
});
