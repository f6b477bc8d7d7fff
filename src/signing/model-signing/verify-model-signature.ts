/**
 * Verifying an OpenSSF Model Signing signature (`model.sig`), as a pipeline of named steps:
 *
 *   chooseMethod → verifySigner (read the bundle; key | certificate chain | Sigstore keyless)
 *     → readSignedManifest → (files: hash them, or digests the caller already has)
 *     → assertManifestMatches
 *
 * `verifyModelSignature` checks digests a caller already computed (the guard hashes every
 * locked file while reading it); `verifyModelDirectory` hashes a directory like
 * `model_signing verify` does.
 */
import type { KeyObject } from "node:crypto";
import type { TrustedRoot } from "@sigstore/protobuf-specs";
import { ModelGuardError } from "../../errors.js";
import { escapeForTerminal } from "../../terminal-text.js";
import { verifySigstoreBundle } from "../sigstore/verify-bundle.js";
import { checkIdentityPolicy, type IdentityPolicy } from "../sigstore/identity.js";
import { MODEL_SIGNATURE, parseJson, readDsseBundle } from "../sigstore/read-bundle.js";
import { loadTrustedRoot } from "../sigstore/trusted-root.js";
import { assertManifestMatches, type CompareOptions } from "./compare-manifest.js";
import type { ResourceDigests } from "./hash-model-files.js";
import { ignoreSet, isIgnored } from "./ignore-paths.js";
import { normalizeResourceName, unsafeResourceName } from "./resource-name.js";
import { readSignedManifest, type SignedManifest } from "./signed-manifest.js";
import type { ModelSigner, VerifiedPayload } from "./signer.js";
import { verifyWithCertificateChain } from "./verify-with-certificate.js";
import { verifyWithKeys } from "./verify-with-key.js";
import type { Certificate } from "./x509-chain.js";

/**
 * Whom to trust. The signature's own material decides which anchors apply: a public key hint
 * → `keys`; a certificate chain without transparency-log entries (model_signing `sign
 * certificate`) → `certificateRoots`; a Fulcio certificate with log entries (keyless) →
 * `identities`, checked against `trustedRoot` (default: the public-good instance).
 */
export interface ModelSignatureTrust {
  keys?: readonly KeyObject[];
  certificateRoots?: readonly Certificate[];
  identities?: readonly IdentityPolicy[];
  trustedRoot?: TrustedRoot;
}

export interface VerifiedModelSignature {
  signer: ModelSigner;
  manifest: SignedManifest;
}

type Method = "key" | "certificate" | "sigstore";

/** Step 1: which verifier applies, from the bundle's verification material and the anchors given. */
function chooseMethod(json: unknown, trust: ModelSignatureTrust): Method {
  const material = (json as { verificationMaterial?: Record<string, unknown> } | null)?.verificationMaterial;
  if (typeof material !== "object" || material === null) {
    throw new ModelGuardError("SIGNATURE_MALFORMED", "the signature is not a Sigstore bundle: it has no verificationMaterial");
  }
  if ("publicKey" in material) return "key";
  const logged = Array.isArray(material.tlogEntries) && material.tlogEntries.length > 0;
  const hasRoots = (trust.certificateRoots?.length ?? 0) > 0;
  const hasIdentities = (trust.identities?.length ?? 0) > 0;
  if (hasRoots && (!logged || !hasIdentities)) return "certificate";
  if (hasIdentities && !logged && "x509CertificateChain" in material) {
    // model_signing's certificate signatures carry a chain and no log entry; keyless ones
    // carry a log entry. Say so rather than fail on the bundle's shape.
    throw new ModelGuardError("UNTRUSTED_SIGNER", "the model is signed with a certificate chain, not keylessly; give the root certificate to trust");
  }
  if (hasIdentities) return "sigstore";
  throw new ModelGuardError(
    "UNTRUSTED_SIGNER",
    logged
      ? "the model is signed keylessly (Sigstore); give the identity and identity provider to trust"
      : "the model is signed with a certificate; give the certificate chain to trust",
  );
}

