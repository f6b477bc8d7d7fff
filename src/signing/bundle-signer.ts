/**
 * Who a signature bundle says made it, read without verifying anything: for replacing a
 * signer's older signature when it signs again, and for listing signatures. Never for trust:
 * that is the trust policy's job, against the caller's anchors.
 */
import type { X509Certificate } from "@sigstore/core";
import { parseCertificate } from "./model-signing/x509-chain.js";
import type { ClaimedSigner } from "../signers.js";
import { claimedMaterial } from "./sigstore/read-bundle.js";

const FULCIO_ISSUER_V1 = "1.3.6.1.4.1.57264.1.1";
const FULCIO_ISSUER_V2 = "1.3.6.1.4.1.57264.1.8";

/** The OIDC issuer a Fulcio certificate records: v2 is a DER UTF8String, v1 the raw text. */
export function fulcioIssuer(cert: X509Certificate): string | undefined {
  const v2 = cert.extension(FULCIO_ISSUER_V2);
  if (v2) return v2.valueObj.subs[0]?.value.toString("utf8");
  return cert.extension(FULCIO_ISSUER_V1)?.value.toString("utf8");
}

/** The claimed signer of a bundle, or undefined when it names none that can be read. */
export function claimedSigner(bundleJson: unknown): ClaimedSigner | undefined {
  const material = claimedMaterial(bundleJson);
  if (material?.$case === "publicKey") return material.publicKey.hint ? { kind: "key", fingerprint: material.publicKey.hint } : undefined;
  const der =
    material?.$case === "certificate" ? material.certificate.rawBytes : material?.$case === "x509CertificateChain" ? material.x509CertificateChain.certificates[0]?.rawBytes : undefined;
  if (der === undefined) return undefined;
  try {
    const leaf = parseCertificate(Buffer.from(der), "the signing certificate");
    const issuer = fulcioIssuer(leaf.parsed);
    const identity = leaf.parsed.subjectAltName;
    if (issuer !== undefined && identity !== undefined) return { kind: "identity", subject: identity, issuer };
    return { kind: "certificate", subject: leaf.node.subject.replaceAll("\n", ", "), fingerprint: leaf.node.fingerprint256 };
  } catch {
    return undefined;
  }
}

export function sameSigner(a: ClaimedSigner | undefined, b: ClaimedSigner | undefined): boolean {
  if (a === undefined || b === undefined || a.kind !== b.kind) return false;
  switch (a.kind) {
    case "key":
      return a.fingerprint === (b as typeof a).fingerprint;
    case "identity":
      return a.subject === (b as typeof a).subject && a.issuer === (b as typeof a).issuer;
    case "certificate":
      return a.fingerprint === (b as typeof a).fingerprint;
  }
}
