/**
 * Verifying a Sigstore bundle offline with sigstore-js (`@sigstore/verify`), as a pipeline:
 * bundle → signed entity → sigstore-js checks (timestamps, certificate chain and SCTs or key,
 * transparency-log inclusion and body, signature) → the signer's identity against the policy.
 */
import type { KeyObject } from "node:crypto";
import type { Bundle } from "@sigstore/bundle";
import type { TrustedRoot } from "@sigstore/protobuf-specs";
import { PolicyError, Verifier, VerificationError, toSignedEntity, toTrustMaterial, type SignedEntity } from "@sigstore/verify";
import { ModelGuardError } from "../../errors.js";
import { publicKeyId } from "../../keys/load-key.js";
import { verifyDsseSignature } from "../dsse-bundle.js";
import { describePolicy, matchesIdentity, type IdentityPolicy } from "./identity.js";

export interface SigstoreTrust {
  trustedRoot: TrustedRoot;
  /** Keyless: who may have signed. */
  identities?: readonly IdentityPolicy[];
  /** Self-managed keys (cosign --key): any of these. */
  keys?: readonly KeyObject[];
  /** Key signatures only: do not require (or look at) a transparency-log entry, like cosign --insecure-ignore-tlog. */
  ignoreTlog?: boolean;
}

export type SigstoreSigner = { method: "sigstore"; identity: string; issuer: string } | { method: "key"; keyId: string };

/** Step 1: the bundle as sigstore-js's signed entity; a certificate or timestamp that does not parse is a malformed bundle. */
function signedEntity(bundle: Bundle, artifact?: Buffer): SignedEntity {
  try {
    return toSignedEntity(bundle, artifact);
  } catch (cause) {
    throw new ModelGuardError("SIGNATURE_MALFORMED", `the Sigstore bundle cannot be read: ${(cause as Error).message}`, { cause });
  }
}

/**
 * Step 2: DSSE signatures checked with the hash that matches an EC key's curve, as sigstore-go,
 * cosign and model_signing sign them; sigstore-js would use SHA-256 for every curve. Other keys
 * keep sigstore-js's check. Message signatures already name their hash.
 */
function withCurveHashForDsse(entity: SignedEntity, bundle: Bundle): SignedEntity {
  if (bundle.content.$case !== "dsseEnvelope") return entity;
  const envelope = bundle.content.dsseEnvelope;
  const inner = entity.signature;
  const signature: SignedEntity["signature"] = {
    get signature() {
      return inner.signature;
    },
    compareSignature: (sig) => inner.compareSignature(sig),
    compareDigest: (digest) => inner.compareDigest(digest),
    verifySignature: (key) => (key.asymmetricKeyType === "ec" ? verifyDsseSignature(envelope, inner.signature, key) : inner.verifySignature(key)),
  };
  return { ...entity, signature };
}

/** sigstore-js failures as modelguard errors: trust problems vs. broken signatures. */
function toModelGuardError(err: unknown): ModelGuardError {
  if (err instanceof ModelGuardError) return err;
  const cause = (err as { cause?: Error }).cause;
  const detail = `${(err as Error).message}${cause?.message ? `: ${cause.message}` : ""}`;
  if (err instanceof PolicyError) return new ModelGuardError("UNTRUSTED_SIGNER", detail, { cause: err });
  if (err instanceof VerificationError && (err.code === "CERTIFICATE_ERROR" || err.code === "PUBLIC_KEY_ERROR")) {
    return new ModelGuardError("UNTRUSTED_SIGNER", `the signer is not trusted by the trusted root: ${detail}`, { cause: err });
  }
  return new ModelGuardError("SIGNATURE_INVALID", `the Sigstore bundle does not verify: ${detail}`, { cause: err });
}

function verifyKeyless(entity: SignedEntity, trust: SigstoreTrust): SigstoreSigner {
  const identities = trust.identities ?? [];
  if (identities.length === 0) {
    throw new ModelGuardError("UNTRUSTED_SIGNER", "the bundle is signed keylessly (with a certificate) but no identity was given to trust");
  }
  // sigstore-js's own thresholds: one SCT, one transparency-log entry, one verified timestamp
  // (Rekor's integrated time or an RFC 3161 timestamp), at which the certificate was valid.
  const signer = new Verifier(toTrustMaterial(trust.trustedRoot)).verify(entity);
  const found = { identity: signer.identity?.subjectAlternativeName ?? "", issuer: signer.identity?.extensions?.issuer ?? "" };
  // Matched here, not through sigstore-js's policy, which treats the identity as an unanchored
  // regular expression: "alice@example.com" would also accept "malice@example.com.evil".
  if (!identities.some((policy) => matchesIdentity(policy, found))) {
    throw new ModelGuardError(
      "UNTRUSTED_SIGNER",
      `the bundle was signed by ${found.identity || "(no identity)"} (issuer ${found.issuer || "(none)"}), not by ${identities.map(describePolicy).join(" or ")}`,
    );
  }
  return { method: "sigstore", ...found };
}

function verifyWithKey(entity: SignedEntity, trust: SigstoreTrust): SigstoreSigner {
  const keys = trust.keys ?? [];
  if (keys.length === 0) throw new ModelGuardError("UNTRUSTED_SIGNER", "the bundle is signed with a key but no key was given to trust");
  const checked: SignedEntity = trust.ignoreTlog
    ? { ...entity, tlogEntries: [], timestamps: entity.timestamps.filter((t) => t.$case === "timestamp-authority") }
    : entity;
  // Keys have no validity period, so no timestamp is needed; the log entry is, unless waived.
  const options = { ctlogThreshold: 0, tlogThreshold: trust.ignoreTlog ? 0 : 1, timestampThreshold: 0 };
  let last: unknown;
  // cosign ignores the bundle's key hint and uses the key it is given; each trusted key is tried.
  for (const key of keys) {
    const material = toTrustMaterial(trust.trustedRoot, () => ({ publicKey: key, validFor: () => true }));
    try {
      new Verifier(material, options).verify(checked);
      return { method: "key", keyId: publicKeyId(key) };
    } catch (err) {
      last = err;
    }
  }
  throw last;
}

/**
 * Verifies a parsed Sigstore bundle against the trust given; `artifact` is the signed blob for
 * message signatures. Returns who signed; throws UNTRUSTED_SIGNER or SIGNATURE_INVALID.
 */
export function verifySigstoreBundle(bundle: Bundle, trust: SigstoreTrust, artifact?: Buffer): SigstoreSigner {
  const entity = withCurveHashForDsse(signedEntity(bundle, artifact), bundle);
  try {
    return entity.key.$case === "public-key" ? verifyWithKey(entity, trust) : verifyKeyless(entity, trust);
  } catch (err) {
    throw toModelGuardError(err);
  }
}
