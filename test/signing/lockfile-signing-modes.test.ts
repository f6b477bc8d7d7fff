/**
 * Lockfile signatures made keylessly (Fulcio + Rekor stand-ins on loopback, signed by the real
 * sigstore-js code) and with certificates, checked by the trust policy offline.
 */
import { generateKeyPairSync } from "node:crypto";
import { attest } from "sigstore";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isModelGuardError } from "../../src/errors.js";
import type { LockedModel } from "../../src/lockfile/types.js";
import { claimedSigner } from "../../src/signing/bundle-signer.js";
import { describeSigner } from "../../src/signing/describe-signer.js";
import { parseCertificatesPem } from "../../src/signing/model-signing/x509-chain.js";
import { buildModelStatement, IN_TOTO_PAYLOAD_TYPE } from "../../src/signing/model-statement.js";
import { lockedModelPayload, signLockedModelWith, withBundle, withSignature } from "../../src/signing/sign-locked-model.js";
import { signDsse, type DsseSigner } from "../../src/signing/sign-dsse.js";
import { parseTrustedRoot } from "../../src/signing/sigstore/trusted-root.js";
import type { TrustPolicy } from "../../src/signing/trust-anchors.js";
import { checkTrustPolicy } from "../../src/signing/trust-policy.js";
import { lockedEntry } from "../helpers/fixtures.js";
import { rejection } from "../helpers/errors.js";
import { startFulcio, startSigstore, trustedRootFor } from "../helpers/sigstore-stand-ins.js";
import { extensions, issueCertificate, makeCa } from "../helpers/x509.js";

const ALICE = "alice@example.com";
const entry = lockedEntry("org/model", { "model.onnx": Buffer.from("graph"), "tokenizer.json": Buffer.from("{}") });

let sigstore: Awaited<ReturnType<typeof startSigstore>>;
let keyless: Extract<DsseSigner, { mode: "keyless" }>;
beforeAll(async () => {
  sigstore = await startSigstore();
  keyless = {
    mode: "keyless",
    identityToken: sigstore.oidc.token({ sub: "alice", email: ALICE, email_verified: true }),
    fulcioUrl: sigstore.fulcio.url,
    rekorUrl: sigstore.rekor.url,
    trustedRoot: parseTrustedRoot(sigstore.trustedRoot, "the stand-ins' root"),
  };
});
afterAll(() => sigstore.close());

const trusting = (policy: Partial<TrustPolicy>): TrustPolicy => ({ keys: [], trustedRoot: keyless.trustedRoot, allowUnsigned: false, ...policy });
const codeOf = async (p: Promise<unknown>) => ((await rejection(p)) as { code?: string }).code;

