/**
 * X.509 path validation for model_signing's certificate mode: the leaf and intermediates come
 * from the bundle, trust comes only from the certificates the user names. Mirrors what the
 * reference gets from OpenSSL (`X509StoreContext.verify_certificate`) with its default flags:
 * the path must end at a self-signed certificate the user trusts; every issuer must be a CA
 * allowed to sign certificates; path length limits hold; no unknown critical extension; every
 * certificate valid at the given time.
 *
 * Hand-written path building and checks (parsing and signatures are libraries: @sigstore/core's
 * X509Certificate and Node's crypto), because none of the maintained libraries checks what
 * OpenSSL checks here (read at @sigstore/verify 3.1, pkijs 3.4, @peculiar/x509 2.0):
 * - @sigstore/verify's CertificateChainVerifier is internal (not exported from its index), meant
 *   for a trusted root's own CA chains: it accepts a path that merely contains a trusted
 *   certificate, does not refuse unknown critical extensions, and throws as soon as one candidate
 *   issuer (a cross-certificate in the bundle) has no issuer of its own, so extra certificates can
 *   fail a valid path;
 * - pkijs's CertificateChainValidationEngine ends a path at any trusted certificate (OpenSSL's
 *   partial-chain mode, not its default), refuses only critical extensions it cannot parse, has the
 *   same throw on a dead-end candidate, and would add a second ASN.1 stack (asn1js, pvtsutils,
 *   bytestreamjs) beside @sigstore/core's;
 * - @peculiar/x509's X509ChainBuilder links each certificate to the first issuer whose name and
 *   signature fit (no backtracking) and checks no validity, CA, path length or critical extension.
 * Revisit if one of them grows OpenSSL's default semantics; the tests in
 * test/signing/model-signing.test.ts ("certificate chains") are the bar.
 */
import { X509Certificate as NodeX509 } from "node:crypto";
import { X509Certificate } from "@sigstore/core";
import { ModelGuardError } from "../../errors.js";
import { findPemBlocks } from "../../keys/pem.js";

/** One certificate, parsed twice: @sigstore/core reads the extensions, Node's crypto (OpenSSL) checks signatures. */
export interface Certificate {
  der: Buffer;
  parsed: X509Certificate;
  node: NodeX509;
}

export function parseCertificate(der: Buffer, what: string): Certificate {
  try {
    // A copy on its own ArrayBuffer, which @sigstore/core's parser requires.
    const own = Buffer.from(der);
    return { der: own, parsed: X509Certificate.parse(own), node: new NodeX509(own) };
  } catch (cause) {
    throw new ModelGuardError("CERTIFICATE_INVALID", `${what} is not a valid X.509 certificate`, { cause });
  }
}

/** Every CERTIFICATE block of a PEM file (text around them is ignored, like OpenSSL does). */
export function parseCertificatesPem(text: string, what: string): Certificate[] {
  let blocks;
  try {
    blocks = findPemBlocks(text);
  } catch (cause) {
    throw new ModelGuardError("CERTIFICATE_INVALID", `${what}: ${(cause as Error).message}`, { cause });
  }
  const certs = blocks.filter((b) => b.label === "CERTIFICATE");
  if (certs.length === 0) throw new ModelGuardError("CERTIFICATE_INVALID", `${what}: no CERTIFICATE PEM block found`);
  return certs.map((b, i) => parseCertificate(b.der, `${what} (certificate ${i + 1})`));
}

// Extensions OpenSSL understands; a critical extension outside this list fails verification
// there (X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION), so it fails here too.
// Extensions whose meaning this verifier applies (or that do not restrict a chain). Name and policy
// constraints are not evaluated here, so a chain marking them critical is refused, as it must be
// by a verifier that does not enforce them (RFC 5280 4.2).
const KNOWN_EXTENSIONS = new Set([
  "2.5.29.14", // subjectKeyIdentifier
  "2.5.29.15", // keyUsage
  "2.5.29.17", // subjectAltName
  "2.5.29.18", // issuerAltName
  "2.5.29.19", // basicConstraints
  "2.5.29.31", // cRLDistributionPoints
  "2.5.29.32", // certificatePolicies
  "2.5.29.35", // authorityKeyIdentifier
  "2.5.29.37", // extKeyUsage
  "1.3.6.1.5.5.7.1.1", // authorityInfoAccess
]);

function unknownCriticalExtension(cert: Certificate): string | undefined {
  for (const ext of cert.parsed.extensions) {
    const oid = ext.subs[0]?.toOID();
    // Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue }
    const critical = ext.subs.length === 3 && ext.subs[1]?.toBoolean() === true;
    if (critical && oid !== undefined && !KNOWN_EXTENSIONS.has(oid)) return oid;
  }
  return undefined;
}

