import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../bin/modelguard.js", import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  timedOut?: boolean;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string;
  /**
   * Shell commands run before node replaces the shell, e.g. `ulimit -f 200` (a file-size limit:
   * writes past it are cut short, then fail with EFBIG; Node ignores SIGXFSZ) or `ulimit -n 256`.
   */
  limits?: string;
  /**
   * Run as an unprivileged user (nobody, via setpriv) when the tests run as root, so file
   * permissions apply to it (root ignores them); as the current user otherwise. See canDropRoot.
   */
  unprivileged?: boolean;
  /** Kills the process (SIGKILL) after this long; the result then has `timedOut` and code -1. */
  timeoutMs?: number;
}

const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;
const DROP_ROOT = [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", "--inh-caps=-all", "--bounding-set=-all"];

/**
 * Whether `unprivileged` can make file permissions bite: true for a non-root user; for root, when
 * `setpriv` can drop to nobody. A test that needs a file it cannot write skips only when false.
 */
export const canDropRoot: boolean = !isRoot || spawnSync("setpriv", [...DROP_ROOT, "true"]).status === 0;

/** The uid `unprivileged` runs as (to chown a folder it must own). */
export const unprivilegedUid: number = isRoot ? NOBODY : (process.getuid?.() ?? NOBODY);

/** Runs the real CLI as a subprocess, as a user or CI would. */
export function runCli(args: string[], options: RunOptions = {}): Promise<CliResult> {
  return runNode([BIN, ...args], options);
}

/** Runs `node ARGS` as a subprocess (a script of the test's own), with the same options as runCli. */
export function runNode(args: string[], options: RunOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, ...options.env };
    if (options.env && "COSIGN_PASSWORD" in options.env && options.env.COSIGN_PASSWORD === undefined) delete env.COSIGN_PASSWORD;
    let [command, argv]: [string, string[]] = options.limits
      ? ["sh", ["-c", `${options.limits} && exec "$0" "$@"`, process.execPath, ...args]]
      : [process.execPath, args];
    if (options.unprivileged && isRoot) [command, argv] = ["setpriv", [...DROP_ROOT, command, ...argv]];
    const child = spawn(command, argv, { cwd: options.cwd, env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    let timedOut = false;
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, options.timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr, ...(timedOut ? { timedOut } : {}) });
    });
    child.stdin.end(options.input ?? "");
  });
}
