import type { Command } from "commander";
import { ModelGuardError } from "../errors.js";
import { collect } from "./collect.js";
import { globalOptions } from "./global-options.js";
import { writeErr } from "./io.js";

interface Options {
  output?: string;
  reproducible?: boolean;
  key?: string[];
  identity?: string;
  identityProvider?: string;
  trustedRoot?: string;
}

export function registerBom(program: Command): void {
  program
    .command("bom")
    .description("a CycloneDX 1.6 ML-BOM of the locked models (no network; config.json read from the cache when there)")
    .argument("[names...]", "models to describe (default: all)")
    .option("--output <file>", "write the BOM to FILE (atomically) instead of stdout")
    .option("--reproducible", "no timestamp and a serial number derived from the content: the same lockfile and cache give the same bytes")
    .option("--key <pub>", "check the signatures against this trusted key (repeat for several); the BOM then states the verified signer", collect)
    .option("--identity <id>", "trusted Sigstore keyless identity (exact match), with --identity-provider")
    .option("--identity-provider <iss>", "OIDC issuer of --identity (exact match)")
    .option("--trusted-root <file>", "Sigstore trusted_root.json for --identity (default: the public-good root)")
    .action(async (names: string[], options: Options, command: Command) => {
      // Loaded here, not at start-up: the CycloneDX library alone takes a good part of a second.
      const { readLockfile } = await import("../lockfile/lockfile-file.js");
      const { resolveHubOptions } = await import("../hub/hub-options.js");
      const { bomModels } = await import("../bom/bom-models.js");
      const { buildModelBom, serializeBom } = await import("../bom/build-bom.js");
      const global = globalOptions(command);
      if (Boolean(options.identity) !== Boolean(options.identityProvider)) {
        throw new ModelGuardError("USAGE", "--identity and --identity-provider go together");
      }
      const trusting = (options.key?.length ?? 0) > 0 || options.identity !== undefined;
      if (options.trustedRoot !== undefined && options.identity === undefined) {
        throw new ModelGuardError("USAGE", "--trusted-root only applies with --identity");
      }
      const lockfile = await readLockfile(global.lockfile);
      const hub = resolveHubOptions(global.cacheDir === undefined ? {} : { cacheDir: global.cacheDir });
      let policy;
      if (trusting) {
        const { loadTrustPolicy } = await import("../guard/trusted-keys.js");
        policy = await loadTrustPolicy(
          {
            keys: options.key ?? [],
            ...(options.identity ? { identities: [{ subject: options.identity, issuer: options.identityProvider! }] } : {}),
            ...(options.trustedRoot ? { trustedRoot: options.trustedRoot } : {}),
          },
          false,
        );
      }
      const models = await bomModels(lockfile, names.length > 0 ? [...new Set(names)] : undefined, {
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
