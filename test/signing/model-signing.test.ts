import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign } from "node:crypto";
import { dsse } from "@sigstore/core";
import { cp, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { isModelGuardError } from "../../src/errors.js";
import { parsePublicKey, publicKeyId } from "../../src/keys/load-key.js";
import { paeCompat, pythonBytesRepr } from "../../src/signing/model-signing/dsse-pae.js";
import {
  modelStatement,
  parseCertificatesPem,
  readSignedManifest,
  signModel,
  verifyModelDirectory,
  verifyModelSignature,
  verifySignedManifest,
} from "../../src/signing/model-signing/index.js";
import { IN_TOTO_PAYLOAD_TYPE } from "../../src/signing/model-statement.js";
import { rejection } from "../helpers/errors.js";
import { tempDir } from "../helpers/fixtures.js";
import { hasOpenssl, makeCertificateFactory } from "../helpers/openssl-ca.js";

const vectors = fileURLToPath(new URL("../fixtures/vectors/model-signing/", import.meta.url));
const publicKey = parsePublicKey(await readFile(join(vectors, "keys/signing-key-pub.pem"), "utf8"));
const caRoots = parseCertificatesPem(await readFile(join(vectors, "keys/ca-cert.pem"), "utf8"), "ca-cert.pem");
const ibm = { subject: "stefanb@us.ibm.com", issuer: "https://sigstore.verify.ibm.com/oauth2" };

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function statementPayload(statement: unknown): Buffer {
  return Buffer.from(JSON.stringify(statement), "utf8");
}

function v1Statement(resources: { name: string; digest: string }[], extra: Record<string, unknown> = {}) {
  const root = createHash("sha256");
  for (const r of resources) root.update(Buffer.from(r.digest, "hex"));
  return {
    _type: "https://in-toto.io/Statement/v1",
    subject: [{ name: "m", digest: { sha256: root.digest("hex") } }],
    predicateType: "https://model_signing/signature/v1.0",
    predicate: {
      serialization: { method: "files", hash_type: "sha256", allow_symlinks: false, ...extra },
      resources: resources.map((r) => ({ ...r, algorithm: "sha256" })),
    },
  };
}

async function codeOfRejection(p: Promise<unknown>): Promise<string | undefined> {
  return (await rejection(p) as { code?: string }).code;
}

describe("signed model statements", () => {
  it("normalises names like pathlib and keeps the signed digests", () => {
    const d = "ab".repeat(32);
    const manifest = readSignedManifest(IN_TOTO_PAYLOAD_TYPE, statementPayload(v1Statement([{ name: "./a//b/", digest: d.toUpperCase() }])));
    expect([...manifest.resources]).toEqual([["a/b", { algorithm: "sha256", digest: d }]]);
  });

  it("reads a shard size written as a float", () => {
    const payload = Buffer.from(
      JSON.stringify(v1Statement([{ name: "w.bin:0:5", digest: "00".repeat(32) }], { method: "shards" })).replace(
        '"allow_symlinks":false',
        '"allow_symlinks":false,"shard_size":1000000000.0',
      ),
    );
    const manifest = readSignedManifest(IN_TOTO_PAYLOAD_TYPE, payload);
    expect(manifest.serialization).toMatchObject({ method: "shards", shardSize: 1_000_000_000 });
    expect([...manifest.resources.keys()]).toEqual(["w.bin:0:5"]);
  });

  it("refuses an inconsistent subject digest, duplicate and escaping names, other payloads", () => {
    const statement = v1Statement([{ name: "a", digest: "11".repeat(32) }]);
    statement.subject[0]!.digest.sha256 = "00".repeat(32);
    expect(() => readSignedManifest(IN_TOTO_PAYLOAD_TYPE, statementPayload(statement))).toThrow(/inconsistent/);
    const twice = v1Statement([{ name: "a", digest: "11".repeat(32) }, { name: "./a", digest: "11".repeat(32) }]);
    expect(() => readSignedManifest(IN_TOTO_PAYLOAD_TYPE, statementPayload(twice))).toThrow(/twice/);
    const escaping = v1Statement([{ name: "../etc/passwd", digest: "11".repeat(32) }]);
    expect(() => readSignedManifest(IN_TOTO_PAYLOAD_TYPE, statementPayload(escaping))).toThrow(/\.\./);
    expect(() => readSignedManifest("text/plain", statementPayload(v1Statement([])))).toThrow(/payload type/);
  });

  it("reads model_signing 0.2 statements (files as subjects)", () => {
    const compat = {
      _type: "https://in-toto.io/Statement/v1",
      subject: [{ name: "w.bin", digest: { sha256: "22".repeat(32) } }],
      predicateType: "https://model_signing/Digests/v0.1",
    };
    expect([...readSignedManifest(IN_TOTO_PAYLOAD_TYPE, statementPayload(compat)).resources.keys()]).toEqual(["w.bin"]);
  });

  it("reproduces Python's bytes repr for model_signing 0.2's PAE", () => {
    expect(pythonBytesRepr(Buffer.from('{\n  "_type": "x\\y",\t\r \x00\x7f', "latin1"))).toBe(
      `b'{\\n  "_type": "x\\\\y",\\t\\r \\x00\\x7f'`,
    );
    expect(pythonBytesRepr(Buffer.from([0xc3, 0xa9]))).toBe("b'\\xc3\\xa9'");
    expect(pythonBytesRepr(Buffer.from("it's"))).toBe(`b"it's"`);
    expect(pythonBytesRepr(Buffer.from(`it's "q"`))).toBe(`b'it\\'s "q"'`);
  });
});

describe("verifyModelSignature (digests already known)", () => {
  const dir = join(vectors, "v1.1.0-elliptic-key");
  const digestsOf = async (names: string[]) =>
    new Map(await Promise.all(names.map(async (n) => [n, sha256(await readFile(join(dir, n)))] as [string, string])));

  it("accepts the publisher's files, ignoring what the signature ignores", async () => {
    const bundle = await readFile(join(dir, "model.sig"));
    const result = await verifyModelSignature(bundle, { digests: await digestsOf(["signme-1", "signme-2", "ignore-me"]) }, { keys: [publicKey] });
    expect(result.signer).toEqual({ method: "key", keyId: publicKeyId(publicKey) });
  });

  it("fails on a changed digest, a missing file, an unsigned file; allows a chosen subset on request", async () => {
    const bundle = JSON.parse(await readFile(join(dir, "model.sig"), "utf8"));
    const digests = await digestsOf(["signme-1", "signme-2"]);
    const changed = new Map(digests).set("signme-2", "00".repeat(32));
    const err = await rejection(verifyModelSignature(bundle, { digests: changed }, { keys: [publicKey] }));
    expect(isModelGuardError(err, "DIGEST_MISMATCH")).toBe(true);
    expect((err as Error).message).toMatch(/signme-2: expected sha256:32dcb1f8/);

    const subset = new Map([["signme-1", digests.get("signme-1")!]]);
    expect(await codeOfRejection(verifyModelSignature(bundle, { digests: subset }, { keys: [publicKey] }))).toBe("DIGEST_MISMATCH");
    await verifyModelSignature(bundle, { digests: subset }, { keys: [publicKey] }, { allowMissingFiles: true });

    const extra = new Map(digests).set("README.md", "11".repeat(32));
    expect(await codeOfRejection(verifyModelSignature(bundle, { digests: extra }, { keys: [publicKey] }))).toBe("DIGEST_MISMATCH");
    await verifyModelSignature(bundle, { digests: extra }, { keys: [publicKey] }, { ignoreUnsignedFiles: true });
    await verifyModelSignature(bundle, { digests: extra }, { keys: [publicKey] }, { ignorePaths: ["README.md"] });
  });

  it("checks keyless signatures by identity, offline, against the public-good root", async () => {
    const sigstoreDir = join(vectors, "v1.0.1-sigstore");
    const bundle = await readFile(join(sigstoreDir, "model.sig"));
    const { signer } = await verifySignedManifest(bundle, { identities: [ibm] });
    expect(signer).toEqual({ method: "sigstore", identity: ibm.subject, issuer: ibm.issuer });
    expect(await codeOfRejection(verifySignedManifest(bundle, { identities: [{ ...ibm, subject: "stefanb@us.ibm.co" }] }))).toBe("UNTRUSTED_SIGNER");
    // sigstore-js would take the identity as an unanchored regular expression; it is exact here.
    expect(await codeOfRejection(verifySignedManifest(bundle, { identities: [{ ...ibm, subject: "stefanb@us.ibm" }] }))).toBe("UNTRUSTED_SIGNER");
    await verifySignedManifest(bundle, { identities: [{ subjectPattern: "stefanb@us\\.ibm\\.com", issuer: ibm.issuer }] });
    expect(await codeOfRejection(verifySignedManifest(bundle, { identities: [{ subjectPattern: "stefanb", issuer: ibm.issuer }] }))).toBe("UNTRUSTED_SIGNER");
    // A key-only policy does not accept a keyless signature.
    expect(await codeOfRejection(verifySignedManifest(bundle, { keys: [publicKey] }))).toBe("UNTRUSTED_SIGNER");
  });

  it("picks the verifier from the signature when several kinds of trust are given", async () => {
    const trust = { keys: [publicKey], certificateRoots: caRoots, identities: [ibm] };
    for (const [folder, method] of [["v1.1.0-elliptic-key", "key"], ["v1.1.0-certificate", "certificate"], ["v1.1.0-sigstore", "sigstore"]]) {
      const { signer } = await verifySignedManifest(await readFile(join(vectors, folder!, "model.sig")), trust);
      expect(signer.method).toBe(method);
    }
  });
});

describe("signModel", () => {
  it("writes the reference implementation's statement for a vector's files", async () => {
    const dir = join(await tempDir(), "v1.1.0-elliptic-key");
    await cp(join(vectors, "v1.1.0-elliptic-key"), dir, { recursive: true });
    const ours = await modelStatement(dir, ["ignore-me"]);
    const bundle = JSON.parse(await readFile(join(vectors, "v1.1.0-elliptic-key/model.sig"), "utf8"));
    const theirs = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, "base64").toString("utf8"));
    // ignore_paths is a Python set: its order changes from run to run.
    theirs.predicate.serialization.ignore_paths.sort();
    expect(ours).toEqual(theirs);
  });

  it("signs with the P-384 vector key so that the vector's public key verifies it", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "weights.bin"), "weights");
    const privateKey = createPrivateKey(await readFile(join(vectors, "keys/signing-key.pem"), "utf8"));
    const { bundle } = await signModel(dir, { signer: { mode: "key", privateKey, publicKey: createPublicKey(privateKey) } });
    expect(bundle.verificationMaterial.publicKey?.hint).toBe(publicKeyId(publicKey));
    await writeFile(join(dir, "model.sig"), JSON.stringify(bundle));
    const result = await verifyModelDirectory(dir, { signaturePath: join(dir, "model.sig"), trust: { keys: [publicKey] } });
    expect(result.fileCount).toBe(1);
  });
});