function isSelfSigned(cert: Certificate): boolean {
  return cert.parsed.subject.equals(cert.parsed.issuer) && cert.node.verify(cert.node.publicKey);
}

/** Whether `issuer` issued `child`: names chain, key identifiers agree when both are present, and the signature verifies. */
function issued(issuer: Certificate, child: Certificate): boolean {
  if (!child.parsed.issuer.equals(issuer.parsed.subject)) return false;
  const aki = child.parsed.extAuthorityKeyID?.keyIdentifier;
  const ski = issuer.parsed.extSubjectKeyID?.keyIdentifier;
  if (aki !== undefined && ski !== undefined && !aki.equals(ski)) return false;
  try {
    return child.node.verify(issuer.node.publicKey);
  } catch {
    return false;
  }
}

function describe(cert: Certificate): string {
  return cert.node.subject.replaceAll("\n", ", ") || "(empty subject)";
}

export interface ChainInput {
  leaf: Certificate;
  /** Untrusted helpers from the signature (the bundle's other certificates). */
  intermediates: Certificate[];
  /** Trust anchors: the user's certificates. */
  trusted: Certificate[];
  /** The time every certificate must be valid at. */
  at: Date;
}

/**
 * The validated path leaf → trusted self-signed root, or UNTRUSTED_SIGNER saying why none
 * exists. Depth-first over candidate issuers, so a bundle carrying extra or decoy certificates
 * cannot make a valid path fail, and cannot make an invalid one pass.
 */
export function verifyCertificateChain({ leaf, intermediates, trusted, at }: ChainInput): Certificate[] {
  const pool = [...trusted, ...intermediates];
  const isTrusted = (cert: Certificate): boolean => trusted.some((t) => t.der.equals(cert.der));
  const problems: string[] = [];

  const check = (cert: Certificate, isLeaf: boolean, depth: number): string | undefined => {
    if (!cert.parsed.validForDate(at)) {
      return `${describe(cert)} is not valid at ${at.toISOString()} (valid ${cert.parsed.notBefore.toISOString()} to ${cert.parsed.notAfter.toISOString()})`;
    }
    const critical = unknownCriticalExtension(cert);
    if (critical !== undefined) return `${describe(cert)} has the unsupported critical extension ${critical}`;
    if (!isLeaf) {
      // isCA requires basicConstraints cA and, when keyUsage is present, keyCertSign.
      if (!cert.parsed.isCA) return `${describe(cert)} is not a CA allowed to sign certificates`;
      const pathLen = cert.parsed.extBasicConstraints?.pathLenConstraint;
      // depth - 1 intermediates sit between this CA and the leaf.
      if (pathLen !== undefined && pathLen < BigInt(depth - 1)) return `${describe(cert)} allows only ${pathLen} intermediate CAs below it`;
    }
    return undefined;
  };

  const extend = (path: Certificate[]): Certificate[] | undefined => {
    const current = path[path.length - 1]!;
    if (isTrusted(current) && isSelfSigned(current)) return path;
    if (path.length > 10) {
      problems.push("the certificate chain is too long");
      return undefined;
    }
    for (const candidate of pool) {
      if (path.some((c) => c.der.equals(candidate.der)) || !issued(candidate, current)) continue;
      const problem = check(candidate, false, path.length);
      if (problem !== undefined) {
        problems.push(problem);
        continue;
      }
      const found = extend([...path, candidate]);
      if (found !== undefined) return found;
    }
    return undefined;
  };

  const leafProblem = check(leaf, true, 0);
  if (leafProblem !== undefined) throw new ModelGuardError("UNTRUSTED_SIGNER", `signing certificate: ${leafProblem}`);
  const path = extend([leaf]);
  if (path === undefined) {
    const why = problems[0] ?? `no chain from ${describe(leaf)} to a trusted root certificate`;
    throw new ModelGuardError("UNTRUSTED_SIGNER", `the signing certificate is not trusted: ${why}`);
  }
  return path;
}

const CODE_SIGNING = "1.3.6.1.5.5.7.3.3";

/**
 * model_signing's check that the leaf may sign: keyUsage digitalSignature, or else the
 * extended key usage codeSigning.
 */
export function canSign(leaf: Certificate): boolean {
  if (leaf.parsed.extKeyUsage?.digitalSignature) return true;
  // Node's X509Certificate.keyUsage is the *extended* key usage list.
  return leaf.node.keyUsage?.includes(CODE_SIGNING) ?? false;
}
