/**
 * `sign` and `sign-model` in the keyless and certificate modes, end to end through the CLI:
 * keyless against Fulcio and Rekor stand-ins on loopback (test/helpers/sigstore-stand-ins.ts),
 * certificate with a CA made in code and with the model_signing vectors' own keys.
 */
import { readFileSync } from "node:fs";
import { cp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv2020 } from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeCachedModels, makeKeys, tempDir } from "../helpers/fixtures.js";
import { runCli } from "../helpers/run-cli.js";
import { startSigstore } from "../helpers/sigstore-stand-ins.js";
import { extensions, issueCertificate, makeCa } from "../helpers/x509.js";
import { generateKeyPairSync } from "node:crypto";

const vectors = fileURLToPath(new URL("../fixtures/vectors/model-signing/", import.meta.url));
// What Fulcio certifies for a GitHub Actions token: the workflow that ran.
const WORKFLOW = "acme/service/.github/workflows/release.yml@refs/heads/main";
const IDENTITY = `https://github.com/${WORKFLOW}`;
// Tests set it explicitly; the empty value counts as unset.
const NO_ENV_TOKEN = { SIGSTORE_ID_TOKEN: "" };
const ajv = new Ajv2020({ strict: true });
ajv.addFormat("date-time", (s: string) => !Number.isNaN(Date.parse(s)));
const validReport = ajv.compile(JSON.parse(readFileSync(new URL("../../docs/verify-report.schema.json", import.meta.url), "utf8")));

let sigstore: Awaited<ReturnType<typeof startSigstore>>;
let rootPath: string;
let token: string;
let instance: string[];
beforeAll(async () => {
  sigstore = await startSigstore();
  rootPath = join(await tempDir(), "trusted_root.json");
  await writeFile(rootPath, JSON.stringify(sigstore.trustedRoot));
  token = sigstore.oidc.token({ sub: "repo:acme/service:ref:refs/heads/main", job_workflow_ref: WORKFLOW });
  instance = ["--fulcio-url", sigstore.fulcio.url, "--rekor-url", sigstore.rekor.url, "--trusted-root", rootPath];
});
afterAll(() => sigstore.close());

async function lockedModels() {
  const models = await makeCachedModels({
    // Not ".onnx": the gate checks a graph as its load would, and these bytes are no ONNX model.
    classifier: { repo: "acme/classifier", files: { "model.bin": Buffer.from("graph"), "config.json": Buffer.from("{}") } },
    embedder: { repo: "acme/embedder", files: { "model.bin": Buffer.from("other graph") } },
  });
  return { ...models, g: ["--lockfile", models.lockfilePath, "--cache-dir", models.cacheDir] };
}

