/**
 * Faults a test arms on the local Hub, each consumed by the requests it hits.
 *
 * A fault fires at most `times` times (default 1, so a client that retries then succeeds), matched
 * in the order the faults were injected. Status faults answer instead of the route; body faults
 * change how a file body goes out (on `resolve` for regular files, on the CDN path for LFS files).
 * Listing faults change a tree listing (`endless-pages`: every page links to another, forever).
 */

export type StatusFaultKind = "status-500" | "status-503" | "status-429";
export type BodyFaultKind = "wrong-bytes" | "truncate" | "reset" | "slow" | "stall" | "no-range" | "extra-bytes";
export type ListingFaultKind = "endless-pages";
export type FaultKind = StatusFaultKind | BodyFaultKind | ListingFaultKind;

/** Where a request landed: the JSON API, `resolve`/`raw` on the Hub, or the CDN path LFS files redirect to. */
export type Endpoint = "api" | "resolve" | "raw" | "cdn";

export interface FaultSpec {
  kind: FaultKind;
  /** File path in the repo: exact, or a glob (`*` within a segment, `**` across segments, `?`). Omitted: any request. */
  path?: string;
  /** Only requests for this repo ("org/name"). */
  repo?: string;
  /** Only requests to this endpoint. */
  endpoint?: Endpoint;
  /** How many requests it hits before it clears; `Infinity` for a permanent fault. Default 1. */
  times?: number;
  /** truncate / reset / stall: body bytes sent before the connection ends (or, stall, goes silent while open). Default: half the body. */
  afterBytes?: number;
  /** slow: body rate, fractions allowed (1/3: a byte every 3 s). Default 16 KiB/s. */
  bytesPerSecond?: number;
  /** endless-pages: made-up file entries per page (0: empty pages). Default: the Hub's page size. */
  entriesPerPage?: number;
  /** status-429: seconds for `Retry-After` and the `RateLimit` header. Default 1. */
  retryAfterSeconds?: number;
  /** wrong-bytes: file offset of the byte to flip. Default: the middle of the file (or the first byte served, if outside the range). */
  offset?: number;
  /** extra-bytes: how many bytes past the end. Default 1024. */
  extraBytes?: number;
  /**
   * extra-bytes: the Content-Length sent. `none` (default): chunked, no length; `declared`: the
   * correct length, then the extra bytes anyway (and the connection closes); `actual`: a length that
   * counts the extra bytes, as a server that serves a different, longer file would.
   */
  contentLength?: "none" | "declared" | "actual";
}

export interface FaultHandle {
  readonly id: number;
  readonly kind: FaultKind;
  /** Requests it has hit so far. */
  readonly hits: number;
  /** Hits left before it clears. */
  readonly remaining: number;
  clear(): void;
}

export interface RequestTarget {
  endpoint: Endpoint;
  method: string;
  repo?: string;
  path?: string;
}

export interface ArmedFault extends FaultSpec {
  id: number;
  hits: number;
  remaining: number;
}

const STATUS_KINDS: readonly FaultKind[] = ["status-500", "status-503", "status-429"];
const LISTING_KINDS: readonly FaultKind[] = ["endless-pages"];
const ALL_KINDS: readonly FaultKind[] = [...STATUS_KINDS, ...LISTING_KINDS, "wrong-bytes", "truncate", "reset", "slow", "stall", "no-range", "extra-bytes"];

export function isStatusFault(kind: FaultKind): kind is StatusFaultKind {
  return STATUS_KINDS.includes(kind);
}

/** Which requests take a fault: every routed one (status), a file body going out (body), a tree listing (listing). */
export type FaultCategory = "status" | "body" | "listing";

function categoryOf(kind: FaultKind): FaultCategory {
  return isStatusFault(kind) ? "status" : LISTING_KINDS.includes(kind) ? "listing" : "body";
}

/** `*` stays within a path segment, `**` crosses them (and `**\/` may match nothing), `?` is one character. */
export function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*" && glob[i + 1] === "*") {
      const slash = glob[i + 2] === "/";
      re += slash ? "(?:.*/)?" : ".*";
      i += slash ? 2 : 1;
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

export class FaultRegistry {
  private faults: ArmedFault[] = [];
  private nextId = 1;

  inject(spec: FaultSpec): FaultHandle {
    if (!ALL_KINDS.includes(spec.kind)) throw new Error(`unknown fault kind ${JSON.stringify(spec.kind)}`);
    const times = spec.times ?? 1;
    if (!(times > 0)) throw new Error("times must be positive (or Infinity)");
    const fault: ArmedFault = { ...spec, id: this.nextId++, hits: 0, remaining: times };
    this.faults.push(fault);
    const faults = this;
    return {
      id: fault.id,
      kind: fault.kind,
      get hits() {
        return fault.hits;
      },
      get remaining() {
        return fault.remaining;
      },
      clear: () => faults.remove(fault.id),
    };
  }

  clear(): void {
    this.faults = [];
  }

  private remove(id: number): void {
    this.faults = this.faults.filter((f) => f.id !== id);
  }

  private matches(f: ArmedFault, t: RequestTarget): boolean {
    if (f.endpoint && f.endpoint !== t.endpoint) return false;
    if (f.repo && f.repo !== t.repo) return false;
    if (f.path !== undefined && (t.path === undefined || !globToRegExp(f.path).test(t.path))) return false;
    return true;
  }

  /** Takes one hit of the first armed fault of this category that matches, if any. */
  take(t: RequestTarget, category: FaultCategory): ArmedFault | undefined {
    const f = this.faults.find((x) => categoryOf(x.kind) === category && this.matches(x, t));
    if (!f) return undefined;
    f.hits++;
    f.remaining--;
    if (f.remaining <= 0) this.remove(f.id);
    return f;
  }
}
