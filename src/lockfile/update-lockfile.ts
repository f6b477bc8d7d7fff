/**
 * The one read-modify-write of a lockfile: every command that changes `models.lock.json` (add,
 * sign, and any later one) goes through `updateLockfile`, so two of them run at once never lose
 * each other's change.
 *
 * Hand-written rather than `proper-lockfile`: that library detects a dead holder only by an mtime
 * it refreshes on a timer (a killed process blocks others until the lock ages out) and brings
 * graceful-fs and signal-exit; here the critical section is milliseconds (read, apply, write), so
 * an exclusive create of `PATH.lock` holding the owner's pid is enough, and a holder that died on
 * this host is noticed at once.
 */
import { randomBytes } from "node:crypto";
import { link, open, readFile, rename, rm, stat } from "node:fs/promises";
import { hostname } from "node:os";
import { ModelGuardError } from "../errors.js";
import { isProcessAlive } from "../io/process-alive.js";
import { readLockfile, writeLockfile } from "./lockfile-file.js";
import type { Lockfile } from "./types.js";
import { validateLockfile } from "./validate.js";

export interface UpdateLockfileOptions {
  /** Start from an empty lockfile when there is none (add). Default false: LOCKFILE_NOT_FOUND. */
  create?: boolean;
  /** How long to wait for another writer. Default 60 s, then LOCKFILE_BUSY. */
  timeoutMs?: number;
  /** A lock taken on another host (a shared folder) is stale once older than this. Default 30 s. */
  staleMs?: number;
}

interface LockOwner {
  pid: number;
  host: string;
  token: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function parseOwner(text: string): LockOwner | undefined {
  try {
    const owner = JSON.parse(text) as Partial<LockOwner>;
    if (typeof owner.pid === "number" && typeof owner.host === "string" && typeof owner.token === "string") return owner as LockOwner;
  } catch {
    // A holder killed between creating the lock and writing it leaves it empty.
  }
  return undefined;
}

/**
 * Whether the lock whose text is `text` (last changed at `mtimeMs`) was left by a holder that is
 * gone. On this host that is known: its process is not alive (a live one may hold the lock as
 * long as it needs, e.g. while a keyless signature is made). From another host sharing the
 * folder, only age tells.
 */
function isStale(text: string, mtimeMs: number, staleMs: number): boolean {
  const age = Date.now() - mtimeMs;
  const owner = parseOwner(text);
  if (!owner) return age > 2_000;
  if (owner.host === hostname()) return owner.pid !== process.pid && !isProcessAlive(owner.pid);
  return age > staleMs;
}

/**
 * Removes a stale lock, and only that one: it is renamed aside (atomic, so of two processes that
 * both found it stale one gets it), and a lock that turns out to be a fresh one taken in between
 * is put back with `link`, which, like the exclusive create, never replaces an existing file.
 */
async function breakStaleLock(lockPath: string, staleText: string): Promise<void> {
  const aside = `${lockPath}.${process.pid}.${randomBytes(4).toString("hex")}.stale`;
  try {
    await rename(lockPath, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  const moved = await readFile(aside, "utf8").catch(() => "");
  if (moved !== staleText) await link(aside, lockPath).catch(() => undefined);
  await rm(aside, { force: true });
}

async function acquire(lockPath: string, options: UpdateLockfileOptions): Promise<LockOwner> {
  const owner: LockOwner = { pid: process.pid, host: hostname(), token: randomBytes(12).toString("hex") };
  const text = JSON.stringify(owner);
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  const staleMs = options.staleMs ?? 30_000;
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(lockPath, "wx", 0o644);
      try {
        await handle.writeFile(text, "utf8");
      } finally {
        await handle.close();
      }
      return owner;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const gone = (err: unknown) => {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new ModelGuardError("LOCKFILE_BUSY", `cannot read the lock ${lockPath}: ${(err as Error).message}`, { cause: err });
    };
    const [held, info] = await Promise.all([readFile(lockPath, "utf8").catch(gone), stat(lockPath).catch(gone)]);
    if (held === undefined || info === undefined) continue; // released meanwhile
    if (isStale(held, info.mtimeMs, staleMs)) {
      await breakStaleLock(lockPath, held);
      continue;
    }
    if (Date.now() > deadline) {
      const holder = parseOwner(held);
      throw new ModelGuardError(
        "LOCKFILE_BUSY",
        `another process (${holder ? `pid ${holder.pid} on ${holder.host}` : "unknown"}) is writing the lockfile and holds ${lockPath}; if none is, remove that file`,
      );
    }
    await sleep(Math.min(10 * 2 ** Math.min(attempt, 5), 200) * (0.5 + Math.random()));
  }
}

async function release(lockPath: string, owner: LockOwner): Promise<void> {
  // Only our own lock: had it been taken from us as stale, the new holder's stays.
  const held = await readFile(lockPath, "utf8").catch(() => undefined);
  if (held !== undefined && parseOwner(held)?.token === owner.token) await rm(lockPath, { force: true });
}

/**
 * Reads the lockfile, applies `update` and writes the result atomically, holding `PATH.lock` from
 * before the read until after the write, so concurrent writers apply their changes one after the
 * other to the latest lockfile. `update` returns the new lockfile (validated before it is
 * written), or undefined to leave the file untouched; it may be called with a lockfile another
 * writer changed since the caller last looked, so it decides from what it is given. Returns the
 * lockfile as it now is.
 */
export async function updateLockfile(
  path: string,
  update: (lockfile: Lockfile) => Lockfile | undefined | Promise<Lockfile | undefined>,
  options: UpdateLockfileOptions = {},
): Promise<Lockfile> {
  const lockPath = `${path}.lock`;
  const owner = await acquire(lockPath, options);
  try {
    let current: Lockfile;
    try {
      current = await readLockfile(path);
    } catch (err) {
      if (!(options.create && err instanceof ModelGuardError && err.code === "LOCKFILE_NOT_FOUND")) throw err;
      current = { lockfileVersion: 1, models: {} };
    }
    const next = await update(current);
    if (next === undefined) return current;
    const valid = validateLockfile(next);
    const held = await readFile(lockPath, "utf8").catch(() => undefined);
    if (held === undefined || parseOwner(held)?.token !== owner.token) {
      throw new ModelGuardError("LOCKFILE_BUSY", `the lock on ${path} was taken over while this change was being made; nothing was written, run again`);
    }
    await writeLockfile(path, valid);
    return valid;
  } finally {
    await release(lockPath, owner);
  }
}
