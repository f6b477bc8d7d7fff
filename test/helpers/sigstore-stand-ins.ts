/**
 * A private Sigstore instance for tests, on loopback: an OIDC issuer that mints tokens, a Fulcio
 * that turns them into short-lived certificates (with an SCT from its own CT log), a Rekor that
 * logs entries with signed entry timestamps and Merkle inclusion proofs under signed checkpoints,
 * and the trusted root that names them. sigstore-js signs against these servers and verifies
 * against that root exactly as against the public-good instance; nothing reaches the network.
 *
 * What the stand-ins check, and what they do not:
 * - Fulcio: the token is a JWT signed (ES256) by an issuer it was told to trust, unexpired, with
 *   `sigstore` among its audiences and a verified email when it has one; the proof of possession
 *   is the token's subject signed by the submitted key. It issues the identity the way Fulcio does
 *   for the claims it understands: the email, else `https://github.com/{job_workflow_ref}`
 *   (GitHub Actions), else `sub`. It does not implement OIDC discovery, key rotation, CSRs or
 *   any other issuer type's claim mapping.
 * - Rekor: `dsse` v0.0.1 proposals (what sigstore-js writes for DSSE envelopes); the signature
 *   must verify with the certificate or key proposed with it, as Rekor checks. No other entry
 *   kinds, no search or retrieval.
 */
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, sign, verify, X509Certificate, type KeyObject } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { dsse, json } from "@sigstore/core";
import { extensions, issueCertificate, makeCa, spki, tbsCertificate, uint, type CertificateSpec, type Issuer } from "./x509.js";

const ec = () => generateKeyPairSync("ec", { namedCurve: "prime256v1" });
const b64url = (bytes: Buffer | string) => Buffer.from(bytes).toString("base64url");
const sha256 = (...parts: (Buffer | string)[]) => parts.reduce((h, p) => h.update(p), createHash("sha256")).digest();
const LONG_AGO = new Date("2020-01-01T00:00:00Z");
const FAR_AHEAD = new Date("2045-01-01T00:00:00Z");

// ---------------------------------------------------------------- OIDC

export interface TokenClaims {
  sub: string;
  email?: string;
  email_verified?: boolean;
  job_workflow_ref?: string;
  aud?: string | string[];
  iss?: string;
  /** Seconds since the epoch; default an hour from now. */
  exp?: number;
}

export interface OidcIssuer {
  url: string;
  publicKey: KeyObject;
  /** A signed ES256 JWT for these claims, issued by this issuer. */
  token(claims: TokenClaims): string;
}

export function makeOidcIssuer(url = "https://oidc.test.invalid"): OidcIssuer {
  const keys = ec();
  return {
    url,
    publicKey: keys.publicKey,
    token(claims) {
      const now = Math.floor(Date.now() / 1000);
      const body = { iss: url, aud: "sigstore", iat: now, exp: now + 3600, ...claims };
      const signed = `${b64url(JSON.stringify({ alg: "ES256", typ: "JWT" }))}.${b64url(JSON.stringify(body))}`;
      return `${signed}.${b64url(sign("sha256", Buffer.from(signed), { key: keys.privateKey, dsaEncoding: "ieee-p1363" }))}`;
    },
  };
}

// ---------------------------------------------------------------- HTTP

interface Listening {
  url: string;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

async function readJson(req: IncomingMessage): Promise<any> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new HttpError(400, "body is not JSON");
  }
}