describe("keyless lockfile signatures", () => {
  it("sign through Fulcio and Rekor and verify offline by identity and issuer", async () => {
    const bundle = await signLockedModelWith("m", entry, keyless);
    expect(bundle.verificationMaterial.certificate).toBeDefined();
    expect(bundle.verificationMaterial.tlogEntries[0]?.kindVersion).toEqual({ kind: "dsse", version: "0.0.1" });
    const signed = withBundle(entry, bundle);
    const signer = await checkTrustPolicy("m", signed, trusting({ identities: [{ subject: ALICE, issuer: sigstore.oidc.url }] }));
    expect(signer).toEqual({ kind: "identity", subject: ALICE, issuer: sigstore.oidc.url, via: "model-signature" });
    expect(describeSigner(signer)).toBe(`signed by ${ALICE} (${sigstore.oidc.url})`);
    // The anchored pattern form, as cosign's --certificate-identity-regexp.
    expect(await checkTrustPolicy("m", signed, trusting({ identities: [{ subjectPattern: ".*@example\\.com", issuer: sigstore.oidc.url }] }))).toMatchObject({ kind: "identity" });
    expect(await codeOf(checkTrustPolicy("m", signed, trusting({ identities: [{ subjectPattern: "alice", issuer: sigstore.oidc.url }] })))).toBe("UNTRUSTED_SIGNER");
  });

  it("refuse another identity, another issuer, and a keyless signature when only keys are trusted", async () => {
    const signed = withBundle(entry, await signLockedModelWith("m", entry, keyless));
    expect(await codeOf(checkTrustPolicy("m", signed, trusting({ identities: [{ subject: "mallory@example.com", issuer: sigstore.oidc.url }] })))).toBe("UNTRUSTED_SIGNER");
    expect(await codeOf(checkTrustPolicy("m", signed, trusting({ identities: [{ subject: ALICE, issuer: "https://accounts.example.com" }] })))).toBe("UNTRUSTED_SIGNER");
    const key = generateKeyPairSync("ec", { namedCurve: "prime256v1" }).publicKey;
    expect(await codeOf(checkTrustPolicy("m", signed, trusting({ keys: [{ key, fingerprint: "k" }] })))).toBe("UNTRUSTED_SIGNER");
    // Untrusted, not broken: allowed when unsigned models are.
    expect(await checkTrustPolicy("m", signed, trusting({ identities: [{ subject: "mallory@example.com", issuer: sigstore.oidc.url }], allowUnsigned: true }))).toEqual({ kind: "unsigned", untrustedSignatures: [{ where: "signatures[0]", kind: "model-signature", signer: { kind: "identity", subject: ALICE, issuer: sigstore.oidc.url } }] });
  });

  it("refuse an entry changed after signing, even when unsigned models are allowed", async () => {
    const signed = withBundle(entry, await signLockedModelWith("m", entry, keyless));
    const edited: LockedModel = structuredClone(signed);
    edited.files["model.onnx"]!.sha256 = "0".repeat(64);
    const policy = trusting({ identities: [{ subject: ALICE, issuer: sigstore.oidc.url }] });
    expect(await codeOf(checkTrustPolicy("m", edited, policy))).toBe("SIGNATURE_INVALID");
    expect(await codeOf(checkTrustPolicy("m", edited, { ...policy, allowUnsigned: true }))).toBe("SIGNATURE_INVALID");
  });

  it("refuse a log entry made for other bytes", async () => {
    const bundle = await signLockedModelWith("m", entry, keyless);
    const other = await signLockedModelWith("m", { ...entry, revision: "2".repeat(40) }, keyless);
    // A genuine entry of the trusted log, but for another signature and payload.
    const swapped = { ...bundle, verificationMaterial: { ...bundle.verificationMaterial, tlogEntries: other.verificationMaterial.tlogEntries } };
    const err = await rejection(checkTrustPolicy("m", { ...entry, signatures: [swapped] }, trusting({ identities: [{ subject: ALICE, issuer: sigstore.oidc.url }] })));
    expect(isModelGuardError(err, "SIGNATURE_INVALID")).toBe(true);
    expect((err as Error).message).toMatch(/tlog entry signature mismatch|payload hash mismatch/);
  });

  it("refuse a certificate from a CA the trusted root does not list", async () => {
    const otherFulcio = await startFulcio([sigstore.oidc], "other-fulcio");
    try {
      const bundle = await signLockedModelWith("m", entry, {
        ...keyless,
        fulcioUrl: otherFulcio.url,
        // The signer's own check passes against a root that lists the other CA too.
        trustedRoot: parseTrustedRoot(trustedRootFor([sigstore.fulcio, otherFulcio], [sigstore.rekor]), "both CAs"),
      });
      const err = await rejection(checkTrustPolicy("m", withBundle(entry, bundle), trusting({ identities: [{ subject: ALICE, issuer: sigstore.oidc.url }] })));
      expect(isModelGuardError(err, "UNTRUSTED_SIGNER")).toBe(true);
      expect((err as Error).message).toMatch(/certificate chain/);
    } finally {
      await otherFulcio.close();
    }
  });

  it("refuse a certificate that had expired when the log recorded the signature; the signer refuses it first", async () => {
    sigstore.fulcio.validity = { notBefore: new Date(Date.now() - 3600_000), notAfter: new Date(Date.now() - 1800_000) };
    try {
      expect(await codeOf(signLockedModelWith("m", entry, keyless))).toBe("UNTRUSTED_SIGNER");
      // Signed by sigstore-js without modelguard's check after signing.
      const bundle = await attest(lockedModelPayload("m", entry), IN_TOTO_PAYLOAD_TYPE, {
        identityToken: keyless.identityToken,
        fulcioURL: keyless.fulcioUrl,
        rekorURL: keyless.rekorUrl,
      });
      const err = await rejection(checkTrustPolicy("m", withBundle(entry, bundle), trusting({ identities: [{ subject: ALICE, issuer: sigstore.oidc.url }] })));
      expect(isModelGuardError(err, "UNTRUSTED_SIGNER")).toBe(true);
      expect((err as Error).message).toMatch(/expired|not valid/);
    } finally {
      delete sigstore.fulcio.validity;
    }
  });

  it("fail to sign with FETCH_FAILED naming Fulcio when it refuses the token", async () => {
    const expired = sigstore.oidc.token({ sub: "alice", email: ALICE, email_verified: true, exp: Math.floor(Date.now() / 1000) - 60 });
    const err = await rejection(signLockedModelWith("m", entry, { ...keyless, identityToken: expired }));
    expect(isModelGuardError(err, "FETCH_FAILED")).toBe(true);
    expect(err).toMatchObject({ httpStatus: 401, url: sigstore.fulcio.url });
    expect((err as Error).message).toMatch(/Fulcio .* expired/);
    expect((err as Error).message).not.toContain(expired);
    expect(await codeOf(signLockedModelWith("m", entry, { ...keyless, identityToken: "not-a-token" }))).toBe("USAGE");
  });

  it("replace the same identity's older signature and keep other signers'", async () => {
    const key = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const byKey = withSignature("m", entry, key.privateKey, key.publicKey);
    const once = withBundle(byKey, await signLockedModelWith("m", byKey, keyless));
    const twice = withBundle(once, await signLockedModelWith("m", once, keyless));
    expect(twice.signatures).toHaveLength(2);
    expect(twice.signatures!.map((b) => claimedSigner(b)?.kind)).toEqual(["key", "identity"]);
    expect(claimedSigner(twice.signatures![1])).toEqual({ kind: "identity", subject: ALICE, issuer: sigstore.oidc.url });
  });
});

