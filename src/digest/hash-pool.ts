import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { digestFile, type DigestOptions } from "./read-and-hash.js";

/** What the copying worker saw of a copy right after its last write (fstat, bigint). */
export interface CopyIdentity {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mode: bigint;
  nlink: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

export type CopyResult =
  | { kind: "copied"; size: number; sha256: string; identity: CopyIdentity }
  | { kind: "size-mismatch"; actualSize: number };

/**
 * The worker's whole program. Inline (eval) rather than a file, so it runs the same from the
 * TypeScript sources under test and from dist/: there is no .js file to find next to a .ts one.
 *
 * Reads go into page-aligned memory (a WebAssembly memory's buffer starts on a page boundary; a
 * large Buffer starts 16 bytes into one): on this machine's CPU the kernel copies into 64-byte
 * aligned memory several times faster (see the README's verify benchmark). The next chunk is read
 * while this one is hashed (and, for a copy, written).
 *
 * - digest: a hash of a file or a range of it. Mirrors `digestFile`.
 * - copy: a private verified copy: the cached file (refused unless a regular file; opened
 *   O_NONBLOCK so a FIFO cannot hang us) is read once, each chunk hashed and written from the same
 *   buffer to a new file (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0400); one byte past the expected size is
 *   read to catch a file that grew; the copy's fstat after the last write is returned, so the
 *   caller can tell any later change.
 */
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const { constants } = require("node:fs");
const { open } = require("node:fs/promises");
const CHUNK = 8 * 1024 * 1024;
const memory = new WebAssembly.Memory({ initial: (3 * CHUNK) / 65536 });
const buffers = [0, 1, 2].map((i) => Buffer.from(memory.buffer, i * CHUNK, CHUNK));

async function readFull(handle, buffer, length, position) {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buffer, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

async function writeAll(handle, buffer, position) {
  let done = 0;
  while (done < buffer.length) {
    const { bytesWritten } = await handle.write(buffer, done, buffer.length - done, position + done);
    if (bytesWritten === 0) throw Object.assign(new Error("short write"), { code: "ENOSPC" });
    done += bytesWritten;
  }
}

async function digest({ path, algorithm, start, end, noFollow }) {
  // Never block on a FIFO; read nothing but a regular file (see open-regular-file.ts).
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | (noFollow ? constants.O_NOFOLLOW : 0));
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw Object.assign(new Error(path + " is " + (stats.isDirectory() ? "a directory" : stats.isFIFO() ? "a FIFO" : stats.isCharacterDevice() ? "a character device" : "not a regular file") + ", not a regular file"), { code: "ENOTREG" });
    const hash = createHash(algorithm);
    const stop = end ?? Infinity;
    let position = start, which = 0;
    const readAt = (buffer, at) => handle.read(buffer, 0, Math.min(CHUNK, stop - at), at);
    let next = position < stop ? readAt(buffers[0], position) : undefined;
    while (next) {
      const { bytesRead } = await next;
      if (bytesRead === 0) break;
      const current = buffers[which];
      position += bytesRead;
      which ^= 1;
      next = position < stop ? readAt(buffers[which], position) : undefined;
      hash.update(current.subarray(0, bytesRead));
    }
    return { size: position - start, digest: hash.digest("hex") };
  } finally {
    await handle.close();
  }
}

async function copy({ source, target, size }) {
  const src = await open(source, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = await src.stat();
    if (!st.isFile()) throw Object.assign(new Error(source + " is not a regular file"), { code: "ENOTREG" });
    if (st.size !== size) return { kind: "size-mismatch", actualSize: st.size };
    const dst = await open(target, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o400);
    try {
      const hash = createHash("sha256");
      const writes = [undefined, undefined, undefined];
      let position = 0, i = 0;
      let next = size > 0 ? readFull(src, buffers[0], Math.min(CHUNK, size), 0) : undefined;
      while (next) {
        const n = await next;
        if (n === 0) break;
        const current = buffers[i % 3].subarray(0, n);
        const at = position;
        position += n;
        next = undefined;
        if (position < size) {
          const b = (i + 1) % 3;
          await writes[b];
          next = readFull(src, buffers[b], Math.min(CHUNK, size - position), position);
        }
        writes[i % 3] = writeAll(dst, current, at);
        hash.update(current);
        i++;
      }
      await Promise.all(writes);
      const extra = position === size ? await readFull(src, Buffer.alloc(1), 1, size) : 0;
      if (position !== size || extra !== 0) return { kind: "size-mismatch", actualSize: position + extra };
      const s = await dst.stat({ bigint: true });
      const identity = { dev: s.dev, ino: s.ino, size: s.size, mode: s.mode, nlink: s.nlink, mtimeNs: s.mtimeNs, ctimeNs: s.ctimeNs };
      return { kind: "copied", size, sha256: hash.digest("hex"), identity };
    } finally {
      await dst.close();
    }
  } finally {
    await src.close();
  }
}