/** A loopback JSON server: `handle` returns [status, body] or throws HttpError. */
async function serveJson(route: string, handle: (body: any) => [number, unknown]): Promise<Listening & { server: Server; requests: number }> {
  const state = { requests: 0 };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    state.requests++;
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.method !== "POST" || req.url !== route) return reply(404, { message: `no route ${req.method} ${req.url}` });
    readJson(req)
      .then((body) => reply(...handle(body)))
      .catch((err: unknown) => reply(err instanceof HttpError ? err.status : 500, { code: err instanceof HttpError ? err.status : 500, message: (err as Error).message }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return state.requests;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

// ---------------------------------------------------------------- Rekor

/** RFC 6962 Merkle tree hashes. */
const leafHash = (leaf: Buffer) => sha256(Buffer.from([0]), leaf);
const nodeHash = (l: Buffer, r: Buffer) => sha256(Buffer.from([1]), l, r);
const split = (n: number) => 2 ** Math.floor(Math.log2(n - 1));

function treeHash(leaves: Buffer[]): Buffer {
  if (leaves.length === 1) return leaves[0]!;
  const k = split(leaves.length);
  return nodeHash(treeHash(leaves.slice(0, k)), treeHash(leaves.slice(k)));
}

/** The audit path of leaf `m`, from the leaf up (RFC 6962 2.1.1 PATH). */
function auditPath(m: number, leaves: Buffer[]): Buffer[] {
  if (leaves.length <= 1) return [];
  const k = split(leaves.length);
  return m < k
    ? [...auditPath(m, leaves.slice(0, k)), treeHash(leaves.slice(k))]
    : [...auditPath(m - k, leaves.slice(k)), treeHash(leaves.slice(0, k))];
}

/** A log's signing key (Rekor's or a CT log's) and its id: SHA-256 of the key's DER SPKI. */
export interface LogKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  logId: Buffer;
  /** This log as an item of a trusted root's `tlogs` or `ctlogs`. */
  trustedRootEntry(baseUrl: string): unknown;
}

export function makeLogKey(): LogKey {
  const keys = ec();
  const logId = sha256(spki(keys.publicKey));
  return {
    ...keys,
    logId,
    trustedRootEntry: (baseUrl) => ({
      baseUrl,
      hashAlgorithm: "SHA2_256",
      publicKey: { rawBytes: spki(keys.publicKey).toString("base64"), keyDetails: "PKIX_ECDSA_P256_SHA_256", validFor: { start: LONG_AGO.toISOString() } },
      logId: { keyId: logId.toString("base64") },
    }),
  };
}

export interface RekorEntry {
  body: string;
  integratedTime: number;
  logID: string;
  logIndex: number;
  verification: {
    signedEntryTimestamp: string;
    inclusionProof: { logIndex: number; rootHash: string; treeSize: number; hashes: string[]; checkpoint: string };
  };
}

export interface TransparencyLog {
  key: LogKey;
  /** The signed entry timestamp (Rekor's inclusion promise) over a verification payload. */
  signedEntryTimestamp(payload: { body: string; integratedTime: number; logIndex: number; logID: string }): Buffer;
  /** Appends a canonical entry body; returns Rekor's answer for it, its checkpoint signed as `origin`. */
  append(body: Buffer, origin: string): RekorEntry;
}

/** A transparency log: its key and tree (a few earlier entries, so proofs are not trivially empty). */
export function makeTransparencyLog(key = makeLogKey()): TransparencyLog {
  const leaves = [0, 1, 2].map(() => leafHash(randomBytes(32)));
  const seal = (data: string | Buffer) => sign("sha256", Buffer.from(data), { key: key.privateKey, dsaEncoding: "der" });
  const signedEntryTimestamp = (payload: object) => seal(json.canonicalize(payload));
  return {
    key,
    signedEntryTimestamp,
    append(body, origin) {
      const logIndex = leaves.length;
      leaves.push(leafHash(body));
      const treeSize = leaves.length;
      const root = treeHash(leaves);
      const payload = { body: body.toString("base64"), integratedTime: Math.floor(Date.now() / 1000), logIndex, logID: key.logId.toString("hex") };
      // A signed note (transparency-dev checkpoint format); the key hint is the log id's first 4 bytes.
      const note = `${origin} - 1\n${treeSize}\n${root.toString("base64")}\n`;
      const checkpoint = `${note}\n\u2014 ${origin} ${Buffer.concat([key.logId.subarray(0, 4), seal(note)]).toString("base64")}\n`;
      return {
        ...payload,
        verification: {
          signedEntryTimestamp: signedEntryTimestamp(payload).toString("base64"),
          inclusionProof: { logIndex, rootHash: root.toString("hex"), treeSize, hashes: auditPath(logIndex, leaves).map((h) => h.toString("hex")), checkpoint },
        },
      };
    },
  };
}

/** The key a proposal names: a PEM public key or certificate, base64-encoded as Rekor takes it. */
function proposedKey(encoded: unknown): KeyObject {
  if (typeof encoded !== "string") throw new HttpError(400, "no verifier");
  const pem = Buffer.from(encoded, "base64").toString("utf8");
  try {
    return pem.includes("CERTIFICATE") ? new X509Certificate(pem).publicKey : createPublicKey(pem);
  } catch {
    throw new HttpError(400, "the verifier is not a key or certificate");
  }
}

/** Rekor's canonical body for a proposed entry, after checking its signature as Rekor does. */
function canonicalBody(proposal: any): Buffer {
  if (proposal?.kind === "dsse" && proposal.apiVersion === "0.0.1") {
    const { envelope: text, verifiers } = proposal.spec?.proposedContent ?? {};
    let envelope: { payload: string; payloadType: string; signatures: { sig: string }[] };
    try {
      envelope = JSON.parse(text);
    } catch {
      throw new HttpError(400, "the envelope is not JSON");
    }
    const payload = Buffer.from(envelope.payload, "base64");
    const verifier = (verifiers as string[] | undefined)?.[0];
    const signatures = (envelope.signatures ?? []).map((s) => {
      if (!verify("sha256", dsse.preAuthEncoding(envelope.payloadType, payload), proposedKey(verifier), Buffer.from(s.sig, "base64"))) {
        throw new HttpError(400, "the DSSE signature does not verify with the proposed verifier");
      }
      return { signature: s.sig, verifier };
    });
    return Buffer.from(
      json.canonicalize({
        apiVersion: "0.0.1",
        kind: "dsse",
        spec: {
          envelopeHash: { algorithm: "sha256", value: sha256(text).toString("hex") },
          payloadHash: { algorithm: "sha256", value: sha256(payload).toString("hex") },
          signatures,
        },
      }),
    );
  }
  throw new HttpError(400, `unsupported entry ${proposal?.kind}/${proposal?.apiVersion}`);
}

export interface FakeRekor extends Listening {
  log: TransparencyLog;
  /** How many entries were posted. */
  readonly requests: number;
}

export async function startRekor(log = makeTransparencyLog()): Promise<FakeRekor> {
  let origin = "";
  const served = await serveJson("/api/v1/log/entries", (proposal) => {
    const body = canonicalBody(proposal);
    return [201, { [sha256(Buffer.from([0]), body).toString("hex")]: log.append(body, origin) }];
  });
  origin = new URL(served.url).host;
  return Object.assign(served, { log });
}

// ---------------------------------------------------------------- Fulcio

export interface FakeFulcio extends Listening {
  root: Issuer & { certificate: X509Certificate };
  intermediate: Issuer & { certificate: X509Certificate };
  /** Its CT log's key, which signs the SCT embedded in every certificate. */
  ctLog: LogKey;
  /** The validity of the next certificates (default: from a minute ago for ten minutes, as Fulcio). */
  validity?: { notBefore: Date; notAfter: Date };
  readonly requests: number;
}

function parseJwt(token: unknown): { header: any; claims: any; signed: Buffer; signature: Buffer } {
  const parts = typeof token === "string" ? token.split(".") : [];
  if (parts.length !== 3) throw new HttpError(401, "the identity token is not a JWT");
  try {
    return {
      header: JSON.parse(Buffer.from(parts[0]!, "base64url").toString("utf8")),
      claims: JSON.parse(Buffer.from(parts[1]!, "base64url").toString("utf8")),
      signed: Buffer.from(`${parts[0]}.${parts[1]}`),
      signature: Buffer.from(parts[2]!, "base64url"),
    };
  } catch {
    throw new HttpError(401, "the identity token is not a JWT");
  }
}

/** The identity Fulcio would certify for these claims, after checking the token. */
function checkToken(token: unknown, issuers: readonly OidcIssuer[]): { identity: string; issuer: string; subject: string } {
  const { header, claims, signed, signature } = parseJwt(token);
  const issuer = issuers.find((i) => i.url === claims.iss);
  if (!issuer) throw new HttpError(401, `untrusted issuer ${claims.iss}`);
  if (header.alg !== "ES256" || !verify("sha256", signed, { key: issuer.publicKey, dsaEncoding: "ieee-p1363" }, signature)) {
    throw new HttpError(401, "the identity token's signature does not verify");
  }
  if (typeof claims.exp !== "number" || claims.exp * 1000 < Date.now()) throw new HttpError(401, "the identity token has expired");
  if (![claims.aud].flat().includes("sigstore")) throw new HttpError(401, "the identity token is not for sigstore");
  if (claims.email !== undefined && claims.email_verified !== true) throw new HttpError(401, "the email is not verified");
  const identity = claims.email ?? (claims.job_workflow_ref ? `https://github.com/${claims.job_workflow_ref}` : claims.sub);
  return { identity, issuer: issuer.url, subject: claims.email ?? claims.sub };
}

/** An SCT (RFC 6962 3.2) from `ctLog` over the precertificate `spec`, TLS-encoded. */
function signedCertificateTimestamp(spec: CertificateSpec, issuerKey: KeyObject, ctLog: LogKey): Buffer {
  const timestamp = uint(Date.now(), 8);
  const tbs = tbsCertificate(spec);
  const signed = Buffer.concat([
    Buffer.from([0, 0]), // v1, certificate_timestamp
    timestamp,
    uint(1, 2), // precert_entry
    sha256(spki(issuerKey)),
    uint(tbs.length, 3),
    tbs,
    uint(0, 2), // no extensions
  ]);
  const signature = sign("sha256", signed, { key: ctLog.privateKey, dsaEncoding: "der" });
  return Buffer.concat([Buffer.from([0]), ctLog.logId, timestamp, uint(0, 2), Buffer.from([4, 3]), uint(signature.length, 2), signature]);
}

/** A Fulcio for these OIDC issuers, with its own root and intermediate CA and CT log. */
export async function startFulcio(issuers: readonly OidcIssuer[], name = "fake-fulcio"): Promise<FakeFulcio> {
  const root = makeCa(`${name} root`, ec(), LONG_AGO, FAR_AHEAD);
  const intermediateKeys = ec();
  const intermediate = {
    commonName: `${name} intermediate`,
    ...intermediateKeys,
    certificate: issueCertificate({
      commonName: `${name} intermediate`,
      publicKey: intermediateKeys.publicKey,
      issuer: root,
      notBefore: LONG_AGO,
      notAfter: FAR_AHEAD,
      extensions: [extensions.basicConstraints(true), extensions.keyUsage(0x06), extensions.codeSigning()],
    }),
  };
  const ctLog = makeLogKey();
  let fulcio: FakeFulcio | undefined;
  const served = await serveJson("/api/v2/signingCert", (request) => {
    const who = checkToken(request?.credentials?.oidcIdentityToken, issuers);
    const { content, algorithm } = request?.publicKeyRequest?.publicKey ?? {};
    let key: KeyObject;
    try {
      key = createPublicKey(content);
    } catch {
      throw new HttpError(400, `the public key (${algorithm}) does not parse`);
    }
    const pop = Buffer.from(String(request.publicKeyRequest.proofOfPossession ?? ""), "base64");
    if (!verify("sha256", Buffer.from(who.subject), key, pop)) throw new HttpError(400, "the proof of possession does not verify");
    const now = Date.now();
    const { notBefore, notAfter } = fulcio?.validity ?? { notBefore: new Date(now - 60_000), notAfter: new Date(now + 600_000) };
    const spec: CertificateSpec = {
      commonName: "sigstore",
      publicKey: key,
      issuer: intermediate,
      notBefore,
      notAfter,
      extensions: [extensions.keyUsage(0x80), extensions.codeSigning(), extensions.subjectAltName(who.identity), ...extensions.fulcioIssuer(who.issuer)],
    };
    const sct = signedCertificateTimestamp(spec, intermediate.publicKey, ctLog);
    const leaf = issueCertificate({ ...spec, extensions: [...spec.extensions, extensions.sctList([sct])] });
    return [201, { signedCertificateEmbeddedSct: { chain: { certificates: [leaf.toString(), intermediate.certificate.toString(), root.certificate.toString()] } } }];
  });
  fulcio = Object.assign(served, { root, intermediate, ctLog });
  return fulcio;
}

// ---------------------------------------------------------------- trusted root

/** A Sigstore trusted root naming these Fulcios and Rekors (and the Fulcios' CT logs). */
export function trustedRootFor(fulcios: readonly FakeFulcio[], rekors: readonly FakeRekor[]): unknown {
  return {
    mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
    tlogs: rekors.map((r) => r.log.key.trustedRootEntry(r.url)),
    certificateAuthorities: fulcios.map((f) => ({
      subject: { organization: "modelguard tests", commonName: f.root.commonName },
      uri: f.url,
      certChain: { certificates: [f.intermediate.certificate, f.root.certificate].map((c) => ({ rawBytes: c.raw.toString("base64") })) },
      validFor: { start: LONG_AGO.toISOString() },
    })),
    ctlogs: fulcios.map((f) => f.ctLog.trustedRootEntry(`${f.url}/ct`)),
    timestampAuthorities: [],
  };
}

/** One OIDC issuer, Fulcio and Rekor, and their trusted root: the usual setup of a keyless test. */
export async function startSigstore(): Promise<{
  oidc: OidcIssuer;
  fulcio: FakeFulcio;
  rekor: FakeRekor;
  trustedRoot: unknown;
  close(): Promise<void>;
}> {
  const oidc = makeOidcIssuer();
  const [fulcio, rekor] = await Promise.all([startFulcio([oidc]), startRekor()]);
  return {
    oidc,
    fulcio,
    rekor,
    trustedRoot: trustedRootFor([fulcio], [rekor]),
    close: async () => {
      await Promise.all([fulcio.close(), rekor.close()]);
    },
  };
}