describe("certificate lockfile signatures", () => {
  const at = (offsetDays: number) => new Date(Date.now() + offsetDays * 86400_000);
  const ec = () => generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const root = makeCa("test root", ec(), at(-10), at(3650));
  const intermediateKeys = ec();
  const intermediate = {
    commonName: "test intermediate",
    ...intermediateKeys,
    certificate: issueCertificate({
      commonName: "test intermediate",
      publicKey: intermediateKeys.publicKey,
      issuer: root,
      notBefore: at(-10),
      notAfter: at(3650),
      extensions: [extensions.basicConstraints(true), extensions.keyUsage(0x06)],
    }),
  };
  const signerKeys = ec();
  const leaf = issueCertificate({ commonName: "release signer", publicKey: signerKeys.publicKey, issuer: intermediate, notBefore: at(-1), notAfter: at(365), extensions: [extensions.keyUsage(0x80)] });
  const pem = (...certs: { toString(): string }[]) => parseCertificatesPem(certs.map(String).join(""), "test certificates");
  const signer: DsseSigner = { mode: "certificate", privateKey: signerKeys.privateKey, certificates: pem(leaf, intermediate.certificate) };

  it("round-trip: sign with key and chain, verify against the root", async () => {
    const bundle = await signLockedModelWith("m", entry, signer);
    expect(bundle.verificationMaterial.x509CertificateChain?.certificates).toHaveLength(2);
    expect(bundle.verificationMaterial.tlogEntries).toEqual([]);
    const signed = withBundle(entry, bundle);
    const result = await checkTrustPolicy("m", signed, trusting({ certificateRoots: pem(root.certificate) }));
    expect(result).toMatchObject({ kind: "certificate", subject: "O=modelguard tests, CN=release signer", via: "model-signature" });
    expect(describeSigner(result)).toBe("signed by certificate O=modelguard tests, CN=release signer");

    const otherRoot = makeCa("other root", ec(), at(-10), at(3650));
    expect(await codeOf(checkTrustPolicy("m", signed, trusting({ certificateRoots: pem(otherRoot.certificate) })))).toBe("UNTRUSTED_SIGNER");
    expect(await codeOf(checkTrustPolicy("m", signed, trusting({})))).toBe("UNTRUSTED_SIGNER");
    const edited = structuredClone(signed);
    edited.revision = "3".repeat(40);
    expect(await codeOf(checkTrustPolicy("m", edited, trusting({ certificateRoots: pem(root.certificate) })))).toBe("SIGNATURE_INVALID");
  });

  it("also covers a publisher's model.sig signed with a certificate (model_signing sign certificate)", async () => {
    const statement = buildModelStatement("model", Object.entries(entry.files).map(([path, f]) => ({ path, sha256: f.sha256 })));
    const modelSig = await signDsse(IN_TOTO_PAYLOAD_TYPE, Buffer.from(JSON.stringify(statement)), signer);
    const published = { ...entry, publisherSignatures: [{ path: "model.sig", bundle: modelSig }] };
    expect(await checkTrustPolicy("m", published, trusting({ certificateRoots: pem(root.certificate) }))).toMatchObject({ kind: "certificate", via: "publisher-signature" });
    expect(await codeOf(checkTrustPolicy("m", published, trusting({})))).toBe("UNTRUSTED_SIGNER");
  });

  it("refuses to sign with a certificate that is not the key's", async () => {
    const err = await rejection(signLockedModelWith("m", entry, { ...signer, privateKey: ec().privateKey }));
    expect(isModelGuardError(err, "CERTIFICATE_INVALID")).toBe(true);
  });
});
