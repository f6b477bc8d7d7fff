import { createHash, sign, type KeyObject } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { json } from "@sigstore/core";
import { describe, expect, it } from "vitest";
import { makeKeys, tempDir } from "../helpers/fixtures.js";
import { runCli } from "../helpers/run-cli.js";
import { makeTransparencyLog } from "../helpers/sigstore-stand-ins.js";

const vectors = fileURLToPath(new URL("../fixtures/vectors/model-signing/", import.meta.url));
const IDENTITY = "stefanb@us.ibm.com";
const ISSUER = "https://sigstore.verify.ibm.com/oauth2";

describe("sign-blob --bundle / verify-blob --bundle with a key", () => {
  it("round-trips a v0.3 message-signature bundle; cosign's tlog rule applies", async () => {
    const dir = await tempDir();
    const { publicPath, privatePath } = await makeKeys(dir);
    await writeFile(join(dir, "blob"), "hello bundle\n");
    const signed = await runCli(["sign-blob", "--key", privatePath, "--bundle", "blob.sigstore.json", "blob"], { cwd: dir });
    expect(signed.code).toBe(0);
    const bundle = JSON.parse(await readFile(join(dir, "blob.sigstore.json"), "utf8"));
    expect(bundle.mediaType).toBe("application/vnd.dev.sigstore.bundle.v0.3+json");
    expect(bundle.messageSignature.signature).toBe(signed.stdout.trim());
    expect(bundle.messageSignature.messageDigest).toEqual({
      algorithm: "SHA2_256",
      digest: createHash("sha256").update("hello bundle\n").digest("base64"),
    });

    const args = ["verify-blob", "blob", "--bundle", "blob.sigstore.json", "--key", publicPath];
    // Like cosign: a key-signed bundle without a transparency-log entry needs --insecure-ignore-tlog.
    const noLog = await runCli(args, { cwd: dir });
    expect(noLog.code).toBe(1);
    expect(noLog.stderr).toMatch(/expected 1 tlog entries, got 0/);
    expect(await runCli([...args, "--insecure-ignore-tlog"], { cwd: dir })).toMatchObject({ code: 0, stderr: "Verified OK\n" });

    const other = await makeKeys(dir, "other");
    expect((await runCli(["verify-blob", "blob", "--bundle", "blob.sigstore.json", "--key", other.publicPath, "--insecure-ignore-tlog"], { cwd: dir })).code).toBe(1);
    await writeFile(join(dir, "blob"), "hello bundle?\n");
    const changed = await runCli([...args, "--insecure-ignore-tlog"], { cwd: dir });
    expect(changed.code).toBe(1);
    expect(changed.stderr).toMatch(/another blob/);
  });

  it("signs with a P-384 key over SHA-384", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "blob"), "p384");
    const key = join(vectors, "keys/signing-key.pem");
    expect((await runCli(["sign-blob", "--key", key, "--bundle", "b.json", "blob"], { cwd: dir })).code).toBe(0);
    expect(JSON.parse(await readFile(join(dir, "b.json"), "utf8")).messageSignature.messageDigest.algorithm).toBe("SHA2_384");
    const verified = await runCli(["verify-blob", "blob", "--bundle", "b.json", "--key", join(vectors, "keys/signing-key-pub.pem"), "--insecure-ignore-tlog"], { cwd: dir });
    expect(verified.code).toBe(0);
  });

  it("refuses malformed bundles (exit 2) and incomplete flags", async () => {
    const dir = await tempDir();
    const { publicPath } = await makeKeys(dir);
    await writeFile(join(dir, "blob"), "x");
    await writeFile(join(dir, "truncated.json"), '{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "verif');
    await writeFile(join(dir, "empty.json"), "{}");
    for (const name of ["truncated.json", "empty.json"]) {
      const result = await runCli(["verify-blob", "blob", "--bundle", name, "--key", publicPath, "--insecure-ignore-tlog"], { cwd: dir });
      expect(result.code, name).toBe(2);
      expect(result.stderr).toMatch(/^modelguard: (the bundle .* is not JSON|not a valid Sigstore bundle)/);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
    expect((await runCli(["verify-blob", "blob", "--bundle", "empty.json"], { cwd: dir })).code).toBe(2);
    expect((await runCli(["verify-blob", "blob", "--bundle", "empty.json", "--certificate-identity", "a@b"], { cwd: dir })).code).toBe(2);
    expect((await runCli(["verify-blob", "blob", "--bundle", "empty.json", "--signature", "AAAA", "--key", publicPath], { cwd: dir })).code).toBe(2);
  });
});

