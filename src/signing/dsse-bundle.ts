import type { KeyObject } from "node:crypto";
import { BUNDLE_V03_MEDIA_TYPE, bundleFromJSON, bundleToJSON, isBundleWithDsseEnvelope, type SerializedBundle } from "@sigstore/bundle";
import { dsse } from "@sigstore/core";
import { ModelGuardError } from "../errors.js";
import { publicKeyId } from "../keys/load-key.js";
import { signDer, verifyDer } from "./ecdsa.js";

/** A DSSE envelope as read from a Sigstore bundle, with what the bundle says of its key. */
export interface DsseSignedPayload {
  payloadType: string;
  payload: Buffer;
  signatures: Buffer[];
  /** `publicKey.hint`: SHA-256 hex of the signer's SPKI PEM (model_signing 1.1), or another label. */
  keyHint?: string;
}

/**
 * A Sigstore bundle v0.3 for a key signature: the key's id as `publicKey.hint`, no
 * transparency-log entry (modelguard signs offline), and the given content (a DSSE envelope or a
 * message signature).
 */
export function keySignedBundle(
  content: { dsseEnvelope: SerializedBundle["dsseEnvelope"] } | { messageSignature: SerializedBundle["messageSignature"] },
  publicKey: KeyObject,
): SerializedBundle {
  const serialized = {
    mediaType: BUNDLE_V03_MEDIA_TYPE,
    verificationMaterial: { publicKey: { hint: publicKeyId(publicKey) }, tlogEntries: [] },
    ...content,
  };
  // A round trip through sigstore-js's own parser: what we write is what sigstore-js reads. The
  // empty log list, which protobuf JSON drops, is put back: model_signing's reader requires it.
  const bundle = bundleToJSON(bundleFromJSON(serialized));
  return { ...bundle, verificationMaterial: { ...bundle.verificationMaterial, tlogEntries: [] } };
}

/**
 * Signs a payload as a DSSE envelope in a key-signed bundle: the layout OpenSSF model_signing
 * writes for `sign key`, so its verifier reads ours.
 */
export function signDsseBundle(payloadType: string, payload: Buffer, privateKey: KeyObject, publicKey: KeyObject): SerializedBundle {
  const signature = signDer(dsse.preAuthEncoding(payloadType, payload), privateKey);
  return keySignedBundle(
    { dsseEnvelope: { payload: payload.toString("base64"), payloadType, signatures: [{ sig: signature.toString("base64"), keyid: "" }] } },
    publicKey,
  );
}

/** Reads a bundle's DSSE envelope; anything that is not one is SIGNATURE_MALFORMED. */
export function readDsseBundle(json: unknown): DsseSignedPayload {
  let bundle;
  try {
    bundle = bundleFromJSON(json);
  } catch (err) {
    throw new ModelGuardError("SIGNATURE_MALFORMED", `not a Sigstore bundle: ${(err as Error).message}`);
  }
  if (!isBundleWithDsseEnvelope(bundle)) {
    throw new ModelGuardError("SIGNATURE_MALFORMED", "the Sigstore bundle holds no DSSE envelope");
  }
  const envelope = bundle.content.dsseEnvelope;
  const material = bundle.verificationMaterial.content;
  return {
    payloadType: envelope.payloadType,
    payload: Buffer.from(envelope.payload),
    signatures: envelope.signatures.map((s) => Buffer.from(s.sig)),
    ...(material?.$case === "publicKey" ? { keyHint: material.publicKey.hint } : {}),
  };
}

export function verifyDsseSignature(signed: DsseSignedPayload, signature: Buffer, publicKey: KeyObject): boolean {
  return verifyDer(dsse.preAuthEncoding(signed.payloadType, signed.payload), signature, publicKey);
}
