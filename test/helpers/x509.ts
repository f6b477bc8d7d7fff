/**
 * X.509 certificates built in code for the Sigstore stand-ins: a CA, and Fulcio-style leaves with
 * an identity, the OIDC issuer extension and an embedded SCT. Hand-written DER because the SCT is
 * a signature over the leaf's own TBSCertificate, which neither `openssl` (see openssl-ca.ts) nor
 * Node's crypto can produce in one step; a DER writer is a few lines and needs no new dependency.
 * Reading is never done here: @sigstore/core and Node parse what this writes.
 */
import { createHash, createPublicKey, sign, X509Certificate, type KeyObject } from "node:crypto";

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One DER TLV. */
export function tlv(tag: number, ...contents: Buffer[]): Buffer {
  const body = Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

export const seq = (...items: Buffer[]) => tlv(0x30, ...items);
const set = (...items: Buffer[]) => tlv(0x31, ...items);
const octets = (bytes: Buffer) => tlv(0x04, bytes);
const utf8 = (text: string) => tlv(0x0c, Buffer.from(text, "utf8"));
const bool = (value: boolean) => tlv(0x01, Buffer.from([value ? 0xff : 0]));
const bits = (bytes: Buffer) => tlv(0x03, Buffer.from([0]), bytes);
const explicit = (n: number, inner: Buffer) => tlv(0xa0 + n, inner);

function integer(value: Buffer): Buffer {
  let bytes = value;
  while (bytes.length > 1 && bytes[0] === 0 && (bytes[1]! & 0x80) === 0) bytes = bytes.subarray(1);
  return tlv(0x02, (bytes[0]! & 0x80) !== 0 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

export function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split(".").map(Number);
  const out = [a! * 40 + b!];
  for (const n of rest) {
    const chunk = [n & 0x7f];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

function time(date: Date): Buffer {
  const iso = date.toISOString().replace(/[-:T]/g, "").slice(0, 14);
  // UTCTime up to 2049, GeneralizedTime after, as RFC 5280 requires.
  return date.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${iso}Z`));
}

function name(commonName: string): Buffer {
  return seq(set(seq(oid("2.5.4.10"), utf8("modelguard tests"))), set(seq(oid("2.5.4.3"), utf8(commonName))));
}

const ECDSA_WITH: Record<string, string> = { sha256: "1.2.840.10045.4.3.2", sha384: "1.2.840.10045.4.3.3" };

function hashFor(key: KeyObject): "sha256" | "sha384" {
  return key.asymmetricKeyDetails?.namedCurve === "secp384r1" ? "sha384" : "sha256";
}

export function spki(key: KeyObject): Buffer {
  return (key.type === "private" ? createPublicKey(key) : key).export({ type: "spki", format: "der" });
}

const keyIdOf = (key: KeyObject) => createHash("sha1").update(spki(key)).digest();

/** One extension: OID, critical flag, DER value. */
export interface Extension {
  oid: string;
  critical?: boolean;
  value: Buffer;
}

export const extensions = {
  basicConstraints: (ca: boolean): Extension => ({ oid: "2.5.29.19", critical: true, value: seq(...(ca ? [bool(true)] : [])) }),
  /** keyUsage bits: 0x80 digitalSignature, 0x04 keyCertSign, 0x02 cRLSign. */
  keyUsage: (mask: number): Extension => {
    // DER: the count of unused (trailing zero) bits of the one byte comes first.
    let unused = 0;
    while (unused < 7 && ((mask >> unused) & 1) === 0) unused++;
    return { oid: "2.5.29.15", critical: true, value: tlv(0x03, Buffer.from([unused, mask])) };
  },
  codeSigning: (): Extension => ({ oid: "2.5.29.37", value: seq(oid("1.3.6.1.5.5.7.3.3")) }),
  /** An rfc822Name for an email identity, else a URI. */
  subjectAltName: (identity: string): Extension => ({
    oid: "2.5.29.17",
    critical: true,
    value: seq(tlv(identity.includes("@") && !identity.includes("/") ? 0x81 : 0x86, Buffer.from(identity, "utf8"))),
  }),
  /** Fulcio's OIDC issuer, in both encodings Fulcio writes: v1 raw text, v2 a UTF8String. */
  fulcioIssuer: (issuer: string): Extension[] => [
    { oid: "1.3.6.1.4.1.57264.1.1", value: Buffer.from(issuer, "utf8") },
    { oid: "1.3.6.1.4.1.57264.1.8", value: utf8(issuer) },
  ],
  /** An embedded SCT list (RFC 6962 3.3): already TLS-encoded SCTs. */
  sctList: (scts: Buffer[]): Extension => {
    const items = Buffer.concat(scts.map((s) => Buffer.concat([uint(s.length, 2), s])));
    return { oid: "1.3.6.1.4.1.11129.2.4.2", value: octets(Buffer.concat([uint(items.length, 2), items])) };
  },
};

export function uint(value: number | bigint, bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  let v = BigInt(value);
  for (let i = bytes - 1; i >= 0; i--, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

function extensionDer(ext: Extension): Buffer {
  return seq(oid(ext.oid), ...(ext.critical ? [bool(true)] : []), octets(ext.value));
}

export interface Issuer {
  commonName: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export interface CertificateSpec {
  commonName: string;
  publicKey: KeyObject;
  /** The issuing CA; omitted for a self-signed certificate (then `selfKey` signs). */
  issuer?: Issuer;
  selfKey?: KeyObject;
  notBefore: Date;
  notAfter: Date;
  extensions: Extension[];
  serial?: Buffer;
}

/** The TBSCertificate of a spec: what the issuer signs, and what an SCT covers (without the SCT). */
export function tbsCertificate(spec: CertificateSpec): Buffer {
  const issuerName = spec.issuer?.commonName ?? spec.commonName;
  const issuerKey = spec.issuer?.publicKey ?? spec.publicKey;
  const signer = spec.issuer?.privateKey ?? spec.selfKey!;
  const exts = [
    { oid: "2.5.29.14", value: octets(keyIdOf(spec.publicKey)) },
    { oid: "2.5.29.35", value: seq(tlv(0x80, keyIdOf(issuerKey))) },
    ...spec.extensions,
  ];
  return seq(
    explicit(0, integer(Buffer.from([2]))),
    integer(spec.serial ?? Buffer.from(createHash("sha256").update(spki(spec.publicKey)).update(String(spec.notBefore.getTime())).digest().subarray(0, 16))),
    seq(oid(ECDSA_WITH[hashFor(signer)]!)),
    name(issuerName),
    seq(time(spec.notBefore), time(spec.notAfter)),
    name(spec.commonName),
    spki(spec.publicKey),
    explicit(3, seq(...exts.map(extensionDer))),
  );
}

/** The certificate for a spec, signed by its issuer (or itself). */
export function issueCertificate(spec: CertificateSpec): X509Certificate {
  const signer = spec.issuer?.privateKey ?? spec.selfKey!;
  const tbs = tbsCertificate(spec);
  const hash = hashFor(signer);
  const signature = sign(hash, tbs, { key: signer, dsaEncoding: "der" });
  return new X509Certificate(seq(tbs, seq(oid(ECDSA_WITH[hash]!)), bits(signature)));
}

/** The ECDSA key pair of a CA and its self-signed certificate. */
export function makeCa(commonName: string, keys: { privateKey: KeyObject; publicKey: KeyObject }, notBefore: Date, notAfter: Date): Issuer & { certificate: X509Certificate } {
  const certificate = issueCertificate({
    commonName,
    publicKey: keys.publicKey,
    selfKey: keys.privateKey,
    notBefore,
    notAfter,
    extensions: [extensions.basicConstraints(true), extensions.keyUsage(0x06)],
  });
  return { commonName, ...keys, certificate };
}
