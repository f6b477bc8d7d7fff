import type { KeyObject } from "node:crypto";
import type { SerializedBundle } from "@sigstore/bundle";
import type { LockedModel } from "../lockfile/types.js";
import { claimedSigner, sameSigner } from "./bundle-signer.js";
import { signDsseBundle } from "./dsse-bundle.js";
import { statementForLockedModel } from "./locked-model-statement.js";
import { IN_TOTO_PAYLOAD_TYPE } from "./model-statement.js";
import { signDsse, type DsseSigner } from "./sign-dsse.js";

/**
 * The bytes every signature of a lockfile entry signs, in every mode: the entry's statement
 * (the model name, repo, revision, every file's path and digest), indented like model_signing's payload. The bytes are
 * signed as written, so layout is free.
 */
export function lockedModelPayload(name: string, entry: LockedModel): Buffer {
  return Buffer.from(JSON.stringify(statementForLockedModel(name, entry), null, 2), "utf8");
}

/** A Sigstore bundle signing this lockfile entry with a key. */
export function signLockedModel(name: string, entry: LockedModel, privateKey: KeyObject, publicKey: KeyObject): SerializedBundle {
  return signDsseBundle(IN_TOTO_PAYLOAD_TYPE, lockedModelPayload(name, entry), privateKey, publicKey);
}

/** A Sigstore bundle signing this lockfile entry in any mode (key, certificate, keyless). */
export function signLockedModelWith(name: string, entry: LockedModel, signer: DsseSigner): Promise<SerializedBundle> {
  return signDsse(IN_TOTO_PAYLOAD_TYPE, lockedModelPayload(name, entry), signer);
}

/**
 * The entry with this new signature: an older signature by the same signer (the same key,
 * keyless identity and issuer, or certificate) is replaced, as it may cover an older entry;
 * other signers' signatures are kept.
 */
export function withBundle(entry: LockedModel, bundle: SerializedBundle): LockedModel {
  const signer = claimedSigner(bundle);
  const others = (entry.signatures ?? []).filter((old) => !sameSigner(claimedSigner(old), signer));
  return { ...entry, signatures: [...others, bundle] };
}

/** The entry with a fresh signature by this key (see withBundle). */
export function withSignature(name: string, entry: LockedModel, privateKey: KeyObject, publicKey: KeyObject): LockedModel {
  return withBundle(entry, signLockedModel(name, entry, privateKey, publicKey));
}
