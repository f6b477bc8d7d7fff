/**
 * Lockfile signatures (`modelguard sign`): a Sigstore bundle over an OpenSSF Model Signing
 * statement of the whole entry (name, repo@revision, every path and digest, the gguf layout), by
 * key, certificate or keyless identity, recorded in the entry's `signatures`. The signer is
 * verified as a model.sig's is, then the signed statement must be this entry's: an entry edited
 * after signing is SIGNATURE_INVALID.
 */
import { statementMismatch } from "../locked-model-statement.js";
import { IN_TOTO_PAYLOAD_TYPE } from "../model-statement.js";
import { verifySignedPayload } from "../model-signing/verify-model-signature.js";
import type { TrustAnchors } from "../trust-anchors.js";
import { bundleScheme, recordFinding, signatureTrust, signerOf, type BundleList } from "./bundle-signatures.js";
import { noFindings, type NamedEntry, type SchemeVerdict, type SignatureScheme } from "./signature-scheme.js";

const SIGNATURES: BundleList<unknown> = { field: "signatures", kind: "model-signature", itemsOf: (entry) => entry.signatures, bundleOf: (bundle) => bundle };

async function verify({ name, entry }: NamedEntry, anchors: TrustAnchors): Promise<SchemeVerdict> {
  const findings = noFindings();
  for (const [index, bundleJson] of (entry.signatures ?? []).entries()) {
    const at = `signatures[${index}]`;
    let signed;
    try {
      signed = await verifySignedPayload(bundleJson, signatureTrust(anchors));
    } catch (err) {
      recordFinding(findings, at, err);
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
    return { signer: signerOf(signed.signer, "model-signature") };
  }
  return findings;
}

export const modelSignature: SignatureScheme = bundleScheme("model-signature", SIGNATURES, verify);
