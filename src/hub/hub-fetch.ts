import { ModelGuardError } from "../errors.js";
import { escapeForTerminal } from "../terminal-text.js";
import { DEFAULT_RETRY, backoffMs, isRetryableStatus, retryAfterMs, sleep, type RetryPolicy } from "./retry.js";

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
  /** Called before each retry, e.g. to tell the user. */
  onRetry?: (info: { url: string; attempt: number; delayMs: number; reason: string }) => void;
}

/**
 * A `fetch` for `@huggingface/hub`'s API calls: adds the token, retries connection errors, 5xx and
 * 429 (honouring `Retry-After`), and turns a final failure into FETCH_FAILED carrying the status,
 * the URL and the Hub's `X-Error-Code` (which `@huggingface/hub`'s own errors drop).
 */
export function createHubFetch(options: HubFetchOptions = {}): typeof fetch {
  const policy = options.retry ?? DEFAULT_RETRY;
  return async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    const headers = new Headers(init?.headers);
    if (options.token && !headers.has("Authorization")) headers.set("Authorization", `Bearer ${options.token}`);
    for (let attempt = 1; ; attempt++) {
      let response: Response;
      try {
        response = await fetch(input, { ...init, headers });
      } catch (err) {
        if (attempt >= policy.attempts) throw networkError(err, url, "request failed");
        const delayMs = backoffMs(policy, attempt);
        options.onRetry?.({ url, attempt, delayMs, reason: (err as Error).message });
        await sleep(delayMs);
        continue;
      }
      if (response.ok || !isRetryableStatus(response.status) || attempt >= policy.attempts) {
        if (!response.ok) throw await hubHttpError(response, url, "request failed");
        return response;
      }
      const delayMs = retryAfterMs(response.headers.get("Retry-After")) ?? backoffMs(policy, attempt);
      await response.body?.cancel();
      options.onRetry?.({ url, attempt, delayMs, reason: `HTTP ${response.status}` });
      await sleep(delayMs);
    }
  };
}