/** A file whose SHA-256 is the model vector's subject digest: the concatenated raw resource digests. */
async function subjectFile(folder: string): Promise<{ file: string; bundlePath: string }> {
  const bundlePath = join(vectors, folder, "model.sig");
  const bundle = JSON.parse(await readFile(bundlePath, "utf8"));
  const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, "base64").toString("utf8"));
  const file = join(await tempDir(), "subject.bin");
  await writeFile(file, Buffer.concat(statement.predicate.resources.map((r: { digest: string }) => Buffer.from(r.digest, "hex"))));
  return { file, bundlePath };
}

describe("verify-blob --bundle, keyless DSSE bundles from the public-good instance", () => {
  it.each(["v1.0.0-sigstore", "v1.0.1-sigstore", "v1.1.0-sigstore"])("%s verifies against the statement's subject", async (folder) => {
    const { file, bundlePath } = await subjectFile(folder);
    const ok = await runCli(["verify-blob", file, "--bundle", bundlePath, "--certificate-identity", IDENTITY, "--certificate-oidc-issuer", ISSUER]);
    expect(ok).toMatchObject({ code: 0, stderr: "Verified OK\n" });
  });

  it.each([
    ["v0.1", "application/vnd.dev.sigstore.bundle+json;version=0.1"],
    ["v0.2", "application/vnd.dev.sigstore.bundle+json;version=0.2"],
  ])("reads the same signature as a %s bundle (certificate chain form)", async (_version, mediaType) => {
    const { file, bundlePath } = await subjectFile("v1.0.1-sigstore");
    const bundle = JSON.parse(await readFile(bundlePath, "utf8"));
    const { certificate, ...material } = bundle.verificationMaterial;
    const older = { ...bundle, mediaType, verificationMaterial: { ...material, x509CertificateChain: { certificates: [certificate] } } };
    const olderPath = join(await tempDir(), "older.sigstore.json");
    await writeFile(olderPath, JSON.stringify(older));
    const result = await runCli(["verify-blob", file, "--bundle", olderPath, "--certificate-identity", IDENTITY, "--certificate-oidc-issuer", ISSUER]);
    expect(result).toMatchObject({ code: 0, stderr: "Verified OK\n" });
  });

  it("matches identities exactly or by anchored pattern, and binds the bundle to the file", async () => {
    const { file, bundlePath } = await subjectFile("v1.1.0-sigstore");
    const run = (...flags: string[]) => runCli(["verify-blob", file, "--bundle", bundlePath, ...flags]);
    expect((await run("--certificate-identity", "stefanb@us.ibm", "--certificate-oidc-issuer", ISSUER)).code).toBe(1);
    expect((await run("--certificate-identity", IDENTITY, "--certificate-oidc-issuer", "https://accounts.google.com")).code).toBe(1);
    expect((await run("--certificate-identity-regexp", ".*@us\\.ibm\\.com", "--certificate-oidc-issuer", ISSUER)).code).toBe(0);
    expect((await run("--certificate-identity-regexp", "stefanb", "--certificate-oidc-issuer", ISSUER)).code).toBe(1);
    expect((await run("--certificate-identity", IDENTITY, "--certificate-oidc-issuer-regexp", "https://sigstore\\.verify\\.ibm\\.com/.*")).code).toBe(0);
    expect((await run("--certificate-identity-regexp", "(", "--certificate-oidc-issuer", ISSUER)).code).toBe(2);
    // A keyless bundle does not verify with a key.
    expect((await run("--key", join(vectors, "keys/signing-key-pub.pem"))).code).toBe(1);

    await writeFile(file, "another file");
    const other = await run("--certificate-identity", IDENTITY, "--certificate-oidc-issuer", ISSUER);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/no subject with the file's sha256/);
  });
});

