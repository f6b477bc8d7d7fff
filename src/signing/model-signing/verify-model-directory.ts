/**
 * `model_signing verify` for a model on disk: verify the signature, then walk and hash the
 * model under the signature's own serialization and compare.
 */
import { readFile } from "node:fs/promises";
import { ModelGuardError } from "../../errors.js";
import { assertManifestMatches } from "./compare-manifest.js";
import { hashModelFiles } from "./hash-model-files.js";
import { ignoreSet } from "./ignore-paths.js";
import { verifySignedManifest, type ModelSignatureTrust, type VerifiedModelSignature } from "./verify-model-signature.js";
import { collectSignedFiles, walkModel } from "./walk-model.js";

export interface VerifyDirectoryOptions {
  signaturePath: string;
  trust: ModelSignatureTrust;
  /** Model-relative paths to leave out (already resolved: see resolveCliIgnorePath). */
  ignorePaths?: readonly string[];
  ignoreUnsignedFiles?: boolean;
}

export async function readSignatureFile(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    // A signature that is not there is a missing input file (exit 2), as for any path given.
    throw new ModelGuardError("FILE_MISSING", `signature ${path}: ${code === "ENOENT" ? "not found" : (cause as Error).message}`, { cause });
  }
}

export async function verifyModelDirectory(modelPath: string, options: VerifyDirectoryOptions): Promise<VerifiedModelSignature & { fileCount: number }> {
  const verified = await verifySignedManifest(await readSignatureFile(options.signaturePath), options.trust);
  const { manifest } = verified;
  const ignored = ignoreSet(manifest.serialization.ignorePaths, options.ignorePaths ?? []);
  const signedFiles = [...manifest.resources.keys()].map((name) => (manifest.serialization.method === "shards" ? name.split(":")[0]! : name));
  const files = options.ignoreUnsignedFiles ? await collectSignedFiles(modelPath, signedFiles, ignored) : await walkModel(modelPath, ignored);
  if (files.length === 0 && manifest.resources.size === 0) {
    throw new ModelGuardError("DIGEST_MISMATCH", `model ${modelPath} has no files after exclusions, and the signature lists none`);
  }
  assertManifestMatches(manifest, await hashModelFiles(files, manifest.serialization), { ignoreUnsignedFiles: options.ignoreUnsignedFiles ?? false }, modelPath);
  return { ...verified, fileCount: files.length };
}