describe.skipIf(!hasOpenssl)("certificate chains (throwaway CA made with openssl)", () => {
  const ca = hasOpenssl ? makeCertificateFactory() : undefined!;
  const caUsage = "critical, keyCertSign, cRLSign";
  const root = hasOpenssl ? ca.issue({ cn: "test root", ca: true, keyUsage: caUsage }) : undefined!;
  const intermediate = hasOpenssl ? ca.issue({ cn: "test intermediate", ca: true, keyUsage: caUsage }, root) : undefined!;
  const rootCert = () => parseCertificatesPem(root.pem, "root");

  /** A model_signing `sign certificate` signature: our signer's bundle with the chain as verification material. */
  async function certificateSigned(leaf: { keyPath: string; der: Buffer }, chain: Buffer[]): Promise<{ dir: string; bundle: unknown }> {
    const dir = await tempDir();
    await writeFile(join(dir, "weights.bin"), "weights");
    const privateKey = createPrivateKey(await readFile(leaf.keyPath, "utf8"));
    const { bundle } = await signModel(dir, { signer: { mode: "key", privateKey, publicKey: createPublicKey(privateKey) } });
    const withChain = {
      ...bundle,
      verificationMaterial: { x509CertificateChain: { certificates: [leaf.der, ...chain].map((d) => ({ rawBytes: d.toString("base64") })) }, tlogEntries: [] },
    };
    await writeFile(join(dir, "model.sig"), JSON.stringify(withChain));
    return { dir, bundle: withChain };
  }

  it("accepts a leaf with digitalSignature chaining through the bundle's intermediate to the root", async () => {
    const leaf = ca.issue({ cn: "signer", keyUsage: "critical, digitalSignature" }, intermediate);
    const { dir } = await certificateSigned(leaf, [intermediate.der]);
    const result = await verifyModelDirectory(dir, { signaturePath: join(dir, "model.sig"), trust: { certificateRoots: rootCert() } });
    expect(result.signer).toMatchObject({ method: "certificate", subject: "CN=signer" });
  });

  it("accepts codeSigning without a keyUsage extension; refuses a leaf that may not sign", async () => {
    const codeSigner = ca.issue({ cn: "code signer", extKeyUsage: "codeSigning" }, intermediate);
    await verifySignedManifest((await certificateSigned(codeSigner, [intermediate.der])).bundle, { certificateRoots: rootCert() });
    const encipherOnly = ca.issue({ cn: "no signing", keyUsage: "critical, keyEncipherment", extKeyUsage: "serverAuth" }, intermediate);
    const err = await rejection(verifySignedManifest((await certificateSigned(encipherOnly, [intermediate.der])).bundle, { certificateRoots: rootCert() }));
    expect(isModelGuardError(err, "UNTRUSTED_SIGNER")).toBe(true);
    expect((err as Error).message).toMatch(/may not sign/);
  });

  it("refuses an unrelated root, a missing intermediate, a non-CA issuer, an issuer expired before the leaf", async () => {
    const leaf = ca.issue({ cn: "signer", keyUsage: "critical, digitalSignature" }, intermediate);
    const { bundle } = await certificateSigned(leaf, [intermediate.der]);
    const otherRoot = parseCertificatesPem(ca.issue({ cn: "other root", ca: true, keyUsage: caUsage }).pem, "other");
    expect(await codeOfRejection(verifySignedManifest(bundle, { certificateRoots: otherRoot }))).toBe("UNTRUSTED_SIGNER");
    // Trusting only the intermediate is not enough: the path must end at a self-signed root (OpenSSL's default).
    expect(await codeOfRejection(verifySignedManifest(bundle, { certificateRoots: parseCertificatesPem(intermediate.pem, "int") }))).toBe("UNTRUSTED_SIGNER");
    const withoutIntermediate = (await certificateSigned(leaf, [])).bundle;
    expect(await codeOfRejection(verifySignedManifest(withoutIntermediate, { certificateRoots: rootCert() }))).toBe("UNTRUSTED_SIGNER");

    const notCa = ca.issue({ cn: "not a ca", keyUsage: "critical, digitalSignature" }, root);
    const underNotCa = ca.issue({ cn: "signer", keyUsage: "critical, digitalSignature" }, notCa);
    const err = await rejection(verifySignedManifest((await certificateSigned(underNotCa, [notCa.der])).bundle, { certificateRoots: rootCert() }));
    expect((err as Error).message).toMatch(/not a CA/);

    // Validity is checked when the leaf became valid (the reference's store time): an
    // intermediate that had expired by then fails.
    const expired = ca.issue({ cn: "expired", ca: true, keyUsage: caUsage, startDate: "20200101000000Z", endDate: "20210101000000Z" }, root);
    const late = ca.issue({ cn: "signer", keyUsage: "critical, digitalSignature" }, expired);
    const expiredErr = await rejection(verifySignedManifest((await certificateSigned(late, [expired.der])).bundle, { certificateRoots: rootCert() }));
    expect(isModelGuardError(expiredErr, "UNTRUSTED_SIGNER")).toBe(true);
    expect((expiredErr as Error).message).toMatch(/not valid at/);
  });

  it("refuses a signature made by another key than the certificate's", async () => {
    const leaf = ca.issue({ cn: "signer", keyUsage: "critical, digitalSignature" }, intermediate);
    const { bundle } = await certificateSigned(leaf, [intermediate.der]);
    const other = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const forged = structuredClone(bundle) as { dsseEnvelope: { payload: string; signatures: { sig: string }[] } };
    const { bundle: otherBundle } = await signModel((await certificateSigned(leaf, [])).dir, { signer: { mode: "key", ...other } });
    forged.dsseEnvelope.signatures[0]!.sig = otherBundle.dsseEnvelope!.signatures[0]!.sig;
    forged.dsseEnvelope.payload = otherBundle.dsseEnvelope!.payload;
    expect(await codeOfRejection(verifySignedManifest(forged, { certificateRoots: rootCert() }))).toBe("SIGNATURE_INVALID");
  });
});

