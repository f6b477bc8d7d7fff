/**
 * Not a scheme: what the two bundle schemes (lockfile signatures and publishers' `model.sig`) share: both are
 * Sigstore bundles over an OpenSSF Model Signing statement, signed by key, certificate or keyless
 * identity, and both sit in the entry as a list. Here: the anchors as their verifier takes them,
 * the verified signer as a `Signer`, a failure sorted into the findings, and listing and
 * dropping a list of bundles by who they claim.
 */
import { ModelGuardError, withErrorContext, type ErrorCode } from "../../errors.js";
import type { LockedModel } from "../../lockfile/types.js";
import { claimedSigner, sameSigner } from "../bundle-signer.js";
import type { ModelSignatureTrust } from "../model-signing/verify-model-signature.js";
import type { ModelSigner } from "../model-signing/signer.js";
import type { ClaimedSigner, LockedSignature, SignatureVia, Signer } from "../../signers.js";
import type { TrustAnchors } from "../trust-anchors.js";
import type { DroppedSignatures, Findings, SignatureScheme } from "./signature-scheme.js";

type BundleVia = Exclude<SignatureVia, "file-signatures">;

/** The anchors as the model-signing verifier takes them. */
export function signatureTrust(anchors: TrustAnchors): ModelSignatureTrust {
  return {
    keys: anchors.keys.map((k) => k.key),
    identities: anchors.identities ?? [],
    certificateRoots: anchors.certificateRoots ?? [],
    ...(anchors.trustedRoot ? { trustedRoot: anchors.trustedRoot } : {}),
  };
}

export function signerOf(signer: ModelSigner, via: BundleVia): Signer {
  switch (signer.method) {
    case "key":
      return { kind: "key", fingerprint: signer.keyId, via };
    case "sigstore":
      return { kind: "identity", subject: signer.identity, issuer: signer.issuer, via };
    case "certificate":
      return { kind: "certificate", subject: signer.subject, fingerprint: signer.fingerprint, via };
  }
}

/** Which finding each failure of a signature's signer is; any other stops the check. */
const FINDING_OF: Partial<Record<ErrorCode, keyof Findings>> = {
  UNTRUSTED_SIGNER: "untrusted",
  SIGNATURE_INVALID: "invalid",
  // A certificate that does not parse is a broken signature.
  CERTIFICATE_INVALID: "invalid",
};

/**
 * A signature's failure as a finding `at: message`; a failure that is no finding (a bug, or a
 * signature that cannot be read) is rethrown, told where it happened. `more`: what else counts
 * as a finding for this scheme (a publisher's signature that does not cover the entry's files).
 */
export function recordFinding(findings: Findings, at: string, err: unknown, more: Partial<Record<ErrorCode, keyof Findings>> = {}): void {
  const finding = err instanceof ModelGuardError ? (more[err.code] ?? FINDING_OF[err.code]) : undefined;
  if (finding === undefined) throw withErrorContext(err, { prefix: at });
  findings[finding].push(`${at}: ${(err as ModelGuardError).message}`);
}

/** A list of bundles in an entry (`signatures`, `publisherSignatures`) and how to read each. */
export interface BundleList<T> {
  /** The entry field the list sits in; its JSON paths (`signatures[0]`) name it. */
  field: keyof LockedModel;
  kind: LockedSignature["kind"];
  itemsOf(entry: LockedModel): readonly T[] | undefined;
  bundleOf(item: T): unknown;
  /** What else a listing shows of an item (a publisher signature's path). */
  describe?(item: T): Pick<LockedSignature, "path">;
}

function listBundles<T>(entry: LockedModel, list: BundleList<T>): LockedSignature[] {
  return (list.itemsOf(entry) ?? []).map((item, i) => {
    const signer = claimedSigner(list.bundleOf(item));
    return { where: `${list.field}[${i}]`, kind: list.kind, ...list.describe?.(item), ...(signer ? { signer } : {}) };
  });
}

/** The entry without the bundles that claim `signer` (the field goes when none is left). */
function withoutBundlesBy<T>(entry: LockedModel, list: BundleList<T>, signer: ClaimedSigner): DroppedSignatures {
  const dropped: string[] = [];
  const kept = (list.itemsOf(entry) ?? []).filter((item, i) => {
    const mine = sameSigner(claimedSigner(list.bundleOf(item)), signer);
    if (mine) dropped.push(`${list.field}[${i}]`);
    return !mine;
  });
  const { [list.field]: _all, ...rest } = entry;
  return { entry: (kept.length > 0 ? { ...rest, [list.field]: kept } : rest) as LockedModel, dropped };
}

/** A scheme whose signatures are a list of bundles in the entry: its own `verify`, the shared listing and dropping. */
export function bundleScheme<T>(via: BundleVia, list: BundleList<T>, verify: SignatureScheme["verify"]): SignatureScheme {
  return { via, verify, list: (entry) => listBundles(entry, list), without: (entry, signer) => withoutBundlesBy(entry, list, signer) };
}
