import type { Command } from "commander";
import { ModelGuardError } from "../errors.js";
import { repoIdProblem } from "../lockfile/validate.js";
import { globalOptions } from "./global-options.js";
import { countOf, writeErr, writeOut } from "./io.js";
import { collect } from "./collect.js";
import { describeSigner } from "../signing/describe-signer.js";
import { isQuantizationTag } from "../gguf/gguf-files.js";
import { signAgainHint } from "./signer-name.js";
import { trustFlags, type TrustFlags } from "./trust-flags.js";

interface Options extends TrustFlags {
  name?: string;
  include?: string[];
  exclude?: string[];
  preset?: string[];
  update?: boolean;
  signature?: string;
}

const TRUST = trustFlags({
  key: "verify and record the publisher's model.sig with this public key (repeatable)",
  identity: "verify and record the publisher's keyless model.sig: certificate identity (exact)",
  identityRegexp: "or a regular expression for it, anchored at both ends",
  identityProvider: "OIDC issuer of the identity (exact)",
  identityProviderRegexp: "or a regular expression for it, anchored at both ends",
  trustedRoot: "Sigstore trusted_root.json for the identity, given with one (default: the public-good root)",
});

/**
 * `org/name[:TAG][@rev]`, also with node-llama-cpp's `hf:` prefix: the ref may itself hold '/'
 * (`refs/pr/1`), the repo id may not hold '@' or ':' (nor may a git ref hold ':').
 */
function parseRepoArg(arg: string): { repo: string; ref?: string; quantization?: string } {
  const bare = arg.startsWith("hf:") ? arg.slice("hf:".length) : arg;
  const at = bare.indexOf("@");
  const named = at === -1 ? bare : bare.slice(0, at);
  const ref = at === -1 ? undefined : bare.slice(at + 1);
  const colon = named.indexOf(":");
  const repo = colon === -1 ? named : named.slice(0, colon);
  const quantization = colon === -1 ? undefined : named.slice(colon + 1);
  const problem = repoIdProblem(repo);
  if (problem) throw new ModelGuardError("USAGE", `${JSON.stringify(repo)} ${problem}`);
  if (ref === "") throw new ModelGuardError("USAGE", `${arg}: empty revision after '@'`);
  if (quantization !== undefined && !isQuantizationTag(quantization)) {
    throw new ModelGuardError("USAGE", `${arg}: ${JSON.stringify(quantization)} is not a quantization tag (like Q4_K_M)`);
  }
  return { repo, ...(ref === undefined ? {} : { ref }), ...(quantization === undefined ? {} : { quantization }) };
}

