import type { Command } from "commander";
import type { ClaimedSigner, LockedSignature } from "../signers.js";
import { escapeForTerminal } from "../terminal-text.js";
import { globalOptions } from "./global-options.js";
import { writeErr, writeOut } from "./io.js";
import { lockedModels } from "./locked-models.js";
import { signerName } from "./signer-name.js";

/** `model-signature` → `model signature`: every kind is its words joined by a hyphen. */
const kindName = (kind: LockedSignature["kind"]): string => kind.replace("-", " ");

/** Who a signature claims, or why it names no one. */
function claimedName(signer: ClaimedSigner | undefined, kind: LockedSignature["kind"]): string {
  // cosign file signatures often carry no key id: only the public key tells whose they are.
  if (!signer) return kind === "file-signature" ? "no key id (unsign --key PUB finds it by verifying)" : "names no signer";
  return signerName(signer);
}

export function registerSignatures(program: Command): void {
  program
    .command("signatures")
    .description("list who each locked model's signatures say signed it (model, file and publisher signatures), without verifying or trusting any: run verify for that")
    .argument("[names...]", "models to list (default: all)")
    .action(async (names: string[], _options: object, command: Command) => {
      // Loaded here, not at start-up: `modelguard --version` and other commands skip them.
      const { listSignatures } = await import("../signing/list-signatures.js");
      const global = globalOptions(command);
      const { lockfile, names: targets } = await lockedModels(global, names);
      const listed = targets.map((name) => ({ name, entry: lockfile.models[name]!, signatures: listSignatures(lockfile.models[name]!) }));
      if (global.json) {
        // An array, not an object keyed by name: a model named "__proto__" stays a model.
        const models = listed.map(({ name, entry, signatures }) => ({ name, repo: entry.repo, revision: entry.revision, signatures }));
        writeOut(JSON.stringify({ models }, null, 2));
        return;
      }
      const lines: string[] = [];
      for (const { name, entry, signatures } of listed) {
        // Names, repos and signers come from the lockfile and its signatures: outside text.
        lines.push(`${escapeForTerminal(name)}  ${escapeForTerminal(entry.repo)}@${entry.revision}`);
        if (signatures.length === 0) lines.push("  no signatures");
        const width = Math.max(0, ...signatures.map((s) => s.where.length));
        for (const s of signatures) {
          const where = escapeForTerminal(s.where).padEnd(width);
          const path = s.path === undefined ? "" : `  ${escapeForTerminal(s.path)}`;
          lines.push(`  ${where}  ${kindName(s.kind).padEnd(19)}  ${escapeForTerminal(claimedName(s.signer, s.kind))}${path}`);
        }
      }
      writeOut(lines.join("\n"));
      if (!global.quiet) writeErr("signers as the signatures claim them, not verified: modelguard verify --key PUB checks them against the keys you trust");
    });
}
