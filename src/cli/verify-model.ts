import type { Command } from "commander";
import { lstat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import type { ModelSigner } from "../signing/model-signing/index.js";
import { globalOptions } from "./global-options.js";
import { writeErr, writeOut } from "./io.js";
import { trustFlags, type TrustFlags } from "./trust-flags.js";

interface Options extends TrustFlags {
  signature?: string;
  ignorePaths?: string[];
  ignoreUnsignedFiles?: boolean;
}

export function describeModelSigner(signer: ModelSigner): string {
  switch (signer.method) {
    case "key":
      return `key ${signer.keyId}`;
    case "certificate":
      return `certificate ${signer.subject} (SHA-256 ${signer.fingerprint})`;
    case "sigstore":
      return `${signer.identity} (issuer ${signer.issuer})`;
  }
}

/** model.sig beside the model: inside a directory model, next to a single-file one. */
const TRUST = trustFlags({
  key: "trusted public key, PEM (repeat for several)",
  certificateChain: { description: "trusted root certificates, PEM", variadic: true },
  identity: "keyless: the signer's identity, matched exactly",
  identityRegexp: "keyless: or a regular expression for it, anchored at both ends",
  identityProvider: "keyless: the identity's OIDC issuer, matched exactly",
  identityProviderRegexp: "keyless: or a regular expression for it, anchored at both ends",
  trustedRoot: "keyless: Sigstore trusted_root.json (default: the public-good instance)",
});

async function defaultSignaturePath(modelPath: string): Promise<string> {
  const stats = await lstat(modelPath).catch(() => undefined);
  return join(stats?.isFile() ? dirname(modelPath) : modelPath, "model.sig");
}

export function registerVerifyModel(program: Command): void {
  const command = program
    .command("verify-model")
    .description("verify an OpenSSF Model Signing signature (model_signing verify key|certificate|sigstore)")
    .argument("<dir>", "the model directory (or the file of a single-file model)")
    .option("--signature <path>", "the signature (default DIR/model.sig)");
  TRUST.declare(command)
    .option("--ignore-paths <paths...>", "paths that are not part of the model")
    .option("--ignore-unsigned-files", "accept files that the signature does not list")
    .action(async (dir: string, options: Options, command: Command) => {
      // Loaded here, not at start-up: `modelguard --version` and other commands skip them.
      const { resolveCliIgnorePath, verifyModelDirectory } = await import("../signing/model-signing/index.js");
      const global = globalOptions(command);
      const trust = await TRUST.modelSignatureTrust(options);
      const signaturePath = options.signature ?? (await defaultSignaturePath(dir));
      // The signature file itself is never part of the model, wherever it is.
      const ignorePaths = [...(options.ignorePaths ?? []), resolve(signaturePath)]
        .map((path) => resolveCliIgnorePath(dir, path))
        .filter((path): path is string => path !== undefined);
      const result = await verifyModelDirectory(dir, {
        signaturePath,
        trust,
        ignorePaths,
        ignoreUnsignedFiles: options.ignoreUnsignedFiles ?? false,
      });
      if (global.json) {
        writeOut(JSON.stringify({ ok: true, model: dir, signature: signaturePath, signer: result.signer, files: result.fileCount }));
      } else if (!global.quiet) {
        writeErr(`Verification succeeded: ${dir} (${result.fileCount} ${result.fileCount === 1 ? "file" : "files"}) signed by ${describeModelSigner(result.signer)}`);
      }
    });
}
