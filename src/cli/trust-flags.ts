/**
 * The CLI trust flags, in one place: how each is spelt and parsed (`--key`, `--identity`,
 * `--identity-regexp`, `--identity-provider`, `--identity-provider-regexp`, `--trusted-root`,
 * `--certificate-chain`, `--allow-unsigned`), and how parsed values become the trust each command
 * needs: the anchors `verify` gives the guard, the policy `add` and `bom` check publishers'
 * signatures with, and the single kind of trust `verify-model` takes (model_signing's
 * `verify key|certificate|sigstore`).
 *
 * A command declares the flags it takes with its own help text: `trustFlags({ key: "…", … })`
 * lists them in help in the order given. Every command behaves alike: identities exact or as
 * anchored patterns, `--trusted-root` refused without an identity. Heavy modules (keys, Sigstore roots) load only when read.
 */
import type { Command } from "commander";
import { ModelGuardError } from "../errors.js";
import type { TrustOptions } from "../guard/trusted-keys.js";
import type { TrustPolicy } from "../signing/trust-anchors.js";
import type { ModelSignatureTrust } from "../signing/model-signing/index.js";
import type { IdentityPolicy } from "../signing/sigstore/identity.js";
import { collect } from "./collect.js";

/** The trust flags' values as commander parses them. */
export interface TrustFlags {
  key?: string[];
  identity?: string;
  identityRegexp?: string;
  identityProvider?: string;
  identityProviderRegexp?: string;
  trustedRoot?: string;
  certificateChain?: string[];
  allowUnsigned?: boolean;
}

export type TrustFlagName = keyof TrustFlags;

/** Each flag's spelling. Repeatable rather than variadic, so `--key a.pub model` keeps `model` an argument. */
const FLAGS: Record<TrustFlagName, { flags: string; repeatable?: true }> = {
  key: { flags: "--key <pub>", repeatable: true },
  identity: { flags: "--identity <id>" },
  identityRegexp: { flags: "--identity-regexp <re>" },
  identityProvider: { flags: "--identity-provider <iss>" },
  identityProviderRegexp: { flags: "--identity-provider-regexp <re>" },
  trustedRoot: { flags: "--trusted-root <file>" },
  certificateChain: { flags: "--certificate-chain <pem>", repeatable: true },
  allowUnsigned: { flags: "--allow-unsigned" },
};

/** A command's help text for a flag; `variadic` keeps verify-model's `--certificate-chain <pem...>`. */
type FlagHelp = string | { description: string; variadic: true };

export interface TrustFlagSet {
  /** Declares the flags on the command, in the order they were given. */
  declare(command: Command): Command;
  /** The keyless identity the flags trust, if any: each part exact or an anchored pattern. */
  identity(flags: TrustFlags): IdentityPolicy | undefined;
  /** The anchors as paths (the guard's `trust` option); a usage error for a `--trusted-root` without an identity. */
  anchors(flags: TrustFlags): TrustOptions;
  /** The policy of the keys and identities given, or undefined when none is (unsigned is not allowed by it). */
  policy(flags: TrustFlags): Promise<TrustPolicy | undefined>;
  /** Exactly one kind of trust, read: keys, certificate roots, or an identity with its trusted root. */
  modelSignatureTrust(flags: TrustFlags): Promise<ModelSignatureTrust>;
}

/** A `--trusted-root` is only read to check keyless identities: without one it would be ignored, so it is refused. */
const STRAY_TRUSTED_ROOT = "--trusted-root only applies to keyless verification: add --identity or --identity-regexp, with --identity-provider or --identity-provider-regexp";
const PAIRING = "a trusted identity needs one of --identity and --identity-regexp and one of --identity-provider and --identity-provider-regexp";
/** verify-model takes one kind of trust, as model_signing's `verify key|certificate|sigstore` does. */
const ONE_KIND =
  "give exactly one of --key, --certificate-chain, or an identity: --identity or --identity-regexp, with --identity-provider or --identity-provider-regexp";
const KEYLESS_FLAGS: readonly TrustFlagName[] = ["identity", "identityRegexp", "identityProvider", "identityProviderRegexp", "trustedRoot"];

