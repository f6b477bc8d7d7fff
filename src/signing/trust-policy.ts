import type { KeyObject } from "node:crypto";
import { ModelGuardError } from "../errors.js";
import { escapeForTerminal } from "../terminal-text.js";
import type { LockedModel, PublisherSignature } from "../lockfile/types.js";
import { decodeBlobSignature, verifyBlobDigest } from "./blob-signature.js";
import type { ClaimedSigner } from "./bundle-signer.js";
import { listSignatures, type LockedSignature } from "./list-signatures.js";
import { statementMismatch } from "./locked-model-statement.js";
import { IN_TOTO_PAYLOAD_TYPE } from "./model-statement.js";
import { verifySignedManifest, verifySignedPayload, type ModelSignatureTrust } from "./model-signing/verify-model-signature.js";
import type { SignedManifest } from "./model-signing/signed-manifest.js";
import type { ModelSigner, VerifiedPayload } from "./model-signing/signer.js";
import type { Certificate } from "./model-signing/x509-chain.js";
import type { IdentityPolicy } from "./sigstore/identity.js";
import type { TrustedRoot } from "@sigstore/protobuf-specs";

/** A public key the operator trusts, with its id (`publicKeyId`: the hint bundles carry) for reports. */
export interface TrustedKey {
  key: KeyObject;
  fingerprint: string;
  /** Where it came from (a file path), for messages. */
  source?: string;
}

export interface TrustPolicy {
  keys: TrustedKey[];
  /** Sigstore keyless signers trusted for lockfile signatures and publishers' signatures. */
  identities?: IdentityPolicy[];
  /** The Sigstore trusted root for identities; default the public-good root shipped with @sigstore/tuf. */
  trustedRoot?: TrustedRoot;
  /** Root certificates trusted for certificate signatures (model_signing `sign certificate`). */
  certificateRoots?: Certificate[];
  /** Accept a model that carries no signature from a trusted signer (never one whose signature is broken). */
  allowUnsigned: boolean;
}

/** Who satisfied the policy for a model, and through which signature. */
export type Signer =
  | { kind: "key"; fingerprint: string; via: "model-signature" | "file-signatures" | "publisher-signature" }
  | (Exclude<ClaimedSigner, { kind: "key" }> & { via: "model-signature" | "publisher-signature" })
  | {
      kind: "unsigned";
      /**
       * Accepted without a trusted signature (allowUnsigned), though the entry carries signatures:
       * who they claim as signer. Absent when the entry has none. "unsigned" means "no trusted
       * signature", so a consumer that checks for it treats both alike.
       */
      untrustedSignatures?: LockedSignature[];
    };

interface Findings {
  invalid: string[];
  untrusted: string[];
  /** Valid, trusted signatures that leave some locked file unattested. */
  uncovered: string[];
}

/** The anchors of the policy, as the signature verifiers take them. */
function signatureTrust(policy: Pick<TrustPolicy, "keys" | "identities" | "trustedRoot" | "certificateRoots">): ModelSignatureTrust {
  return {
    keys: policy.keys.map((k) => k.key),
    identities: policy.identities ?? [],
    certificateRoots: policy.certificateRoots ?? [],
    ...(policy.trustedRoot ? { trustedRoot: policy.trustedRoot } : {}),
  };
}

function signerOf(signer: ModelSigner, via: "model-signature" | "publisher-signature"): Signer {
  switch (signer.method) {
    case "key":
      return { kind: "key", fingerprint: signer.keyId, via };
    case "sigstore":
      return { kind: "identity", subject: signer.identity, issuer: signer.issuer, via };
    case "certificate":
      return { kind: "certificate", subject: signer.subject, fingerprint: signer.fingerprint, via };
  }
}

/**
 * Lockfile signatures (`modelguard sign`), by key, certificate or keyless identity: the signer
 * is verified as a model.sig's is, then the signed statement must be this entry's.
 */
