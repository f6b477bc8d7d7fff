/**
 * A publisher's OpenSSF Model Signing signature (`model.sig` in the repo), recorded by `add` in
 * the entry's `publisherSignatures`, checked against the locked digests (no file is read): a
 * trusted signer (step 1, `verifyPublisherSigner`) that signed exactly the locked files with
 * their locked digests (step 2, `checkPublisherManifest`). `recorded.path` says where the
 * signature was found and plays no part in the decision. A publisher's signature cannot bind
 * what it never saw: the lockfile's model name, repo and revision (see the README's security
 * model).
 */
import { ModelGuardError, withErrorContext } from "../../errors.js";
import type { LockedModel, PublisherSignature } from "../../lockfile/types.js";
import { escapeForTerminal } from "../../terminal-text.js";
import { verifySignedManifest } from "../model-signing/verify-model-signature.js";
import type { SignedManifest } from "../model-signing/signed-manifest.js";
import type { Signer } from "../../signers.js";
import type { TrustAnchors } from "../trust-anchors.js";
import { bundleScheme, recordFinding, signatureTrust, signerOf, type BundleList } from "./bundle-signatures.js";
import { noFindings, type NamedEntry, type SchemeVerdict, type SignatureScheme } from "./signature-scheme.js";

/** A publisher's signature whose signer the policy trusts, and the files it signed. */
export interface TrustedPublisherSignature {
  signer: Signer;
  manifest: SignedManifest;
}

/**
 * Step 1: its signer is one the anchors trust (key, certificate or keyless identity) and it
 * signs whole files by sha256, the only form that can be compared with locked digests without
 * reading a byte. Throws UNTRUSTED_SIGNER, SIGNATURE_INVALID or SIGNATURE_MALFORMED.
 */
export async function verifyPublisherSigner(bundle: unknown, anchors: TrustAnchors): Promise<TrustedPublisherSignature> {
  let verified;
  try {
    verified = await verifySignedManifest(bundle, signatureTrust(anchors));
  } catch (err) {
    // A certificate that does not parse is a broken signature.
    throw err instanceof ModelGuardError && err.code === "CERTIFICATE_INVALID" ? withErrorContext(err, { code: "SIGNATURE_INVALID" }) : err;
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

/** Steps 1 and 2 for one recorded signature: the signer that vouches for exactly the entry's files. */
export async function verifyPublisherSignature(entry: Pick<LockedModel, "files">, recorded: PublisherSignature, anchors: TrustAnchors): Promise<Signer> {
  const { signer, manifest } = await verifyPublisherSigner(recorded.bundle, anchors);
  checkPublisherManifest(entry.files, manifest);
  return signer;
}

const PUBLISHER_SIGNATURES: BundleList<PublisherSignature> = {
  field: "publisherSignatures",
  kind: "publisher-signature",
  itemsOf: (entry) => entry.publisherSignatures,
  bundleOf: (p) => p.bundle,
  describe: (p) => ({ path: p.path }),
};

async function verify({ entry }: NamedEntry, anchors: TrustAnchors): Promise<SchemeVerdict> {
  const findings = noFindings();
  for (const [index, recorded] of (entry.publisherSignatures ?? []).entries()) {
    try {
      return { signer: await verifyPublisherSignature(entry, recorded, anchors) };
    } catch (err) {
      // Valid and trusted, but not for exactly these files: it covers the entry no more than none would.
      recordFinding(findings, `publisherSignatures[${index}] (${escapeForTerminal(recorded.path)})`, err, { SIGNATURE_MISSING: "uncovered" });
    }
  }
  return findings;
}

export const publisherSignature: SignatureScheme = bundleScheme("publisher-signature", PUBLISHER_SIGNATURES, verify);
