import { parseArgs } from "node:util";

/** How the service starts; every field comes from a flag, else the environment, else a default. */
export interface ServiceConfig {
  port: number;
  host: string;
  lockfile: string;
  /** Public-key files whose signatures approve a model. */
  keys: string[];
  identity?: { subject: string; issuer: string };
  /** Sigstore trusted_root.json for `identity`; the library defaults to the public-good root. */
  trustedRoot?: string;
  /** Undefined: the guard resolves HF_HUB_CACHE / HF_HOME / ~/.cache/huggingface/hub from `env`. */
  cacheDir?: string;
  offline: boolean;
  allowUnsigned: boolean;
  /** Threads per llama.cpp context (GGUF models); undefined: node-llama-cpp's default. */
  llamaThreads?: number;
  /** Audit log: one JSON line per model loaded or refused at start (docs/audit-event.schema.json). */
  auditLog?: string;
  limits: RequestLimits;
  /** Passed to the guard for HF_ENDPOINT, HF_TOKEN, HF_HOME. */
  env: NodeJS.ProcessEnv;
}

export interface RequestLimits {
  /** Larger request bodies are refused (400 BODY_TOO_LARGE) without being parsed. */
  maxBodyBytes: number;
  /** Tensor elements per request, all inputs together. */
  maxElements: number;
  /** Dimensions per input tensor. */
  maxRank: number;
  /** Characters of a completion prompt (GGUF models). */
  maxPromptChars: number;
  /** `maxTokens` of one completion (GGUF models). */
  maxCompletionTokens: number;
  /** A client that has not sent its whole request head by then gets a 408 and is disconnected (slow-loris). */
  headersTimeoutMs: number;
  /** The whole request, body included, by then, or a 408 (a body that trickles). */
  requestTimeoutMs: number;
  /** Connections held at once; more are refused, so idle or slow clients cannot use up file descriptors. */
  maxConnections: number;
}

export const DEFAULT_LIMITS: RequestLimits = {
  maxBodyBytes: 1024 * 1024,
  maxElements: 100_000,
  maxRank: 8,
  maxPromptChars: 16_384,
  maxCompletionTokens: 512,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  maxConnections: 512,
};

export class UsageError extends Error {
  override name = "UsageError";
}

export const USAGE = `usage: serve [options]

Verifies every model in the lockfile, loads each with its runtime (an .onnx graph into
onnxruntime, a GGUF model into node-llama-cpp), then listens.

  --port N                 PORT, default 8080 (0: any free port)
  --host ADDR              HOST, default 0.0.0.0 (every interface, as a container needs)
  --lockfile PATH          MODELGUARD_LOCKFILE, default models.lock.json
  --key PUB                trusted public key, repeatable; MODELGUARD_TRUSTED_KEYS=a.pub,b.pub
  --identity ID --identity-provider ISS
                           trusted Sigstore keyless signer, exact match; MODELGUARD_IDENTITY,
                           MODELGUARD_IDENTITY_PROVIDER
  --trusted-root FILE      MODELGUARD_TRUSTED_ROOT: Sigstore root for --identity (default public-good)
  --cache-dir DIR          HF_HUB_CACHE, default as the Hugging Face tools: $HUGGINGFACE_HUB_CACHE,
                           $HF_HOME/hub, $XDG_CACHE_HOME/huggingface/hub, ~/.cache/huggingface/hub
  --offline                HF_HUB_OFFLINE=1: never download; a missing file stops the start
  --allow-unsigned         MODELGUARD_ALLOW_UNSIGNED=1: accept models without a trusted signature
  --llama-threads N        LLAMA_THREADS: threads per llama.cpp context for GGUF models (default:
                           node-llama-cpp's choice)
  --audit-log FILE         MODELGUARD_AUDIT_LOG: append one audit event (a JSON line) per model
                           loaded or refused at start (docs/audit-event.schema.json)
  --help

Hub: HF_ENDPOINT, HF_TOKEN; HF_HUB_DOWNLOAD_TIMEOUT (idle, s), MODELGUARD_DOWNLOAD_DEADLINE (per file, s).
A flag wins over its variable; --key replaces MODELGUARD_TRUSTED_KEYS.
Exit codes: 1 verification failed, 2 invalid configuration or input, 3 could not fetch.`;

/** huggingface_hub's reading of boolean variables. */
export function envFlag(value: string | undefined): boolean {
  return value !== undefined && ["1", "on", "yes", "true"].includes(value.trim().toLowerCase());
}

function parsePort(value: string, from: string): number {
  const port = /^\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isInteger(port) || port > 65535) throw new UsageError(`${from} must be a port number 0-65535, got ${JSON.stringify(value)}`);
  return port;
}

/** `undefined` for `--help`; throws UsageError for anything that cannot start. */
export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv): ServiceConfig | undefined {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: "string" },
        host: { type: "string" },
        lockfile: { type: "string" },
        key: { type: "string", multiple: true },
        identity: { type: "string" },
        "identity-provider": { type: "string" },
        "trusted-root": { type: "string" },
        "cache-dir": { type: "string" },
        offline: { type: "boolean" },
        "allow-unsigned": { type: "boolean" },
        "llama-threads": { type: "string" },
        "audit-log": { type: "string" },
        help: { type: "boolean" },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return undefined;

  const port = values.port !== undefined ? parsePort(values.port, "--port") : env.PORT ? parsePort(env.PORT, "PORT") : 8080;
  const keys = values.key ?? (env.MODELGUARD_TRUSTED_KEYS ?? "").split(",").map((k) => k.trim()).filter(Boolean);
  const subject = values.identity ?? (env.MODELGUARD_IDENTITY || undefined);
  const issuer = values["identity-provider"] ?? (env.MODELGUARD_IDENTITY_PROVIDER || undefined);
  if ((subject === undefined) !== (issuer === undefined)) {
    throw new UsageError("--identity and --identity-provider (MODELGUARD_IDENTITY, MODELGUARD_IDENTITY_PROVIDER) go together");
  }
  const trustedRoot = values["trusted-root"] ?? (env.MODELGUARD_TRUSTED_ROOT || undefined);
  const cacheDir = values["cache-dir"] ?? (env.HF_HUB_CACHE || undefined);
  const threadsText = values["llama-threads"] ?? (env.LLAMA_THREADS || undefined);
  const llamaThreads = threadsText === undefined ? undefined : /^[1-9]\d{0,3}$/.test(threadsText.trim()) ? Number(threadsText) : NaN;
  if (Number.isNaN(llamaThreads)) throw new UsageError(`--llama-threads (LLAMA_THREADS) must be a positive integer, got ${JSON.stringify(threadsText)}`);
  const auditLog = values["audit-log"] ?? (env.MODELGUARD_AUDIT_LOG || undefined);
  return {
    port,
    host: values.host ?? (env.HOST || "0.0.0.0"),
    lockfile: values.lockfile ?? (env.MODELGUARD_LOCKFILE || "models.lock.json"),
    keys,
    ...(subject !== undefined && issuer !== undefined ? { identity: { subject, issuer } } : {}),
    ...(trustedRoot !== undefined ? { trustedRoot } : {}),
    ...(cacheDir !== undefined ? { cacheDir } : {}),
    offline: values.offline ?? envFlag(env.HF_HUB_OFFLINE),
    allowUnsigned: values["allow-unsigned"] ?? envFlag(env.MODELGUARD_ALLOW_UNSIGNED),
    ...(llamaThreads !== undefined ? { llamaThreads } : {}),
    ...(auditLog !== undefined ? { auditLog } : {}),
    limits: DEFAULT_LIMITS,
    env,
  };
}
