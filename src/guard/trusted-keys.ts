import type { KeyObject } from "node:crypto";
import { readPublicKeyFile } from "../keys/key-files.js";
import { publicKeyId } from "../keys/load-key.js";
import type { TrustedKey, TrustPolicy } from "../signing/trust-policy.js";
import { checkIdentityPolicy } from "../signing/sigstore/identity.js";
import { loadTrustedRoot } from "../signing/sigstore/trusted-root.js";

/** A trusted key as a caller names it: a path to a PEM public key, or a key object. */
export type TrustedKeyInput = string | KeyObject;

export async function loadTrustedKeys(inputs: readonly TrustedKeyInput[]): Promise<TrustedKey[]> {
  return Promise.all(
    inputs.map(async (input) => {
      if (typeof input !== "string") return { key: input, fingerprint: publicKeyId(input) };
      const key = await readPublicKeyFile(input);
      return { key, fingerprint: publicKeyId(key), source: input };
    }),
  );
}

export interface TrustOptions {
  /** Public keys (PEM file paths or key objects) whose signatures approve a locked model. */
  keys?: TrustedKeyInput[];
  /**
   * Sigstore keyless signers (certificate identity and OIDC issuer, matched exactly) trusted for
   * the publishers' model signatures recorded by `modelguard add`.
   */
  identities?: { subject: string; issuer: string }[];
  /** A Sigstore trusted_root.json for `identities`; default the public-good root shipped with @sigstore/tuf. */
  trustedRoot?: string;
}

/** The trust policy the caller's anchors make: keys read, identities checked, the Sigstore root loaded when needed. */
export async function loadTrustPolicy(trust: TrustOptions, allowUnsigned: boolean): Promise<TrustPolicy> {
  const identities = (trust.identities ?? []).map(({ subject, issuer }) => ({ subject, issuer }));
  identities.forEach(checkIdentityPolicy);
  const [keys, trustedRoot] = await Promise.all([
    loadTrustedKeys(trust.keys ?? []),
    identities.length > 0 || trust.trustedRoot ? loadTrustedRoot(trust.trustedRoot) : undefined,
  ]);
  return { keys, identities, ...(trustedRoot ? { trustedRoot } : {}), allowUnsigned };
}
