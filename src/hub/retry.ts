import { ModelGuardError } from "../errors.js";
import { IdleWatchdog, sleepUnless } from "./timeouts.js";

/** How a failed request is retried: connection errors, 5xx and 429, with exponential backoff. */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  /** First backoff; doubles each retry. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 250, maxDelayMs: 10_000 };

export function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/** `Retry-After` in seconds or as an HTTP date, in milliseconds; capped so a server cannot park us. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - now;
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), 60_000) : undefined;
}

export function backoffMs(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.baseDelayMs * 2 ** (attempt - 1), policy.maxDelayMs);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** What every retry is reported as, for API calls and file downloads alike. */
export interface RetryInfo {
  url: string;
  /** The attempt that failed (1 for the first). */
  attempt: number;
  delayMs: number;
  reason: string;
}

export type OnRetry = (info: RetryInfo) => void;

/** The policy a caller gave, completed with the defaults; a bad value is a USAGE error. */
export function resolveRetry(input: Partial<RetryPolicy> | undefined): RetryPolicy {
  const policy = { ...DEFAULT_RETRY, ...input };
  if (!Number.isSafeInteger(policy.attempts) || policy.attempts < 1) {
    throw new ModelGuardError("USAGE", `retry.attempts must be a whole number of at least 1, got ${policy.attempts}`);
  }
  for (const name of ["baseDelayMs", "maxDelayMs"] as const) {
    if (!Number.isFinite(policy[name]) || policy[name] < 0) throw new ModelGuardError("USAGE", `retry.${name} must be a number of at least 0, got ${policy[name]}`);
  }
  return policy;
}

/** An attempt's answer that is worth another attempt (HTTP 5xx, 429, a body cut short), with the server's `Retry-After`. */
export class RetryableFailure extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** The answer a retryable status gets: its body dropped, `Retry-After` kept. */
export async function retryableStatus(response: Response): Promise<RetryableFailure> {
  await response.body?.cancel();
  return new RetryableFailure(`HTTP ${response.status}`, retryAfterMs(response.headers.get("Retry-After")));
}

export interface RetryLoopOptions {
  url: string;
  policy?: RetryPolicy;
  /** No byte for this long aborts an attempt (its watchdog), which is then retried. */
  idleMs: number;
  /** The operation's deadline or the caller's signal: ends the attempt in flight, the backoff and the loop. */
  signal?: AbortSignal;
  onRetry?: OnRetry;
}

export interface RetryAttempt {
  /** 1 for the first. */
  number: number;
  last: boolean;
  /** Aborts this attempt when idle or at the deadline; the attempt stops it once it no longer needs it (a loop only stops it on failure). */
  watchdog: IdleWatchdog;
}

export interface GiveUp {
  /** `signal` aborted (the deadline): the error to throw. */
  aborted(err: unknown, reason: Error): Error;
  /** The last attempt failed with `err` (a RetryableFailure, an idle timeout or a network error). */
  exhausted(err: unknown, attempts: number): Error;
}

const NEVER = new AbortController().signal;

/**
 * The one retry loop, for Hub API calls (hub-fetch.ts) and file downloads (download-file.ts):
 * runs `attempt` until it returns. A ModelGuardError it throws is final; anything else (a
 * RetryableFailure, a network error, the watchdog's idle timeout) is retried after `Retry-After`
 * or exponential backoff, reported to `onRetry`, until the policy's attempts are spent.
 */
export async function withRetries<T>(options: RetryLoopOptions, attempt: (a: RetryAttempt) => Promise<T>, giveUp: GiveUp): Promise<T> {
  const policy = options.policy ?? DEFAULT_RETRY;
  const signal = options.signal ?? NEVER;
  for (let number = 1; ; number++) {
    const watchdog = new IdleWatchdog(options.idleMs, options.signal);
    try {
      return await attempt({ number, last: number >= policy.attempts, watchdog });
    } catch (caught) {
      watchdog.stop();
      if (caught instanceof ModelGuardError) throw caught;
      if (signal.aborted) throw giveUp.aborted(caught, signal.reason as Error);
      const timedOut = watchdog.reason;
      const err = timedOut && !(caught instanceof RetryableFailure) ? timedOut : caught;
      if (number >= policy.attempts) throw giveUp.exhausted(err, number);
      const delayMs = (err instanceof RetryableFailure ? err.retryAfterMs : undefined) ?? backoffMs(policy, number);
      options.onRetry?.({ url: options.url, attempt: number, delayMs, reason: (err as Error).message });
      // Cut short by the deadline: the next attempt then fails at once, naming it.
      await sleepUnless(delayMs, signal).catch(() => undefined);
    }
  }
}
