import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { ModelGuardError, exitCodeFor } from "../errors.js";
import { registerAdd } from "./add.js";
import { registerBom } from "./bom.js";
import { registerGenerateKeyPair } from "./generate-key-pair.js";
import { registerPull } from "./pull.js";
import { registerRemove } from "./remove.js";
import { registerSign } from "./sign.js";
import { registerSignBlob } from "./sign-blob.js";
import { registerSignModel } from "./sign-model.js";
import { registerSignatures } from "./signatures.js";
import { registerUnsign } from "./unsign.js";
import { registerVerify } from "./verify.js";
import { registerVerifyBlob } from "./verify-blob.js";
import { registerVerifyModel } from "./verify-model.js";
import { writeErr, writeOut } from "./io.js";
import { helpFooter } from "./help-text.js";

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

export function buildProgram(): Command {
  const program = new Command("modelguard")
    .description("verify models against models.lock.json and trusted signatures before they load")
    .version(packageVersion(), "--version")
    .option("--lockfile <path>", "lockfile", "models.lock.json")
    .option("--cache-dir <dir>", "Hugging Face hub cache (default: $HF_HUB_CACHE, as the Hugging Face tools find it)")
    .option("--json", "machine-readable output on stdout")
    .option("--quiet", "print only failures")
    .showHelpAfterError()
    // Each command's --help lists the global flags it takes too (--lockfile, --json, --quiet ...).
    .configureHelp({ showGlobalOptions: true })
    .exitOverride();
  registerGenerateKeyPair(program);
  registerSignBlob(program);
  registerVerifyBlob(program);
  registerAdd(program);
  registerSign(program);
  registerPull(program);
  registerVerify(program);
  registerSignModel(program);
  registerVerifyModel(program);
  registerBom(program);
  registerRemove(program);
  registerSignatures(program);
  registerUnsign(program);
  for (const command of program.commands) {
    command.exitOverride();
    command.addHelpText("after", helpFooter(command.name()));
  }
  return program;
}

function wantsJson(argv: string[]): boolean {
  return argv.includes("--json");
}

/** Runs the CLI; returns the exit code (contract: 0 ok, 1 verification failed, 2 usage/input, 3 fetch). */
export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and --version exit through here with code 0; every parse error is a usage error.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof ModelGuardError) {
      if (wantsJson(argv)) writeOut(JSON.stringify({ ok: false, error: { code: err.code, message: err.message } }));
      writeErr(`modelguard: ${err.message}`);
      return exitCodeFor(err.code);
    }
    // A file the user named that cannot be read or written (missing, a directory, no permission,
    // a symlink where none may be): their input, not our bug, so no stack trace.
    const sys = err as NodeJS.ErrnoException;
    if (typeof sys?.code === "string" && typeof sys.syscall === "string") {
      const code = sys.code === "ENOENT" ? "FILE_MISSING" : "USAGE";
      if (wantsJson(argv)) writeOut(JSON.stringify({ ok: false, error: { code, message: sys.message } }));
      writeErr(`modelguard: ${sys.message}`);
      return 2;
    }
    writeErr(`modelguard: internal error: ${(err as Error)?.stack ?? String(err)}`);
    return 1;
  }
}
