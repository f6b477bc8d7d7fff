/**
 * The I/O edge of `bom`: for each named model, who signed it and what its config.json states,
 * ready for `buildModelBom`. Reads the lockfile's own data and, at most, each model's cached
 * config.json; never the network, never a weight file.
 */
import { ModelGuardError, combinedError, type FailureDetails } from "../errors.js";
import { readVerifiedFile } from "../digest/verify-locked-file.js";
import { snapshotFilePath } from "../hub/cache-layout.js";
import { lockedNames } from "../lockfile/locked-names.js";
import type { Lockfile } from "../lockfile/types.js";
import { recordedSigners } from "../signing/recorded-signers.js";
import { checkTrustPolicy } from "../signing/trust-policy.js";
import type { TrustPolicy } from "../signing/trust-anchors.js";
import type { BomModel, BomSigner } from "./build-bom.js";
import { modelCardFromConfig, type ModelCard } from "./model-card.js";

/** config.json files are a few kilobytes; a larger one is not read for a model card. */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
const CONFIG = "config.json";

export interface BomModelsOptions {
  /** The Hugging Face cache to read config.json from; without it no model card is made. */
  cacheDir?: string;
  /** Check each model's signatures against this policy: the BOM then states the verified signer, and a model that fails it fails the BOM. */
  policy?: TrustPolicy;
  /** Told what was left out and why (a config.json not cached, not JSON, too large). */
  onNote?: (message: string) => void;
}

async function modelCardOf(name: string, entry: Lockfile["models"][string], options: BomModelsOptions): Promise<ModelCard | undefined> {
  const locked = Object.hasOwn(entry.files, CONFIG) ? entry.files[CONFIG] : undefined;
  if (!locked || options.cacheDir === undefined) return undefined;
  const leftOut = (why: string): undefined => {
    options.onNote?.(`model ${name}: no model card: ${why}`);
    return undefined;
  };
  if (locked.size > MAX_CONFIG_BYTES) return leftOut(`${CONFIG} is ${locked.size} bytes, more than the ${MAX_CONFIG_BYTES} read for it`);
  let bytes: Buffer;
  try {
    bytes = await readVerifiedFile(snapshotFilePath(options.cacheDir, entry.repo, entry.revision, CONFIG), locked, { model: name, file: CONFIG });
  } catch (err) {
    if (err instanceof ModelGuardError && err.code === "NOT_CACHED") return leftOut(`${CONFIG} is not in the cache (\`modelguard pull ${name}\` fetches it)`);
    throw err;
  }
  let config: unknown;
  try {
    config = JSON.parse(bytes.toString("utf8"));
  } catch {
    return leftOut(`${CONFIG} is not JSON`);
  }
  return modelCardFromConfig(config) ?? leftOut(`${CONFIG} states no architecture, model type or task`);
}

async function signersOf(name: string, entry: Lockfile["models"][string], policy: TrustPolicy | undefined): Promise<BomSigner[]> {
  if (policy) return [{ ...(await checkTrustPolicy(name, entry, policy)), verified: true }];
  return recordedSigners(entry).map((s) => ({ ...s, verified: false }));
}

/**
 * The BOM's input for the named models (all by default), in the order given. Every failure is
 * collected (an untrusted signer, a cached config.json that does not match the lock) and thrown
 * as one error, the most serious first.
 */
export async function bomModels(lockfile: Lockfile, names?: readonly string[], options: BomModelsOptions = {}): Promise<BomModel[]> {
  const failures: FailureDetails[] = [];
  const models: BomModel[] = [];
  for (const name of lockedNames(lockfile, names)) {
    const entry = lockfile.models[name]!;
    const [signers, modelCard] = await Promise.allSettled([signersOf(name, entry, options.policy), modelCardOf(name, entry, options)]);
    for (const result of [signers, modelCard]) {
      if (result.status === "fulfilled") continue;
      const err: unknown = result.reason;
      if (!(err instanceof ModelGuardError)) throw err;
      failures.push({ code: err.code, message: err.message, model: err.model ?? name, ...(err.file !== undefined ? { file: err.file } : {}) });
    }
    if (signers.status === "fulfilled" && modelCard.status === "fulfilled") {
      models.push({ name, entry, signers: signers.value, ...(modelCard.value ? { modelCard: modelCard.value } : {}) });
    }
  }
  if (failures.length > 0) throw combinedError(failures);
  return models;
}
