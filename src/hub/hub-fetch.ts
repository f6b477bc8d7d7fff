import { ModelGuardError } from "../errors.js";
import { escapeForTerminal } from "../terminal-text.js";
import { isRetryableStatus, retryableStatus, withRetries, type OnRetry, type RetryPolicy } from "./retry.js";
import { idleMs, type IdleWatchdog, type HubTimeouts } from "./timeouts.js";

/** The Hub's own account of a failed request (`X-Error-Code`, `X-Error-Message`), made readable. */
const HUB_ERROR_HINTS: Record<string, string> = {
  RepoNotFound: "repository not found (or private: set HF_TOKEN)",
  RevisionNotFound: "revision not found",
  EntryNotFound: "file not found at this revision",
  GatedRepo: "gated repository: accept its conditions on the Hub and set HF_TOKEN",
};

/** An error body is read only this far: it is shown, not kept. */
const ERROR_BODY_LIMIT = 4096;

async function readErrorBody(response: Response): Promise<string> {
  if (!response.body) return "";
  const chunks: Uint8Array[] = [];
  let length = 0;
  const reader = response.body.getReader();
  try {
    while (length < ERROR_BODY_LIMIT) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      length += value.length;
    }
  } catch {
    // A body that breaks off says no more than the status does.
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, ERROR_BODY_LIMIT).toString("utf8");
}

/** What the Hub said, as one line of printable text of a sane length. */
function hubText(text: string | undefined): string | undefined {
  if (text === undefined || text === "") return undefined;
  return escapeForTerminal(text.length > 200 ? `${text.slice(0, 200)}…` : text);
}

export async function hubHttpError(response: Response, url: string, what: string): Promise<ModelGuardError> {
  const code = response.headers.get("X-Error-Code") ?? undefined;
  let detail = response.headers.get("X-Error-Message") ?? undefined;
  if (!detail) {
    const body = await readErrorBody(response);
    try {
      const error = (JSON.parse(body) as { error?: unknown } | null)?.error;
      detail = typeof error === "string" ? error : undefined;
    } catch {
      detail = body;
    }
  }
  const hint = code ? (Object.hasOwn(HUB_ERROR_HINTS, code) ? HUB_ERROR_HINTS[code] : hubText(code)) : undefined;
  const parts = [`HTTP ${response.status}`, hint, hubText(detail)].filter(Boolean).join(": ");
  return new ModelGuardError("FETCH_FAILED", `${what}: ${parts} (${url})`, { httpStatus: response.status, url });
}

export function networkError(err: unknown, url: string, what: string): ModelGuardError {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const reason = cause?.code ?? cause?.message ?? (err as Error).message;
  return new ModelGuardError("FETCH_FAILED", `${what}: cannot reach the Hub: ${reason} (${url})`, { url, cause: err });
}

export interface HubFetchOptions {
  token?: string;
  retry?: RetryPolicy;
  /** The idle limit per attempt (a caller's `init.signal` carries the operation's deadline). */
  timeouts?: HubTimeouts;
  /** Called before each retry, e.g. to tell the user. */
  onRetry?: OnRetry;
  /** The `fetch` each attempt goes through (a caller's, as `@huggingface/hub` functions take one). Default: the global `fetch`. */
  fetch?: typeof fetch;
}

/** The most an API answer (model info, a page of a tree listing) may hold: a hostile Hub could send gigabytes. */
export const MAX_API_BODY = 64 * 1024 * 1024;

/**
 * A `fetch` for `@huggingface/hub`'s API calls: adds the token, retries connection errors, 5xx and
 * 429 (honouring `Retry-After`) in the one retry loop (retry.ts), and turns a final failure into
 * FETCH_FAILED carrying the status, the URL and the Hub's `X-Error-Code` (which `@huggingface/hub`'s
 * own errors drop). An attempt that gets no byte for the idle timeout, headers or body, is aborted
 * (and retried while no body was handed on); a body over MAX_API_BODY is cut off; the caller's
 * `init.signal` (a deadline) ends it all.
 */
export function createHubFetch(options: HubFetchOptions = {}): typeof fetch {
  const baseFetch = options.fetch ?? fetch;
  return async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    const headers = new Headers(init?.headers);
    if (options.token && !headers.has("Authorization")) headers.set("Authorization", `Bearer ${options.token}`);
    const operation = init?.signal ?? undefined;
    return withRetries(
      {
        url,
        idleMs: idleMs(options.timeouts),
        ...(options.retry ? { policy: options.retry } : {}),
        ...(operation ? { signal: operation } : {}),
        ...(options.onRetry ? { onRetry: options.onRetry } : {}),
      },
      async ({ last, watchdog }) => {
        const response = await baseFetch(input, { ...init, headers, signal: watchdog.signal });
        if (response.ok) return watchBody(response, watchdog);
        if (isRetryableStatus(response.status) && !last) throw await retryableStatus(response);
        const error = await hubHttpError(response, url, "request failed");
        watchdog.stop();
        throw error;
      },
      {
        aborted: (err, reason) => new ModelGuardError("FETCH_FAILED", `request failed: ${reason.message} (${url})`, { url, cause: err }),
        exhausted: (err) => networkError(err, url, "request failed"),
      },
    );
  };
}

/** The response with a body that keeps the watchdog fed while bytes come, and stops at MAX_API_BODY. */
function watchBody(response: Response, watchdog: IdleWatchdog): Response {
  if (!response.body) {
    watchdog.stop();
    return response;
  }
  let size = 0;
  const body = response.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        size += chunk.length;
        if (size > MAX_API_BODY) {
          watchdog.stop();
          controller.error(new Error(`the Hub's answer is larger than ${MAX_API_BODY} bytes; cut off`));
          return;
        }
        watchdog.kick();
        controller.enqueue(chunk);
      },
      flush() {
        watchdog.stop();
      },
    }),
  );
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}
