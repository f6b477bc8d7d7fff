/**
 * The signing flags of `sign` and `sign-model`, read into a signer. Three modes, as
 * model_signing and cosign have them: `--key` (key), `--key` with `--certificate` (certificate),
 * `--identity-token` or `SIGSTORE_ID_TOKEN` (Sigstore keyless, through Fulcio and Rekor).
 */
import type { Command } from "commander";
import { ModelGuardError } from "../errors.js";
import type { DsseSigner } from "../signing/sign-dsse.js";
import { collect } from "./collect.js";
import { readInputFile } from "./io.js";

export interface SigningFlags {
  key?: string;
  certificate?: string;
  certificateChain?: string[];
  identityToken?: string;
  fulcioUrl?: string;
  rekorUrl?: string;
  trustedRoot?: string;
}

export function addSigningOptions(command: Command): Command {
  return (
    command
      .option("--key <key>", "private key: cosign encrypted PEM, PKCS#8 or SEC1 EC PEM (password: COSIGN_PASSWORD, else asked)")
      .option("--certificate <pem>", "certificate mode: the signing certificate of --key, PEM")
      // Repeatable rather than variadic, so `--certificate-chain c.pem model` keeps `model` an argument.
      .option("--certificate-chain <pem>", "certificate mode: certificates written beside it (intermediates), PEM; repeat for several", collect)
      .option("--identity-token <token>", "Sigstore keyless: the OIDC identity token, or a file holding it (default: SIGSTORE_ID_TOKEN)")
      .option("--fulcio-url <url>", "keyless: the Fulcio to certify the token (default https://fulcio.sigstore.dev)")
      .option("--rekor-url <url>", "keyless: the Rekor to log the signature (default https://rekor.sigstore.dev)")
      .option("--trusted-root <file>", "keyless: Sigstore trusted_root.json the new signature must verify against (default: the public-good root)")
  );
}

function usage(message: string): ModelGuardError {
  return new ModelGuardError("USAGE", message);
}

function checkUrl(url: string | undefined, flag: string): void {
  if (url === undefined) return;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw usage(`${flag} ${JSON.stringify(url)} is not a URL`);
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") throw usage(`${flag} must be an http(s) URL`);
}

/** cosign takes the token itself or a path to a file holding it; a JWT is three base64url parts. */
async function readIdentityToken(value: string): Promise<string> {
  const token = /^[\w-]+\.[\w-]+\.[\w-]*$/.test(value.trim()) ? value : (await readInputFile(value, "identity token file")).toString("utf8");
  return token.trim();
}

/** The signer the flags name; USAGE when they name none, or mix modes. */
export async function signerFromFlags(command: string, flags: SigningFlags, env: NodeJS.ProcessEnv = process.env): Promise<DsseSigner> {
  if (flags.key !== undefined && flags.identityToken !== undefined) throw usage("give --key or --identity-token, not both");
  // Like cosign, the environment's token applies only when no key is given.
  const tokenValue = flags.identityToken ?? (flags.key === undefined && env.SIGSTORE_ID_TOKEN ? env.SIGSTORE_ID_TOKEN : undefined);
  if (tokenValue !== undefined) {
    if (flags.certificate !== undefined || flags.certificateChain !== undefined) throw usage("--certificate and --certificate-chain go with --key, not keyless signing");
    checkUrl(flags.fulcioUrl, "--fulcio-url");
    checkUrl(flags.rekorUrl, "--rekor-url");
    const { loadTrustedRoot } = await import("../signing/sigstore/trusted-root.js");
    const [identityToken, trustedRoot] = await Promise.all([readIdentityToken(tokenValue), loadTrustedRoot(flags.trustedRoot)]);
    return {
      mode: "keyless",
      identityToken,
      trustedRoot,
      ...(flags.fulcioUrl === undefined ? {} : { fulcioUrl: flags.fulcioUrl }),
      ...(flags.rekorUrl === undefined ? {} : { rekorUrl: flags.rekorUrl }),
    };
  }
  if (flags.key === undefined) {
    throw usage(`${command} needs --key, or --identity-token (or SIGSTORE_ID_TOKEN) for Sigstore keyless signing`);
  }
  for (const [flag, value] of [["--fulcio-url", flags.fulcioUrl], ["--rekor-url", flags.rekorUrl], ["--trusted-root", flags.trustedRoot]] as const) {
    if (value !== undefined) throw usage(`${flag} only applies to keyless signing (--identity-token)`);
  }
  if (flags.certificateChain !== undefined && flags.certificate === undefined) throw usage("--certificate-chain goes with --certificate");
  const { loadSigningKey } = await import("./signing-key.js");
  const { privateKey, publicKey } = await loadSigningKey(flags.key);
  if (flags.certificate === undefined) return { mode: "key", privateKey, publicKey };
  const { parseCertificatesPem } = await import("../signing/model-signing/x509-chain.js");
  const read = async (path: string, what: string) => parseCertificatesPem((await readInputFile(path, what)).toString("utf8"), `${what} ${path}`);
  const [leaf, ...chain] = await Promise.all([read(flags.certificate, "certificate"), ...(flags.certificateChain ?? []).map((p) => read(p, "certificate chain"))]);
  return { mode: "certificate", privateKey, certificates: [...leaf!, ...chain.flat()] };
}
