import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { digestFile, type DigestOptions } from "./read-and-hash.js";

/**
 * The worker's whole program. Inline (eval) rather than a file, so it runs the same from the
 * TypeScript sources under test and from dist/: there is no .js file to find next to a .ts one.
 * Two buffers: the next chunk is read while this one is hashed. Mirrors `digestFile`.
 */
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const { constants } = require("node:fs");
const { open } = require("node:fs/promises");
const CHUNK = 8 * 1024 * 1024;
const buffers = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)];
parentPort.on("message", async ({ id, path, algorithm, start, end, noFollow }) => {
  let handle;
  try {
    // Never block on a FIFO; read nothing but a regular file (see open-regular-file.ts).
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | (noFollow ? constants.O_NOFOLLOW : 0));
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
    parentPort.postMessage({ id, size: position - start, digest: hash.digest("hex") });
  } catch (err) {
    parentPort.postMessage({ id, error: { message: err.message, code: err.code } });
  } finally {
    await handle?.close();
  }
});
`;

interface Job {
  id: number;
  path: string;
  options: Required<Pick<DigestOptions, "algorithm" | "start">> & DigestOptions;
  resolve: (r: { size: number; digest: string }) => void;
  reject: (e: Error) => void;
}

// Below this size a file is hashed on the calling thread: handing it to a worker costs more.
const WORKER_THRESHOLD = 4 * 1024 * 1024;

/**
 * SHA-256 of whole files on worker threads, one file per worker at a time, as many workers as
 * cores: Node's hash runs on the thread that calls it, so files are hashed in parallel only on
 * separate threads. Workers start on first use and are unref'd, so an open pool never keeps the
 * process alive; `close()` ends them.
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
    return new Promise((resolve, reject) => {
      const job = { algorithm: "sha256", start: 0, ...digestOptions };
      this.#queue.push({ id: this.#nextId++, path, options: job, resolve, reject });
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
      worker.postMessage({ id: job.id, path: job.path, ...job.options });
    }
  }

  #spawn(): Worker {
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    this.#all.push(worker);
    worker.on("message", (msg: { size: number; digest: string; error?: { message: string; code?: string } }) => {
      const job = this.#running.get(worker)!;
      this.#running.delete(worker);
      worker.unref();
      this.#idle.push(worker);
      if (msg.error) job.reject(Object.assign(new Error(msg.error.message), { code: msg.error.code }));
      else job.resolve({ size: msg.size, digest: msg.digest });
      this.#pump();
    });
    worker.on("error", (err) => {
      const job = this.#running.get(worker);
      this.#running.delete(worker);
      this.#all.splice(this.#all.indexOf(worker), 1);
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
}
