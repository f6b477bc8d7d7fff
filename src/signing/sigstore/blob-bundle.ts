/**
 * `verify-blob --bundle` and `sign-blob --bundle`: a blob and its Sigstore bundle (v0.1 to v0.3,
 * a message signature or a DSSE envelope, or cosign's legacy bundle JSON), verified offline.
 */
import { createHash, type KeyObject } from "node:crypto";
import type { Bundle, SerializedBundle } from "@sigstore/bundle";
import { ModelGuardError } from "../../errors.js";
import { keySignedBundle } from "../dsse-bundle.js";
import { curveForHash, curveForSigstoreHash } from "../../keys/ecdsa-curves.js";
import { hashForKey } from "../ecdsa.js";
import { IN_TOTO_PAYLOAD_TYPE } from "../model-statement.js";
import { readBundle } from "./read-bundle.js";
import { cosignLegacyToSigstoreJson, isCosignLegacyBundle } from "./cosign-legacy-bundle.js";
import { verifySigstoreBundle, type SigstoreSigner, type SigstoreTrust } from "./verify-bundle.js";

/**
 * What the bundle signs must be this blob. A message signature is over the blob itself, and
 * its recorded digest must be the blob's too (the transparency log holds that digest); a DSSE
 * in-toto statement must name the blob's SHA-256 among its subjects; any other DSSE payload
 * must be the blob's bytes.
 */
function checkArtifact(bundle: Bundle, blob: Buffer): void {
  if (bundle.content.$case === "messageSignature") {
    const { messageDigest } = bundle.content.messageSignature;
    const algorithm = curveForSigstoreHash(messageDigest.algorithm)?.hash;
    if (algorithm === undefined || !createHash(algorithm).update(blob).digest().equals(Buffer.from(messageDigest.digest))) {
      throw new ModelGuardError("SIGNATURE_INVALID", "the bundle was made for another blob: its message digest is not the file's");
    }
    return;
  }
  const { payloadType, payload } = bundle.content.dsseEnvelope;
  if (payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    if (!Buffer.from(payload).equals(blob)) throw new ModelGuardError("SIGNATURE_INVALID", "the bundle's DSSE payload is not the file");
    return;
  }
  const sha256 = createHash("sha256").update(blob).digest("hex");
  let subjects: { digest?: Record<string, string> }[] = [];
  try {
    subjects = (JSON.parse(Buffer.from(payload).toString("utf8")) as { subject?: typeof subjects }).subject ?? [];
  } catch {
    throw new ModelGuardError("SIGNATURE_INVALID", "the bundle's in-toto payload is not JSON");
  }
  if (!Array.isArray(subjects) || !subjects.some((s) => typeof s?.digest?.sha256 === "string" && s.digest.sha256.toLowerCase() === sha256)) {
    throw new ModelGuardError("SIGNATURE_INVALID", `the bundle's in-toto statement has no subject with the file's sha256 ${sha256}`);
  }
}

/** Verifies `blob` against its bundle: artifact binding, then the Sigstore checks and the trust policy. */
export function verifyBlobBundle(blob: Buffer, bundleJson: unknown, trust: SigstoreTrust): SigstoreSigner {
  // cosign's legacy format is converted first; then the one bundle reader.
  const json = isCosignLegacyBundle(bundleJson) ? cosignLegacyToSigstoreJson(bundleJson, createHash("sha256").update(blob).digest("base64")) : bundleJson;
  const bundle = readBundle(json);
  checkArtifact(bundle, blob);
  return verifySigstoreBundle(bundle, trust, bundle.content.$case === "messageSignature" ? blob : undefined);
}

/**
 * A v0.3 bundle with a message signature over the blob and the key's id as hint, as
 * `cosign sign-blob --new-bundle-format --tlog-upload=false` writes for a key: modelguard is
 * offline, so the bundle has no transparency-log entry. `signature` is the DER ECDSA signature
 * over the blob (the one sign-blob prints), so the bundle and the printed signature agree.
 */
export function blobSignatureBundle(blob: Buffer, signature: Buffer, publicKey: KeyObject): SerializedBundle {
  const hash = hashForKey(publicKey);
  return keySignedBundle(
    {
      messageSignature: {
        messageDigest: { algorithm: curveForHash(hash)!.sigstoreHashName, digest: createHash(hash).update(blob).digest("base64") },
        signature: signature.toString("base64"),
      },
    },
    publicKey,
  );
}
