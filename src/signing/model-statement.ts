import { createHash } from "node:crypto";

/** OpenSSF Model Signing v1.0: the in-toto statement a `model.sig` signs. */
export const IN_TOTO_STATEMENT_V1 = "https://in-toto.io/Statement/v1";
export const MODEL_SIGNING_PREDICATE_V1 = "https://model_signing/signature/v1.0";
export const IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";

export interface ModelResource {
  name: string;
  algorithm: "sha256";
  digest: string;
}

export interface ModelStatement {
  _type: string;
  subject: { name: string; digest: { sha256: string } }[];
  predicateType: string;
  predicate: {
    serialization: { method: string; hash_type: string; allow_symlinks: boolean; ignore_paths?: string[] };
    resources: ModelResource[];
    [extra: string]: unknown;
  };
}

function comparePaths(a: string, b: string): number {
  // model_signing sorts pathlib paths, which compare component by component (so "a/b" comes
  // before "a.txt"), and Python compares strings by code point, not by UTF-16 unit.
  const pa = a.split("/");
  const pb = b.split("/");
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = Array.from(pa[i]!, (c) => c.codePointAt(0)!);
    const y = Array.from(pb[i]!, (c) => c.codePointAt(0)!);
    for (let j = 0; j < Math.min(x.length, y.length); j++) if (x[j] !== y[j]) return x[j]! - y[j]!;
    if (x.length !== y.length) return x.length - y.length;
  }
  return pa.length - pb.length;
}

export function sortResources(resources: ModelResource[]): ModelResource[] {
  return [...resources].sort((a, b) => comparePaths(a.name, b.name));
}

/** The subject digest: SHA-256 over the raw resource digests, concatenated in listed order. */
export function subjectDigest(resources: ModelResource[]): string {
  const hash = createHash("sha256");
  for (const resource of resources) hash.update(Buffer.from(resource.digest, "hex"));
  return hash.digest("hex");
}

export function buildModelStatement(
  subjectName: string,
  files: { path: string; sha256: string }[],
  ignorePaths: string[] = [],
): ModelStatement {
  const resources = sortResources(files.map((f) => ({ name: f.path, algorithm: "sha256", digest: f.sha256 })));
  return {
    _type: IN_TOTO_STATEMENT_V1,
    subject: [{ name: subjectName, digest: { sha256: subjectDigest(resources) } }],
    predicateType: MODEL_SIGNING_PREDICATE_V1,
    predicate: {
      serialization: { method: "files", hash_type: "sha256", allow_symlinks: false, ignore_paths: ignorePaths },
      resources,
    },
  };
}
