/**
 * What `verify-blob` does once its flags are read: a detached cosign signature or a Sigstore
 * bundle, checked offline. Kept apart from the command's flags so the CLI loads sigstore-js only
 * when this command runs.
 */
import { existsSync } from "node:fs";
import { ModelGuardError } from "../errors.js";
import { readPublicKeyFile } from "../keys/key-files.js";
import { decodeBlobSignature, verifyBlob } from "../signing/blob-signature.js";
import { parseJson } from "../signing/sigstore/read-bundle.js";
import { verifyBlobBundle } from "../signing/sigstore/blob-bundle.js";
import { checkIdentityPolicy, type IdentityPolicy } from "../signing/sigstore/identity.js";
import { loadTrustedRoot } from "../signing/sigstore/trusted-root.js";
import type { SigstoreTrust } from "../signing/sigstore/verify-bundle.js";
import { readInputFile } from "./io.js";

export interface VerifyBlobOptions {
  key?: string;
  signature?: string;
  bundle?: string;
  certificateIdentity?: string;
  certificateIdentityRegexp?: string;
  certificateOidcIssuer?: string;
  certificateOidcIssuerRegexp?: string;
  trustedRoot?: string;
  insecureIgnoreTlog?: boolean;
}

/** `--signature` is a file or, as with cosign, the base64 signature itself. */
async function readSignature(value: string): Promise<Buffer> {
  const isFile = existsSync(value);
  const text = isFile ? (await readInputFile(value, "signature")).toString("utf8") : value;
  const sig = decodeBlobSignature(text);
  if (!sig || sig.length === 0) {
    throw new ModelGuardError("SIGNATURE_MALFORMED", `signature ${isFile ? value : JSON.stringify(value)} is neither a file nor base64`);
  }
  return sig;
}

export async function verifyDetached(file: string, options: VerifyBlobOptions): Promise<void> {
  if (!options.key) throw new ModelGuardError("USAGE", "verify-blob --signature needs --key");
  const [blob, key, signature] = await Promise.all([
    readInputFile(file, "file"),
    readPublicKeyFile(options.key),
    readSignature(options.signature!),
  ]);
  if (!verifyBlob(blob, signature, key)) {
    throw new ModelGuardError("SIGNATURE_INVALID", `invalid signature for ${file} with key ${options.key}`, { file });
  }
}

/** The trust for a bundle: a key (cosign --key), or an identity and issuer, each exact or a pattern. */
async function bundleTrust(options: VerifyBlobOptions): Promise<SigstoreTrust> {
  const identityGiven = [options.certificateIdentity, options.certificateIdentityRegexp, options.certificateOidcIssuer, options.certificateOidcIssuerRegexp].some(
    (v) => v !== undefined,
  );
  if (Boolean(options.key) === identityGiven) {
    throw new ModelGuardError("USAGE", "verify-blob --bundle needs either --key or --certificate-identity with --certificate-oidc-issuer");
  }
  const trustedRoot = await loadTrustedRoot(options.trustedRoot);
  if (options.key) {
    const key = await readPublicKeyFile(options.key);
    return { trustedRoot, keys: [key], ignoreTlog: options.insecureIgnoreTlog ?? false };
  }
  if (options.insecureIgnoreTlog) {
    throw new ModelGuardError("USAGE", "--insecure-ignore-tlog applies to --key only: keyless certificates are short-lived and need the log's timestamp");
  }
  const policy: IdentityPolicy = {
    ...(options.certificateIdentity === undefined ? {} : { subject: options.certificateIdentity }),
    ...(options.certificateIdentityRegexp === undefined ? {} : { subjectPattern: options.certificateIdentityRegexp }),
    ...(options.certificateOidcIssuer === undefined ? {} : { issuer: options.certificateOidcIssuer }),
    ...(options.certificateOidcIssuerRegexp === undefined ? {} : { issuerPattern: options.certificateOidcIssuerRegexp }),
  };
  if ((policy.subject === undefined) === (policy.subjectPattern === undefined)) {
    throw new ModelGuardError("USAGE", "give one of --certificate-identity and --certificate-identity-regexp");
  }
  if ((policy.issuer === undefined) === (policy.issuerPattern === undefined)) {
    throw new ModelGuardError("USAGE", "give one of --certificate-oidc-issuer and --certificate-oidc-issuer-regexp");
  }
  checkIdentityPolicy(policy);
  return { trustedRoot, identities: [policy] };
}

export async function verifyWithBundle(file: string, options: VerifyBlobOptions): Promise<void> {
  const trust = await bundleTrust(options);
  const [blob, bundleText] = await Promise.all([readInputFile(file, "file"), readInputFile(options.bundle!, "bundle")]);
  verifyBlobBundle(blob, parseJson(bundleText, `bundle ${options.bundle}`), trust);
}
