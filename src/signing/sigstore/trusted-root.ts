/**
 * The Sigstore trust anchors (Fulcio CAs, Rekor and CT log keys, timestamp authorities) that
 * keyless signatures are checked against, offline: the public-good `trusted_root.json` that
 * `@sigstore/tuf` ships in its TUF seed, or a file the user names.
 */
import { readFile, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { TrustedRoot } from "@sigstore/protobuf-specs";
import { toTrustMaterial, type TrustMaterial } from "@sigstore/verify";
import { ModelGuardError } from "../../errors.js";
import { checkJsonStructure } from "../../lockfile/strict-json.js";

const MAX_TRUSTED_ROOT_BYTES = 1024 * 1024;

const PUBLIC_GOOD_TUF_MIRROR = "https://tuf-repo-cdn.sigstore.dev";

function invalid(what: string, why: string, cause?: unknown): ModelGuardError {
  return new ModelGuardError("TRUSTED_ROOT_INVALID", `${what}: ${why}`, { cause });
}

/**
 * The public-good trusted root as JSON. It comes from the installed @sigstore/tuf package (the
 * same file sigstore-js starts its TUF client from), so it is as current as that package: a
 * signature from a log or CA created after that release needs a newer package or --trusted-root.
 */
export function publicGoodTrustedRootJson(): unknown {
  const require = createRequire(import.meta.url);
  const seeds = require("@sigstore/tuf/seeds.json") as Record<string, { targets?: Record<string, string> }>;
  const encoded = seeds[PUBLIC_GOOD_TUF_MIRROR]?.targets?.["trusted_root.json"];
  if (encoded === undefined) throw invalid("@sigstore/tuf seeds.json", "holds no public-good trusted_root.json");
  return JSON.parse(Buffer.from(encoded, "base64").toString("utf8"));
}

interface Validity {
  start?: Date;
  end?: Date;
}

/**
 * Why a validity period cannot be relied on, or undefined. sigstore-js reads a missing start as
 * the beginning of time and a missing end as forever: a key whose start was left out would vouch
 * for signatures from before it existed. A start is required; an end, when given, follows it.
 */
function validityProblem(validFor: Validity | undefined): string | undefined {
  const start = validFor?.start;
  if (!(start instanceof Date) || Number.isNaN(start.getTime())) return "has no valid validFor.start";
  const end = validFor?.end;
  if (end === undefined) return undefined;
  if (!(end instanceof Date) || Number.isNaN(end.getTime())) return "has an invalid validFor.end";
  if (end.getTime() <= start.getTime()) return "has a validFor.end that is not after its start";
  return undefined;
}

/** Every log key and certificate authority of the root is complete enough to be relied on. */
function checkAuthorities(root: TrustedRoot, what: string): void {
  for (const [kind, logs] of [["tlogs", root.tlogs], ["ctlogs", root.ctlogs]] as const) {
    logs.forEach((log, i) => {
      const at = `${kind}[${i}]`;
      if (!log.publicKey?.rawBytes?.length) throw invalid(what, `${at} has no publicKey.rawBytes`);
      if (!log.logId?.keyId?.length) throw invalid(what, `${at} has no logId.keyId`);
      const problem = validityProblem(log.publicKey.validFor);
      if (problem) throw invalid(what, `${at}.publicKey ${problem}`);
    });
  }
  for (const [kind, authorities] of [["certificateAuthorities", root.certificateAuthorities], ["timestampAuthorities", root.timestampAuthorities]] as const) {
    authorities.forEach((authority, i) => {
      const at = `${kind}[${i}]`;
      const certificates = authority.certChain?.certificates ?? [];
      if (certificates.length === 0 || certificates.some((c) => !c.rawBytes?.length)) throw invalid(what, `${at} has no certificate chain`);
      const problem = validityProblem(authority.validFor);
      if (problem) throw invalid(what, `${at} ${problem}`);
    });
  }
  // No certificate authority is fine: such a root verifies key-signed bundles against its logs, and a
  // keyless signature then finds no authority to chain to and fails verification.
}

/** Parses a trusted root (protobuf-specs JSON); TRUSTED_ROOT_INVALID naming `what` if it is not one. */
export function parseTrustedRoot(json: unknown, what: string): TrustedRoot {
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw invalid(what, "not a JSON object");
  const mediaType = (json as { mediaType?: unknown }).mediaType;
  if (typeof mediaType !== "string" || !mediaType.startsWith("application/vnd.dev.sigstore.trustedroot")) {
    throw invalid(what, `not a Sigstore trusted root (media type ${JSON.stringify(mediaType)})`);
  }
  let root: TrustedRoot;
  try {
    root = TrustedRoot.fromJSON(json);
  } catch (cause) {
    throw invalid(what, (cause as Error).message, cause);
  }
  checkAuthorities(root, what);
  try {
    // Building the trust material parses every key and certificate: fail here, not mid-verification.
    toTrustMaterial(root);
  } catch (cause) {
    throw invalid(what, (cause as Error).message, cause);
  }
  return root;
}

let publicGood: TrustedRoot | undefined;

/** The trusted root in `path`, or the public-good one when no path is given (parsed once per process). */
export async function loadTrustedRoot(path?: string): Promise<TrustedRoot> {
  if (path === undefined) {
    publicGood ??= parseTrustedRoot(publicGoodTrustedRootJson(), "the public-good trusted root");
    return publicGood;
  }
  let text: string;
  try {
    const info = await stat(path);
    // The public-good root is 8 KiB; a file far beyond that is not one, and is not read into memory.
    if (info.isFile() && info.size > MAX_TRUSTED_ROOT_BYTES) throw invalid(`trusted root ${path}`, `is ${info.size} bytes, more than a trusted root holds`);
    text = await readFile(path, "utf8");
  } catch (cause) {
    if (cause instanceof ModelGuardError) throw cause;
    throw new ModelGuardError("FILE_MISSING", `trusted root ${path}: ${(cause as NodeJS.ErrnoException).code === "ENOENT" ? "not found" : (cause as Error).message}`, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw invalid(`trusted root ${path}`, "not JSON", cause);
  }
  // A key given twice would be read one way here and maybe another by another tool.
  checkJsonStructure(text, `trusted root ${path}`, "TRUSTED_ROOT_INVALID");
  return parseTrustedRoot(json, `trusted root ${path}`);
}

export type { TrustMaterial };
