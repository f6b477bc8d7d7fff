/**
 * model_signing `verify key`: the DSSE envelope is signed by one of the trusted EC keys, with the
 * hash that matches the key's curve.
 */
import type { KeyObject } from "node:crypto";
import { ModelGuardError } from "../../errors.js";
import { escapeForTerminal } from "../../terminal-text.js";
import { publicKeyId } from "../../keys/load-key.js";
import { verifyDsseSignature } from "../dsse-bundle.js";
import type { DsseBundle } from "../sigstore/read-bundle.js";
import type { VerifiedPayload } from "./signer.js";

export function verifyWithKeys(bundle: DsseBundle, keys: readonly KeyObject[]): VerifiedPayload {
  const material = bundle.verificationMaterial.content;
  if (material.$case !== "publicKey") {
    throw new ModelGuardError(
      "UNTRUSTED_SIGNER",
      "the model was signed with a certificate, not a key; verify it with --certificate-chain or --identity",
    );
  }
  const envelope = bundle.content.dsseEnvelope;
  // The reference only ever looks at the first signature.
  const signature = envelope.signatures[0]!.sig;
  const ids = keys.map((key) => ({ key, id: publicKeyId(key) }));

  // model_signing 1.1 names the key (SHA-256 of its PEM); a named key must be a trusted one.
  // Older signatures carry the raw key instead, which proves nothing: every trusted key is tried.
  const hint = material.publicKey.hint;
  const candidates = hint ? ids.filter((k) => k.id === hint) : ids;
  const shownHint = escapeForTerminal(hint ?? "");
  if (hint && candidates.length === 0) {
    const trusted = ids.map((k) => k.id).join(", ");
    throw new ModelGuardError("UNTRUSTED_SIGNER", `the model was signed by key ${shownHint}, which is not trusted (trusted: ${trusted})`);
  }
  for (const { key, id } of candidates) {
    // compat: model_signing 0.2's encoding too, which its verifier still accepts for keys.
    if (verifyDsseSignature(envelope, signature, key, { compat: true })) {
      return { payloadType: envelope.payloadType, payload: envelope.payload, signer: { method: "key", keyId: id } };
    }
  }
  throw new ModelGuardError(
    "SIGNATURE_INVALID",
    hint
      ? `the signature does not verify with key ${shownHint} (the signature or the signed statement was altered)`
      : "the signature does not verify with the trusted key (altered, or made by another key)",
  );
}
