import type { Command } from "commander";
import { writeFile } from "node:fs/promises";
import { readInputFile, writeErr, writeOut } from "./io.js";
import { ModelGuardError } from "../errors.js";

export function registerSignBlob(program: Command): void {
  program
    .command("sign-blob")
    .description("sign a file like cosign sign-blob --key: base64 DER ECDSA signature on stdout")
    .argument("<file>", "the blob")
    .option("--key <key>", "private key: cosign encrypted PEM or PKCS#8 PEM")
    .option("--output-signature <file>", "also write the signature to this file")
    .option("--bundle <file>", "also write a Sigstore bundle (v0.3, message signature, no transparency-log entry)")
    .action(async (file: string, options: { key?: string; outputSignature?: string; bundle?: string }) => {
      // Loaded here, not at start-up: `modelguard --version` and other commands skip them.
      const { signBlob } = await import("../signing/blob-signature.js");
      const { blobSignatureBundle } = await import("../signing/sigstore/blob-bundle.js");
      const { loadSigningKey } = await import("./signing-key.js");
      if (!options.key) throw new ModelGuardError("USAGE", "sign-blob needs --key");
      const blob = await readInputFile(file, "file");
      const { privateKey, publicKey } = await loadSigningKey(options.key);
      const signature = signBlob(blob, privateKey);
      if (options.outputSignature) {
        await writeFile(options.outputSignature, signature);
        writeErr(`Signature wrote in the file ${options.outputSignature}`);
      }
      if (options.bundle) {
        const bundle = blobSignatureBundle(blob, Buffer.from(signature, "base64"), publicKey);
        await writeFile(options.bundle, `${JSON.stringify(bundle)}\n`);
        writeErr(`Wrote bundle to file ${options.bundle}`);
      }
      writeOut(signature);
    });
}
