import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
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

/** A job the worker runs (hash-worker.ts). */
export type HashJob =
  | ({ op: "digest"; path: string } & Required<Pick<DigestOptions, "algorithm" | "start">> & DigestOptions)
  | { op: "copy"; source: string; target: string; size: number };

/**
 * The worker is a module beside this one: hash-worker.js in dist/. Run from the TypeScript
 * sources (the tests, tsx), it is hash-worker.ts, which Node 20 does not load by itself and a
 * loader given to the main thread does not reach: tsx (a dev dependency) is registered in the
 * worker first.
 */
const FROM_SOURCES = import.meta.url.endsWith(".ts");
const WORKER_URL = new URL(FROM_SOURCES ? "./hash-worker.ts" : "./hash-worker.js", import.meta.url);

function startWorker(): Worker {
  if (!FROM_SOURCES) return new Worker(WORKER_URL);
  const tsx = createRequire(import.meta.url).resolve("tsx/cjs");
  return new Worker(`require(${JSON.stringify(tsx)}); require(${JSON.stringify(fileURLToPath(WORKER_URL))});`, { eval: true });
}

interface Job {
  id: number;
  message: HashJob;
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

  #run(message: HashJob): Promise<unknown> {
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
    const worker = startWorker();
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
