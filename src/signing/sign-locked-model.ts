import type { KeyObject } from "node:crypto";
import type { SerializedBundle } from "@sigstore/bundle";
import type { LockedModel } from "../lockfile/types.js";
import { publicKeyId } from "../keys/load-key.js";
import { readDsseBundle, signDsseBundle } from "./dsse-bundle.js";
import { statementForLockedModel } from "./locked-model-statement.js";
import { IN_TOTO_PAYLOAD_TYPE } from "./model-statement.js";

/** A Sigstore bundle signing this lockfile entry (repo, revision, every file's digest). */
export function signLockedModel(entry: LockedModel, privateKey: KeyObject, publicKey: KeyObject): SerializedBundle {
  // Indented like model_signing's payload; the bytes are signed as written, so layout is free.
  const payload = Buffer.from(JSON.stringify(statementForLockedModel(entry), null, 2), "utf8");
  return signDsseBundle(IN_TOTO_PAYLOAD_TYPE, payload, privateKey, publicKey);
}

/**
 * The entry with a fresh signature by this key: an older signature by the same key is replaced
 * (it may cover an older entry), signatures by other keys are kept.
 */
export function withSignature(entry: LockedModel, privateKey: KeyObject, publicKey: KeyObject): LockedModel {
  const hint = publicKeyId(publicKey);
  const others = (entry.signatures ?? []).filter((bundle) => {
    try {
      return readDsseBundle(bundle).keyHint !== hint;
    } catch {
      return true;
    }
  });
  const { signatures: _old, ...rest } = entry;
  const unsigned = { ...rest } as LockedModel;
  return { ...unsigned, signatures: [...others, signLockedModel(unsigned, privateKey, publicKey)] };
}
