import { ModelGuardError, withErrorContext } from "../errors.js";
import { jsonPath } from "./json-path.js";
import { checkJsonStructure } from "./strict-json.js";
import { escapeForTerminal } from "../terminal-text.js";
import { collisionKey, unsafePathReason } from "./safe-path.js";
import type { Lockfile } from "./types.js";

const SHA256_HEX = /^[0-9a-f]{64}$/;
const COMMIT_ID = /^[0-9a-f]{40}$/;
// Model names appear in URLs, log lines and CLI arguments: keep them to a plain alphabet.
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;
// The Hub's repo id rules: an optional namespace, no "--" or ".." (the cache folder name
// `models--{org}--{name}` must map back to one repo).
const REPO_PART = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?$/;

function invalid(path: string, problem: string, model?: string, file?: string): ModelGuardError {
  return new ModelGuardError("LOCKFILE_INVALID", `${path} ${problem}`, {
    ...(model === undefined ? {} : { model }),
    ...(file === undefined ? {} : { file }),
  });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Why `name` cannot name a model in a lockfile, or undefined when it can. */
export function modelNameProblem(name: string): string | undefined {
  return MODEL_NAME.test(name) ? undefined : "is not a valid model name (letters, digits, '.', '_', '-'; at most 96)";
}

export function repoIdProblem(repo: string): string | undefined {
  const parts = repo.split("/");
  if (parts.length > 2) return "has more than one '/'";
  for (const part of parts) {
    if (!REPO_PART.test(part)) return "is not a Hugging Face repo id (letters, digits, '.', '_', '-')";
    if (part.includes("--") || part.includes("..")) return "contains '--' or '..'";
  }
  return undefined;
}

/**
 * Checks a parsed lockfile against every rule of the v1 core and returns it typed. Fields this
 * version does not know are kept, so a rewrite does not lose them.
 */
export function validateLockfile(data: unknown): Lockfile {
  if (!isPlainObject(data)) throw invalid("$", "must be a JSON object");
  if (data.lockfileVersion !== 1) {
    throw invalid(
      jsonPath("lockfileVersion"),
      `is ${JSON.stringify(data.lockfileVersion)}; this modelguard reads lockfileVersion 1`,
    );
  }
  if (!isPlainObject(data.models)) throw invalid(jsonPath("models"), "must be an object");

  for (const [name, model] of Object.entries(data.models)) {
    const at = (...rest: (string | number)[]) => jsonPath("models", name, ...rest);
    const nameProblem = modelNameProblem(name);
    if (nameProblem) throw invalid(at(), nameProblem, name);
    if (!isPlainObject(model)) throw invalid(at(), "must be an object", name);
    if (typeof model.repo !== "string") throw invalid(at("repo"), "must be a string", name);
    const repoProblem = repoIdProblem(model.repo);
    if (repoProblem) throw invalid(at("repo"), `${JSON.stringify(model.repo)} ${repoProblem}`, name);
    if (typeof model.revision !== "string" || !COMMIT_ID.test(model.revision)) {
      throw invalid(at("revision"), "must be a full commit id (40 lowercase hex characters)", name);
    }
    if (model.ref !== undefined && typeof model.ref !== "string") {
      throw invalid(at("ref"), "must be a string", name);
    }
    if (model.signatures !== undefined && !Array.isArray(model.signatures)) {
      throw invalid(at("signatures"), "must be an array", name);
    }
    if (model.publisherSignatures !== undefined) {
      if (!Array.isArray(model.publisherSignatures)) throw invalid(at("publisherSignatures"), "must be an array", name);
      model.publisherSignatures.forEach((sig: unknown, i: number) => {
        if (!isPlainObject(sig) || typeof sig.path !== "string" || unsafePathReason(sig.path) !== undefined) {
          throw invalid(at("publisherSignatures", i, "path"), "must be a safe relative path", name);
        }
        if (!isPlainObject(sig.bundle)) throw invalid(at("publisherSignatures", i, "bundle"), "must be a Sigstore bundle object", name);
      });
    }
    if (!isPlainObject(model.files)) throw invalid(at("files"), "must be an object", name);
    if (Object.keys(model.files).length === 0) throw invalid(at("files"), "must list at least one file", name);

    const seen = new Map<string, string>();
    for (const [filePath, file] of Object.entries(model.files)) {
      const fileAt = (...rest: (string | number)[]) => at("files", filePath, ...rest);
      const unsafe = unsafePathReason(filePath);
      if (unsafe) throw invalid(fileAt(), `is not a safe relative path: it ${unsafe}`, name, filePath);
      const key = collisionKey(filePath);
      const other = seen.get(key);
      if (other !== undefined) {
        throw invalid(fileAt(), `collides with ${JSON.stringify(other)} after normalisation`, name, filePath);
      }
      seen.set(key, filePath);
      if (!isPlainObject(file)) throw invalid(fileAt(), "must be an object", name, filePath);
      if (typeof file.size !== "number" || !Number.isSafeInteger(file.size) || file.size < 0) {
        throw invalid(fileAt("size"), "must be a non-negative integer", name, filePath);
      }
      if (typeof file.sha256 !== "string" || !SHA256_HEX.test(file.sha256)) {
        throw invalid(fileAt("sha256"), "must be 64 lowercase hex characters", name, filePath);
      }
      if (file.signatures !== undefined) {
        if (!Array.isArray(file.signatures)) throw invalid(fileAt("signatures"), "must be an array", name, filePath);
        file.signatures.forEach((sig: unknown, i: number) => {
          if (!isPlainObject(sig) || typeof sig.sig !== "string" || sig.sig.length === 0) {
            throw invalid(fileAt("signatures", i, "sig"), "must be a base64 string", name, filePath);
          }
          if (sig.keyid !== undefined && typeof sig.keyid !== "string") {
            throw invalid(fileAt("signatures", i, "keyid"), "must be a string", name, filePath);
          }
        });
      }
    }
    if (model.gguf !== undefined) validateGgufLayout(model.gguf, model.files, at, name);
  }
  return data as unknown as Lockfile;
}

/**
 * `gguf`: which locked GGUF files a load starts from and needs (written by `add`). It may only
 * name locked files; lockfile signatures sign it, and the loader checks it against the files'
 * names and verified headers (src/runtimes/node-llama-cpp/plan-gguf-load.ts).
 */
function validateGgufLayout(layout: unknown, files: Record<string, unknown>, at: (...rest: (string | number)[]) => string, name: string): void {
  if (!isPlainObject(layout)) throw invalid(at("gguf"), "must be an object", name);
  const lockedPath = (value: unknown, ...where: (string | number)[]) => {
    if (typeof value !== "string" || !Object.hasOwn(files, value)) throw invalid(at("gguf", ...where), "must be a locked file of this model", name);
  };
  if (layout.entry !== undefined) lockedPath(layout.entry, "entry");
  for (const key of ["parts", "loras"] as const) {
    const list = layout[key];
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw invalid(at("gguf", key), "must be an array", name);
    list.forEach((p: unknown, i: number) => lockedPath(p, key, i));
  }
}

/** Parses lockfile text; a JSON syntax error is LOCKFILE_INVALID naming where it stopped. */
export function parseLockfile(text: string, source = "models.lock.json"): Lockfile {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    // V8's message quotes the text around the error, which is the file's, not ours.
    throw new ModelGuardError("LOCKFILE_INVALID", `${source} is not valid JSON: ${escapeForTerminal((err as Error).message)}`);
  }
  checkJsonStructure(text, source);
  try {
    return validateLockfile(data);
  } catch (err) {
    throw withErrorContext(err, { prefix: source });
  }
}