/** Step 2: the signer's verification, by the chosen method. */
async function verifySigner(json: unknown, method: Method, trust: ModelSignatureTrust): Promise<VerifiedPayload> {
  switch (method) {
    case "key":
      if (!trust.keys?.length) {
        const hint = (json as { verificationMaterial: { publicKey?: { hint?: unknown } } }).verificationMaterial.publicKey?.hint;
        const which = typeof hint === "string" && hint !== "" ? `key ${escapeForTerminal(hint)}` : "a key";
        throw new ModelGuardError("UNTRUSTED_SIGNER", `the model is signed by ${which}; no key was given to trust (--key)`);
      }
      return verifyWithKeys(readDsseBundle(json, { traditional: true, malformed: MODEL_SIGNATURE }), trust.keys);
    case "certificate":
      return verifyWithCertificateChain(readDsseBundle(json, { traditional: true, malformed: MODEL_SIGNATURE }), trust.certificateRoots ?? []);
    case "sigstore": {
      const bundle = readDsseBundle(json, { malformed: MODEL_SIGNATURE });
      trust.identities?.forEach(checkIdentityPolicy);
      const trustedRoot = trust.trustedRoot ?? (await loadTrustedRoot());
      const signer = verifySigstoreBundle(bundle, { trustedRoot, identities: trust.identities ?? [] });
      const envelope = bundle.content.dsseEnvelope;
      return { payloadType: envelope.payloadType, payload: envelope.payload, signer: signer as ModelSigner };
    }
  }
}

/**
 * Steps 1–2: the signature's DSSE envelope verifies against the trust given; what it signs is
 * not looked at. Lockfile signatures share this step with model signatures.
 */
export async function verifySignedPayload(bundleJson: unknown, trust: ModelSignatureTrust): Promise<VerifiedPayload> {
  const json = parseJson(bundleJson);
  return verifySigner(json, chooseMethod(json, trust), trust);
}

/**
 * Steps 1–3: the signature verifies against the trust given, and its statement is a model
 * manifest. Nothing about the files is checked yet.
 */
export async function verifySignedManifest(bundleJson: unknown, trust: ModelSignatureTrust): Promise<VerifiedModelSignature> {
  const verified = await verifySignedPayload(bundleJson, trust);
  return { signer: verified.signer, manifest: readSignedManifest(verified.payloadType, verified.payload) };
}

export interface DigestCheckOptions extends CompareOptions {
  /** More model-relative paths that are not part of the model (besides git files, model.sig and the signature's own list). */
  ignorePaths?: readonly string[];
  /** For messages: the model's name. */
  model?: string;
}

/**
 * Verifies a publisher's `model.sig` against file digests the caller already computed:
 * `digests` maps model-relative POSIX paths to lowercase SHA-256 hex (a single-file model is
 * the one entry "."). Ignore rules apply as in `model_signing verify`; every other file must be
 * signed with exactly that digest, and every signed file present (unless `allowMissingFiles`).
 * Only whole-file SHA-256 signatures (model_signing's default) can be checked this way.
 */
export async function verifyModelSignature(
  bundleJson: unknown,
  files: { digests: ReadonlyMap<string, string> },
  trust: ModelSignatureTrust,
  options: DigestCheckOptions = {},
): Promise<VerifiedModelSignature> {
  const verified = await verifySignedManifest(bundleJson, trust);
  const { serialization } = verified.manifest;
  if (serialization.method !== "files" || serialization.hashType !== "sha256") {
    throw new ModelGuardError(
      "SIGNATURE_MALFORMED",
      `the signature hashes the model as ${serialization.method} with ${serialization.hashType}; only whole files with sha256 can be checked against known digests`,
    );
  }
  const ignored = ignoreSet(serialization.ignorePaths, options.ignorePaths ?? []);
  const actual: ResourceDigests = new Map();
  for (const [path, sha256] of files.digests) {
    const name = normalizeResourceName(path);
    const unsafe = unsafeResourceName(name);
    if (unsafe !== undefined) throw new ModelGuardError("UNSAFE_PATH", `file ${JSON.stringify(path)} ${unsafe}`, { file: path });
    if (!isIgnored(name, ignored)) actual.set(name, { algorithm: "sha256", digest: sha256.toLowerCase() });
  }
  assertManifestMatches(verified.manifest, actual, options, options.model);
  return verified;
}
