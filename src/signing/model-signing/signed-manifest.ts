/**
 * The manifest a model signature vouches for, read from its signed in-toto statement exactly as
 * OpenSSF model_signing reads it (`signing.dsse_payload_to_manifest`), after the signature over
 * the statement has been verified.
 */
import { createHash } from "node:crypto";
import { ModelGuardError } from "../../errors.js";
import { IN_TOTO_PAYLOAD_TYPE, IN_TOTO_STATEMENT_V1, MODEL_SIGNING_PREDICATE_V1 } from "../model-statement.js";
import { normalizeResourceName, unsafeResourceName } from "./resource-name.js";

/** The predicate model_signing 0.2 wrote before v1.0; its verifier still accepts it. */
export const MODEL_SIGNING_PREDICATE_COMPAT = "https://model_signing/Digests/v0.1";

/** How the signer turned the model into resources (`predicate.serialization`). */
export type Serialization =
  | { method: "files"; hashType: string; allowSymlinks: boolean; ignorePaths: string[] }
  | { method: "shards"; hashType: string; allowSymlinks: boolean; ignorePaths: string[]; shardSize: number };

export interface SignedManifest {
  /** The subject name: informative only, never compared (the reference ignores it too). */
  modelName: string;
  serialization: Serialization;
  /** Normalised resource name → digest (algorithm as written, lowercase hex), in signed order. */
  resources: Map<string, { algorithm: string; digest: string }>;
}

