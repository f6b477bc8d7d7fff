import type { Command } from "commander";
import { writeFile } from "node:fs/promises";
import { signBlob } from "../signing/blob-signature.js";
import { readInputFile, writeErr, writeOut } from "./io.js";
import { loadSigningKey } from "./signing-key.js";
import { ModelGuardError } from "../errors.js";

export function registerSignBlob(program: Command): void {
  program
    .command("sign-blob")
    .description("sign a file like cosign sign-blob --key: base64 DER ECDSA signature on stdout")
    .argument("<file>", "the blob")
    .option("--key <key>", "private key: cosign encrypted PEM or PKCS#8 PEM")
    .option("--output-signature <file>", "also write the signature to this file")
    .action(async (file: string, options: { key?: string; outputSignature?: string }) => {
      if (!options.key) throw new ModelGuardError("USAGE", "sign-blob needs --key");
      const blob = await readInputFile(file, "file");
      const { privateKey } = await loadSigningKey(options.key);
      const signature = signBlob(blob, privateKey);
      if (options.outputSignature) {
        await writeFile(options.outputSignature, signature);
        writeErr(`Signature wrote in the file ${options.outputSignature}`);
      }
      writeOut(signature);
    });
}
