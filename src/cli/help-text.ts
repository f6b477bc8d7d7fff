/**
 * What each command's `--help` ends with: the environment variables it reads and the exit codes it
 * can end with (the contract's: 0 success, 1 verification failed, 2 usage or invalid input, 3 could
 * not fetch). Kept in one table so a new command or variable is one line here; the help test
 * (test/cli/help.test.ts) checks every command has an entry and lists every flag it takes.
 */

const VARIABLES = {
  COSIGN_PASSWORD: "password of an encrypted private key (else asked on the terminal, else the first line of stdin)",
  SIGSTORE_ID_TOKEN: "OIDC identity token for Sigstore keyless signing, when neither --key nor --identity-token is given",
  HF_ENDPOINT: "Hub base URL (default https://huggingface.co)",
  HF_TOKEN: "Hub access token, for private and gated repos",
  HF_HUB_OFFLINE: "1: make no request (a file not cached: exit 3)",
  HF_HUB_CACHE: "the Hugging Face cache folder, unless --cache-dir",
  HUGGINGFACE_HUB_CACHE: "its older name, read when HF_HUB_CACHE is not set",
  HF_HOME: "else the cache is $HF_HOME/hub",
  XDG_CACHE_HOME: "else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub",
  HF_HUB_DOWNLOAD_TIMEOUT: "seconds without data from the Hub before a request is retried (default 10)",
  MODELGUARD_DOWNLOAD_DEADLINE: "seconds one file (retries included) may take (default an hour, or its size at 1 MB/s)",
  MODELGUARD_COPY_DIR: "where private verified copies of large files are made (default /dev/shm, else the temp dir)",
  MODELGUARD_AUDIT_LOG: "append one audit event (a JSON line) per model checked to this file, unless --audit-log",
} as const;

type Variable = keyof typeof VARIABLES;

const EXIT = {
  0: "success",
  1: "verification failed (digest, size, signature, trust policy, unverified external data)",
  2: "usage error or invalid input (unknown flag, malformed lockfile, key or signature, missing file, wrong password)",
  3: "could not fetch (Hub unreachable or an HTTP error after retries, offline and not cached)",
} as const;

type Exit = keyof typeof EXIT;

const CACHE: Variable[] = ["HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME"];
const HUB: Variable[] = ["HF_ENDPOINT", "HF_TOKEN", "HF_HUB_OFFLINE", "HF_HUB_DOWNLOAD_TIMEOUT", "MODELGUARD_DOWNLOAD_DEADLINE", ...CACHE];

const KEYLESS_EXITS: Partial<Record<Exit, string>> = {
  1: "keyless: the new signature does not verify against the trusted root",
  3: "keyless: Fulcio or Rekor could not be reached or refused",
};

/** Per command: the variables it reads and the exit codes it can end with. */
export const COMMAND_HELP: Record<string, { env: Variable[]; exit: Exit[]; exitNotes?: Partial<Record<Exit, string>> }> = {
  "generate-key-pair": { env: ["COSIGN_PASSWORD"], exit: [0, 2] },
  "sign-blob": { env: ["COSIGN_PASSWORD"], exit: [0, 2] },
  "verify-blob": { env: [], exit: [0, 1, 2] },
  add: { env: HUB, exit: [0, 1, 2, 3], exitNotes: { 1: "a file does not match the Hub's digests, a publisher signature does not verify, or the model is locked at another commit (LOCK_DRIFT: run again with --update)" } },
  sign: { env: ["COSIGN_PASSWORD", "SIGSTORE_ID_TOKEN"], exit: [0, 1, 2, 3], exitNotes: KEYLESS_EXITS },
  pull: { env: HUB, exit: [0, 1, 2, 3] },
  verify: { env: [...CACHE, "MODELGUARD_COPY_DIR", "MODELGUARD_AUDIT_LOG"], exit: [0, 1, 2, 3], exitNotes: { 3: "a locked file is not in the cache (run modelguard pull), the cache cannot be read, or there is no room for a private verified copy" } },
  "sign-model": { env: ["COSIGN_PASSWORD", "SIGSTORE_ID_TOKEN"], exit: [0, 1, 2, 3], exitNotes: KEYLESS_EXITS },
  "verify-model": { env: [], exit: [0, 1, 2] },
  bom: {
    env: ["HF_ENDPOINT", ...CACHE],
    exit: [0, 1, 2, 3],
    exitNotes: { 1: "with --key or --identity: a model's signatures do not satisfy them; or a cached config.json does not match the lock", 3: "the cache could not be read" },
  },
  remove: { env: [], exit: [0, 2], exitNotes: { 2: "a name is not locked (nothing is removed), or the lockfile is malformed or busy" } },
  signatures: { env: [], exit: [0, 2] },
  unsign: { env: [], exit: [0, 2], exitNotes: { 2: "no signature of the models is by that signer, not exactly one signer given, a name is not locked, or a malformed key id, key, fingerprint or lockfile (nothing is changed)" } },
};

/** `  term  description`, the description wrapped at 80 columns under itself, as commander lays out options. */
function item(term: string, width: number, text: string): string[] {
  const indent = 2 + width + 2;
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && indent + line.length + 1 + word.length > 80) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines.map((l, i) => (i === 0 ? `  ${term.padEnd(width)}  ${l}` : `${" ".repeat(indent)}${l}`));
}

/** The text after a command's options in its `--help`. */
export function helpFooter(command: string): string {
  const entry = COMMAND_HELP[command];
  if (!entry) return "";
  const lines: string[] = [];
  if (entry.env.length > 0) {
    lines.push("", "Environment:");
    const width = Math.max(...entry.env.map((v) => v.length));
    for (const v of entry.env) lines.push(...item(v, width, VARIABLES[v]));
  }
  lines.push("", "Exit codes:");
  for (const code of entry.exit) lines.push(...item(String(code), 1, entry.exitNotes?.[code] ?? EXIT[code]));
  return lines.join("\n");
}
