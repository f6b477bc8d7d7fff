/**
 * What the operator trusts (`TrustPolicy`): the anchors every signature scheme checks against,
 * and whether an entry with no trusted signature may load. Built by `guard/trusted-keys.ts` from
 * the caller's keys, identities and roots; the lockfile never carries anchors.
 */
import type { KeyObject } from "node:crypto";
import type { TrustedRoot } from "@sigstore/protobuf-specs";
import type { Certificate } from "./model-signing/x509-chain.js";
import type { IdentityPolicy } from "./sigstore/identity.js";

/** A public key the operator trusts, with its id (`publicKeyId`: the hint bundles carry) for reports. */
export interface TrustedKey {
  key: KeyObject;
  fingerprint: string;
  /** Where it came from (a file path), for messages. */
  source?: string;
}

/** The anchors alone: whom to trust, by key, keyless identity or certificate root. */
export interface TrustAnchors {
  keys: TrustedKey[];
  /** Sigstore keyless signers trusted for lockfile signatures and publishers' signatures. */
  identities?: IdentityPolicy[];
  /** The Sigstore trusted root for identities; default the public-good root shipped with @sigstore/tuf. */
  trustedRoot?: TrustedRoot;
  /** Root certificates trusted for certificate signatures (model_signing `sign certificate`). */
  certificateRoots?: Certificate[];
}

export interface TrustPolicy extends TrustAnchors {
  /** Accept a model that carries no signature from a trusted signer (never one whose signature is broken). */
  allowUnsigned: boolean;
}
