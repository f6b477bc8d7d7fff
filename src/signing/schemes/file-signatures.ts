/**
 * Per-file cosign signatures (`cosign sign-blob --key`), recorded on each locked file
 * (`files[path].signatures`): the policy is met when one trusted key signed every locked file,
 * each signature checked against the file's locked sha256 (no byte read; `blob-signature.ts`).
 * They bind each file's digest, not the model's name, repo or paths.
 */
import type { KeyObject } from "node:crypto";
import { ModelGuardError } from "../../errors.js";
import type { BlobSignature, LockedFile, LockedModel } from "../../lockfile/types.js";
import { escapeForTerminal } from "../../terminal-text.js";
import { decodeBlobSignature, verifyBlobDigest } from "../blob-signature.js";
import type { ClaimedSigner, LockedSignature } from "../../signers.js";
import type { TrustAnchors } from "../trust-anchors.js";
import { noFindings, type DroppedSignatures, type NamedEntry, type SchemeVerdict, type SignatureScheme } from "./signature-scheme.js";

function signedWith(file: LockedFile, s: BlobSignature, key: KeyObject): boolean {
  const sig = decodeBlobSignature(s.sig);
  return sig !== undefined && verifyBlobDigest(file.sha256, sig, key);
}

async function verify({ entry }: NamedEntry, anchors: TrustAnchors): Promise<SchemeVerdict> {
  const findings = noFindings();
  const files = Object.entries(entry.files);
  if (!files.some(([, f]) => f.signatures?.length)) return findings;
  for (const key of anchors.keys) {
    if (files.every(([, f]) => f.signatures?.some((s) => signedWith(f, s, key.key)))) {
      return { signer: { kind: "key", fingerprint: key.fingerprint, via: "file-signatures" } };
    }
  }
  for (const [path, file] of files) {
    for (const s of file.signatures ?? []) {
      if (decodeBlobSignature(s.sig) === undefined) {
        throw new ModelGuardError("SIGNATURE_MALFORMED", `files[${JSON.stringify(path)}].signatures: not base64`, { file: path });
      }
      const named = anchors.keys.find((k) => k.fingerprint === s.keyid);
      if (named) findings.invalid.push(`the signature of ${path} does not verify with trusted key ${named.fingerprint}`);
    }
  }
  const namedIds = [...new Set(files.flatMap(([, f]) => (f.signatures ?? []).map((s) => s.keyid).filter((id) => id !== undefined)))];
  const trusted = anchors.keys.map((k) => k.fingerprint);
  findings.untrusted.push(
    `no trusted key signed every locked file (file signatures by ${namedIds.length > 0 ? `key ${namedIds.map((id) => escapeForTerminal(id)).join(", key ")}` : "keys they do not name"}; trusted: ${trusted.length > 0 ? trusted.join(", ") : "none"})`,
  );
  return findings;
}

function list(entry: LockedModel): LockedSignature[] {
  return Object.entries(entry.files).flatMap(([path, file]) =>
    (file.signatures ?? []).map((s, i) => ({
      where: `files[${JSON.stringify(path)}].signatures[${i}]`,
      kind: "file-signature" as const,
      ...(s.keyid ? { signer: { kind: "key" as const, fingerprint: s.keyid } } : {}),
    })),
  );
}

/** A key's file signatures: labelled with its id or, given the public key, verifying with it (cosign's often carry no label). */
function without(entry: LockedModel, signer: ClaimedSigner, publicKey?: KeyObject): DroppedSignatures {
  const dropped: string[] = [];
  const files = Object.fromEntries(
    Object.entries(entry.files).map(([path, file]) => {
      if (!file.signatures) return [path, file];
      const kept = file.signatures.filter((s, i) => {
        const mine = signer.kind === "key" && (s.keyid === signer.fingerprint || (publicKey !== undefined && signedWith(file, s, publicKey)));
        if (mine) dropped.push(`files[${JSON.stringify(path)}].signatures[${i}]`);
        return !mine;
      });
      const { signatures: _all, ...rest } = file;
      return [path, kept.length > 0 ? { ...rest, signatures: kept } : rest];
    }),
  );
  return { entry: dropped.length > 0 ? { ...entry, files } : entry, dropped };
}

export const fileSignatures: SignatureScheme = { via: "file-signatures", verify, list, without };
