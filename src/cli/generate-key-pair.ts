import type { Command } from "commander";
import { globalOptions } from "./global-options.js";
import { writeErr, writeOut } from "./io.js";

export function registerGenerateKeyPair(program: Command): void {
  program
    .command("generate-key-pair")
    .description("write a cosign-compatible key pair: P.key (encrypted, 0600) and P.pub")
    .option("--output-key-prefix <prefix>", "file name prefix", "cosign")
    .action(async (options: { outputKeyPrefix: string }, command: Command) => {
      // Loaded here, not at start-up: `modelguard --version` and other commands skip them.
      const { generateKeyPair } = await import("../keys/generate-key-pair.js");
      const { writeKeyPair } = await import("../keys/key-files.js");
      const { readNewPassword } = await import("../keys/password.js");
      const global = globalOptions(command);
      const pair = await generateKeyPair(await readNewPassword());
      const written = await writeKeyPair(options.outputKeyPrefix, pair);
      if (global.json) writeOut(JSON.stringify(written));
      else if (!global.quiet) {
        writeErr(`Private key written to ${written.privatePath}`);
        writeErr(`Public key written to ${written.publicPath}`);
      }
    });
}
