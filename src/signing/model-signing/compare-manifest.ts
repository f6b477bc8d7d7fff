/**
 * The last step of model verification: the files found must be exactly the files signed, with
 * the signed digests (model_signing compares the two manifests for equality).
 */
import { ModelGuardError } from "../../errors.js";
import { escapeForTerminal } from "../../terminal-text.js";
import type { ResourceDigests } from "./hash-model-files.js";
import type { SignedManifest } from "./signed-manifest.js";

export interface ManifestDiff {
  /** Signed but not found. */
  missing: string[];
  /** Found but not signed. */
  extra: string[];
  /** Found with another digest (or algorithm) than signed. */
  mismatched: { name: string; expected: string; actual: string }[];
}

export interface CompareOptions {
  /** Files that are present but not signed are fine (`--ignore-unsigned-files`). */
  ignoreUnsignedFiles?: boolean;
  /**
   * Signed files that are absent are fine: for callers that check a chosen subset of a signed
   * model (a lockfile that locks only some of a repo's files). The reference has no such mode.
   */
  allowMissingFiles?: boolean;
}

export function diffManifest(signed: SignedManifest, actual: ResourceDigests, options: CompareOptions = {}): ManifestDiff {
  const diff: ManifestDiff = { missing: [], extra: [], mismatched: [] };
  for (const [name, expected] of signed.resources) {
    const found = actual.get(name);
    if (found === undefined) {
      if (!options.allowMissingFiles) diff.missing.push(name);
    } else if (found.algorithm !== expected.algorithm || found.digest !== expected.digest) {
      diff.mismatched.push({
        name,
        expected: `${expected.algorithm}:${expected.digest}`,
        actual: `${found.algorithm}:${found.digest}`,
      });
    }
  }
  if (!options.ignoreUnsignedFiles) {
    for (const name of actual.keys()) if (!signed.resources.has(name)) diff.extra.push(name);
  }
  diff.missing.sort();
  diff.extra.sort();
  diff.mismatched.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return diff;
}

function section(title: string, items: string[]): string {
  // Names come from the signature and the folder, not from us: one line each, whatever they hold.
  const shown = items.slice(0, 5).map((item) => `    ${escapeForTerminal(item)}`);
  if (items.length > 5) shown.push(`    ... and ${items.length - 5} more`);
  return `  ${title} (${items.length}):\n${shown.join("\n")}`;
}

/** The reference's mismatch report: missing, extra, then changed files, five of each at most. */
export function describeDiff(diff: ManifestDiff): string {
  const sections: string[] = [];
  if (diff.missing.length > 0) sections.push(section("Missing files", diff.missing));
  if (diff.extra.length > 0) sections.push(section("Extra files (not in the signature)", diff.extra));
  if (diff.mismatched.length > 0) {
    sections.push(section("Hash mismatches", diff.mismatched.map((m) => `${m.name}: expected ${m.expected}, got ${m.actual}`)));
  }
  return sections.join("\n");
}

export function isEmptyDiff(diff: ManifestDiff): boolean {
  return diff.missing.length === 0 && diff.extra.length === 0 && diff.mismatched.length === 0;
}

/** DIGEST_MISMATCH naming every difference, unless the files are exactly what was signed. */
export function assertManifestMatches(signed: SignedManifest, actual: ResourceDigests, options: CompareOptions = {}, model?: string): void {
  const diff = diffManifest(signed, actual, options);
  if (isEmptyDiff(diff)) return;
  const first = diff.mismatched[0]?.name ?? diff.missing[0] ?? diff.extra[0];
  const hint =
    diff.missing.length === 1 && diff.missing[0] === "." && actual.size > 0
      ? "\n  (the signature is for a single-file model: verify the file itself, not its directory)"
      : "";
  throw new ModelGuardError(
    "DIGEST_MISMATCH",
    `${model === undefined ? "the model" : `model ${model}`} does not match its signature:\n${describeDiff(diff)}${hint}`,
    { ...(model === undefined ? {} : { model }), ...(first === undefined ? {} : { file: first }) },
  );
}
