/**
 * model_signing `verify certificate`: the bundle's certificate chain leads to a root the user
 * trusts, its leaf may sign, and the leaf's EC key signed the DSSE envelope.
 */
import { ModelGuardError } from "../../errors.js";
import { supportedCurve } from "../../keys/key-types.js";
import { verifyDsseSignature } from "../dsse-bundle.js";
import type { DsseBundle } from "../sigstore/read-bundle.js";
import type { VerifiedPayload } from "./signer.js";
import { canSign, parseCertificate, verifyCertificateChain, type Certificate } from "./x509-chain.js";

function bundleCertificates(bundle: DsseBundle): Certificate[] {
  const material = bundle.verificationMaterial.content;
  const raw =
    material.$case === "x509CertificateChain"
      ? material.x509CertificateChain.certificates.map((c) => c.rawBytes)
      : material.$case === "certificate"
        ? [material.certificate.rawBytes]
        : [];
  if (raw.length === 0) {
    throw new ModelGuardError("UNTRUSTED_SIGNER", "the model was signed with a key, not a certificate; verify it with --key");
  }
  return raw.map((der, i) => parseCertificate(Buffer.from(der), `certificate ${i + 1} of the signature`));
}

export function verifyWithCertificateChain(bundle: DsseBundle, trusted: readonly Certificate[]): VerifiedPayload {
  const [leaf, ...intermediates] = bundleCertificates(bundle);
  // The reference checks the chain at the moment the leaf became valid (OpenSSL's store time
  // is set to the leaf's notBefore): a traditional signature carries no trusted timestamp, and
  // the leaf's start is the earliest moment the signature can have been made with it.
  verifyCertificateChain({ leaf: leaf!, intermediates, trusted: [...trusted], at: leaf!.parsed.notBefore });
  if (!canSign(leaf!)) {
    throw new ModelGuardError(
      "UNTRUSTED_SIGNER",
      "the signing certificate may not sign: it has neither the digitalSignature key usage nor the codeSigning extended key usage",
    );
  }
  const key = leaf!.node.publicKey;
  try {
    supportedCurve(key, "the signing certificate's key");
  } catch (err) {
    throw new ModelGuardError("UNTRUSTED_SIGNER", (err as Error).message);
  }
  const envelope = bundle.content.dsseEnvelope;
  if (!verifyDsseSignature(envelope, envelope.signatures[0]!.sig, key)) {
    throw new ModelGuardError("SIGNATURE_INVALID", "the signature does not verify with the signing certificate's key (the signature or the signed statement was altered)");
  }
  return {
    payloadType: envelope.payloadType,
    payload: envelope.payload,
    signer: { method: "certificate", subject: leaf!.node.subject.replaceAll("\n", ", "), fingerprint: leaf!.node.fingerprint256 },
  };
}
