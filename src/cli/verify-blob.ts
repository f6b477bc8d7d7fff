import type { Command } from "commander";
import { existsSync } from "node:fs";
import { ModelGuardError } from "../errors.js";
import { parsePublicKey } from "../keys/load-key.js";
import { decodeBlobSignature, verifyBlob } from "../signing/blob-signature.js";
import { readInputFile, writeErr } from "./io.js";

interface Options {
  key?: string;
  signature?: string;
  bundle?: string;
}

/** `--signature` is a file or, as with cosign, the base64 signature itself. */
async function readSignature(value: string): Promise<Buffer> {
  const text = existsSync(value) ? (await readInputFile(value, "signature")).toString("utf8") : value;
  const sig = decodeBlobSignature(text);
  if (!sig || sig.length === 0) {
    throw new ModelGuardError("SIGNATURE_MALFORMED", `signature ${existsSync(value) ? value : "argument"} is neither a file nor base64`);
  }
  return sig;
}

export function registerVerifyBlob(program: Command): void {
  program
    .command("verify-blob")
    .description("verify a cosign blob signature (cosign verify-blob --key --signature)")
    .argument("<file>", "the blob")
    .option("--key <pub>", "public key (PEM)")
    .option("--signature <sig>", "signature file, or the base64 signature")
    .action(async (file: string, options: Options) => {
      if (!options.key) throw new ModelGuardError("USAGE", "verify-blob needs --key");
      if (!options.signature) throw new ModelGuardError("USAGE", "verify-blob needs --signature");
      const [blob, keyText, signature] = await Promise.all([
        readInputFile(file, "file"),
        readInputFile(options.key, "public key"),
        readSignature(options.signature),
      ]);
      const key = parsePublicKey(keyText.toString("utf8"));
      if (!verifyBlob(blob, signature, key)) {
        throw new ModelGuardError("SIGNATURE_INVALID", `invalid signature for ${file} with key ${options.key}`, { file });
      }
      writeErr("Verified OK");
    });
}
