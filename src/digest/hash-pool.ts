import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { hashFile } from "./read-and-hash.js";

/**
 * The worker's whole program. Inline (eval) rather than a file, so it runs the same from the
 * TypeScript sources under test and from dist/: there is no .js file to find next to a .ts one.
 * Two buffers: the next chunk is read while this one is hashed.
 */
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const { open } = require("node:fs/promises");
const CHUNK = 8 * 1024 * 1024;
const buffers = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)];
parentPort.on("message", async ({ id, path }) => {
  let handle;
  try {
    handle = await open(path, "r");
    const hash = createHash("sha256");
    let size = 0, which = 0;
    let next = handle.read(buffers[0], 0, CHUNK, 0);
    for (;;) {
      const { bytesRead } = await next;
      if (bytesRead === 0) break;
      const current = buffers[which];
      size += bytesRead;
      which ^= 1;
      next = handle.read(buffers[which], 0, CHUNK, size);
      hash.update(current.subarray(0, bytesRead));
    }
    parentPort.postMessage({ id, size, sha256: hash.digest("hex") });
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
  resolve: (r: { size: number; sha256: string }) => void;
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

  hashFile(path: string, sizeHint = Infinity): Promise<{ size: number; sha256: string }> {
    if (sizeHint < WORKER_THRESHOLD) return hashFile(path);
    return new Promise((resolve, reject) => {
      this.#queue.push({ id: this.#nextId++, path, resolve, reject });
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
      worker.postMessage({ id: job.id, path: job.path });
    }
  }

  #spawn(): Worker {
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    this.#all.push(worker);
    worker.on("message", (msg: { size: number; sha256: string; error?: { message: string; code?: string } }) => {
      const job = this.#running.get(worker)!;
      this.#running.delete(worker);
      worker.unref();
      this.#idle.push(worker);
      if (msg.error) job.reject(Object.assign(new Error(msg.error.message), { code: msg.error.code }));
      else job.resolve({ size: msg.size, sha256: msg.sha256 });
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
