/**
 * Every command's --help is enough to use it: each flag it takes (its own and the global ones),
 * the environment variables it reads, and the exit codes it can end with.
 */
import { describe, expect, it } from "vitest";
import { buildProgram } from "../../src/cli/main.js";
import { COMMAND_HELP } from "../../src/cli/help-text.js";
import { runCli } from "../helpers/run-cli.js";

const program = buildProgram();
const commands = program.commands.filter((c) => c.name() !== "help");
const CACHE = ["HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME"];
const HUB = ["HF_ENDPOINT", "HF_TOKEN", "HF_HUB_OFFLINE", "HF_HUB_DOWNLOAD_TIMEOUT", "MODELGUARD_DOWNLOAD_DEADLINE", ...CACHE];

/** What each command reads, as the code does (not as the help table says). */
const READS: Record<string, string[]> = {
  "generate-key-pair": ["COSIGN_PASSWORD"],
  "sign-blob": ["COSIGN_PASSWORD"],
  sign: ["COSIGN_PASSWORD", "SIGSTORE_ID_TOKEN"],
  "sign-model": ["COSIGN_PASSWORD", "SIGSTORE_ID_TOKEN"],
  add: HUB,
  pull: HUB,
  verify: [...CACHE, "MODELGUARD_COPY_DIR", "MODELGUARD_AUDIT_LOG"],
  bom: ["HF_ENDPOINT", ...CACHE],
};
/** The exit codes each command can end with. */
const EXITS: Record<string, number[]> = {
  "generate-key-pair": [0, 2],
  "sign-blob": [0, 2],
  sign: [0, 1, 2, 3],
  "sign-model": [0, 1, 2, 3],
  "verify-blob": [0, 1, 2],
  "verify-model": [0, 1, 2],
  add: [0, 1, 2, 3],
  pull: [0, 1, 2, 3],
  verify: [0, 1, 2, 3],
  bom: [0, 1, 2, 3],
  remove: [0, 2],
  signatures: [0, 2],
  unsign: [0, 2],
};

describe("--help", () => {
  it("every command has its environment and exit codes described", () => {
    expect(commands.map((c) => c.name()).sort()).toEqual(Object.keys(COMMAND_HELP).sort());
  });

  it.concurrent.each(commands.map((c) => c.name()))("%s --help lists every flag, the variables it reads and its exit codes", async (name) => {
    const res = await runCli([name, "--help"]);
    expect(res.code).toBe(0);
    const help = res.stdout;
    const command = commands.find((c) => c.name() === name)!;
    for (const option of [...command.options, ...program.options]) expect(help, `${name} --help lacks ${option.long}`).toContain(option.long!);
    for (const flag of ["--json", "--quiet", "--lockfile", "--cache-dir"]) expect(help).toContain(flag);
    const environment = /\nEnvironment:\n([\s\S]*?)(\n\n|$)/.exec(help)?.[1] ?? "";
    const listed = [...environment.matchAll(/^ {2}([A-Z_]+) /gm)].map((m) => m[1]);
    expect(listed.sort()).toEqual([...(READS[name] ?? [])].sort());
    const exits = /\nExit codes:\n([\s\S]*)$/.exec(help)?.[1] ?? "";
    expect([...exits.matchAll(/^ {2}(\d) /gm)].map((m) => Number(m[1]))).toEqual(EXITS[name]);
  });
});
