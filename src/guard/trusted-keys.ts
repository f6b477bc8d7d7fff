import type { KeyObject } from "node:crypto";
import { readFile } from "node:fs/promises";
import { ModelGuardError } from "../errors.js";
import { readPublicKeyFile } from "../keys/key-files.js";
import { publicKeyId } from "../keys/load-key.js";
import type { TrustedKey, TrustPolicy } from "../signing/trust-anchors.js";
import { parseCertificatesPem, type Certificate } from "../signing/model-signing/x509-chain.js";
import { checkIdentityPolicy, type IdentityPolicy } from "../signing/sigstore/identity.js";
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
   * Sigstore keyless signers trusted for lockfile signatures (`modelguard sign --identity-token`)
   * and publishers' model signatures: the certificate identity (`subject`, an email or URI) and
   * the OIDC `issuer`, each matched exactly, or by `subjectPattern` / `issuerPattern`, regular
   * expressions anchored at both ends (cosign's `--certificate-identity-regexp`).
   */
  identities?: IdentityPolicy[];
  /** A Sigstore trusted_root.json for `identities`; default the public-good root shipped with @sigstore/tuf. */
  trustedRoot?: string;
  /**
   * PEM files of root certificates trusted for certificate signatures (`modelguard sign --key K
   * --certificate C`, model_signing `sign certificate`): the signature's chain must lead to one.
   */
  certificateChain?: string[];
}

async function loadCertificateRoots(paths: readonly string[]): Promise<Certificate[]> {
  const roots = await Promise.all(
    paths.map(async (path) => {
      let text: string;
      try {
        text = await readFile(path, "utf8");
      } catch (cause) {
        const why = (cause as NodeJS.ErrnoException).code === "ENOENT" ? "not found" : (cause as Error).message;
        throw new ModelGuardError("FILE_MISSING", `certificate chain ${path}: ${why}`, { cause });
      }
      return parseCertificatesPem(text, `certificate chain ${path}`);
    }),
  );
  return roots.flat();
}

/** The trust policy the caller's anchors make: keys read, identities checked, the Sigstore root loaded when needed. */
export async function loadTrustPolicy(trust: TrustOptions, allowUnsigned: boolean): Promise<TrustPolicy> {
  // Copied field by field: a caller's object with extra fields must not widen the policy.
  const identities = (trust.identities ?? []).map(({ subject, subjectPattern, issuer, issuerPattern }) => ({
    ...(subject === undefined ? {} : { subject }),
    ...(subjectPattern === undefined ? {} : { subjectPattern }),
    ...(issuer === undefined ? {} : { issuer }),
    ...(issuerPattern === undefined ? {} : { issuerPattern }),
  }));
  identities.forEach(checkIdentityPolicy);
  const [keys, trustedRoot, certificateRoots] = await Promise.all([
    loadTrustedKeys(trust.keys ?? []),
    identities.length > 0 || trust.trustedRoot ? loadTrustedRoot(trust.trustedRoot) : undefined,
    loadCertificateRoots(trust.certificateChain ?? []),
  ]);
  return { keys, identities, ...(trustedRoot ? { trustedRoot } : {}), ...(certificateRoots.length > 0 ? { certificateRoots } : {}), allowUnsigned };
}