export function registerAdd(program: Command): void {
  const command = program
    .command("add")
    .description("lock a model from the Hub: resolve the ref to a commit, download and hash the files, write the lockfile entry")
    .argument("<repo>", "REPO[:QUANT][@REV]: a Hub model repo, a GGUF quantization tag (Q4_K_M, as node-llama-cpp's hf: URIs), and a branch, tag or commit (default main)")
    .option("--name <name>", "the model's name in the lockfile (default: the repo's name)")
    .option("--include <glob>", "files to take (repeatable; default: config, tokenizer and onnx/model.onnx files, or a GGUF repo's only model; with --key or --identity, exactly the files the publisher signed)", collect)
    .option("--exclude <glob>", "files to leave out (repeatable)", collect)
    .option(
      "--preset <task[:dtype]>",
      "lock exactly the files a transformers.js pipeline asks for, e.g. feature-extraction or feature-extraction:q8 (repeatable; needs @huggingface/transformers installed)",
      collect,
    )
    .option("--update", "re-pin a model that is already locked, to what the ref names now");
  TRUST.declare(command)
    .option("--signature <path>", "the publisher's signature file in the repo (default model.sig)")
    .action(async (arg: string, options: Options, command: Command) => {
      // Loaded here, not at start-up: `modelguard --version` and other commands skip them.
      const { addToLockfile } = await import("../add/add-to-lockfile.js");
      const { listSignatures } = await import("../signing/list-signatures.js");
      const { hubContext } = await import("./hub-context.js");
      const { createDownloadProgress } = await import("./progress.js");
      const global = globalOptions(command);
      const { repo, ref, quantization } = parseRepoArg(arg);
      // The flags are checked before anything is fetched; the keys and root are loaded with the policy.
      TRUST.anchors(options);
      const { hub, fetch } = hubContext(global);
      const publisherTrust = await TRUST.policy(options);
      const preset = options.preset?.length ? await pipelinePreset(repo, ref, options.preset, global) : undefined;
      const progress = createDownloadProgress(global);
      let added;
      try {
        added = await addToLockfile(
          {
            lockfile: global.lockfile,
            ...(options.name === undefined ? {} : { name: options.name }),
            ...(options.update ? { update: true } : {}),
            repo,
            ...(publisherTrust ? { publisherTrust } : {}),
            ...(options.signature ? { signaturePath: options.signature } : {}),
            ...(ref === undefined ? {} : { ref }),
            ...(options.include ? { include: options.include } : {}),
            ...(options.exclude ? { exclude: options.exclude } : {}),
            ...(preset ? { preset } : {}),
            ...(quantization === undefined ? {} : { quantization }),
            onStart: ({ file, size }) => progress.start(file, size),
            onProgress: (file, bytes) => progress.advance(file, bytes),
            onRetry: (file, info) => {
              if (!global.quiet && !global.json) writeErr(`retrying ${file} in ${Math.round(info.delayMs)} ms (${info.reason})`);
            },
          },
          hub,
          fetch,
        );
      } finally {
        progress.stop();
      }
      const { name, merge } = added;
      const notes = !global.quiet && !global.json;
      if (added.unverifiedSignature && notes) {
        writeErr(`note: ${repo} has a publisher signature (${added.unverifiedSignature}); pass --key or --identity/--identity-provider to verify and record it`);
      }
      if (added.noModelFile && notes) {
        writeErr(`note: the files chosen hold no model file a runtime loads (${Object.keys(added.entry.files).join(", ")}); locked as asked`);
      }
      if (merge.alsoLockedAs.length > 0 && merge.status !== "unchanged" && notes) {
        writeErr(`note: ${repo} is also locked as ${merge.alsoLockedAs.join(", ")} in ${global.lockfile}; each entry is pinned, verified and signed on its own`);
      }
      if (merge.status === "unchanged") {
        if (global.json) writeOut(JSON.stringify({ name, changed: false, revision: merge.entry.revision }));
        else if (!global.quiet) writeErr(`${name} is up to date: ${repo}@${merge.entry.revision}`);
        return;
      }
      if (merge.status === "drift") {
        const { changes } = merge;
        if (global.json) writeOut(JSON.stringify({ name, changed: true, changes }, null, 2));
        else writeErr([`${name} is locked at ${merge.previous.revision}; ${repo}@${ref ?? "main"} would change it:`, ...changes.map((c) => `  ${c}`)].join("\n"));
        throw new ModelGuardError("LOCK_DRIFT", `${name}: the lockfile was not changed; run again with --update to re-pin`, { model: name });
      }
      const { entry } = merge;
      const dropped = merge.status === "updated" ? merge.droppedSignatures : 0;
      if (global.json) {
        writeOut(JSON.stringify({ name, changed: true, entry, ...(merge.status === "updated" ? { droppedSignatures: dropped } : {}), alsoLockedAs: merge.alsoLockedAs }, null, 2));
      } else if (!global.quiet) {
        const bytes = Object.values(entry.files).reduce((n, f) => n + f.size, 0);
        writeErr(`locked ${name}: ${repo}@${entry.revision} (${countOf(Object.keys(entry.files).length, "file")}, ${bytes} bytes) in ${global.lockfile}`);
        if (added.publisherSigner) writeErr(`  publisher signature ${entry.publisherSignatures![0]!.path} verified: ${describeSigner(added.publisherSigner)}`);
        for (const c of merge.changes) writeErr(`  ${c}`);
      }
      if (dropped > 0 && !global.json) {
        // Said even with --quiet: the entry no longer passes a gate that requires a signature.
        const previous = merge.status === "updated" ? merge.previous : undefined;
        // As each dropped signature was made: by key, certificate or keyless identity.
        const hints = [...new Set(listSignatures(previous ?? entry).map((s) => `\`${signAgainHint(name, s.signer)}\``))];
        writeErr(`dropped ${dropped} signature(s) of the old entry (they signed ${repo}@${previous?.revision ?? ""}, not the new files): sign ${name} again with ${hints.join(" or ")}`);
      }
    });
}

/** `--preset`: the files transformers.js's pipelines ask for, for each TASK[:DTYPE] given. */
async function pipelinePreset(
  repo: string,
  ref: string | undefined,
  presets: string[],
  global: { quiet?: boolean; json?: boolean },
): Promise<(available: ReadonlySet<string>, read: (path: string) => Promise<Uint8Array>) => Promise<string[]>> {
  const { parsePipelinePreset, transformersPipelineFiles } = await import("../runtimes/transformers/pipeline-files.js");
  const parsed = presets.map(parsePipelinePreset);
  return async (available, read) => {
    const files = new Set<string>();
    for (const [i, preset] of parsed.entries()) {
      const result = await transformersPipelineFiles(preset, repo, available, read);
      for (const f of result.files) files.add(f);
      if (result.missing.length > 0 && !global.quiet && !global.json) {
        writeErr(`note: a ${presets[i]} pipeline also asks for ${result.missing.join(", ")}, which ${repo}@${ref ?? "main"} does not have`);
      }
    }
    return [...files];
  };
}
