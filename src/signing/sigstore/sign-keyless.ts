/**
 * Sigstore keyless signing of a DSSE payload, through sigstore-js (`sigstore.attest`): an
 * ephemeral key, a Fulcio certificate binding it to the OIDC identity token, a Rekor entry.
 * The bundle carries the certificate and the log entry with its inclusion proof, so it verifies
 * offline later. It is verified here, at once, against the trusted root the verifiers will use:
 * a Fulcio or Rekor the root does not know fails at signing time, not at the deploy.
 */
import type { SerializedBundle } from "@sigstore/bundle";
import type { TrustedRoot } from "@sigstore/protobuf-specs";
import { ModelGuardError } from "../../errors.js";
import { readBundle } from "./read-bundle.js";
import { verifySigstoreBundle } from "./verify-bundle.js";

export const PUBLIC_GOOD_FULCIO_URL = "https://fulcio.sigstore.dev";
export const PUBLIC_GOOD_REKOR_URL = "https://rekor.sigstore.dev";

export interface KeylessSigning {
  /** The OIDC identity token (a JWT) Fulcio certifies. */
  identityToken: string;
  fulcioUrl?: string;
  rekorUrl?: string;
  /** The root the new signature must verify against (the public-good one, or a private instance's). */
  trustedRoot: TrustedRoot;
}

/**
 * The token's structure, checked before it is sent: sigstore-js puts an unparseable token into
 * its error message, and a token must never reach a log or a terminal.
 */
function checkTokenShape(token: string): void {
  const parts = token.split(".");
  let claims: { sub?: unknown; email?: unknown } | undefined;
  try {
    claims = parts.length === 3 ? JSON.parse(Buffer.from(parts[1]!, "base64url").toString("utf8")) : undefined;
  } catch {
    claims = undefined;
  }
  if (typeof claims !== "object" || claims === null || (typeof claims.sub !== "string" && typeof claims.email !== "string")) {
    throw new ModelGuardError("USAGE", "the identity token is not an OIDC token (a JWT with a subject)");
  }
}

/**
 * sigstore-js's failure to reach or be served by Fulcio (`CA_*` codes) or Rekor (`TLOG_*`), as
 * FETCH_FAILED naming the service; anything else is not a service's answer and is passed on.
 */
function serviceError(err: unknown, urls: { fulcio: string; rekor: string }): unknown {
  const code = (err as { code?: unknown }).code;
  const fulcio = typeof code === "string" && code.startsWith("CA_");
  if (!fulcio && !(typeof code === "string" && code.startsWith("TLOG_"))) return err;
  const cause = (err as { cause?: { statusCode?: number; message?: string } }).cause;
  const [service, url, what] = fulcio ? ["Fulcio", urls.fulcio, "the signing certificate"] : ["Rekor", urls.rekor, "the transparency-log entry"];
  const status = cause?.statusCode;
  const why = status === undefined ? `could not reach ${service} at ${url}: ${cause?.message ?? (err as Error).message}` : `${service} at ${url} answered ${cause?.message ?? status}`;
  const hint = status === 401 ? " (is the identity token valid, unexpired and for the audience sigstore?)" : "";
  return new ModelGuardError("FETCH_FAILED", `keyless signing failed getting ${what}: ${why}${hint}`, {
    url,
    ...(status === undefined ? {} : { httpStatus: status }),
    cause: err,
  });
}

/**
 * Signs `payload` keylessly and returns the bundle with who Fulcio certified: the identity (the
 * certificate's SAN) and the OIDC issuer.
 */
export async function signDsseKeyless(
  payloadType: string,
  payload: Buffer,
  options: KeylessSigning,
): Promise<{ bundle: SerializedBundle; identity: string; issuer: string }> {
  checkTokenShape(options.identityToken);
  const urls = { fulcio: options.fulcioUrl ?? PUBLIC_GOOD_FULCIO_URL, rekor: options.rekorUrl ?? PUBLIC_GOOD_REKOR_URL };
  // Loaded on use: sigstore's signing side (HTTP clients, TUF) is not needed to verify.
  const { attest } = await import("sigstore");
  let bundle: SerializedBundle;
  try {
    bundle = await attest(payload, payloadType, { identityToken: options.identityToken, fulcioURL: urls.fulcio, rekorURL: urls.rekor });
  } catch (err) {
    throw serviceError(err, urls);
  }
  let signer;
  try {
    // Whoever Fulcio certified is reported, not judged: the verifier's policy judges it.
    signer = verifySigstoreBundle(readBundle(bundle), { trustedRoot: options.trustedRoot, identities: [{ subjectPattern: "[^]*", issuerPattern: "[^]*" }] });
  } catch (err) {
    if (!(err instanceof ModelGuardError)) throw err;
    throw new ModelGuardError(
      err.code,
      `the new keyless signature does not verify against the trusted root (for a Sigstore instance other than the public-good one, give its trusted_root.json): ${err.message}`,
      { cause: err },
    );
  }
  if (signer.method !== "sigstore") throw new ModelGuardError("SIGNATURE_INVALID", "the new keyless signature carries no certificate");
  return { bundle, identity: signer.identity, issuer: signer.issuer };
}
