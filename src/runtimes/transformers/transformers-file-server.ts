import { setImmediate as nextTurn } from "node:timers/promises";
import { noteVerifiedFile, sharedVerification } from "../../audit/audited-load.js";
import type { AuditedFile } from "../../audit/audit-event.js";
import { ModelGuardError } from "../../errors.js";
import type { ModelGuard } from "../../guard/guard.js";
import type { LockedModel } from "../../lockfile/types.js";
import { onnxruntime } from "../onnxruntime/onnxruntime-adapter.js";
import { verifiedBytesOf } from "../verified-bytes.js";
import { declaredExternalDataChunks } from "./declared-external-data.js";
import type { ServedFile } from "./guarded-cache.js";
import type { HubFileRequest } from "./hub-file-url.js";
import { lockedFileFor } from "./locked-file-for.js";

/**
 * What the guard hands transformers.js for each file it asks for: the verified bytes of a locked
 * file; for an ONNX graph, only after the onnxruntime adapter's `check` passed (what
 * `createSession` checks: each external-data reference a plain relative location naming a locked
 * file of the same model, main-graph initializers only) and the rules below, which come from how transformers.js 4.3
 * loads a graph in Node (`getSession` in its `models/session.js`):
 *
 * - It asks for the graph `X.onnx` and, only when the config declares them, for its data chunks
 *   `X.onnx_data`, `X.onnx_data_1`, ... at the same time, and passes onnxruntime the chunks it got
 *   as in-memory `externalData`. Without them onnxruntime reads the graph's data from the working
 *   directory. So a graph is served only when every data file it names is a declared chunk
 *   (declared-external-data.ts) and transformers.js has asked for each of them (it does not when
 *   the pipeline's `use_external_data_format` option overrides the config); transformers.js 3.x
 *   never passes them in Node, so there a graph with external data is refused.
 * - It awaits the chunks before the graph, so when both failed, the graph's rejection would be
 *   left unhandled (a crash under Node's default). The graph and its chunks are therefore verified
 *   together, once: a chunk's answer waits for its graph, and when the graph is refused, the
 *   chunk's body is empty (never given to onnxruntime: transformers.js throws the graph's error
 *   first). The chunks' verified bytes are handed over from that one check, not read twice.
 */
export class TransformersFileServer {
  readonly #guard: ModelGuard;
  readonly #major: 3 | 4;
  readonly #models: Readonly<Record<string, LockedModel>>;
  /** Graphs asked for and not yet handed over, by model name and path. */
  readonly #graphs = new Map<string, GraphLoad>();

  constructor(guard: ModelGuard, major: 3 | 4) {
    this.#guard = guard;
    this.#major = major;
    this.#models = Object.fromEntries(guard.modelNames.map((name) => [name, guard.lockedModel(name)]));
  }

