/**
 * cosign's own `--bundle` JSON from before the Sigstore protobuf bundle (cosign 1.x and 2.x
 * without --new-bundle-format): `{ base64Signature, cert, rekorBundle: { SignedEntryTimestamp,
 * Payload: { body, integratedTime, logIndex, logID } } }`. It holds the same facts as a v0.1
 * Sigstore bundle (a message signature, its certificate or none, a Rekor entry with its signed
 * entry timestamp), so it is rewritten into one and verified like any other bundle.
 */
import { BUNDLE_V01_MEDIA_TYPE } from "@sigstore/bundle";
import { ModelGuardError } from "../../errors.js";
import { curveForHash } from "../../keys/ecdsa-curves.js";
import { findPemBlocks } from "../../keys/pem.js";

interface LegacyBundle {
  base64Signature: string;
  cert?: string;
  rekorBundle?: {
    SignedEntryTimestamp: string;
    Payload: { body: string; integratedTime: number; logIndex: number; logID: string };
  };
}

export function isCosignLegacyBundle(json: unknown): json is LegacyBundle {
  return typeof json === "object" && json !== null && typeof (json as { base64Signature?: unknown }).base64Signature === "string";
}

function malformed(why: string): ModelGuardError {
  return new ModelGuardError("SIGNATURE_MALFORMED", `not a valid cosign bundle: ${why}`);
}

/** cosign writes the certificate as base64 of its PEM; older tools wrote the PEM itself. */
function certificateDer(cert: string): Buffer {
  const pem = cert.includes("-----BEGIN") ? cert : Buffer.from(cert, "base64").toString("utf8");
  const block = findPemBlocks(pem).find((b) => b.label === "CERTIFICATE");
  if (block === undefined) throw malformed("the cert field holds no PEM certificate");
  return block.der;
}

/** The digest the Rekor entry recorded for the blob (hashedrekord `spec.data.hash`). */
function recordedDigest(body: string): { algorithm: string; digest: string } {
  let entry: { kind?: string; apiVersion?: string; spec?: { data?: { hash?: { algorithm?: string; value?: string } } } };
  try {
    entry = JSON.parse(Buffer.from(body, "base64").toString("utf8"));
  } catch {
    throw malformed("the Rekor entry body is not base64 JSON");
  }
  const hash = entry.spec?.data?.hash;
  const algorithm = hash?.algorithm === undefined ? undefined : curveForHash(hash.algorithm)?.sigstoreHashName;
  if (algorithm === undefined || typeof hash?.value !== "string" || !/^[0-9a-f]+$/i.test(hash.value)) {
    throw malformed(`the Rekor entry (${entry.kind ?? "unknown kind"}) records no sha2 digest of the blob`);
  }
  return { algorithm, digest: Buffer.from(hash.value, "hex").toString("base64") };
}

function kindVersion(body: string): { kind: string; version: string } {
  const entry = JSON.parse(Buffer.from(body, "base64").toString("utf8")) as { kind?: unknown; apiVersion?: unknown };
  if (typeof entry.kind !== "string" || typeof entry.apiVersion !== "string") throw malformed("the Rekor entry has no kind or apiVersion");
  return { kind: entry.kind, version: entry.apiVersion };
}

/**
 * The v0.1 Sigstore bundle JSON equivalent to a cosign legacy bundle, for `bundleFromJSON`.
 * `blobDigest` (base64 SHA-256 of the blob) stands in for the message digest when there is no
 * Rekor entry to take it from (key signatures made with --tlog-upload=false).
 */
export function cosignLegacyToSigstoreJson(legacy: LegacyBundle, blobDigest: string): unknown {
  const rekor = legacy.rekorBundle;
  // The JSON is untrusted input: every field used below is checked for its type first, so a
  // malformed bundle is SIGNATURE_MALFORMED rather than a TypeError.
  if (legacy.cert !== undefined && typeof legacy.cert !== "string") throw malformed("cert is not a string");
  if (
    rekor !== undefined &&
    (typeof rekor.Payload?.body !== "string" ||
      typeof rekor.SignedEntryTimestamp !== "string" ||
      typeof rekor.Payload.logID !== "string" ||
      !/^[0-9a-f]+$/i.test(rekor.Payload.logID) ||
      !Number.isSafeInteger(rekor.Payload.logIndex) ||
      !Number.isSafeInteger(rekor.Payload.integratedTime))
  ) {
    throw malformed("rekorBundle lacks a well-formed Payload (body, logID, logIndex, integratedTime) or SignedEntryTimestamp");
  }
  const messageDigest = rekor === undefined ? { algorithm: "SHA2_256", digest: blobDigest } : recordedDigest(rekor.Payload.body);
  return {
    mediaType: BUNDLE_V01_MEDIA_TYPE,
    verificationMaterial: {
      ...(legacy.cert
        ? { x509CertificateChain: { certificates: [{ rawBytes: certificateDer(legacy.cert).toString("base64") }] } }
        : { publicKey: { hint: "" } }),
      tlogEntries:
        rekor === undefined
          ? []
          : [
              {
                logIndex: String(rekor.Payload.logIndex),
                logId: { keyId: Buffer.from(rekor.Payload.logID, "hex").toString("base64") },
                kindVersion: kindVersion(rekor.Payload.body),
                integratedTime: String(rekor.Payload.integratedTime),
                inclusionPromise: { signedEntryTimestamp: rekor.SignedEntryTimestamp },
                canonicalizedBody: rekor.Payload.body,
              },
            ],
      timestampVerificationData: { rfc3161Timestamps: [] },
    },
    messageSignature: { messageDigest, signature: legacy.base64Signature },
  };
}
