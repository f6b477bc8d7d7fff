import type { Command } from "commander";
import { ModelGuardError, exitCodeFor } from "../errors.js";
import type { VerifyReport } from "../verify-report.js";
import { globalOptions } from "./global-options.js";
import { collect } from "./collect.js";
import { describeSigner } from "../signing/describe-signer.js";
import type { IdentityPolicy } from "../signing/sigstore/identity.js";
import { writeErr, writeOut } from "./io.js";

interface Options {
  key?: string[];
  allowUnsigned?: boolean;
  offline?: boolean;
  identity?: string;
  identityRegexp?: string;
  identityProvider?: string;
  identityProviderRegexp?: string;
  trustedRoot?: string;
  certificateChain?: string[];
  auditLog?: string;
}

/** The keyless identity the flags trust, if any: each part exact or an anchored pattern. */
function identityFromFlags(options: Options): IdentityPolicy | undefined {
  const subjects = [options.identity, options.identityRegexp].filter((v) => v !== undefined).length;
  const issuers = [options.identityProvider, options.identityProviderRegexp].filter((v) => v !== undefined).length;
  if (subjects === 0 && issuers === 0) return undefined;
  if (subjects !== 1 || issuers !== 1) {
    throw new ModelGuardError("USAGE", "a trusted identity needs one of --identity and --identity-regexp and one of --identity-provider and --identity-provider-regexp");
  }
  return {
    ...(options.identity === undefined ? {} : { subject: options.identity }),
    ...(options.identityRegexp === undefined ? {} : { subjectPattern: options.identityRegexp }),
    ...(options.identityProvider === undefined ? {} : { issuer: options.identityProvider }),
    ...(options.identityProviderRegexp === undefined ? {} : { issuerPattern: options.identityProviderRegexp }),
  };
}

function describeModelSigner(model: VerifyReport["models"][number]): string {
  return model.signer ? ` (${describeSigner(model.signer)})` : "";
}

export function registerVerify(program: Command): void {
  program
    .command("verify")
    .description("the startup gate: every locked file cached, sizes and digests match, signatures trusted")
    .argument("[names...]", "models to verify (default: all)")
    // Repeatable rather than variadic, so `--key a.pub model` keeps `model` a model name.
    .option("--key <pub>", "trusted public key (repeat for several)", collect)
    .option("--identity <id>", "trusted Sigstore keyless identity (email or URI) of lockfile signatures and publishers' model.sig, exact match")
    .option("--identity-regexp <re>", "or a regular expression for it, anchored at both ends")
    .option("--identity-provider <iss>", "OIDC issuer of the identity, exact match")
    .option("--identity-provider-regexp <re>", "or a regular expression for it, anchored at both ends")
    .option("--trusted-root <file>", "Sigstore trusted_root.json for identities (default: the public-good root)")
    .option("--certificate-chain <pem>", "trusted root certificates (PEM) of certificate signatures; repeat for several", collect)
    .option("--allow-unsigned", "accept models with no trusted signature")
    .option("--offline", "make no network request (verify reads only the cache in any case)")
    .option("--audit-log <file>", "append one audit event per model checked (a JSON line, docs/audit-event.schema.json); default $MODELGUARD_AUDIT_LOG")
    .action(async (names: string[], options: Options, command: Command) => {
      // Loaded here, not at start-up: `modelguard --version` and other commands skip them.
      const { ModelGuard } = await import("../guard/guard.js");
      const { listFailures } = await import("../verify-report.js");
      const global = globalOptions(command);
      const identity = identityFromFlags(options);
      const auditLog = options.auditLog ?? (process.env.MODELGUARD_AUDIT_LOG || undefined);
      const guard = await ModelGuard.open({
        lockfile: global.lockfile,
        ...(global.cacheDir === undefined ? {} : { cacheDir: global.cacheDir }),
        trust: {
          keys: options.key ?? [],
          ...(identity ? { identities: [identity] } : {}),
          ...(options.trustedRoot ? { trustedRoot: options.trustedRoot } : {}),
          ...(options.certificateChain ? { certificateChain: options.certificateChain } : {}),
        },
        allowUnsigned: options.allowUnsigned ?? false,
        offline: options.offline ?? false,
        ...(auditLog === undefined ? {} : { audit: auditLog }),
      });
      let report: VerifyReport;
      let failure: ModelGuardError | undefined;
      try {
        report = await guard.verifyAll(names.length > 0 ? names : undefined);
      } catch (err) {
        if (!(err instanceof ModelGuardError) || err.report === undefined) throw err;
        failure = err;
        report = err.report;
      }
      if (global.json) {
        writeOut(JSON.stringify(report, null, 2));
      } else {
        for (const model of report.models) {
          if (model.ok && !global.quiet) {
            const bytes = model.files.reduce((n, f) => n + f.size, 0);
            writeErr(`ok ${model.name}: ${model.files.length} files, ${bytes} bytes${describeModelSigner(model)}`);
          }
        }
        for (const f of listFailures(report)) writeErr(`FAIL [${f.code}] ${f.message}`);
      }
      // The error carries the most serious failure's code (see combinedError).
      if (failure) process.exitCode = exitCodeFor(failure.code);
    });
}
