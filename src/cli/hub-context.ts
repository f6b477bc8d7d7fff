import { hubFetchFor, resolveHubOptions, type HubOptions } from "../hub/hub-options.js";
import type { GlobalOptions } from "./global-options.js";
import { writeErr } from "./io.js";

/** The Hub as the CLI reaches it: HF_* environment, --cache-dir, and retries reported on stderr. */
export function hubContext(global: GlobalOptions, offline?: boolean): { hub: HubOptions; fetch: typeof fetch } {
  const hub = resolveHubOptions({
    ...(global.cacheDir === undefined ? {} : { cacheDir: global.cacheDir }),
    ...(offline ? { offline: true } : {}),
  });
  const fetchImpl = hubFetchFor(hub, ({ url, delayMs, reason }) => {
    if (!global.quiet && !global.json) writeErr(`retrying ${url} in ${Math.round(delayMs)} ms (${reason})`);
  });
  return { hub, fetch: fetchImpl };
}
