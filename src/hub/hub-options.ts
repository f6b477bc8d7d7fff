import { resolveCacheDir } from "./cache-layout.js";
import { resolveTimeouts, type HubTimeouts } from "./timeouts.js";

export const DEFAULT_HUB_URL = "https://huggingface.co";

/** Where and how to reach the Hub, resolved once from options and the huggingface_hub environment. */
export interface HubOptions {
  hubUrl: string;
  token?: string;
  offline: boolean;
  cacheDir: string;
  /** Idle and overall limits on requests to the Hub (see timeouts.ts); the defaults when absent. */
  timeouts?: HubTimeouts;
}

export interface HubOptionsInput {
  hubUrl?: string;
  token?: string;
  offline?: boolean;
  cacheDir?: string;
  timeouts?: Partial<HubTimeouts>;
  env?: NodeJS.ProcessEnv;
}

/** huggingface_hub's reading of boolean variables: "1", "ON", "YES", "TRUE", any case. */
function envFlag(value: string | undefined): boolean {
  return value !== undefined && ["1", "on", "yes", "true"].includes(value.trim().toLowerCase());
}

export function resolveHubOptions(input: HubOptionsInput = {}): HubOptions {
  const env = input.env ?? process.env;
  const token = input.token ?? (env.HF_TOKEN || undefined);
  return {
    hubUrl: (input.hubUrl ?? (env.HF_ENDPOINT || DEFAULT_HUB_URL)).replace(/\/+$/, ""),
    ...(token ? { token } : {}),
    offline: input.offline ?? envFlag(env.HF_HUB_OFFLINE),
    cacheDir: resolveCacheDir(input.cacheDir, env),
    timeouts: resolveTimeouts(input.timeouts, env),
  };
}
