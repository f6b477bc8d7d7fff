import type { Command } from "commander";
import { ModelGuardError } from "../errors.js";
import { writeErr } from "./io.js";
import type { VerifyBlobOptions } from "./verify-blob-checks.js";

export function registerVerifyBlob(program: Command): void {
  program
    .command("verify-blob")
    .description("verify a blob's cosign signature or Sigstore bundle (cosign verify-blob), offline")
    .argument("<file>", "the blob")
    .option("--key <pub>", "public key (PEM)")
    .option("--signature <sig>", "signature file, or the base64 signature")
    .option("--bundle <file>", "Sigstore bundle (v0.1 to v0.3) or cosign's legacy bundle JSON")
    .option("--certificate-identity <id>", "keyless: the signer's identity, matched exactly")
    .option("--certificate-identity-regexp <re>", "keyless: a pattern for the identity, anchored")
    .option("--certificate-oidc-issuer <iss>", "keyless: the identity's OIDC issuer, matched exactly")
    .option("--certificate-oidc-issuer-regexp <re>", "keyless: a pattern for the issuer, anchored")
    .option("--trusted-root <file>", "Sigstore trusted_root.json (default: the public-good instance)")
    .option("--insecure-ignore-tlog", "with --key: accept a bundle without a transparency-log entry")
    .action(async (file: string, options: VerifyBlobOptions) => {
      // Loaded here, not at start-up: `modelguard --version` and other commands skip sigstore-js.
      const { verifyDetached, verifyWithBundle } = await import("./verify-blob-checks.js");
      if (options.bundle && options.signature) throw new ModelGuardError("USAGE", "give --signature or --bundle, not both");
      if (options.bundle) await verifyWithBundle(file, options);
      else if (options.signature) await verifyDetached(file, options);
      else throw new ModelGuardError("USAGE", "verify-blob needs --signature or --bundle");
      writeErr("Verified OK");
    });
}
