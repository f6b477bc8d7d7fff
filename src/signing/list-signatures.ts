/**
 * Who signed a lockfile entry, as its signatures claim (`modelguard signatures`): for key
 * rotation, to see which models still carry only the old key's signature. Nothing here verifies
 * anything or decides trust (`verify` does, with the anchors the caller trusts). Each scheme
 * lists its own signatures, in the order the trust check asks them.
 */
import type { LockedModel } from "../lockfile/types.js";
import { SIGNATURE_SCHEMES } from "./schemes/index.js";
import type { LockedSignature } from "../signers.js";

export function listSignatures(entry: LockedModel): LockedSignature[] {
  return SIGNATURE_SCHEMES.flatMap((scheme) => scheme.list(entry));
}