async function checkModelSignatures(name: string, entry: LockedModel, policy: TrustPolicy, findings: Findings): Promise<Signer | undefined> {
  for (const [index, bundleJson] of (entry.signatures ?? []).entries()) {
    const at = `signatures[${index}]`;
    let signed: VerifiedPayload;
    try {
      signed = await verifySignedPayload(bundleJson, signatureTrust(policy));
    } catch (err) {
      if (!(err instanceof ModelGuardError)) throw err;
      if (err.code === "UNTRUSTED_SIGNER") findings.untrusted.push(`${at}: ${err.message}`);
      // A certificate that does not parse is a broken signature, as for publishers' signatures.
      else if (err.code === "SIGNATURE_INVALID" || err.code === "CERTIFICATE_INVALID") findings.invalid.push(`${at}: ${err.message}`);
      else throw new ModelGuardError(err.code, `${at}: ${err.message}`, { cause: err });
      continue;
    }
    if (signed.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
      findings.invalid.push(`${at} signs a ${signed.payloadType} payload, not an in-toto statement`);
      continue;
    }
    let statement: unknown;
    try {
      statement = JSON.parse(signed.payload.toString("utf8"));
    } catch {
      findings.invalid.push(`${at} signs a payload that is not JSON`);
      continue;
    }
    const mismatch = statementMismatch(statement, name, entry);
    if (mismatch) {
      findings.invalid.push(`the lockfile entry changed after signing: ${mismatch}`);
      continue;
    }
    return signerOf(signed.signer, "model-signature");
  }
  return undefined;
}

/** Every locked file carries a cosign blob signature by one trusted key, checked against its locked digest. */
function checkFileSignatures(entry: LockedModel, policy: TrustPolicy, findings: Findings): Signer | undefined {
  const files = Object.entries(entry.files);
  if (!files.some(([, f]) => f.signatures?.length)) return undefined;
  for (const key of policy.keys) {
    if (files.every(([, f]) => f.signatures?.some((s) => {
      const sig = decodeBlobSignature(s.sig);
      return sig !== undefined && verifyBlobDigest(f.sha256, sig, key.key);
    }))) {
      return { kind: "key", fingerprint: key.fingerprint, via: "file-signatures" };
    }
  }
  for (const [path, file] of files) {
    for (const s of file.signatures ?? []) {
      if (decodeBlobSignature(s.sig) === undefined) {
        throw new ModelGuardError("SIGNATURE_MALFORMED", `files[${JSON.stringify(path)}].signatures: not base64`, { file: path });
      }
      const named = policy.keys.find((k) => k.fingerprint === s.keyid);
      if (named) findings.invalid.push(`the signature of ${path} does not verify with trusted key ${named.fingerprint}`);
    }
  }
  const namedIds = [...new Set(files.flatMap(([, f]) => (f.signatures ?? []).map((s) => s.keyid).filter((id) => id !== undefined)))];
  const trusted = policy.keys.map((k) => k.fingerprint);
  findings.untrusted.push(
    `no trusted key signed every locked file (file signatures by ${namedIds.length > 0 ? `key ${namedIds.map((id) => escapeForTerminal(id)).join(", key ")}` : "keys they do not name"}; trusted: ${trusted.length > 0 ? trusted.join(", ") : "none"})`,
  );
  return undefined;
}

/** A publisher's signature whose signer the policy trusts, and the files it signed. */
export interface TrustedPublisherSignature {
  signer: Signer;
  manifest: SignedManifest;
}

/**
 * Step 1 of checking a publisher's `model.sig`: its signer is one the policy trusts (key,
 * certificate or keyless identity) and it signs whole files by sha256, the only form that can be
 * compared with locked digests without reading a byte. Throws UNTRUSTED_SIGNER,
 * SIGNATURE_INVALID or SIGNATURE_MALFORMED.
 */