describe("other serializations model_signing can write", () => {
  async function signStatement(statement: unknown, pae: (type: string, payload: Buffer) => Buffer = (t, p) => dsse.preAuthEncoding(t, p)) {
    const { privateKey, publicKey: pub } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    // A string is signed as is, so a payload can hold what Python writes (1000000000.0).
    const payload = Buffer.from(typeof statement === "string" ? statement : JSON.stringify(statement));
    const sig = sign("sha256", pae(IN_TOTO_PAYLOAD_TYPE, payload), { key: privateKey, dsaEncoding: "der" });
    const bundle = {
      mediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
      verificationMaterial: { publicKey: { hint: publicKeyId(pub) }, tlogEntries: [] },
      dsseEnvelope: { payload: payload.toString("base64"), payloadType: IN_TOTO_PAYLOAD_TYPE, signatures: [{ sig: sig.toString("base64"), keyid: "" }] },
    };
    return { bundle, key: pub };
  }

  it("verifies a shard-serialized model (shard_size as a float) by hashing each shard", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "w.bin"), "0123456789");
    await writeFile(join(dir, "empty"), "");
    const shards = [[0, 4], [4, 8], [8, 10]].map(([s, e]) => ({ name: `w.bin:${s}:${e}`, digest: sha256(Buffer.from("0123456789".slice(s, e))) }));
    const statement = v1Statement(shards, { method: "shards" });
    const text = JSON.stringify(statement).replace('"allow_symlinks":false', '"allow_symlinks":false,"shard_size":4.0');
    expect(text).toContain('"shard_size":4.0');
    const { bundle, key } = await signStatement(text);
    await writeFile(join(dir, "model.sig"), JSON.stringify(bundle));
    const result = await verifyModelDirectory(dir, { signaturePath: join(dir, "model.sig"), trust: { keys: [key] } });
    expect(result.manifest.serialization).toMatchObject({ method: "shards", shardSize: 4 });
    await writeFile(join(dir, "w.bin"), "0123456780");
    const err = await rejection(verifyModelDirectory(dir, { signaturePath: join(dir, "model.sig"), trust: { keys: [key] } }));
    expect((err as Error).message).toMatch(/w\.bin:8:10: expected/);
    // Whole-file digests cannot check shards.
    expect(await codeOfRejection(verifyModelSignature(bundle, { digests: new Map([["w.bin", "00".repeat(32)]]) }, { keys: [key] }))).toBe("SIGNATURE_MALFORMED");
  });

  it("accepts model_signing 0.2's mis-encoded PAE for key signatures", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "w.bin"), "w");
    const { bundle, key } = await signStatement(v1Statement([{ name: "w.bin", digest: sha256(Buffer.from("w")) }]), paeCompat);
    await writeFile(join(dir, "model.sig"), JSON.stringify(bundle));
    await verifyModelDirectory(dir, { signaturePath: join(dir, "model.sig"), trust: { keys: [key] } });
  });
});
