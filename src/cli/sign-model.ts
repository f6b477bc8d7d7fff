import type { Command } from "commander";
import { lstat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { ModelGuardError } from "../errors.js";
import { writeFileAtomic } from "../io/write-file-atomic.js";
import { globalOptions } from "./global-options.js";
import { writeErr, writeOut } from "./io.js";
import { addSigningOptions, type SigningFlags } from "./signing-flags.js";

interface Options extends SigningFlags {
  signature?: string;
  ignorePaths?: string[];
}

export function registerSignModel(program: Command): void {
  addSigningOptions(
    program
      .command("sign-model")
      .description("sign a model directory as OpenSSF Model Signing v1.0 model.sig (model_signing sign key|certificate|sigstore)")
      .argument("<dir>", "the model directory (or a single-file model)"),
  )
    .option("--signature <path>", "where to write the signature (default DIR/model.sig)")
    .option("--ignore-paths <paths...>", "paths that are not part of the model")
    .action(async (dir: string, options: Options, command: Command) => {
      // Loaded here, not at start-up: `modelguard --version` and other commands skip them.
      const { resolveCliIgnorePath, signModel } = await import("../signing/model-signing/index.js");
      const { claimedSigner } = await import("../signing/bundle-signer.js");
      const { signerName } = await import("../signing/describe-signer.js");
      const { signerFromFlags } = await import("./signing-flags.js");
      const global = globalOptions(command);
      const stats = await lstat(dir).catch((cause: unknown) => {
        throw new ModelGuardError("FILE_MISSING", `model ${dir}: not found`, { cause });
      });
      const signaturePath = options.signature ?? join(stats.isFile() ? dirname(dir) : dir, "model.sig");
      const ignorePaths = [...(options.ignorePaths ?? []), resolve(signaturePath)]
        .map((path) => resolveCliIgnorePath(dir, path))
        .filter((path): path is string => path !== undefined);
      const signer = await signerFromFlags("sign-model", options);
      const { bundle, statement } = await signModel(dir, { signer, ignorePaths });
      // Mode 0o666 less the umask, as the plain write this replaced made it.
      await writeFileAtomic(signaturePath, `${JSON.stringify(bundle)}\n`, { mode: 0o666 });
      const signedBy = claimedSigner(bundle);
      const count = statement.predicate.resources.length;
      if (global.json) {
        writeOut(JSON.stringify({ signature: signaturePath, ...(signedBy?.kind === "key" ? { key: signedBy.fingerprint } : {}), signer: signedBy ?? null, files: count }));
      } else if (!global.quiet) {
        const by = signedBy ? ` by ${signerName(signedBy)}` : "";
        writeErr(`Signed ${dir} (${count} ${count === 1 ? "file" : "files"})${by}; signature written to ${signaturePath}`);
      }
    });
}