export async function verifyPublisherSigner(
  bundle: unknown,
  policy: Pick<TrustPolicy, "keys" | "identities" | "trustedRoot" | "certificateRoots">,
): Promise<TrustedPublisherSignature> {
  let verified;
  try {
    verified = await verifySignedManifest(bundle, signatureTrust(policy));
  } catch (err) {
    if (err instanceof ModelGuardError && err.code === "CERTIFICATE_INVALID") {
      throw new ModelGuardError("SIGNATURE_INVALID", err.message, { cause: err });
    }
    throw err;
  }
  const signer = signerOf(verified.signer, "publisher-signature");
  const { serialization } = verified.manifest;
  if (serialization.method !== "files" || serialization.hashType !== "sha256") {
    throw new ModelGuardError(
      "SIGNATURE_MALFORMED",
      `the signature hashes the model as ${serialization.method} with ${serialization.hashType}; only whole files with sha256 can be checked against locked digests`,
    );
  }
  return { signer, manifest: verified.manifest };
}

/**
 * Step 2: the locked files are exactly the files the publisher signed, each with its signed
 * sha256 (which pins its size). Nothing the lockfile says exempts a file from this comparison:
 * not the path the signature was found at, not the signature's own ignore rules (a signed but
 * ignored file must still be signed with the locked digest; an ignored, unsigned one cannot be
 * locked), and a signed file left out of the lock is refused too, as `model_signing verify`
 * refuses a missing file: a publisher vouches for the set of files it signed, and a subset
 * chosen by whoever wrote the lockfile could change which graph or which optional file loads.
 * Throws SIGNATURE_INVALID (a digest the publisher did not sign) or SIGNATURE_MISSING (the
 * signature does not cover the entry's set of files).
 */
export function checkPublisherManifest(files: LockedModel["files"], manifest: SignedManifest): void {
  const unsigned: string[] = [];
  for (const [path, file] of Object.entries(files)) {
    const signed = manifest.resources.get(path);
    if (!signed) unsigned.push(path);
    else if (signed.algorithm !== "sha256" || signed.digest !== file.sha256) {
      throw new ModelGuardError("SIGNATURE_INVALID", `the publisher signed ${path} with ${escapeForTerminal(signed.algorithm)} ${signed.digest}, the lockfile says sha256 ${file.sha256}`, { file: path });
    }
  }
  const unlocked = [...manifest.resources.keys()].filter((name) => !Object.hasOwn(files, name));
  const problems: string[] = [];
  if (unsigned.length > 0) problems.push(`does not cover ${listPaths(unsigned)}`);
  if (unlocked.length > 0) problems.push(`also signs ${listPaths(unlocked)}, which the lockfile does not lock`);
  if (problems.length > 0) {
    throw new ModelGuardError(
      "SIGNATURE_MISSING",
      `the publisher's signature is valid but ${problems.join(" and ")}: it vouches only for exactly the files it signed; lock exactly those, or sign this lockfile entry with your own key (\`modelguard sign\`) and verify with that key`,
    );
  }
}

function listPaths(paths: string[]): string {
  // Signed names are the publisher's text, not checked like locked paths.
  const shown = paths.slice(0, 10).map((p) => escapeForTerminal(p)).join(", ");
  return paths.length > 10 ? `${shown} and ${paths.length - 10} more` : shown;
}

/**
 * A publisher's OpenSSF Model Signing signature, checked against the locked digests (no file is
 * read): a trusted signer (step 1) that signed exactly the locked files with their locked
 * digests (step 2). `recorded.path` says where the signature was found and plays no part in the
 * decision. A publisher's signature cannot bind what it never saw: the lockfile's model name,
 * repo and revision (see the README's security model).
 */
export async function verifyPublisherSignature(
  entry: Pick<LockedModel, "files">,
  recorded: PublisherSignature,
  policy: Pick<TrustPolicy, "keys" | "identities" | "trustedRoot" | "certificateRoots">,
): Promise<Signer> {
  const { signer, manifest } = await verifyPublisherSigner(recorded.bundle, policy);
  checkPublisherManifest(entry.files, manifest);
  return signer;
}

