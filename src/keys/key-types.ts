/**
 * Which key types modelguard signs and verifies with.
 *
 * Only ECDSA on P-256, P-384 and P-521. cosign's own loader also takes RSA and Ed25519 keys, but:
 * cosign signs with Ed25519ph (pre-hashed), which Node's crypto cannot produce or check, so an
 * Ed25519 key would give signatures cosign rejects; and OpenSSF model_signing only supports
 * these three curves. RSA is left out to keep one signature scheme until someone needs it.
 */
import type { KeyObject } from "node:crypto";
import { ModelGuardError } from "../errors.js";
import { curveOfKey, type EcdsaCurve } from "./ecdsa-curves.js";

export type SupportedCurve = EcdsaCurve["name"];

/** The curve of a supported key; KEY_INVALID naming what the key is otherwise. */
export function supportedCurve(key: KeyObject, what: string): SupportedCurve {
  const type = key.asymmetricKeyType;
  if (type !== "ec") {
    throw new ModelGuardError(
      "KEY_INVALID",
      `${what} is an ${type ?? "unknown"} key; only ECDSA keys (P-256, P-384, P-521) are supported`,
    );
  }
  const curve = curveOfKey(key);
  if (curve === undefined) {
    throw new ModelGuardError(
      "KEY_INVALID",
      `${what} is an ECDSA key on curve ${key.asymmetricKeyDetails?.namedCurve ?? "unknown"}; only P-256, P-384 and P-521 are supported`,
    );
  }
  return curve.name;
}
