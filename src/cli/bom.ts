import type { Command } from "commander";
import { globalOptions } from "./global-options.js";
import { writeErr } from "./io.js";
import { lockedModels } from "./locked-models.js";
import { trustFlags, type TrustFlags } from "./trust-flags.js";

interface Options extends TrustFlags {
  output?: string;
  reproducible?: boolean;
}

const TRUST = trustFlags({
  key: "check the signatures against this trusted key (repeat for several); the BOM then states the verified signer",
  identity: "trusted Sigstore keyless identity (exact match), with its issuer",
  identityRegexp: "or a regular expression for it, anchored at both ends",
  identityProvider: "OIDC issuer of the identity (exact match)",
  identityProviderRegexp: "or a regular expression for it, anchored at both ends",
  trustedRoot: "Sigstore trusted_root.json for the identity, given with one (default: the public-good root)",
});

export function registerBom(program: Command): void {
  const command = program
    .command("bom")
    .description("a CycloneDX 1.6 ML-BOM of the locked models (no network; config.json read from the cache when there)")
    .argument("[names...]", "models to describe (default: all)")
    .option("--output <file>", "write the BOM to FILE (atomically) instead of stdout")
    .option("--reproducible", "no timestamp and a serial number derived from the content: the same lockfile and cache give the same bytes");
  TRUST.declare(command)
    .action(async (names: string[], options: Options, command: Command) => {
      // Loaded here, not at start-up: the CycloneDX library alone takes a good part of a second.
      const { resolveHubOptions } = await import("../hub/hub-options.js");
      const { bomModels } = await import("../bom/bom-models.js");
      const { buildModelBom, serializeBom } = await import("../bom/build-bom.js");
      const global = globalOptions(command);
      // The flags are checked before anything is read; the keys and root are loaded after the lockfile.
      TRUST.anchors(options);
      const { lockfile, names: targets } = await lockedModels(global, names);
      const hub = resolveHubOptions(global.cacheDir === undefined ? {} : { cacheDir: global.cacheDir });
      const policy = await TRUST.policy(options);
      const models = await bomModels(lockfile, targets, {
        cacheDir: hub.cacheDir,
        ...(policy ? { policy } : {}),
        onNote: (message) => {
          if (!global.quiet) writeErr(message);
        },
      });
      const text = serializeBom(await buildModelBom(models, { hubUrl: hub.hubUrl, reproducible: options.reproducible ?? false }));
      if (options.output === undefined) {
        process.stdout.write(text);
        return;
      }
      const { writeFileAtomic } = await import("../io/write-file-atomic.js");
      await writeFileAtomic(options.output, text);
      if (!global.quiet && !global.json) writeErr(`wrote ${options.output}: ${models.length} model(s)`);
    });
}
