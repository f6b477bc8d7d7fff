import { ModelGuardError } from "../errors.js";

/**
 * How long a request to the Hub may take. A Hub (or a network path) that stalls mid-body, or sends
 * a byte every few seconds, must not keep a pull, an add or a service start waiting forever.
 */
export interface HubTimeouts {
  /**
   * No byte (or no response) for this long aborts the request, which is then retried (resuming
   * where it stopped) under the retry policy. Default `$HF_HUB_DOWNLOAD_TIMEOUT` seconds, else 10 s.
   */
  idleMs: number;
  /**
   * The most one file download (its retries included), or one Hub API operation (resolving a
   * revision, listing a repo's files, all pages), may take. Default `$MODELGUARD_DOWNLOAD_DEADLINE`
   * seconds; else, for a file, an hour or the time it takes at 1 MB/s if that is longer, and for an
   * API operation 10 minutes.
   */
  deadlineMs?: number;
}

export const DEFAULT_IDLE_MS = 10_000;
const HOUR_MS = 3_600_000;
const API_DEADLINE_MS = 10 * 60_000;

export function fileDeadlineMs(timeouts: HubTimeouts | undefined, size: number): number {
  return timeouts?.deadlineMs ?? Math.max(HOUR_MS, Math.ceil(size / 1000));
}

export function apiDeadlineMs(timeouts: HubTimeouts | undefined): number {
  return timeouts?.deadlineMs ?? API_DEADLINE_MS;
}

export function idleMs(timeouts: HubTimeouts | undefined): number {
  return timeouts?.idleMs ?? DEFAULT_IDLE_MS;
}

function positiveMs(value: number | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isFinite(value) || value <= 0) throw new ModelGuardError("USAGE", `${name} must be a positive number, got ${value}`);
  return value;
}

function secondsFromEnv(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const text = env[name]?.trim();
  if (!text) return undefined;
  const seconds = /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  if (!(seconds > 0)) throw new ModelGuardError("USAGE", `${name} must be a positive number of seconds, got ${JSON.stringify(text)}`);
  return seconds * 1000;
}

/** The caller's values, else the environment's (seconds), else the defaults. */
export function resolveTimeouts(input: Partial<HubTimeouts> | undefined, env: NodeJS.ProcessEnv): HubTimeouts {
  const idle = positiveMs(input?.idleMs, "timeouts.idleMs") ?? secondsFromEnv(env, "HF_HUB_DOWNLOAD_TIMEOUT") ?? DEFAULT_IDLE_MS;
  const deadline = positiveMs(input?.deadlineMs, "timeouts.deadlineMs") ?? secondsFromEnv(env, "MODELGUARD_DOWNLOAD_DEADLINE");
  return { idleMs: idle, ...(deadline === undefined ? {} : { deadlineMs: deadline }) };
}

function seconds(ms: number): string {
  return `${+(ms / 1000).toFixed(3)} s`;
}

/** Why a request was aborted, as the abort reason: the message says which limit and how to raise it. */
export class TimeoutReason extends Error {
  constructor(readonly kind: "idle" | "deadline", ms: number) {
    super(
      kind === "idle"
        ? `no data from the Hub for ${seconds(ms)} (HF_HUB_DOWNLOAD_TIMEOUT)`
        : `not done within the deadline of ${seconds(ms)} (MODELGUARD_DOWNLOAD_DEADLINE)`,
    );
    this.name = "TimeoutError";
  }
}

/** A deadline as a signal: aborts with a TimeoutReason after `ms`, without keeping the process alive. */
export function deadlineSignal(ms: number): AbortSignal {
  const controller = new AbortController();
  setTimeout(() => controller.abort(new TimeoutReason("deadline", ms)), ms).unref();
  return controller.signal;
}

/**
 * One request attempt's watchdog: aborts its signal when `kick()` has not been called for
 * `idleMs`, or when `parent` (the operation's deadline) aborts. `stop()` when the attempt is over.
 */
export class IdleWatchdog {
  readonly #controller = new AbortController();
  readonly #idleMs: number;
  #timer: NodeJS.Timeout | undefined;
  readonly signal: AbortSignal;

  constructor(idleMs: number, parent?: AbortSignal) {
    this.#idleMs = idleMs;
    this.signal = parent ? AbortSignal.any([this.#controller.signal, parent]) : this.#controller.signal;
    this.kick();
  }

  kick(): void {
    clearTimeout(this.#timer);
    if (this.signal.aborted) return;
    this.#timer = setTimeout(() => this.#controller.abort(new TimeoutReason("idle", this.#idleMs)), this.#idleMs);
    this.#timer.unref();
  }

  stop(): void {
    clearTimeout(this.#timer);
  }

  /** The TimeoutReason it aborted with, if it did. */
  get reason(): TimeoutReason | undefined {
    return this.signal.aborted && this.signal.reason instanceof TimeoutReason ? this.signal.reason : undefined;
  }
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleepUnless(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
