import { randomBytes } from "node:crypto";
import { mkdir, open, rm, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { ContentDigests } from "../digest/content-digests.js";
import { checkLock } from "../digest/lock-check.js";
import { ModelGuardError } from "../errors.js";
import { cacheWriteError, checkSizeOnDisk, writeFully } from "./cache-write-error.js";
import { hubHttpError, networkError } from "./hub-fetch.js";
import type { HubOptions } from "./hub-options.js";
import { RetryableFailure, isRetryableStatus, retryableStatus, withRetries, type OnRetry, type RetryPolicy } from "./retry.js";
import { TimeoutReason, deadlineSignal, fileDeadlineMs, idleMs, type HubTimeouts, type IdleWatchdog } from "./timeouts.js";

export interface DownloadRequest {
  hubUrl: string;
  token?: string;
  repo: string;
  /** A full commit id: files are always taken from a commit, never from a branch that may move. */
  revision: string;
  path: string;
  /** The size the bytes must have (from the lockfile, or the Hub's tree listing). */
  size: number;
  /** Where the temporary file goes: the cache's `blobs/` folder, so the final rename stays on one file system. */
  tempDir: string;
  /** Also compute the git blob SHA-1 (what the Hub lists as `oid` of a regular file), in the same pass. */
  gitBlobSha1?: boolean;
  /** Also keep the bytes in memory (one preallocated buffer), for a caller that loads them next. */
  keepBytes?: boolean;
  retry?: RetryPolicy;
  /** An idle limit per attempt and a deadline for the whole download, retries included. */
  timeouts?: HubTimeouts;
  onProgress?: (bytes: number) => void;
  onRetry?: OnRetry;
  /** The `fetch` each attempt goes through (the caller's, e.g. `ModelGuard.open({ fetch })`). Default: the global `fetch`. */
  fetch?: typeof fetch;
}

export interface DownloadedFile {
  /** The bytes on disk, not yet at any path a loader reads: the caller checks, then renames. */
  tempPath: string;
  size: number;
  sha256: string;
  gitBlobSha1?: string;
  /** `X-Linked-Etag` (LFS: the sha256) or `ETag` (regular files: the git blob SHA-1), unquoted. */
  etag?: string;
  bytes?: Buffer;
}

/**
 * What a download takes from the hub options: where, the token, the limits, the retry policy,
 * `onRetry` and the caller's `fetch`; every download (pull, a load, add) starts from it.
 */
export function downloadOptionsOf(hub: HubOptions): Pick<DownloadRequest, "hubUrl" | "token" | "timeouts" | "retry" | "onRetry" | "fetch"> {
  return {
    hubUrl: hub.hubUrl,
    ...(hub.token ? { token: hub.token } : {}),
    ...(hub.timeouts ? { timeouts: hub.timeouts } : {}),
    ...(hub.retry ? { retry: hub.retry } : {}),
    ...(hub.onRetry ? { onRetry: hub.onRetry } : {}),
    ...(hub.fetch ? { fetch: hub.fetch } : {}),
  };
}

function resolveUrl(req: DownloadRequest): string {
  const path = req.path.split("/").map(encodeURIComponent).join("/");
  return `${req.hubUrl}/${req.repo}/resolve/${req.revision}/${path}`;
}

function unquoteEtag(value: string | null): string | undefined {
  return value?.replace(/^W\//, "").replace(/^"|"$/g, "") || undefined;
}

/**
 * Streams one file from the Hub into a temporary file while hashing it, through `req.fetch`.
 * Connection resets, 5xx and 429 are retried in the one retry loop (retry.ts: backoff, `Retry-After`), resuming with `Range` where the server
 * answers 206, restarting where it does not; the hash state always covers exactly the bytes
 * written. A response that runs past the expected size is cut off at once. An attempt that gets
 * no byte for the idle timeout is aborted and retried; the whole download, retries included,
 * fails FETCH_FAILED at its deadline. On any failure the temporary file is removed.
 */
export async function downloadFile(req: DownloadRequest): Promise<DownloadedFile> {
  const url = resolveUrl(req);
  const what = `${req.repo}@${req.revision.slice(0, 12)}: ${req.path}`;
  const tempPath = join(req.tempDir, `.modelguard-${randomBytes(8).toString("hex")}.part`);
  const file = await mkdir(req.tempDir, { recursive: true })
    .then(() => open(tempPath, "wx", 0o644))
    .catch((err: unknown) => Promise.reject(cacheWriteError(what, err)));
  const digests = new ContentDigests(req.size, req.gitBlobSha1 ?? false);
  const bytes = req.keepBytes ? Buffer.allocUnsafe(req.size) : undefined;
  const sink: Sink = { file, digests, bytes, written: 0, size: req.size, what, onProgress: req.onProgress };
  let etag: string | undefined;
  const deadline = deadlineSignal(fileDeadlineMs(req.timeouts, req.size));
  try {
    await withRetries(
      {
        url,
        idleMs: idleMs(req.timeouts),
        signal: deadline,
        ...(req.retry ? { policy: req.retry } : {}),
        ...(req.onRetry ? { onRetry: req.onRetry } : {}),
      },
      async ({ watchdog }) => {
        try {
          const response = await request(url, req, sink.written, watchdog.signal);
          etag ??= unquoteEtag(response.headers.get("X-Linked-Etag") ?? response.headers.get("ETag"));
          if (sink.written > 0 && !resumesAt(response, sink.written)) {
            // The server ignored the Range: start over, so the hash covers one copy of the file.
            sink.written = 0;
            digests.reset();
            await file.truncate(0).catch((e: unknown) => Promise.reject(cacheWriteError(what, e)));
          }
          checkAnnouncedSize(response, req, sink.written, what);
          await receive(response, sink, watchdog);
          if (sink.written < req.size) throw new RetryableFailure(`connection closed after ${sink.written} of ${req.size} bytes`);
        } finally {
          watchdog.stop();
        }
      },
      {
        aborted: (_err, reason) => new ModelGuardError("FETCH_FAILED", `${what}: ${reason.message}, after ${sink.written} of ${req.size} bytes (${url})`, { url }),
        exhausted: (err, attempts) =>
          err instanceof RetryableFailure || err instanceof TimeoutReason
            ? new ModelGuardError("FETCH_FAILED", `${what}: ${err.message}, after ${attempts} attempts (${url})`, { url })
            : networkError(err, url, what),
      },
    );
    // What the disk holds, not what was received, is what may be renamed into place.
    await file.sync().catch((err: unknown) => Promise.reject(cacheWriteError(what, err)));
    await checkSizeOnDisk(file, sink.written, what);
    await file.close();
    return {
      tempPath,
      size: sink.written,
      ...digests.digest(),
      ...(etag ? { etag } : {}),
      ...(bytes ? { bytes } : {}),
    };
  } catch (err) {
    await file.close().catch(() => undefined);
    await rm(tempPath, { force: true });
    throw err;
  }
}

async function request(url: string, req: DownloadRequest, from: number, signal: AbortSignal): Promise<Response> {
  const headers: Record<string, string> = {};
  if (req.token) headers.Authorization = `Bearer ${req.token}`;
  if (from > 0) headers.Range = `bytes=${from}-`;
  const response = await (req.fetch ?? fetch)(url, { headers, redirect: "follow", signal });
  if (response.ok) return response;
  if (isRetryableStatus(response.status)) throw await retryableStatus(response);
  throw await hubHttpError(response, url, `cannot download ${req.repo}@${req.revision.slice(0, 12)}: ${req.path}`);
}

/** A server that announces another size than the lock says is refused before a byte is written. */
function checkAnnouncedSize(response: Response, req: DownloadRequest, from: number, what: string): void {
  const linked = response.headers.get("X-Linked-Size");
  const length = response.headers.get("Content-Length");
  const announced = linked !== null ? Number(linked) : length !== null && response.status === 200 ? Number(length) : undefined;
  if (announced !== undefined && Number.isFinite(announced) && from === 0) {
    checkLock({ size: req.size }, { size: announced }, () => `${what}: the Hub serves ${announced} bytes, expected ${req.size}`, { file: req.path });
  }
}

interface Sink {
  file: FileHandle;
  digests: ContentDigests;
  bytes: Buffer | undefined;
  written: number;
  size: number;
  what: string;
  onProgress: ((bytes: number) => void) | undefined;
}

/** A 206 whose `Content-Range` starts exactly where our bytes end. */
function resumesAt(response: Response, from: number): boolean {
  if (response.status !== 206) return false;
  const match = /^bytes (\d+)-/.exec(response.headers.get("Content-Range") ?? "");
  return match !== null && Number(match[1]) === from;
}

/** Bytes gathered before one write: a few large writes instead of one per network chunk. */
const WRITE_BATCH = 4 * 1024 * 1024;

/**
 * Two batch buffers: one fills from the network while the other is being written, so disk writes
 * overlap the transfer. `sink.written` advances only when a write has completed, so after a
 * failure the file, the count and the hash state agree and a retry resumes exactly there.
 */
class BatchWriter {
  private readonly buffers = [Buffer.allocUnsafe(WRITE_BATCH), Buffer.allocUnsafe(WRITE_BATCH)];
  private current = 0;
  private pending = 0;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(private readonly sink: Sink) {}

  async append(chunk: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      const n = Math.min(chunk.length - offset, WRITE_BATCH - this.pending);
      const piece = chunk.subarray(offset, offset + n);
      this.buffers[this.current]!.set(piece, this.pending);
      this.sink.digests.update(piece);
      this.pending += n;
      offset += n;
      if (this.pending === WRITE_BATCH) await this.flush();
    }
  }

  /** Starts writing the current batch and switches buffers; waits for the previous write first. */
  async flush(): Promise<void> {
    await this.inFlight;
    if (this.pending === 0) return;
    const buffer = this.buffers[this.current]!;
    const length = this.pending;
    this.current ^= 1;
    this.pending = 0;
    this.reserved = length;
    const write = this.write(buffer, length);
    // Marked handled now; whoever awaits `inFlight` next still sees the failure.
    write.catch(() => undefined);
    this.inFlight = write;
  }

  private reserved = 0;

  private async write(buffer: Buffer, length: number): Promise<void> {
    const position = this.sink.written;
    try {
      await writeFully(this.sink.file, buffer, length, position);
    } catch (err) {
      throw cacheWriteError(this.sink.what, err);
    }
    this.sink.bytes?.set(buffer.subarray(0, length), position);
    this.sink.written += length;
    this.reserved = 0;
  }

  /** Everything received so far is on disk. */
  async drain(): Promise<void> {
    await this.flush();
    await this.inFlight;
  }

  /** Waits for a write in flight without caring how it ended (the download is being abandoned). */
  async settle(): Promise<void> {
    await this.inFlight.catch(() => undefined);
  }

  get unwritten(): number {
    return this.pending + this.reserved;
  }
}

/** Appends the body to the sink, hashing each chunk as it arrives; each chunk tells the watchdog the transfer is alive. */
async function receive(response: Response, sink: Sink, watchdog: IdleWatchdog): Promise<void> {
  if (!response.body) return;
  const writer = new BatchWriter(sink);
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      watchdog.kick();
      checkLock({ size: sink.size }, { size: sink.written + writer.unwritten + chunk.length }, () => `${sink.what}: the response runs past the expected ${sink.size} bytes; cut off`, {}, { partial: true });
      await writer.append(chunk);
      sink.onProgress?.(chunk.length);
    }
    await writer.drain();
  } catch (err) {
    await response.body.cancel().catch(() => undefined);
    if (err instanceof ModelGuardError) {
      await writer.settle();
      throw err;
    }
    // What was received and hashed is written before the retry resumes after it.
    await writer.drain();
    const why = watchdog.reason?.message ?? (err as Error).message;
    throw new RetryableFailure(`connection lost after ${sink.written} bytes: ${why}`);
  }
}
