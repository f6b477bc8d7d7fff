/**
 * The trust flags of the signature commands (`--key`, `--certificate-chain`, `--identity` with
 * `--identity-provider`, `--trusted-root`), read into trust anchors. Exactly one kind is given,
 * like `model_signing verify key|certificate|sigstore`.
 */
import { ModelGuardError } from "../errors.js";
import { readPublicKeyFile } from "../keys/key-files.js";
import type { ModelSignatureTrust } from "../signing/model-signing/index.js";
import { parseCertificatesPem } from "../signing/model-signing/index.js";
import { checkIdentityPolicy, type IdentityPolicy } from "../signing/sigstore/identity.js";
import { loadTrustedRoot } from "../signing/sigstore/trusted-root.js";
import { readInputFile } from "./io.js";

export interface TrustFlags {
  key?: string[];
  certificateChain?: string[];
  identity?: string;
  identityProvider?: string;
  trustedRoot?: string;
}


function readPublicKeys(paths: readonly string[]) {
  return Promise.all(paths.map(readPublicKeyFile));
}

export async function trustFromFlags(flags: TrustFlags): Promise<ModelSignatureTrust> {
  const keys = flags.key ?? [];
  const chain = flags.certificateChain ?? [];
  const identity = flags.identity !== undefined || flags.identityProvider !== undefined;
  const kinds = [keys.length > 0, chain.length > 0, identity].filter(Boolean).length;
  if (kinds !== 1) {
    throw new ModelGuardError("USAGE", "give exactly one of --key, --certificate-chain, or --identity with --identity-provider");
  }
  if (flags.trustedRoot !== undefined && !identity) {
    throw new ModelGuardError("USAGE", "--trusted-root only applies to keyless (--identity) verification");
  }
  if (keys.length > 0) return { keys: await readPublicKeys(keys) };
  if (chain.length > 0) {
    const roots = await Promise.all(chain.map(async (path) => parseCertificatesPem((await readInputFile(path, "certificate chain")).toString("utf8"), `certificate chain ${path}`)));
    return { certificateRoots: roots.flat() };
  }
  if (flags.identity === undefined || flags.identityProvider === undefined) {
    throw new ModelGuardError("USAGE", "--identity and --identity-provider go together");
  }
  const policy: IdentityPolicy = { subject: flags.identity, issuer: flags.identityProvider };
  checkIdentityPolicy(policy);
  return { identities: [policy], trustedRoot: await loadTrustedRoot(flags.trustedRoot) };
}