/**
 * Another Sigstore instance, offline: a transparency log of our own (test/helpers), the signed
 * entry timestamp (SET) it would return for a hashedrekord entry, and a trusted root naming it.
 */
function fakeRekor() {
  const log = makeTransparencyLog();
  const logID = log.key.logId.toString("hex");
  const trustedRoot = {
    mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
    tlogs: [log.key.trustedRootEntry("https://rekor.test.invalid")],
    certificateAuthorities: [],
    ctlogs: [],
    timestampAuthorities: [],
  };
  /** cosign's legacy bundle for a key signature over `blob`, logged in this Rekor. */
  function legacyBundle(blob: Buffer, signer: { privateKey: KeyObject; publicKey: KeyObject }, integratedTime = 1_760_000_000) {
    const signature = sign("sha256", blob, { key: signer.privateKey, dsaEncoding: "der" }).toString("base64");
    const entry = {
      apiVersion: "0.0.1",
      kind: "hashedrekord",
      spec: {
        data: { hash: { algorithm: "sha256", value: createHash("sha256").update(blob).digest("hex") } },
        signature: { content: signature, publicKey: { content: Buffer.from(signer.publicKey.export({ type: "spki", format: "pem" })).toString("base64") } },
      },
    };
    const payload = { body: Buffer.from(json.canonicalize(entry)).toString("base64"), integratedTime, logIndex: 42, logID };
    const set = log.signedEntryTimestamp(payload);
    return { base64Signature: signature, rekorBundle: { SignedEntryTimestamp: set.toString("base64"), Payload: payload } };
  }
  return { trustedRoot, legacyBundle };
}

describe("verify-blob --bundle with cosign's legacy bundle JSON", () => {
  it("verifies the signature and the log's signed entry timestamp, offline", async () => {
    const dir = await tempDir();
    const signer = await makeKeys(dir);
    const rekor = fakeRekor();
    const blob = Buffer.from("legacy cosign bundle\n");
    await writeFile(join(dir, "blob"), blob);
    await writeFile(join(dir, "root.json"), JSON.stringify(rekor.trustedRoot));
    const write = (bundle: unknown) => writeFile(join(dir, "blob.bundle"), JSON.stringify(bundle));
    const verify = (...extra: string[]) => runCli(["verify-blob", "blob", "--bundle", "blob.bundle", "--key", signer.publicPath, ...extra], { cwd: dir });

    const good = rekor.legacyBundle(blob, signer);
    await write(good);
    expect(await verify("--trusted-root", "root.json")).toMatchObject({ code: 0, stderr: "Verified OK\n" });
    // Logged by a Rekor the public-good root does not know: another instance.
    const unknownLog = await verify();
    expect(unknownLog.code).toBe(1);
    expect(unknownLog.stderr).toMatch(/inclusion promise/);

    await write({ ...good, rekorBundle: { ...good.rekorBundle, Payload: { ...good.rekorBundle.Payload, integratedTime: 1_760_000_001 } } });
    expect((await verify("--trusted-root", "root.json")).code).toBe(1);

    // Logged for another blob: the entry's digest is not this file's.
    await write(rekor.legacyBundle(Buffer.from("another blob"), signer));
    expect((await verify("--trusted-root", "root.json")).code).toBe(1);

    // Without a Rekor entry (cosign --tlog-upload=false): only with --insecure-ignore-tlog.
    await write({ base64Signature: good.base64Signature });
    expect((await verify("--trusted-root", "root.json")).code).toBe(1);
    expect((await verify("--insecure-ignore-tlog")).code).toBe(0);
  });
});
