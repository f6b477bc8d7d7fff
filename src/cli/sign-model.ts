import type { Command } from "commander";
import { lstat, rename, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { ModelGuardError } from "../errors.js";
import { globalOptions } from "./global-options.js";
import { writeErr, writeOut } from "./io.js";

interface Options {
  key?: string;
  signature?: string;
  ignorePaths?: string[];
}

/** Written beside its final name and renamed, so a crash never leaves half a signature. */
async function writeAtomically(path: string, text: string): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, text);
  await rename(temp, path);
}

export function registerSignModel(program: Command): void {
  program
    .command("sign-model")
    .description("sign a model directory as OpenSSF Model Signing v1.0 model.sig (model_signing sign key)")
    .argument("<dir>", "the model directory (or a single-file model)")
    .option("--key <key>", "private key: cosign encrypted PEM, PKCS#8 or SEC1 EC PEM")
    .option("--signature <path>", "where to write the signature (default DIR/model.sig)")
    .option("--ignore-paths <paths...>", "paths that are not part of the model")
    .action(async (dir: string, options: Options, command: Command) => {
      // Loaded here, not at start-up: `modelguard --version` and other commands skip them.
      const { publicKeyId } = await import("../keys/load-key.js");
      const { resolveCliIgnorePath, signModel } = await import("../signing/model-signing/index.js");
      const { loadSigningKey } = await import("./signing-key.js");
      const global = globalOptions(command);
      if (!options.key) throw new ModelGuardError("USAGE", "sign-model needs --key");
      const stats = await lstat(dir).catch((cause: unknown) => {
        throw new ModelGuardError("FILE_MISSING", `model ${dir}: not found`, { cause });
      });
      const signaturePath = options.signature ?? join(stats.isFile() ? dirname(dir) : dir, "model.sig");
      const ignorePaths = [...(options.ignorePaths ?? []), resolve(signaturePath)]
        .map((path) => resolveCliIgnorePath(dir, path))
        .filter((path): path is string => path !== undefined);
      const { privateKey, publicKey } = await loadSigningKey(options.key);
      const { bundle, statement } = await signModel(dir, { privateKey, publicKey, ignorePaths });
      await writeAtomically(signaturePath, `${JSON.stringify(bundle)}\n`);
      const keyId = publicKeyId(publicKey);
      const count = statement.predicate.resources.length;
      if (global.json) {
        writeOut(JSON.stringify({ signature: signaturePath, key: keyId, files: count }));
      } else if (!global.quiet) {
        writeErr(`Signed ${dir} (${count} ${count === 1 ? "file" : "files"}) with key ${keyId}; signature written to ${signaturePath}`);
      }
    });
}