describe("modelguard sign --identity-token (Sigstore keyless), verify --identity", () => {
  it("signs every locked model through Fulcio and Rekor; verify needs only the trusted root, offline", async () => {
    const m = await lockedModels();
    const signed = await runCli([...m.g, "sign", "--identity-token", token, ...instance], { env: NO_ENV_TOKEN });
    expect(signed.stderr).toBe(`signed classifier, embedder in ${m.lockfilePath} by ${IDENTITY} (${sigstore.oidc.url})\n`);
    expect(signed.code).toBe(0);
    const lockfile = JSON.parse(await readFile(m.lockfilePath, "utf8"));
    expect(lockfile.models.classifier.signatures[0].verificationMaterial.certificate.rawBytes).toMatch(/^MII/);

    const requests = sigstore.fulcio.requests + sigstore.rekor.requests;
    const ok = await runCli([...m.g, "verify", "--identity", IDENTITY, "--identity-provider", sigstore.oidc.url, "--trusted-root", rootPath, "--offline"]);
    expect(ok.stderr).toMatch(new RegExp(`^ok classifier: 2 files, \\d+ bytes \\(signed by ${IDENTITY} \\(${sigstore.oidc.url}\\)\\)\n`));
    expect(ok.code).toBe(0);
    // The anchored pattern form (its matching is tested with the trust policy).
    const pattern = ["--identity-regexp", "https://github\\.com/acme/service/\\.github/workflows/.*", "--identity-provider", sigstore.oidc.url];
    const json = JSON.parse((await runCli([...m.g, "--json", "verify", ...pattern, "--trusted-root", rootPath])).stdout);
    expect(json.models[1].signer).toEqual({ kind: "identity", subject: IDENTITY, issuer: sigstore.oidc.url, via: "model-signature" });
    expect(validReport(json), JSON.stringify(validReport.errors)).toBe(true);
    expect(sigstore.fulcio.requests + sigstore.rekor.requests).toBe(requests);

    const refused = await runCli([...m.g, "verify", "--identity", IDENTITY, "--identity-provider", "https://token.actions.githubusercontent.com", "--trusted-root", rootPath]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/FAIL \[UNTRUSTED_SIGNER\] model classifier: signatures\[0\]: the bundle was signed by https:\/\/github\.com\/acme\/service\/.* \(issuer https:\/\/oidc\.test\.invalid\), not by/);
    // Against the public-good root the stand-ins' CA is unknown.
    const publicGood = await runCli([...m.g, "verify", "--identity", IDENTITY, "--identity-provider", sigstore.oidc.url]);
    expect(publicGood.code).toBe(1);
    expect(publicGood.stderr).toMatch(/FAIL \[UNTRUSTED_SIGNER\].*certificate chain/);
    expect((await runCli([...m.g, "verify", "--identity", IDENTITY])).code).toBe(2);
  });

  it("takes the token from SIGSTORE_ID_TOKEN or a file; says what is wrong without printing the token", async () => {
    const m = await lockedModels();
    expect((await runCli([...m.g, "sign", "embedder", ...instance], { env: { SIGSTORE_ID_TOKEN: token } })).code).toBe(0);
    const tokenFile = join(m.dir, "oidc-token");
    await writeFile(tokenFile, `${token}\n`);
    expect((await runCli([...m.g, "sign", "embedder", "--identity-token", tokenFile, ...instance], { env: NO_ENV_TOKEN })).code).toBe(0);
    // Signing again as the same identity replaces that identity's signature.
    expect(JSON.parse(await readFile(m.lockfilePath, "utf8")).models.embedder.signatures).toHaveLength(1);

    const expired = sigstore.oidc.token({ sub: "repo:acme/service:ref:refs/heads/main", job_workflow_ref: WORKFLOW, exp: Math.floor(Date.now() / 1000) - 1 });
    const before = await readFile(m.lockfilePath, "utf8");
    const refused = await runCli([...m.g, "sign", "--identity-token", expired, ...instance], { env: NO_ENV_TOKEN });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/^modelguard: keyless signing failed getting the signing certificate: Fulcio at http:\/\/127\.0\.0\.1:\d+ answered \(401\) the identity token has expired/);
    expect(refused.stderr).not.toContain(expired.split(".")[2]);
    expect(await readFile(m.lockfilePath, "utf8")).toBe(before);
    // Mixed modes are a usage error (the cases are tested on signerFromFlags).
    const mixed = await runCli([...m.g, "sign", "--key", tokenFile, "--identity-token", token], { env: NO_ENV_TOKEN });
    expect(mixed).toMatchObject({ code: 2, stderr: "modelguard: give --key or --identity-token, not both\n" });
  });
});

/** A model_signing vector folder without its signature, under its own name (the statement's subject). */
async function unsignedVector(folder: string): Promise<string> {
  const dir = join(await tempDir(), folder);
  await cp(join(vectors, folder), dir, { recursive: true });
  await rm(join(dir, "model.sig"), { force: true });
  return dir;
}

/** A bundle's form, for comparison: long strings and numbers blanked, lists of one form (a proof's hashes) folded. */
function form(value: unknown): unknown {
  if (Array.isArray(value)) return [...new Set(value.map((v) => JSON.stringify(form(v))))].map((v) => JSON.parse(v));
  if (typeof value === "object" && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, form(v)]));
  if (typeof value === "string") return /^\d+$/.test(value) ? "<int>" : value.length > 40 ? "<bytes>" : value;
  return value;
}

function decodeBody(bundle: any): any {
  return JSON.parse(Buffer.from(bundle.verificationMaterial.tlogEntries[0].canonicalizedBody, "base64").toString("utf8"));
}