parentPort.on("message", async (job) => {
  try {
    const result = job.op === "copy" ? await copy(job) : await digest(job);
    parentPort.postMessage({ id: job.id, result });
  } catch (err) {
    parentPort.postMessage({ id: job.id, error: { message: err.message, code: err.code } });
  }
});
`;

type JobMessage =
  | ({ op: "digest"; path: string } & Required<Pick<DigestOptions, "algorithm" | "start">> & DigestOptions)
  | { op: "copy"; source: string; target: string; size: number };

interface Job {
  id: number;
  message: JobMessage;
  resolve: (r: unknown) => void;
  reject: (e: Error) => void;
}

// Below this size a file is hashed on the calling thread: handing it to a worker costs more.
const WORKER_THRESHOLD = 4 * 1024 * 1024;

/**
 * Hashing and verified copying of whole files on worker threads, one file per worker at a time,
 * as many workers as cores: Node's hash runs on the thread that calls it, so files are hashed in
 * parallel only on separate threads. Workers start on first use (`warm()` starts them all at once,
 * ahead of the work) and stay for the pool's life, unref'd while idle, so an open pool never keeps
 * the process alive; `close()` ends them.
 */
export class HashPool {
  readonly #size: number;
  readonly #idle: Worker[] = [];
  readonly #all: Worker[] = [];
  readonly #queue: Job[] = [];
  readonly #running = new Map<Worker, Job>();
  #nextId = 0;

  constructor(size = availableParallelism()) {
    this.#size = Math.max(1, size);
  }

  get size(): number {
    return this.#size;
  }

  /** Starts every worker now, so their start-up overlaps whatever the caller does before hashing. */
  warm(): this {
    while (this.#all.length < this.#size) {
      const worker = this.#spawn();
      worker.unref();
      this.#idle.push(worker);
    }
    return this;
  }

  /**
   * SHA-256 of a whole file: what `verify` needs. Given the size the file should have, reads at
   * most one byte more, so a file that never ends cannot keep a worker reading.
   */
  async hashFile(path: string, sizeHint = Infinity): Promise<{ size: number; sha256: string }> {
    const { size, digest } = await this.digest(path, Number.isFinite(sizeHint) ? { sizeHint, end: sizeHint + 1 } : { sizeHint });
    return { size, sha256: digest };
  }

  /** A digest of a file or a range of it (see DigestOptions), on a worker unless it is small. */
  digest(path: string, options: DigestOptions & { sizeHint?: number } = {}): Promise<{ size: number; digest: string }> {
    const { sizeHint = Infinity, ...digestOptions } = options;
    const bytes = digestOptions.end !== undefined ? digestOptions.end - (digestOptions.start ?? 0) : sizeHint;
    if (bytes < WORKER_THRESHOLD) return digestFile(path, digestOptions);
    return this.#run({ op: "digest", path, algorithm: "sha256", start: 0, ...digestOptions }) as Promise<{ size: number; digest: string }>;
  }

  /** A private verified copy of `source` at `target` (see the worker's `copy`), hashed in the same pass. */
  copyFile(source: string, target: string, size: number): Promise<CopyResult> {
    return this.#run({ op: "copy", source, target, size }) as Promise<CopyResult>;
  }

  #run(message: JobMessage): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ id: this.#nextId++, message, resolve, reject });
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#queue.length > 0) {
      const worker = this.#idle.pop() ?? (this.#all.length < this.#size ? this.#spawn() : undefined);
      if (!worker) return;
      const job = this.#queue.shift()!;
      this.#running.set(worker, job);
      worker.ref();
      worker.postMessage({ id: job.id, ...job.message });
    }
  }

  #spawn(): Worker {
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    this.#all.push(worker);
    worker.on("message", (msg: { result?: unknown; error?: { message: string; code?: string } }) => {
      const job = this.#running.get(worker)!;
      this.#running.delete(worker);
      worker.unref();
      this.#idle.push(worker);
      if (msg.error) job.reject(Object.assign(new Error(msg.error.message), { code: msg.error.code }));
      else job.resolve(msg.result);
      this.#pump();
    });
    worker.on("error", (err) => {
      const job = this.#running.get(worker);
      this.#running.delete(worker);
      this.#all.splice(this.#all.indexOf(worker), 1);
      const idle = this.#idle.indexOf(worker);
      if (idle !== -1) this.#idle.splice(idle, 1);
      job?.reject(err);
      this.#pump();
    });
    return worker;
  }

  async close(): Promise<void> {
    const workers = this.#all.splice(0);
    this.#idle.length = 0;
    await Promise.all(workers.map((w) => w.terminate()));
  }

  /** True when no job is queued or running. */
  get idle(): boolean {
    return this.#queue.length === 0 && this.#running.size === 0;
  }
}

let shared: HashPool | undefined;
let idleTimer: NodeJS.Timeout | undefined;
// Long enough to stay warm across a start-up's verify and loads; short enough not to hold
// threads (and their memory) in a process that is done with models.
const SHARED_IDLE_MS = 10_000;

/**
 * The process's pool, warm: workers are started at the first use and kept while models are being
 * checked or copied, then ended after SHARED_IDLE_MS without work. Every guard shares it, so
 * several guards do not multiply threads.
 */
export function sharedHashPool(): HashPool {
  shared ??= new HashPool();
  shared.warm();
  if (idleTimer) clearTimeout(idleTimer);
  const check = (): void => {
    if (!shared) return;
    if (!shared.idle) {
      idleTimer = setTimeout(check, SHARED_IDLE_MS).unref();
      return;
    }
    const pool = shared;
    shared = undefined;
    void pool.close();
  };
  idleTimer = setTimeout(check, SHARED_IDLE_MS).unref();
  return shared;
}