  isLocked(repo: string): boolean {
    return Object.values(this.#models).some((m) => m.repo === repo);
  }

  /**
   * How the file a request names is served: its verified bytes when transformers.js reads the
   * body, or the refusal then. Each answer read is one load for the audit log, runtime
   * transformers.js (a graph's data chunks are in the graph's event).
   */
  respond(request: HubFileRequest): ServedFile {
    const graphPath = /^(.*\.onnx)_data(?:_\d+)?$/.exec(request.path)?.[1];
    if (graphPath !== undefined) {
      let graph: GraphLoad | undefined;
      try {
        graph = this.#pendingGraph({ ...request, path: graphPath });
      } catch {
        // The graph itself is refused (transformers.js asks for both together and throws the
        // graph's error): no bytes, and no second refusal left unhandled.
        return { size: 0, read: async () => EMPTY };
      }
      if (graph) return graph.chunk(request.path);
    }
    let choice;
    try {
      choice = lockedFileFor(this.#models, this.#guard.lockfilePath, request);
    } catch (err) {
      // Not locked: the event names the model the refusal names, else the repo asked for.
      const model = err instanceof ModelGuardError && err.model !== undefined ? err.model : request.repo;
      return { size: 0, read: () => this.#guard.auditLoad("transformers.js", model, () => Promise.reject(err)) };
    }
    const { name, entry, path } = choice;
    const size = entry.files[path]!.size;
    if (!path.endsWith(".onnx")) return { size, read: () => this.#guard.auditLoad("transformers.js", name, () => this.#guard.readFile(name, path)) };
    const key = JSON.stringify([name, path]);
    let load = this.#graphs.get(key);
    if (!load) {
      load = new GraphLoad(this.#guard, this.#major, name, entry, path, () => {
        if (this.#graphs.get(key) === load) this.#graphs.delete(key);
      });
      this.#graphs.set(key, load);
    }
    const graph = load;
    return { size, read: () => this.#guard.auditLoad("transformers.js", name, () => graph.graphBytes()) };
  }

  /** The graph a chunk belongs to, when transformers.js asked for that graph and has not got it yet; throws when the graph is refused. */
  #pendingGraph(graphRequest: HubFileRequest): GraphLoad | undefined {
    const { name, path } = lockedFileFor(this.#models, this.#guard.lockfilePath, graphRequest);
    return this.#graphs.get(JSON.stringify([name, path]));
  }
}

interface VerifiedGraph {
  bytes: Uint8Array;
  /** Verified bytes of the data files it names, by locked path, until a chunk request takes them. */
  chunks: Map<string, Uint8Array>;
}

const EMPTY = new Uint8Array(0);

/** One graph and its data files, verified together once, for one load by transformers.js. */
class GraphLoad {
  readonly #requested = new Set<string>();
  #verified: { result: Promise<VerifiedGraph>; files(): AuditedFile[] } | undefined;

  constructor(
    private readonly guard: ModelGuard,
    private readonly major: 3 | 4,
    private readonly name: string,
    private readonly entry: LockedModel,
    private readonly path: string,
    private readonly handedOver: () => void,
  ) {}

  /**
   * The one verification of the graph and its data, started by whichever request transformers.js
   * reads first (a chunk's may come before the graph's): in a scope of its own, so the files it
   * verifies go into the graph's audit event, not into events of their own.
   */
  #verify(): Promise<VerifiedGraph> {
    this.#verified ??= sharedVerification(() => this.#verifyOnce());
    return this.#verified.result;
  }

  /** The graph's bytes, when the graph and its data pass; its audit event lists the graph, its data and the config read. */
  async graphBytes(): Promise<Uint8Array> {
    try {
      const verified = await this.#verify();
      if (this.#locations.length > 0) {
        // transformers.js asks for the chunks right after the graph, in the same turn.
        await nextTurn();
        const missing = this.#locations.filter((p) => !this.#requested.has(p));
        if (missing.length > 0) {
          this.#refuse(
            `transformers.js did not ask for its external data ${missing.join(", ")}, so it would not hand it to onnxruntime, which would then read it from the working directory (does the pipeline's use_external_data_format option override the config?)`,
          );
        }
      }
      return verified.bytes;
    } finally {
      for (const file of this.#verified?.files() ?? []) noteVerifiedFile(file);
      this.handedOver();
    }
  }

  /** The answer to a data chunk of this graph. */
  chunk(path: string): ServedFile {
    this.#requested.add(path);
    const locked = Object.hasOwn(this.entry.files, path) ? this.entry.files[path] : undefined;
    return {
      size: locked?.size ?? 0,
      read: async () => {
        let verified: VerifiedGraph;
        try {
          verified = await this.#verify();
        } catch {
          // The graph is refused; transformers.js throws its error before using this.
          return EMPTY;
        }
        const bytes = verified.chunks.get(path);
        if (bytes) {
          verified.chunks.delete(path);
          return bytes;
        }
        // A declared chunk the graph does not use, or one already taken by another load.
        if (!locked) {
          throw new ModelGuardError("FILE_NOT_LOCKED", `model ${this.name}: transformers.js asked for ${path}, which is not a locked file`, {
            model: this.name,
            file: path,
          });
        }
        return this.guard.auditLoad("transformers.js", this.name, () => this.guard.readFile(this.name, path));
      },
    };
  }

  /** The locked paths of the graph's data files, once verified. */
  #locations: string[] = [];

  #refuse(why: string): never {
    throw new ModelGuardError("EXTERNAL_DATA_UNVERIFIED", `model ${this.name}: ${this.path}: ${why}`, { model: this.name, file: this.path });
  }

  async #verifyOnce(): Promise<VerifiedGraph> {
    const { guard, name, entry, path } = this;
    const bytes = await guard.readFile(name, path);
    // What a load by the guard checks (onnxruntime's adapter): every reference a safe, locked file of this model.
    const { companions } = await onnxruntime.check(name, entry, verifiedBytesOf(path, bytes));
    if (companions.length === 0) return { bytes, chunks: new Map() };
    this.#locations = companions.map((c) => c.file);
    const locations = companions.map((c) => c.as);
    if (this.major === 3) {
      this.#refuse(
        `has external data (${locations.join(", ")}), which transformers.js 3.x never hands to onnxruntime in Node.js (onnxruntime would read it from the working directory): use transformers.js 4`,
      );
    }
    const declared = declaredExternalDataChunks(await this.#config(locations), path);
    const undeclared = locations.filter((l) => !declared.includes(l));
    if (undeclared.length > 0) {
      this.#refuse(
        `has external data ${undeclared.join(", ")} that config.json does not declare (transformers.js_config.use_external_data_format${declared.length ? ` names ${declared.join(", ")}` : " is not set"}): transformers.js would not hand it to onnxruntime, which would read a file of that name from the working directory`,
      );
    }
    const chunks = await Promise.all(companions.map(async (c) => [c.file, await guard.readFile(name, c.file)] as const));
    return { bytes, chunks: new Map(chunks) };
  }

  /** The model's verified config.json, which must declare the graph's external data. */
  async #config(locations: string[]): Promise<unknown> {
    if (!Object.hasOwn(this.entry.files, "config.json")) {
      this.#refuse(`has external data (${locations.join(", ")}) but config.json, which must declare it for transformers.js to pass it to onnxruntime, is not locked`);
    }
    const text = Buffer.from(await this.guard.readFile(this.name, "config.json")).toString("utf8");
    try {
      return JSON.parse(text);
    } catch {
      return this.#refuse("has external data, and config.json, which must declare it, is not JSON");
    }
  }
}