async function checkPublisherSignatures(entry: LockedModel, policy: TrustPolicy, findings: Findings): Promise<Signer | undefined> {
  for (const [index, recorded] of (entry.publisherSignatures ?? []).entries()) {
    const at = `publisherSignatures[${index}] (${escapeForTerminal(recorded.path)})`;
    try {
      return await verifyPublisherSignature(entry, recorded, policy);
    } catch (err) {
      if (!(err instanceof ModelGuardError)) throw err;
      if (err.code === "UNTRUSTED_SIGNER") findings.untrusted.push(`${at}: ${err.message}`);
      else if (err.code === "SIGNATURE_INVALID") findings.invalid.push(`${at}: ${err.message}`);
      else if (err.code === "SIGNATURE_MISSING") findings.uncovered.push(`${at}: ${err.message}`);
      else throw new ModelGuardError(err.code, `${at}: ${err.message}`, { cause: err });
    }
  }
  return undefined;
}

/**
 * Decides whether a lockfile entry was approved by a trusted signer: a signature of the entry
 * (`modelguard sign`) by a trusted key, certificate chain or keyless identity, cosign blob
 * signatures of every file by one trusted key, or the publisher's model.sig by any of those. Reads no file bytes: signatures
 * cover the entry (repo, revision, every file's digest) and the bytes are then checked against
 * that same entry. A signature that verifies with a trusted key but no longer matches the entry
 * fails even with `allowUnsigned`: it is evidence of tampering, not the absence of a signature.
 */
export async function checkTrustPolicy(modelName: string, entry: LockedModel, policy: TrustPolicy): Promise<Signer> {
  try {
    return await decideTrust(modelName, entry, policy);
  } catch (err) {
    // A signature that cannot be read (SIGNATURE_MALFORMED, ...) names the model it belongs to.
    if (err instanceof ModelGuardError && err.model === undefined) {
      throw new ModelGuardError(err.code, `model ${modelName}: ${err.message}`, { model: modelName, ...(err.file === undefined ? {} : { file: err.file }), cause: err });
    }
    throw err;
  }
}

async function decideTrust(modelName: string, entry: LockedModel, policy: TrustPolicy): Promise<Signer> {
  const findings: Findings = { invalid: [], untrusted: [], uncovered: [] };
  // Strongest first: a lockfile signature binds the most (see the README's security model). Once
  // a trusted signer's signature is found broken or not matching the entry, no weaker kind is
  // tried: the entry was changed after a trusted signer approved it, and a per-file or
  // publisher signature, which cannot bind the name, repo or paths, must not cover that up.
  const kinds = [
    () => checkModelSignatures(modelName, entry, policy, findings),
    () => checkFileSignatures(entry, policy, findings),
    () => checkPublisherSignatures(entry, policy, findings),
  ];
  for (const kind of kinds) {
    const signer = await kind();
    if (signer) return signer;
    if (findings.invalid.length > 0) break;
  }
  const where = { model: modelName };
  if (findings.invalid.length > 0) {
    throw new ModelGuardError("SIGNATURE_INVALID", `model ${modelName}: ${findings.invalid[0]}`, where);
  }
  if (policy.allowUnsigned) {
    // Signed, just not by anyone trusted: allowed, but not called unsigned (the report says by whom).
    const present = listSignatures(entry);
    return present.length > 0 ? { kind: "unsigned", untrustedSignatures: present } : { kind: "unsigned" };
  }
  if (findings.uncovered.length > 0) {
    throw new ModelGuardError("SIGNATURE_MISSING", `model ${modelName}: ${findings.uncovered[0]}`, where);
  }
  if (findings.untrusted.length > 0) {
    const hint = policy.keys.length === 0 && !policy.identities?.length && !policy.certificateRoots?.length ? " (no trusted keys, certificates or identities were given)" : "";
    // Every signature that was not trusted, each saying who signed it: the operator may hold the right key under another file.
    throw new ModelGuardError("UNTRUSTED_SIGNER", `model ${modelName}: ${findings.untrusted.join("; ")}${hint}`, where);
  }
  throw new ModelGuardError("SIGNATURE_MISSING", `model ${modelName} has no signature; sign it with \`modelguard sign ${modelName} --key cosign.key\` or allow unsigned models`, where);
}