describe("modelguard sign-model in the keyless and certificate modes", () => {
  it("keyless: a model.sig of the reference's form, which verify-model --identity accepts", async () => {
    const dir = await unsignedVector("v1.1.0-sigstore");
    const signed = await runCli(["sign-model", dir, "--identity-token", token, ...instance, "--ignore-paths", "ignore-me"], { env: NO_ENV_TOKEN });
    expect(signed.stderr).toMatch(`by ${IDENTITY} (${sigstore.oidc.url}); signature written to`);
    const ours = JSON.parse(await readFile(join(dir, "model.sig"), "utf8"));
    const theirs = JSON.parse(await readFile(join(vectors, "v1.0.1-sigstore/model.sig"), "utf8"));
    expect(form(ours)).toEqual(form(theirs));
    // The log entry's body: the DSSE v0.0.1 record whose verifier is the certificate's PEM, base64.
    const [ourBody, theirBody] = [decodeBody(ours), decodeBody(theirs)];
    expect(form(ourBody)).toEqual(form(theirBody));
    for (const bundle of [ours, theirs]) {
      const pem = Buffer.from(decodeBody(bundle).spec.signatures[0].verifier, "base64").toString("utf8");
      expect(pem.replace(/-----[^-]+-----|\s/g, "")).toBe(bundle.verificationMaterial.certificate.rawBytes);
    }
    // The same statement the reference signed for these files (its ignore list is a Python set).
    const statement = (b: any) => JSON.parse(Buffer.from(b.dsseEnvelope.payload, "base64").toString("utf8"));
    const reference = statement(JSON.parse(await readFile(join(vectors, "v1.1.0-sigstore/model.sig"), "utf8")));
    reference.predicate.serialization.ignore_paths.sort();
    expect(statement(ours)).toEqual(reference);

    const verified = await runCli(["verify-model", dir, "--identity", IDENTITY, "--identity-provider", sigstore.oidc.url, "--trusted-root", rootPath]);
    expect(verified).toMatchObject({ code: 0 });
  });

  it("certificate: the reference's bundle for the vector's key and chain, verified against its root", async () => {
    const dir = await unsignedVector("v1.1.0-certificate");
    const keys = join(vectors, "keys");
    const signed = await runCli([
      "sign-model", dir, "--key", join(keys, "signing-key.pem"),
      "--certificate", join(keys, "signing-key-cert.pem"), "--certificate-chain", join(keys, "int-ca-cert.pem"),
      "--ignore-paths", "ignore-me",
    ]);
    expect(signed.code).toBe(0);
    const ours = JSON.parse(await readFile(join(dir, "model.sig"), "utf8"));
    const theirs = JSON.parse(await readFile(join(vectors, "v1.1.0-certificate/model.sig"), "utf8"));
    // Byte for byte but for the ECDSA signature (random) and the ignore list's order (a Python set).
    const blank = (b: any) => ({ ...b, dsseEnvelope: { ...b.dsseEnvelope, payload: "", signatures: [{ ...b.dsseEnvelope.signatures[0], sig: "" }] } });
    expect(blank(ours)).toEqual(blank(theirs));
    const statement = (b: any) => {
      const s = JSON.parse(Buffer.from(b.dsseEnvelope.payload, "base64").toString("utf8"));
      s.predicate.serialization.ignore_paths.sort();
      return s;
    };
    expect(statement(ours)).toEqual(statement(theirs));
    expect(await runCli(["verify-model", dir, "--certificate-chain", join(keys, "ca-cert.pem")])).toMatchObject({ code: 0 });
  });
});

const ec = () => generateKeyPairSync("ec", { namedCurve: "prime256v1" });
const day = 86400_000;

/** A CA of our own (DIR/root.pem) and a release signer under it: its key and certificate (DIR/signer.pem). */
async function certificateSigner(dir: string) {
  const root = makeCa("release root", ec(), new Date(Date.now() - day), new Date(Date.now() + 365 * day));
  const signer = await makeKeys(dir, "signer");
  const leaf = issueCertificate({
    commonName: "release signer",
    publicKey: signer.publicKey,
    issuer: root,
    notBefore: new Date(Date.now() - day),
    notAfter: new Date(Date.now() + 30 * day),
    extensions: [extensions.keyUsage(0x80)],
  });
  await writeFile(join(dir, "root.pem"), root.certificate.toString());
  await writeFile(join(dir, "signer.pem"), leaf.toString());
  return { signer, leaf };
}

describe("modelguard sign --certificate, verify --certificate-chain", () => {
  it("round-trips a certificate signature of the lockfile", async () => {
    const m = await lockedModels();
    const { signer } = await certificateSigner(m.dir);
    const signed = await runCli([...m.g, "sign", "--key", signer.privatePath, "--certificate", join(m.dir, "signer.pem")]);
    expect(signed.stderr).toMatch(/by certificate O=modelguard tests, CN=release signer\n$/);
    expect(signed.code).toBe(0);
    const ok = await runCli([...m.g, "--json", "verify", "--certificate-chain", join(m.dir, "root.pem")]);
    expect(ok.code).toBe(0);
    const json = JSON.parse(ok.stdout);
    expect(json.models[0].signer).toMatchObject({ kind: "certificate", subject: "O=modelguard tests, CN=release signer", via: "model-signature" });
    expect(validReport(json), JSON.stringify(validReport.errors)).toBe(true);
    await writeFile(join(m.dir, "other.pem"), makeCa("other root", ec(), new Date(Date.now() - day), new Date(Date.now() + day)).certificate.toString());
    const other = await runCli([...m.g, "verify", "--certificate-chain", join(m.dir, "other.pem")]);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/FAIL \[UNTRUSTED_SIGNER\]/);
    expect((await runCli([...m.g, "verify", "--certificate-chain", join(m.dir, "missing.pem")])).code).toBe(2);
  });
});

