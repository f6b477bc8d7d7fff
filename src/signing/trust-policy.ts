import type { KeyObject } from "node:crypto";
import { ModelGuardError } from "../errors.js";
import type { LockedModel } from "../lockfile/types.js";
import { decodeBlobSignature, verifyBlobDigest } from "./blob-signature.js";
import { readDsseBundle, verifyDsseSignature } from "./dsse-bundle.js";
import { statementMismatch } from "./locked-model-statement.js";
import { IN_TOTO_PAYLOAD_TYPE } from "./model-statement.js";

/** A public key the operator trusts, with its id (`publicKeyId`: the hint bundles carry) for reports. */
export interface TrustedKey {
  key: KeyObject;
  fingerprint: string;
  /** Where it came from (a file path), for messages. */
  source?: string;
}

export interface TrustPolicy {
  keys: TrustedKey[];
  /** Accept a model that carries no signature from a trusted key (never one whose signature is broken). */
  allowUnsigned: boolean;
}

/** Who satisfied the policy for a model. */
export type Signer =
  | { kind: "key"; fingerprint: string; via: "model-signature" | "file-signatures" }
  | { kind: "unsigned" };

interface Findings {
  invalid: string[];
  untrusted: string[];
}

function checkModelSignatures(entry: LockedModel, policy: TrustPolicy, findings: Findings): Signer | undefined {
  for (const [index, bundleJson] of (entry.signatures ?? []).entries()) {
    let signed;
    try {
      signed = readDsseBundle(bundleJson);
    } catch (err) {
      throw new ModelGuardError("SIGNATURE_MALFORMED", `signatures[${index}]: ${(err as Error).message}`);
    }
    for (const signature of signed.signatures) {
      const signer = policy.keys.find((k) => verifyDsseSignature(signed, signature, k.key));
      if (!signer) {
        const hinted = policy.keys.find((k) => k.fingerprint === signed.keyHint);
        if (hinted) findings.invalid.push(`signatures[${index}] does not verify with trusted key ${hinted.fingerprint} (altered signature or payload)`);
        else findings.untrusted.push(`signatures[${index}] was made by key ${signed.keyHint || "(no hint)"}, which is not trusted`);
        continue;
      }
      if (signed.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
        findings.invalid.push(`signatures[${index}] signs a ${signed.payloadType} payload, not an in-toto statement`);
        continue;
      }
      let statement: unknown;
      try {
        statement = JSON.parse(signed.payload.toString("utf8"));
      } catch {
        findings.invalid.push(`signatures[${index}] signs a payload that is not JSON`);
        continue;
      }
      const mismatch = statementMismatch(statement, entry);
      if (mismatch) {
        findings.invalid.push(`the lockfile entry changed after signing: ${mismatch}`);
        continue;
      }
      return { kind: "key", fingerprint: signer.fingerprint, via: "model-signature" };
    }
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
  findings.untrusted.push("no trusted key signed every locked file");
  return undefined;
}

/**
 * Decides whether a lockfile entry was approved by a trusted key. Reads no file bytes: signatures
 * cover the entry (repo, revision, every file's digest) and the bytes are then checked against
 * that same entry. A signature that verifies with a trusted key but no longer matches the entry
 * fails even with `allowUnsigned`: it is evidence of tampering, not the absence of a signature.
 */
export function checkTrustPolicy(modelName: string, entry: LockedModel, policy: TrustPolicy): Signer {
  const findings: Findings = { invalid: [], untrusted: [] };
  const signer =
    checkModelSignatures(entry, policy, findings) ?? checkFileSignatures(entry, policy, findings);
  if (signer) return signer;
  const where = { model: modelName };
  if (findings.invalid.length > 0) {
    throw new ModelGuardError("SIGNATURE_INVALID", `model ${modelName}: ${findings.invalid[0]}`, where);
  }
  if (policy.allowUnsigned) return { kind: "unsigned" };
  if (findings.untrusted.length > 0) {
    const hint = policy.keys.length === 0 ? " (no trusted keys were given)" : "";
    throw new ModelGuardError("UNTRUSTED_SIGNER", `model ${modelName}: ${findings.untrusted[0]}${hint}`, where);
  }
  throw new ModelGuardError("SIGNATURE_MISSING", `model ${modelName} has no signature; sign it with \`modelguard sign ${modelName} --key cosign.key\` or allow unsigned models`, where);
}
