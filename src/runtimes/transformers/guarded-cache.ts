import { ModelGuardError } from "../../errors.js";
import { HUB_HOST, parseHubFileUrl, type HubFileRequest } from "./hub-file-url.js";

/**
 * The cache transformers.js asks for every file (`env.customCache`), answering from the guard
 * only. transformers.js swallows an error thrown by `match` and goes to the network next, so a
 * refusal is never thrown here: every Hub URL gets a Response, and a refused one is a Response
 * whose body fails with the guard's error, which is what reading it (and so `pipeline()`) throws.
 * Bodies are produced only when read: transformers.js asks twice for each `.onnx` and reads once.
 * `put` stores nothing: the only bytes transformers.js could offer are ones it did not get from here.
 */

/** How one file is handed over: its verified bytes, produced when the body is read, or the refusal. */
export interface ServedFile {
  size: number;
  read: () => Promise<Uint8Array>;
  /**
   * When set, the file is answered with this path (a private verified copy), which transformers.js
   * hands to onnxruntime; if it rejects, the answer is `failed(err)` instead.
   */
  path?: () => Promise<string>;
  failed?: (err: unknown) => ServedFile;
}

export class GuardedCache {
  readonly #isLocked: (repo: string) => boolean;
  readonly #respond: (request: HubFileRequest) => ServedFile;

  /** `respond` says how the file is served; a refusal is a `read` that rejects (or, defensively, a throw). */
  constructor(isLocked: (repo: string) => boolean, respond: (request: HubFileRequest) => ServedFile) {
    this.#isLocked = isLocked;
    this.#respond = respond;
  }

  async match(key: unknown): Promise<Response | string | undefined> {
    // The local-path key transformers.js tries first: a miss, so it asks again with the Hub URL.
    if (typeof key !== "string" || !key.startsWith(HUB_HOST)) return undefined;
    // Every Hub URL is answered, so transformers.js never goes on to a local folder or the network.
    const request = parseHubFileUrl(key, this.#isLocked);
    if (!request) {
      return failingResponse(new ModelGuardError("MODEL_NOT_LOCKED", `transformers.js asked for ${key}, which names no file of a model repo (is the model a local folder? load it by its locked repo id)`));
    }
    let served: ServedFile;
    try {
      served = this.#respond(request);
    } catch (err) {
      return failingResponse(err);
    }
    if (served.path) {
      try {
        return await served.path();
      } catch (err) {
        served = served.failed?.(err) ?? { size: 0, read: () => Promise.reject(err) };
      }
    }
    return lazyResponse(served.size, served.read);
  }

  async put(): Promise<void> {}

  async delete(): Promise<boolean> {
    return false;
  }
}

/** A 200 Response whose body is produced by `read` when someone reads it (highWaterMark 0: not before). */
function lazyResponse(size: number, read: () => Promise<Uint8Array>): Response {
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        controller.enqueue(await read());
        controller.close();
      },
    },
    { highWaterMark: 0 },
  );
  return new Response(body, { status: 200, headers: { "content-length": String(size) } });
}

/** A Response that exists (so transformers.js looks no further) and fails with `err` when read. */
function failingResponse(err: unknown): Response {
  const body = new ReadableStream<Uint8Array>(
    {
      pull() {
        throw err;
      },
    },
    { highWaterMark: 0 },
  );
  return new Response(body, { status: 200 });
}
