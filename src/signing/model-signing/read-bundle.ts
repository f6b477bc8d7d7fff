/**
 * Reading a `model.sig` into a Sigstore bundle, the two ways OpenSSF model_signing does: key
 * and certificate signatures are parsed as plain protobuf JSON (its `sign_sigstore_pb`), because
 * they put an `x509CertificateChain` into a v0.3 bundle, which the Sigstore clients' stricter
 * validation refuses; keyless signatures go through the full Sigstore bundle validation.
 */
import { assertBundle, bundleFromJSON, BUNDLE_V03_MEDIA_TYPE, type Bundle } from "@sigstore/bundle";
import { Bundle as ProtoBundle } from "@sigstore/protobuf-specs";
import { ModelGuardError } from "../../errors.js";

/** A bundle holding a DSSE envelope, narrowed for the verifiers. */
export type DsseBundle = Bundle & { content: Extract<Bundle["content"], { $case: "dsseEnvelope" }> };

function malformed(message: string, cause?: unknown): ModelGuardError {
  return new ModelGuardError("SIGNATURE_MALFORMED", `the signature is not a valid model signature: ${message}`, { cause });
}

function describeValidation(err: unknown): string {
  const fields = (err as { fields?: string[] }).fields;
  return fields?.length ? `${(err as Error).message} (${fields.join(", ")})` : (err as Error).message;
}

function requireDsse(bundle: Bundle): DsseBundle {
  if (bundle.content.$case !== "dsseEnvelope") throw malformed("the Sigstore bundle holds no DSSE envelope");
  return bundle as DsseBundle;
}

/** JSON text or an already parsed value; SIGNATURE_MALFORMED when it is not JSON. */
export function parseJson(input: string | Buffer | unknown, what = "signature"): unknown {
  if (typeof input !== "string" && !Buffer.isBuffer(input)) return input;
  try {
    return JSON.parse(input.toString());
  } catch (cause) {
    throw new ModelGuardError("SIGNATURE_MALFORMED", `the ${what} is not JSON: ${(cause as Error).message}`, { cause });
  }
}

/** A key- or certificate-signed model signature (model_signing `verify key` / `verify certificate`). */
export function readTraditionalBundle(json: unknown): DsseBundle {
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw malformed("not a JSON object");
  let bundle: Bundle;
  try {
    bundle = ProtoBundle.fromJSON(json) as Bundle;
    assertBundle(bundle);
  } catch (cause) {
    throw malformed(describeValidation(cause), cause);
  }
  // The reference refuses any other media type for these signatures.
  if (bundle.mediaType !== BUNDLE_V03_MEDIA_TYPE) {
    throw malformed(`media type ${JSON.stringify(bundle.mediaType)}, expected ${BUNDLE_V03_MEDIA_TYPE}`);
  }
  return requireDsse(bundle);
}

/** A keyless (Sigstore) model signature: any bundle version the Sigstore clients accept. */
export function readSigstoreBundle(json: unknown): DsseBundle {
  let bundle: Bundle;
  try {
    bundle = bundleFromJSON(json);
  } catch (cause) {
    throw malformed(describeValidation(cause), cause);
  }
  return requireDsse(bundle);
}
