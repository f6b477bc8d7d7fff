/**
 * `model_signing sign key|certificate|sigstore` for a model on disk: hash every file that is
 * not ignored, sign the in-toto statement model_signing 1.1 writes (resources sorted like
 * pathlib paths, subject digest over them, the ignored paths recorded) as a DSSE envelope in a
 * Sigstore v0.3 bundle: with the key's id as `publicKey.hint`, the certificate chain, or the
 * Fulcio certificate and Rekor entry.
 */
import { basename, resolve } from "node:path";
import type { SerializedBundle } from "@sigstore/bundle";
import { ModelGuardError } from "../../errors.js";
import { signDsse, type DsseSigner } from "../sign-dsse.js";
import { buildModelStatement, IN_TOTO_PAYLOAD_TYPE, type ModelStatement } from "../model-statement.js";
import { hashModelFiles } from "./hash-model-files.js";
import { ignoreSet } from "./ignore-paths.js";
import { walkModel } from "./walk-model.js";

export interface SignModelOptions {
  signer: DsseSigner;
  /** Model-relative paths to leave out (resolved), recorded in the statement. */
  ignorePaths?: readonly string[];
}

/** model_signing names the model after the last path component, resolving "." and "..". */
export function modelName(modelPath: string): string {
  const name = basename(modelPath);
  return name === "" || name === "." || name === ".." ? basename(resolve(modelPath)) : name;
}

/** The statement for the model at `modelPath`: what sign-model signs. */
export async function modelStatement(modelPath: string, ignorePaths: readonly string[] = []): Promise<ModelStatement> {
  const ignored = ignoreSet(ignorePaths);
  const files = await walkModel(modelPath, ignored);
  if (files.length === 0) throw new ModelGuardError("FILE_MISSING", `model ${modelPath} has no files to sign after exclusions`);
  const digests = await hashModelFiles(files, { method: "files", hashType: "sha256", allowSymlinks: false, ignorePaths: [] });
  return buildModelStatement(
    modelName(modelPath),
    [...digests].map(([path, { digest }]) => ({ path, sha256: digest })),
    // A set in model_signing (its order varies run to run); sorted here so output is stable.
    [...ignored].sort(),
  );
}

export async function signModel(modelPath: string, options: SignModelOptions): Promise<{ bundle: SerializedBundle; statement: ModelStatement }> {
  const statement = await modelStatement(modelPath, options.ignorePaths);
  // Indented like model_signing's payload; the bytes are signed as written.
  const payload = Buffer.from(JSON.stringify(statement, null, 2), "utf8");
  return { bundle: await signDsse(IN_TOTO_PAYLOAD_TYPE, payload, options.signer), statement };
}
