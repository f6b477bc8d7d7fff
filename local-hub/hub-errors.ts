/**
 * Error answers in the Hub's shape. Clients classify failures by the `X-Error-Code` header
 * (huggingface_hub's `hf_raise_for_status`), show `X-Error-Message` and the JSON body's `error`
 * (`@huggingface/hub`'s `createApiError` reads only the body), so all three are sent.
 */
import type { ServerResponse } from "node:http";

export type HubErrorCode = "RepoNotFound" | "RevisionNotFound" | "EntryNotFound" | "GatedRepo";

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}, head = false): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": String(Buffer.byteLength(body)),
    ...headers,
  });
  res.end(head ? undefined : body);
}

export function sendError(
  res: ServerResponse,
  status: number,
  code: HubErrorCode | undefined,
  message: string,
  opts: { headers?: Record<string, string>; head?: boolean } = {},
): void {
  // A header value must be printable ASCII; the message may quote a revision taken from the URL.
  const headers: Record<string, string> = { "X-Error-Message": message.replace(/[^\x20-\x7e]/g, "?"), ...opts.headers };
  if (code) headers["X-Error-Code"] = code;
  sendJson(res, status, { error: message }, headers, opts.head);
}

export interface Caller {
  /** The bearer token sent, if any. */
  token?: string;
}

/**
 * The Hub answers 401 to an anonymous request for a repo it will not show (missing or private) and
 * 404 once a token is sent, so an anonymous caller cannot tell "private" from "missing".
 */
export function repoNotFound(res: ServerResponse, caller: Caller, head: boolean): void {
  const message = "Repository not found";
  sendError(res, caller.token ? 404 : 401, "RepoNotFound", message, { head });
}

export function gatedRepo(res: ServerResponse, caller: Caller, repo: string, hubUrl: string, head: boolean): void {
  const message = caller.token
    ? `Access to model ${repo} is restricted and you are not in the authorized list. Visit ${hubUrl}/${repo} to ask for access.`
    : `Access to model ${repo} is restricted. You must have access to it and be authenticated to access it. Please log in.`;
  sendError(res, caller.token ? 403 : 401, "GatedRepo", message, { head });
}

export function revisionNotFound(res: ServerResponse, rev: string, head: boolean): void {
  sendError(res, 404, "RevisionNotFound", `Invalid rev id: ${rev}`, { head });
}

export function entryNotFound(res: ServerResponse, headers: Record<string, string>, head: boolean): void {
  sendError(res, 404, "EntryNotFound", "Entry not found", { headers, head });
}
