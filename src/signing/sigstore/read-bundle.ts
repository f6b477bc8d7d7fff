/**
 * The one reader of Sigstore bundle JSON. Two parsers, chosen by who wrote the bundle:
 * - default: sigstore-js's full validation (`bundleFromJSON`), any bundle version it accepts
 *   (keyless model signatures, lockfile signatures, `verify-blob --bundle`);
 * - `traditional`: OpenSSF model_signing's key and certificate signatures, parsed as plain
 *   protobuf JSON (its `sign_sigstore_pb`), because they put an `x509CertificateChain` into a
 *   v0.3 bundle, which the Sigstore clients' stricter validation refuses; v0.3 only, as the
 *   reference requires.
 * A bundle that does not read is SIGNATURE_MALFORMED, `${malformed}: ${why}`.
 * `claimedMaterial` reads what a bundle claims without validating anything, to name its signer
 * in listings (`bundle-signer.ts`), never for trust.
 */
import { assertBundle, bundleFromJSON, BUNDLE_V03_MEDIA_TYPE, type Bundle } from "@sigstore/bundle";
import { Bundle as ProtoBundle } from "@sigstore/protobuf-specs";
import { ModelGuardError } from "../../errors.js";

/** A bundle holding a DSSE envelope, narrowed for the verifiers. */
export type DsseBundle = Bundle & { content: Extract<Bundle["content"], { $case: "dsseEnvelope" }> };

export interface ReadBundleOptions {
  /** model_signing's key or certificate signature (see the header); default: sigstore-js's validation. */
  traditional?: boolean;
  /** What SIGNATURE_MALFORMED messages start with; default "not a valid Sigstore bundle". */
  malformed?: string;
}

/** The prefix for a model.sig or lockfile signature read by the model-signing pipeline. */
export const MODEL_SIGNATURE = "the signature is not a valid model signature";

function describeValidation(err: unknown): string {
  const fields = (err as { fields?: string[] }).fields;
  return fields?.length ? `${(err as Error).message} (${fields.join(", ")})` : (err as Error).message;
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

/** Bundle JSON as a validated Sigstore bundle. */
export function readBundle(json: unknown, options: ReadBundleOptions = {}): Bundle {
  const prefix = options.malformed ?? "not a valid Sigstore bundle";
  const malformed = (message: string, cause?: unknown) => new ModelGuardError("SIGNATURE_MALFORMED", `${prefix}: ${message}`, { cause });
  if (!options.traditional) {
    try {
      return bundleFromJSON(json);
    } catch (cause) {
      throw malformed(describeValidation(cause), cause);
    }
  }
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
  return bundle;
}

/**
 * The verification material a bundle claims (a key hint, a certificate, a chain), read as plain
 * protobuf JSON without validating anything: a listing must name the signer of a bundle the
 * verifiers would refuse. Undefined when it does not read.
 */
export function claimedMaterial(json: unknown): NonNullable<ProtoBundle["verificationMaterial"]>["content"] | undefined {
  try {
    return ProtoBundle.fromJSON(json).verificationMaterial?.content;
  } catch {
    return undefined;
  }
}

/** `readBundle`, and the bundle must hold a DSSE envelope (model and lockfile signatures). */
export function readDsseBundle(json: unknown, options: ReadBundleOptions = {}): DsseBundle {
  const bundle = readBundle(json, options);
  if (bundle.content.$case !== "dsseEnvelope") {
    throw new ModelGuardError("SIGNATURE_MALFORMED", `${options.malformed ?? "not a valid Sigstore bundle"}: the Sigstore bundle holds no DSSE envelope`);
  }
  return bundle as DsseBundle;
}