/** A command's trust flags; a command that takes `identity` takes all four identity flags and `trustedRoot` (checked when declared). */
export function trustFlags(help: Partial<Record<TrustFlagName, FlagHelp>>): TrustFlagSet {
  const names = Object.keys(help) as TrustFlagName[];
  if (KEYLESS_FLAGS.some((name) => names.includes(name)) && !KEYLESS_FLAGS.every((name) => names.includes(name))) {
    throw new Error(`a command taking identities takes all of ${KEYLESS_FLAGS.join(", ")}`);
  }

  function identity(flags: TrustFlags): IdentityPolicy | undefined {
    const subjects = [flags.identity, flags.identityRegexp].filter((v) => v !== undefined).length;
    const issuers = [flags.identityProvider, flags.identityProviderRegexp].filter((v) => v !== undefined).length;
    if (subjects === 0 && issuers === 0) return undefined;
    if (subjects !== 1 || issuers !== 1) throw new ModelGuardError("USAGE", PAIRING);
    return {
      ...(flags.identity === undefined ? {} : { subject: flags.identity }),
      ...(flags.identityRegexp === undefined ? {} : { subjectPattern: flags.identityRegexp }),
      ...(flags.identityProvider === undefined ? {} : { issuer: flags.identityProvider }),
      ...(flags.identityProviderRegexp === undefined ? {} : { issuerPattern: flags.identityProviderRegexp }),
    };
  }

  function anchors(flags: TrustFlags): TrustOptions {
    const trusted = identity(flags);
    if (flags.trustedRoot !== undefined && !trusted) throw new ModelGuardError("USAGE", STRAY_TRUSTED_ROOT);
    return {
      keys: flags.key ?? [],
      ...(trusted ? { identities: [trusted] } : {}),
      ...(flags.trustedRoot ? { trustedRoot: flags.trustedRoot } : {}),
      ...(flags.certificateChain ? { certificateChain: flags.certificateChain } : {}),
    };
  }

  return {
    declare(command) {
      for (const name of names) {
        const entry = help[name]!;
        const { flags, repeatable } = FLAGS[name];
        if (typeof entry !== "string") command.option(`${flags.slice(0, -1)}...>`, entry.description);
        else if (repeatable) command.option(flags, entry, collect);
        else command.option(flags, entry);
      }
      return command;
    },
    identity,
    anchors,
    async policy(flags) {
      const trust = anchors(flags);
      if ((trust.keys?.length ?? 0) === 0 && !trust.identities && !trust.certificateChain) return undefined;
      const { loadTrustPolicy } = await import("../guard/trusted-keys.js");
      return loadTrustPolicy(trust, false);
    },
    async modelSignatureTrust(flags) {
      const keys = flags.key ?? [];
      const chain = flags.certificateChain ?? [];
      const keyless = [flags.identity, flags.identityRegexp, flags.identityProvider, flags.identityProviderRegexp].some((v) => v !== undefined);
      if ([keys.length > 0, chain.length > 0, keyless].filter(Boolean).length !== 1) {
        throw new ModelGuardError("USAGE", ONE_KIND);
      }
      if (flags.trustedRoot !== undefined && !keyless) throw new ModelGuardError("USAGE", STRAY_TRUSTED_ROOT);
      if (keys.length > 0) {
        const { readPublicKeyFile } = await import("../keys/key-files.js");
        return { keys: await Promise.all(keys.map(readPublicKeyFile)) };
      }
      if (chain.length > 0) {
        const { parseCertificatesPem } = await import("../signing/model-signing/index.js");
        const { readInputFile } = await import("./io.js");
        const roots = await Promise.all(chain.map(async (path) => parseCertificatesPem((await readInputFile(path, "certificate chain")).toString("utf8"), `certificate chain ${path}`)));
        return { certificateRoots: roots.flat() };
      }
      const policy = identity(flags)!;
      const { checkIdentityPolicy } = await import("../signing/sigstore/identity.js");
      const { loadTrustedRoot } = await import("../signing/sigstore/trusted-root.js");
      checkIdentityPolicy(policy);
      return { identities: [policy], trustedRoot: await loadTrustedRoot(flags.trustedRoot) };
    },
  };
}