describe("modelguard unsign a keyless or certificate signer", () => {
  it("--identity with --identity-provider drops that identity's signatures, as signatures lists them, and only those", async () => {
    const m = await lockedModels();
    const key = await makeKeys(m.dir, "key");
    expect((await runCli([...m.g, "sign", "--identity-token", token, ...instance], { env: NO_ENV_TOKEN })).code).toBe(0);
    expect((await runCli([...m.g, "sign", "classifier", "--key", key.privatePath])).code).toBe(0);
    const listed = await runCli([...m.g, "signatures"]);
    expect(listed.stdout).toMatch(new RegExp(`^embedder  acme/embedder@1{40}\\n  signatures\\[0\\]  model signature +  ${IDENTITY.replaceAll(".", "\\.")} \\(${sigstore.oidc.url.replaceAll(".", "\\.")}\\)\\n`, "m"));

    // Another issuer, an identity without its issuer, or two signers: exit 2, nothing changed.
    const before = await readFile(m.lockfilePath, "utf8");
    const other = await runCli([...m.g, "unsign", "--identity", IDENTITY, "--identity-provider", "https://token.actions.githubusercontent.com"]);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain(`is by ${IDENTITY} (https://token.actions.githubusercontent.com); nothing was changed`);
    expect((await runCli([...m.g, "unsign", "--identity", IDENTITY])).stderr).toMatch(/--identity and --identity-provider go together/);
    const two = await runCli([...m.g, "unsign", "--identity", IDENTITY, "--identity-provider", sigstore.oidc.url, "--key", key.publicPath]);
    expect(two).toMatchObject({ code: 2, stderr: expect.stringContaining("give the signer to drop with one of --key-id ID, --key PUB, --identity SUBJECT with --identity-provider ISSUER, or --certificate-fingerprint FP") });
    expect(await readFile(m.lockfilePath, "utf8")).toBe(before);

    const dropped = await runCli([...m.g, "unsign", "--identity", IDENTITY, "--identity-provider", sigstore.oidc.url]);
    expect(dropped.code).toBe(0);
    expect(dropped.stderr).toContain("classifier: dropped signatures[0]");
    // The hint signs again the way the dropped signer did: keyless, not with a key.
    expect(dropped.stderr).toContain("embedder has no signature left: verify refuses it until it is signed again (modelguard sign embedder --identity-token TOKEN)");
    expect(dropped.stderr).not.toContain("--key KEY");
    const after = await runCli([...m.g, "signatures"]);
    expect(after.stdout).not.toContain(IDENTITY);
    expect(after.stdout).toMatch(/^classifier  acme\/classifier@1{40}\n  signatures\[0\]  model signature +  key [0-9a-f]{64}\nembedder  acme\/embedder@1{40}\n  no signatures\n$/);
    expect((await runCli([...m.g, "verify", "classifier", "--key", key.publicPath])).code).toBe(0);
  });

  it("--certificate-fingerprint drops a certificate's signatures, given as signatures prints it or without colons", async () => {
    const m = await lockedModels();
    const { signer, leaf } = await certificateSigner(m.dir);
    expect((await runCli([...m.g, "sign", "--key", signer.privatePath, "--certificate", join(m.dir, "signer.pem")])).code).toBe(0);
    const listed = await runCli([...m.g, "signatures", "classifier"]);
    expect(listed.stdout).toContain(`signatures[0]  model signature      certificate O=modelguard tests, CN=release signer (sha256 ${leaf.fingerprint256})`);

    const before = await readFile(m.lockfilePath, "utf8");
    expect((await runCli([...m.g, "unsign", "--certificate-fingerprint", "AB:CD"])).stderr).toMatch(/--certificate-fingerprint AB:CD is not a SHA-256 fingerprint/);
    const stranger = await runCli([...m.g, "unsign", "--certificate-fingerprint", "0".repeat(64)]);
    expect(stranger.code).toBe(2);
    expect(stranger.stderr).toContain(`is by certificate sha256 ${"00:".repeat(31)}00; nothing was changed`);
    expect(await readFile(m.lockfilePath, "utf8")).toBe(before);

    const json = await runCli([...m.g, "--json", "unsign", "classifier", "--certificate-fingerprint", leaf.fingerprint256.replaceAll(":", "").toLowerCase()]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ signer: { kind: "certificate", fingerprint: leaf.fingerprint256 }, models: [{ name: "classifier", dropped: ["signatures[0]"], left: 0 }] });
    const text = await runCli([...m.g, "unsign", "embedder", "--certificate-fingerprint", leaf.fingerprint256]);
    expect(text.code).toBe(0);
    expect(text.stderr).toContain("embedder has no signature left: verify refuses it until it is signed again (modelguard sign embedder --key KEY --certificate CERT.pem)");
    const after = await runCli([...m.g, "signatures"]);
    expect(after.stdout).not.toContain(leaf.fingerprint256);
    expect(after.stdout).toMatch(/^classifier  acme\/classifier@1{40}\n  no signatures\nembedder  acme\/embedder@1{40}\n  no signatures\n$/);
  });
});
