import type { LockedModel } from "../lockfile/types.js";
import { IN_TOTO_STATEMENT_V1, MODEL_SIGNING_PREDICATE_V1, buildModelStatement, subjectDigest, type ModelStatement, type ModelResource } from "./model-statement.js";

/**
 * The subject a lockfile entry is signed under: the repo and the pinned commit, so a signature
 * for one repo or commit cannot be replayed on another entry with the same files.
 */
export function lockedModelSubject(entry: Pick<LockedModel, "repo" | "revision">): string {
  return `${entry.repo}@${entry.revision}`;
}

/**
 * Where the statement names the model: the lockfile's name for the entry, which is what a service
 * asks for (`createSession("safety-filter")`), so two signed entries cannot trade names.
 * model_signing's verifiers ignore predicate fields they do not know.
 */
export const LOCKED_MODEL_NAME_FIELD = "lockfile_model_name";

/**
 * Where the statement carries the entry's `gguf` layout (which locked file node-llama-cpp starts
 * from, its parts, its LoRA adapters): it chooses which bytes load, so a lockfile signature
 * covers it (issue 9's rule). Absent when the entry has none, so signatures of other entries are
 * unchanged.
 */
export const LOCKED_GGUF_FIELD = "lockfile_gguf";

/** A JSON value with every object's keys sorted, so the signed layout compares by content. */
function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortedKeys((value as Record<string, unknown>)[k])]));
  }
  return value;
}

/**
 * The statement a lockfile signature signs for the entry `name`: the model name, the repo and
 * commit (the subject), every file's path and sha256 (the resources) and the GGUF layout if the
 * entry has one. The one builder of it:
 * every way of signing a lockfile entry (a key, a certificate, Sigstore keyless) signs this, and
 * `statementMismatch` is its one check.
 */
export function statementForLockedModel(name: string, entry: LockedModel): ModelStatement {
  const statement = buildModelStatement(
    lockedModelSubject(entry),
    Object.entries(entry.files).map(([path, file]) => ({ path, sha256: file.sha256 })),
  );
  statement.predicate[LOCKED_MODEL_NAME_FIELD] = name;
  if (entry.gguf !== undefined) statement.predicate[LOCKED_GGUF_FIELD] = sortedKeys(entry.gguf);
  return statement;
}

/**
 * Why a signed statement does not describe this lockfile entry, or undefined when it does. The
 * sha256 of each file pins its size too, so sizes need no field of their own.
 */
export function statementMismatch(statement: unknown, name: string, entry: LockedModel): string | undefined {
  const s = statement as Partial<ModelStatement> | null;
  if (!s || typeof s !== "object") return "the signed payload is not a JSON object";
  if (s._type !== IN_TOTO_STATEMENT_V1) return "the signed payload is not an in-toto v1 statement";
  if (s.predicateType !== MODEL_SIGNING_PREDICATE_V1) return `unexpected predicate type ${JSON.stringify(s.predicateType)}`;
  if (!s.predicate || typeof s.predicate !== "object") return "the statement has no predicate";
  const signedName = (s.predicate as Record<string, unknown>)[LOCKED_MODEL_NAME_FIELD];
  if (signedName === undefined) {
    return `it was signed by a modelguard that did not sign the model name; re-sign it: \`modelguard sign ${name} --key KEY\``;
  }
  if (signedName !== name) return `it was signed for the model named ${JSON.stringify(signedName)}, not ${JSON.stringify(name)}`;
  const signedGguf = JSON.stringify(sortedKeys((s.predicate as Record<string, unknown>)[LOCKED_GGUF_FIELD]) ?? null);
  const lockedGguf = JSON.stringify(sortedKeys(entry.gguf) ?? null);
  if (signedGguf !== lockedGguf) {
    return `the gguf layout (which file loads, its parts and LoRA adapters) is ${lockedGguf} in the lockfile but ${signedGguf} in the signature`;
  }
  const subject = Array.isArray(s.subject) && s.subject.length === 1 ? s.subject[0] : undefined;
  const expectedSubject = lockedModelSubject(entry);
  if (!subject || subject.name !== expectedSubject) {
    return `it was signed for ${JSON.stringify(subject?.name)}, not ${JSON.stringify(expectedSubject)}`;
  }
  const resources = s.predicate?.resources;
  if (!Array.isArray(resources)) return "the statement lists no resources";
  const signed = new Map<string, string>();
  for (const r of resources as Partial<ModelResource>[]) {
    if (typeof r?.name !== "string" || r.algorithm !== "sha256" || typeof r.digest !== "string" || !/^[0-9a-f]{64}$/.test(r.digest)) {
      return "a resource of the statement is malformed";
    }
    signed.set(r.name, r.digest);
  }
  // Only once every resource is known well-formed: the digest is computed from them.
  if (subject.digest?.sha256 !== subjectDigest(resources as ModelResource[])) return "the subject digest does not match its resources";
  for (const [path, file] of Object.entries(entry.files)) {
    const digest = signed.get(path);
    if (digest === undefined) return `file ${path} is locked but not signed`;
    if (digest !== file.sha256) return `file ${path} has sha256 ${file.sha256} in the lockfile but ${digest} in the signature`;
    signed.delete(path);
  }
  const extra = [...signed.keys()];
  if (extra.length > 0) return `file ${extra[0]} is signed but no longer locked`;
  return undefined;
}
