/**
 * The three ways modelguard signs a DSSE payload, as OpenSSF model_signing and cosign do:
 * a key, a key with its certificate chain, or Sigstore keyless. `modelguard sign` (a lockfile
 * entry's statement) and `sign-model` (a model directory's statement) both sign through here.
 */
import type { KeyObject } from "node:crypto";
import type { SerializedBundle } from "@sigstore/bundle";
import { signDsseBundle, signDsseBundleWithCertificate } from "./dsse-bundle.js";
import type { Certificate } from "./model-signing/x509-chain.js";
import { signDsseKeyless, type KeylessSigning } from "./sigstore/sign-keyless.js";

export type DsseSigner =
  | { mode: "key"; privateKey: KeyObject; publicKey: KeyObject }
  /** The leaf certificate of `privateKey` first, then the chain to write beside it. */
  | { mode: "certificate"; privateKey: KeyObject; certificates: Certificate[] }
  | ({ mode: "keyless" } & KeylessSigning);

export async function signDsse(payloadType: string, payload: Buffer, signer: DsseSigner): Promise<SerializedBundle> {
  switch (signer.mode) {
    case "key":
      return signDsseBundle(payloadType, payload, signer.privateKey, signer.publicKey);
    case "certificate":
      return signDsseBundleWithCertificate(payloadType, payload, signer.privateKey, signer.certificates);
    case "keyless":
      return (await signDsseKeyless(payloadType, payload, signer)).bundle;
  }
}
