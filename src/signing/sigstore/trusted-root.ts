/**
 * The Sigstore trust anchors (Fulcio CAs, Rekor and CT log keys, timestamp authorities) that
 * keyless signatures are checked against, offline: the public-good `trusted_root.json` that
 * `@sigstore/tuf` ships in its TUF seed, or a file the user names.
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { TrustedRoot } from "@sigstore/protobuf-specs";
import { toTrustMaterial, type TrustMaterial } from "@sigstore/verify";
import { ModelGuardError } from "../../errors.js";

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
    text = await readFile(path, "utf8");
  } catch (cause) {
    throw new ModelGuardError("FILE_MISSING", `trusted root ${path}: ${(cause as NodeJS.ErrnoException).code === "ENOENT" ? "not found" : (cause as Error).message}`, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw invalid(`trusted root ${path}`, "not JSON", cause);
  }
  return parseTrustedRoot(json, `trusted root ${path}`);
}

export type { TrustMaterial };
