import type { Command } from "commander";
import { ModelGuardError, exitCodeFor } from "../errors.js";
import type { VerifyReport } from "../verify-report.js";
import { globalOptions } from "./global-options.js";
import { describeSigner } from "../signing/describe-signer.js";
import { countOf, writeErr, writeOut } from "./io.js";
import { trustFlags, type TrustFlags } from "./trust-flags.js";

interface Options extends TrustFlags {
  offline?: boolean;
  auditLog?: string;
}

const TRUST = trustFlags({
  key: "trusted public key (repeat for several)",
  identity: "trusted Sigstore keyless identity (email or URI) of lockfile signatures and publishers' model.sig, exact match",
  identityRegexp: "or a regular expression for it, anchored at both ends",
  identityProvider: "OIDC issuer of the identity, exact match",
  identityProviderRegexp: "or a regular expression for it, anchored at both ends",
  trustedRoot: "Sigstore trusted_root.json for identities, given with one (default: the public-good root)",
  certificateChain: "trusted root certificates (PEM) of certificate signatures; repeat for several",
  allowUnsigned: "accept models with no trusted signature",
});

function describeModelSigner(model: VerifyReport["models"][number]): string {
  return model.signer ? ` (${describeSigner(model.signer)})` : "";
}

export function registerVerify(program: Command): void {
  const command = program
    .command("verify")
    .description("the startup gate: every locked file cached, sizes and digests match, signatures trusted")
    .argument("[names...]", "models to verify (default: all)");
  TRUST.declare(command)
    .option("--offline", "make no network request (verify reads only the cache in any case)")
    .option("--audit-log <file>", "append one audit event per model checked (a JSON line, docs/audit-event.schema.json); default $MODELGUARD_AUDIT_LOG")
    .action(async (names: string[], options: Options, command: Command) => {
      // Loaded here, not at start-up: `modelguard --version` and other commands skip them.
      const { ModelGuard } = await import("../guard/guard.js");
      const { listFailures } = await import("../verify-report.js");
      const global = globalOptions(command);
      const trust = TRUST.anchors(options);
      const auditLog = options.auditLog ?? (process.env.MODELGUARD_AUDIT_LOG || undefined);
      const guard = await ModelGuard.open({
        lockfile: global.lockfile,
        ...(global.cacheDir === undefined ? {} : { cacheDir: global.cacheDir }),
        trust,
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
            writeErr(`ok ${model.name}: ${countOf(model.files.length, "file")}, ${bytes} bytes${describeModelSigner(model)}`);
          }
        }
        for (const f of listFailures(report)) writeErr(`FAIL [${f.code}] ${f.message}`);
      }
      // The error carries the most serious failure's code (see combinedError).
      if (failure) process.exitCode = exitCodeFor(failure.code);
    });
}
