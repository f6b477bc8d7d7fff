/**
 * Where audit events go: a file path, a writable stream, or a callback. Each event is one line,
 * written with one write. A path is opened once with O_APPEND, so every write lands at the end of
 * the file whoever else appends to it (other guards, other processes): lines never interleave and
 * earlier lines are never overwritten. A file that does not end in a newline (a writer killed
 * mid-line) gets one before the first event, so that event starts a line of its own.
 *
 * A sink that fails never changes a load's outcome: each event it could not take is reported as a
 * process warning (code MODELGUARD_AUDIT_FAILED) and the load goes on. Only opening the file
 * fails `ModelGuard.open`, so a service with an unwritable audit log does not start.
 */
import { close, fstat, open, read, write } from "node:fs";
import { promisify } from "node:util";
import type { Writable } from "node:stream";
import { ModelGuardError } from "../errors.js";
import type { AuditEvent } from "./audit-event.js";

/** What `ModelGuard.open({ audit })` takes. */
export type AuditOption = string | Writable | ((event: AuditEvent) => void | Promise<void>);

export interface AuditSink {
  record(event: AuditEvent): Promise<void>;
}

const openFd = promisify(open);
const fstatFd = promisify(fstat);
const readFd = promisify(read);
const writeFd = promisify(write);

// A numeric descriptor is not closed by the GC the way a FileHandle is (with a warning); this
// closes it once the sink that owns it is gone.
const descriptors = new FinalizationRegistry<number>((fd) => close(fd, () => {}));

function warn(err: unknown): void {
  process.emitWarning(`audit event not recorded: ${(err as Error)?.message ?? String(err)}`, { code: "MODELGUARD_AUDIT_FAILED" });
}

function line(event: AuditEvent): Buffer {
  return Buffer.from(`${JSON.stringify(event)}\n`, "utf8");
}

async function endsMidLine(fd: number): Promise<boolean> {
  const { size } = await fstatFd(fd);
  if (size === 0) return false;
  const last = Buffer.alloc(1);
  const { bytesRead } = await readFd(fd, last, 0, 1, size - 1);
  return bytesRead === 1 && last[0] !== 0x0a;
}

class FileSink implements AuditSink {
  #fd: number;
  /** The next write must first end a line left unfinished (by another writer, or a short write of ours). */
  #newlineFirst: boolean;

  constructor(fd: number, newlineFirst: boolean) {
    this.#fd = fd;
    this.#newlineFirst = newlineFirst;
    descriptors.register(this, fd);
  }

  async record(event: AuditEvent): Promise<void> {
    let bytes = line(event);
    if (this.#newlineFirst) {
      this.#newlineFirst = false;
      bytes = Buffer.concat([Buffer.from("\n"), bytes]);
    }
    try {
      const { bytesWritten: written } = await writeFd(this.#fd, bytes, 0, bytes.length, null);
      if (written < bytes.length) {
        this.#newlineFirst = true;
        throw new Error(`only ${written} of ${bytes.length} bytes were written (disk full?)`);
      }
    } catch (err) {
      warn(err);
    }
  }
}

class StreamSink implements AuditSink {
  constructor(readonly stream: Writable) {}

  record(event: AuditEvent): Promise<void> {
    return new Promise((resolve) => {
      try {
        this.stream.write(line(event), (err) => {
          if (err) warn(err);
          resolve();
        });
      } catch (err) {
        warn(err);
        resolve();
      }
    });
  }
}

class CallbackSink implements AuditSink {
  constructor(readonly callback: (event: AuditEvent) => void | Promise<void>) {}

  async record(event: AuditEvent): Promise<void> {
    try {
      await this.callback(event);
    } catch (err) {
      warn(err);
    }
  }
}

/** The sink for an `audit` option; a path is opened (created if need be, mode 0640) now. */
export async function openAuditSink(option: AuditOption): Promise<AuditSink> {
  if (typeof option === "function") return new CallbackSink(option);
  if (typeof option !== "string") {
    if (typeof (option as Writable)?.write !== "function") throw new ModelGuardError("USAGE", "audit must be a file path, a writable stream or a function");
    return new StreamSink(option);
  }
  if (option === "") throw new ModelGuardError("USAGE", "audit: the file path is empty");
  let fd: number;
  try {
    fd = await openFd(option, "a+", 0o640);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new ModelGuardError(code === "ENOENT" ? "FILE_MISSING" : "USAGE", `audit log ${option}: ${(cause as Error).message}`, { cause });
  }
  try {
    return new FileSink(fd, await endsMidLine(fd));
  } catch (cause) {
    close(fd, () => {});
    throw new ModelGuardError("USAGE", `audit log ${option}: ${(cause as Error).message}`, { cause });
  }
}
