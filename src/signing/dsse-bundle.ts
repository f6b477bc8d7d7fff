/**
 * Writing DSSE envelopes into Sigstore bundles for offline signatures (a key, or a certificate
 * chain), and the one check of a DSSE signature with a public key (`verifyDsseSignature`), which
 * every verifier uses; which key to trust is the model-signing pipeline's and sigstore-js's job.
 */
import { createPublicKey, type KeyObject } from "node:crypto";
import { BUNDLE_V03_MEDIA_TYPE, bundleToJSON, type SerializedBundle } from "@sigstore/bundle";
import { ModelGuardError } from "../errors.js";
import { publicKeyId } from "../keys/load-key.js";
import { signDer, verifyDer } from "./ecdsa.js";
import { pae, paeCompat } from "./model-signing/dsse-pae.js";
import { MODEL_SIGNATURE, readBundle } from "./sigstore/read-bundle.js";
import type { Certificate } from "./model-signing/x509-chain.js";

type Content = { dsseEnvelope: SerializedBundle["dsseEnvelope"] } | { messageSignature: SerializedBundle["messageSignature"] };

/**
 * A Sigstore bundle v0.3 signed without a transparency log, as modelguard and model_signing
 * write them offline: for a key, its id as `publicKey.hint`; for a certificate (model_signing
 * `sign certificate`), the leaf and its chain as `x509CertificateChain`.
 */
function offlineBundle(content: Content, material: { publicKey: { hint: string } } | { x509CertificateChain: { certificates: { rawBytes: string }[] } }): SerializedBundle {
  const serialized = { mediaType: BUNDLE_V03_MEDIA_TYPE, verificationMaterial: { ...material, tlogEntries: [] }, ...content };
  // A round trip through the parser that will read it: what we write is what is read back.
  // sigstore-js refuses a chain in a v0.3 bundle, so chains go through model_signing's reader.
  const bundle = bundleToJSON("publicKey" in material ? readBundle(serialized) : readBundle(serialized, { traditional: true, malformed: MODEL_SIGNATURE }));
  // Empty values protobuf JSON drops are put back as model_signing writes them: the log list,
  // which its reader requires, and each DSSE signature's empty keyid.
  const written = { ...bundle, verificationMaterial: { ...bundle.verificationMaterial, tlogEntries: [] } };
  for (const signature of written.dsseEnvelope?.signatures ?? []) signature.keyid ??= "";
  return written;
}

/** A key-signed bundle holding `content`: the key's id as hint, no transparency-log entry. */
export function keySignedBundle(content: Content, publicKey: KeyObject): SerializedBundle {
  return offlineBundle(content, { publicKey: { hint: publicKeyId(publicKey) } });
}

function dsseEnvelope(payloadType: string, payload: Buffer, privateKey: KeyObject): SerializedBundle["dsseEnvelope"] {
  const signature = signDer(pae(payloadType, payload), privateKey);
  return { payload: payload.toString("base64"), payloadType, signatures: [{ sig: signature.toString("base64"), keyid: "" }] };
}

/**
 * Signs a payload as a DSSE envelope in a key-signed bundle: the layout OpenSSF model_signing
 * writes for `sign key`, so its verifier reads ours.
 */
export function signDsseBundle(payloadType: string, payload: Buffer, privateKey: KeyObject, publicKey: KeyObject): SerializedBundle {
  return keySignedBundle({ dsseEnvelope: dsseEnvelope(payloadType, payload, privateKey) }, publicKey);
}

/**
 * Signs a payload as a DSSE envelope with a certificate's key: the layout model_signing writes
 * for `sign certificate` (the leaf, then the chain it was given; no log entry). The leaf must
 * be the key's own certificate; whether it chains to a trusted root is the verifier's question.
 */
export function signDsseBundleWithCertificate(payloadType: string, payload: Buffer, privateKey: KeyObject, certificates: readonly Certificate[]): SerializedBundle {
  const leaf = certificates[0];
  if (!leaf) throw new ModelGuardError("USAGE", "certificate signing needs the signing certificate");
  const own = createPublicKey(privateKey).export({ type: "spki", format: "der" });
  if (!leaf.node.publicKey.export({ type: "spki", format: "der" }).equals(own)) {
    throw new ModelGuardError("CERTIFICATE_INVALID", `the signing certificate (${leaf.node.subject.replaceAll("\n", ", ")}) is not for the signing key`);
  }
  return offlineBundle(
    { dsseEnvelope: dsseEnvelope(payloadType, payload, privateKey) },
    { x509CertificateChain: { certificates: certificates.map((c) => ({ rawBytes: c.der.toString("base64") })) } },
  );
}

/**
 * A DSSE envelope's signature over PAE(payloadType, payload) verifies with `key`: DER ECDSA with
 * the hash of the key's curve, as cosign, sigstore-go and model_signing sign. `compat` also
 * accepts model_signing 0.2's broken encoding, which its verifier still accepts for keys.
 */
export function verifyDsseSignature(
  envelope: { payloadType: string; payload: Buffer },
  signature: Uint8Array,
  key: KeyObject,
  options: { compat?: boolean } = {},
): boolean {
  if (verifyDer(pae(envelope.payloadType, envelope.payload), signature, key)) return true;
  return options.compat === true && verifyDer(paeCompat(envelope.payloadType, envelope.payload), signature, key);
}