function invalid(message: string): ModelGuardError {
  // The payload is authentic (its signature verified) but does not describe a model the way
  // the format requires: the signature cannot be relied on, so this is a verification failure.
  return new ModelGuardError("SIGNATURE_INVALID", `the signed statement ${message}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Python's bytes.fromhex accepts either case and whitespace between bytes; the bytes are what count. */
function digestBytes(hex: unknown, where: string): Buffer {
  const compact = typeof hex === "string" ? hex.replace(/\s+/g, "") : "";
  if (compact.length === 0 || compact.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(compact)) {
    throw invalid(`has a digest that is not hex at ${where}`);
  }
  return Buffer.from(compact, "hex");
}

function readSerialization(value: unknown): Serialization {
  if (!isObject(value)) throw invalid("has no predicate.serialization");
  const { method, hash_type: hashType, allow_symlinks: allowSymlinks, ignore_paths: ignorePaths } = value;
  if (typeof hashType !== "string") throw invalid("has no serialization.hash_type");
  if (typeof allowSymlinks !== "boolean") throw invalid("has no boolean serialization.allow_symlinks");
  if (ignorePaths !== undefined && (!Array.isArray(ignorePaths) || !ignorePaths.every((p) => typeof p === "string"))) {
    throw invalid("has a serialization.ignore_paths that is not a list of paths");
  }
  const common = { hashType, allowSymlinks, ignorePaths: (ignorePaths as string[] | undefined) ?? [] };
  if (method === "files") return { method, ...common };
  if (method === "shards") {
    // protobuf's Struct stores numbers as doubles, so model_signing writes 1000000000.0; any
    // positive whole number is a shard size.
    const shardSize = value.shard_size;
    if (typeof shardSize !== "number" || !Number.isSafeInteger(shardSize) || shardSize <= 0) {
      throw invalid("has a serialization.shard_size that is not a positive whole number");
    }
    return { method, ...common, shardSize };
  }
  throw invalid(`uses the unknown serialization method ${JSON.stringify(method)}`);
}

function readResourceName(name: unknown, where: string, serialization: Serialization): string {
  if (typeof name !== "string") throw invalid(`has a resource without a name at ${where}`);
  // Shard names are "path:start:end"; only the path part is a file name.
  const path = serialization.method === "shards" ? name.split(":")[0] ?? "" : name;
  const normalizedPath = normalizeResourceName(path);
  const unsafe = unsafeResourceName(normalizedPath);
  if (unsafe !== undefined) {
    throw new ModelGuardError("UNSAFE_PATH", `the signed statement names the file ${JSON.stringify(name)}, which ${unsafe}`);
  }
  if (serialization.method === "files") return normalizedPath;
  const parts = name.split(":");
  if (parts.length !== 3 || !/^\d+$/.test(parts[1]!) || !/^\d+$/.test(parts[2]!)) {
    throw invalid(`has the shard ${JSON.stringify(name)}, expected "path:start:end"`);
  }
  return `${normalizedPath}:${Number(parts[1])}:${Number(parts[2])}`;
}

function fromV1Statement(statement: Record<string, unknown>): SignedManifest {
  const subjects = statement.subject;
  if (!Array.isArray(subjects) || subjects.length !== 1 || !isObject(subjects[0])) {
    throw invalid("must have exactly one subject");
  }
  const subject = subjects[0];
  const subjectDigest = isObject(subject.digest) ? subject.digest.sha256 : undefined;
  if (typeof subjectDigest !== "string") throw invalid("has no subject sha256 digest");
  const predicate = statement.predicate;
  if (!isObject(predicate)) throw invalid("has no predicate");
  const serialization = readSerialization(predicate.serialization);
  if (!Array.isArray(predicate.resources)) throw invalid("has no predicate.resources list");

  // The subject digest is SHA-256 over the raw resource digests in the order listed; it binds
  // the list, and the reference refuses a statement where it does not match.
  const rootHash = createHash("sha256");
  const resources = new Map<string, { algorithm: string; digest: string }>();
  predicate.resources.forEach((resource: unknown, index: number) => {
    const where = `predicate.resources[${index}]`;
    if (!isObject(resource)) throw invalid(`has a malformed resource at ${where}`);
    const name = readResourceName(resource.name, where, serialization);
    if (typeof resource.algorithm !== "string") throw invalid(`has a resource without an algorithm at ${where}`);
    const digest = digestBytes(resource.digest, where);
    rootHash.update(digest);
    // The reference keeps the last of two equal names; naming a file twice is never legitimate.
    if (resources.has(name)) throw invalid(`lists ${JSON.stringify(name)} twice`);
    resources.set(name, { algorithm: resource.algorithm, digest: digest.toString("hex") });
  });
  const computed = rootHash.digest("hex");
  if (computed !== subjectDigest) {
    throw invalid(`is inconsistent: the subject digest is ${subjectDigest} but its resources hash to ${computed}`);
  }
  return { modelName: typeof subject.name === "string" ? subject.name : "", serialization, resources };
}

/** model_signing 0.2: every file is a subject; there is no serialization section. */
function fromCompatStatement(statement: Record<string, unknown>): SignedManifest {
  if (!Array.isArray(statement.subject)) throw invalid("has no subjects");
  const serialization: Serialization = { method: "files", hashType: "sha256", allowSymlinks: false, ignorePaths: [] };
  const resources = new Map<string, { algorithm: string; digest: string }>();
  statement.subject.forEach((subject: unknown, index: number) => {
    const where = `subject[${index}]`;
    if (!isObject(subject) || !isObject(subject.digest)) throw invalid(`has a malformed subject at ${where}`);
    const name = readResourceName(subject.name, where, serialization);
    resources.set(name, { algorithm: "sha256", digest: digestBytes(subject.digest.sha256, where).toString("hex") });
  });
  return { modelName: "compat-undefined-not-present", serialization, resources };
}

/** The manifest of a verified DSSE payload; SIGNATURE_INVALID when it is not a model signature. */
export function readSignedManifest(payloadType: string, payload: Buffer): SignedManifest {
  if (payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw invalid(`has payload type ${JSON.stringify(payloadType)}, expected ${IN_TOTO_PAYLOAD_TYPE}`);
  }
  let statement: unknown;
  try {
    statement = JSON.parse(payload.toString("utf8"));
  } catch {
    throw invalid("is not JSON");
  }
  if (!isObject(statement)) throw invalid("is not a JSON object");
  if (statement._type !== IN_TOTO_STATEMENT_V1) {
    throw invalid(`is of type ${JSON.stringify(statement._type)}, expected ${IN_TOTO_STATEMENT_V1}`);
  }
  if (statement.predicateType === MODEL_SIGNING_PREDICATE_V1) return fromV1Statement(statement);
  if (statement.predicateType === MODEL_SIGNING_PREDICATE_COMPAT) return fromCompatStatement(statement);
  throw invalid(`has predicate type ${JSON.stringify(statement.predicateType)}, expected ${MODEL_SIGNING_PREDICATE_V1}`);
}
