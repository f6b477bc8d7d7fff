import { constants, existsSync, rmSync } from "node:fs";
import { lstat, mkdtemp, readdir, readFile, rm, statfs } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ModelGuardError } from "../errors.js";
import { isProcessAlive } from "../io/process-alive.js";

/**
 * Where private verified copies live, and how a killed process's copies are found again.
 *
 * - The root: `copyDir` (option), else `$MODELGUARD_COPY_DIR`, else `/dev/shm` when it is a
 *   writable tmpfs with room for the copy, else `os.tmpdir()`. A tmpfs keeps the copy in memory:
 *   no disk write, and it is gone at reboot.
 * - Each process makes one folder in the root, `modelguard-<pid>-<start>-XXXXXX` (mkdtemp: a
 *   fresh, random name, mode 0700, created atomically, so nothing planted in a shared /dev/shm can
 *   be mistaken for it). `<start>` is the process's start time from /proc (clock ticks since boot):
 *   with the pid it names one process even after the pid is reused.
 * - Copies are removed when released, when the guard closes, and at exit; a process killed with
 *   SIGKILL leaves its folder, which the next process to make a copy in that root removes: a folder
 *   of ours (same uid, a real directory) whose pid is gone or now belongs to a process that started
 *   at another time.
 */

const PREFIX = "modelguard-";
const NAME = /^modelguard-(\d+)-(\d+)-[A-Za-z0-9]{6}$/;

export interface CopyRootOptions {
  /** A folder for copies; default `$MODELGUARD_COPY_DIR`, else /dev/shm, else the OS temp dir. */
  copyDir?: string;
  env?: NodeJS.ProcessEnv;
}

/** The start time of a process (field 22 of /proc/<pid>/stat), or undefined where /proc has no such process. */
async function startTimeOf(pid: number | "self"): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    // Field 2 (the command) is in parentheses and may hold spaces or ')': count from the last ')'.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

/** Removes the folders in `root` that a process of this user left when it was killed. */
export async function sweepLeftovers(root: string): Promise<string[]> {
  const uid = process.getuid?.();
  const removed: string[] = [];
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return removed;
  }
  for (const name of names) {
    const m = NAME.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid) continue;
    const path = join(root, name);
    const st = await lstat(path).catch(() => undefined);
    if (!st?.isDirectory() || (uid !== undefined && st.uid !== uid)) continue;
    // With /proc, a pid whose start time differs is another process (the pid was reused); without
    // it (macOS), only a pid that no longer exists is known to be gone.
    const gone = existsSync("/proc/self/stat") ? (await startTimeOf(pid)) !== m[2] : !isProcessAlive(pid);
    if (!gone) continue;
    await rm(path, { recursive: true, force: true }).catch(() => undefined);
    removed.push(path);
  }
  return removed;
}

/** The default root for copies of `bytes` bytes: /dev/shm if it is there, writable and roomy, else the temp dir. */
async function defaultRoot(bytes: number): Promise<string> {
  const shm = "/dev/shm";
  try {
    const st = await lstat(shm);
    const fs = await statfs(shm);
    // Keep a margin: a tmpfs that fills up takes memory from everything else on the machine.
    if (st.isDirectory() && (st.mode & constants.S_IWOTH || st.uid === process.getuid?.()) && fs.bavail * fs.bsize > bytes * 1.1 + 64 * 2 ** 20) {
      return shm;
    }
  } catch {
    // no /dev/shm here
  }
  return tmpdir();
}

/**
 * The per-process folder for copies, made on first use (leftovers of killed processes swept first)
 * and removed at exit. One per root: a guard with its own `copyDir` gets its own folder.
 */
export class CopyRoot {
  static readonly #folders = new Map<string, Promise<string>>();
  static #exitHook = false;

  /** The root this process uses for copies of `bytes` bytes under these options. */
  static async rootFor(options: CopyRootOptions, bytes: number): Promise<string> {
    const env = options.env ?? process.env;
    return options.copyDir ?? (env.MODELGUARD_COPY_DIR || undefined) ?? (await defaultRoot(bytes));
  }

  /** This process's folder in `root` (created 0700 on first use). */
  static folderIn(root: string): Promise<string> {
    let folder = CopyRoot.#folders.get(root);
    if (!folder) {
      folder = CopyRoot.#create(root);
      CopyRoot.#folders.set(root, folder);
      folder.catch(() => CopyRoot.#folders.delete(root));
    }
    return folder;
  }

  static async #create(root: string): Promise<string> {
    await sweepLeftovers(root);
    const start = (await startTimeOf("self")) ?? "0";
    let folder: string;
    try {
      folder = await mkdtemp(join(root, `${PREFIX}${process.pid}-${start}-`));
    } catch (err) {
      throw new ModelGuardError("COPY_FAILED", `cannot make a folder for verified copies in ${root}: ${(err as Error).message}`, { cause: err });
    }
    if (!CopyRoot.#exitHook) {
      CopyRoot.#exitHook = true;
      // A normal exit (or an uncaught exception) takes its copies with it; SIGKILL leaves them for the next sweep.
      process.once("exit", () => {
        for (const f of CopyRoot.#created) rmSync(f, { recursive: true, force: true });
      });
    }
    CopyRoot.#created.add(folder);
    return folder;
  }

  static readonly #created = new Set<string>();
}
