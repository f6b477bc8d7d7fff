import { setImmediate as nextTurn } from "node:timers/promises";
import { noteVerifiedFile, sharedVerification } from "../../audit/audited-load.js";
import type { AuditedFile } from "../../audit/audit-event.js";
import { ModelGuardError } from "../../errors.js";
import type { LockedModel } from "../../lockfile/types.js";
import { IN_MEMORY_LIMIT, onnxruntime } from "../onnxruntime/onnxruntime-adapter.js";
import type { VerifiedBytes, VerifiedFiles } from "../runtime-adapter.js";
import { verifiedBytesOf } from "../verified-bytes.js";
import { declaredExternalDataChunks } from "./declared-external-data.js";
import type { ServedFile } from "./guarded-cache.js";
import type { HubFileRequest } from "./hub-file-url.js";
import { lockedFileFor } from "./locked-file-for.js";
import type { ServingGuard } from "./serving-guard.js";

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
  readonly #guard: ServingGuard;
  readonly #major: 3 | 4;
  readonly #models: Readonly<Record<string, LockedModel>>;
  /** Graphs asked for and not yet handed over, by model name and path. */
  readonly #graphs = new Map<string, GraphLoad>();
  /** How graphs and their data are handed over (see `ServeMode`). */
  readonly #serve: ServeMode;
  /** Copies mode: the private verified copy made for each graph (by model name and path), kept until `dispose()`. */
  readonly #copies = new Map<string, Promise<VerifiedFiles>>();

  constructor(guard: ServingGuard, major: 3 | 4, serve: ServeMode = "auto") {
    this.#guard = guard;
    this.#major = major;
    this.#serve = serve;
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
    if (this.#serve !== "bytes") {
      const served = this.#respondWithCopy(request);
      if (served) return served;
    }
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

  /**
   * Copies mode, for a graph or a data chunk of one: the path of its private verified copy (see
   * `ServeMode`); undefined for any other file (served as bytes).
   */
  #respondWithCopy(request: HubFileRequest): ServedFile | undefined {
    const m = /^(.*\.onnx)(_data(?:_\d+)?)?$/.exec(request.path);
    if (!m) return undefined;
    let choice;
    try {
      choice = lockedFileFor(this.#models, this.#guard.lockfilePath, { ...request, path: m[1]! });
    } catch {
      // A graph that is not locked is refused as when serving bytes (its chunks get empty bytes).
      return undefined;
    }
    const { name, entry, path: graph } = choice;
    const chunks = lockedChunksOf(entry, graph);
    // auto: as createSession decides, tiny models in memory, the rest from copies.
    if (this.#serve === "auto" && [graph, ...chunks].reduce((n, f) => n + entry.files[f]!.size, 0) <= IN_MEMORY_LIMIT) return undefined;
    const key = JSON.stringify([name, graph]);
    let copy = this.#copies.get(key);
    if (!copy) {
      copy = copyGraph(this.#guard, name, entry, graph, chunks);
      this.#copies.set(key, copy);
      // A refused copy is not kept: the next request tries again (and is refused again).
      copy.catch(() => this.#copies.get(key) === copy && this.#copies.delete(key));
    }
    const made = copy;
    const file = m[2] ? `${graph}${m[2]}` : graph;
    const notLocked = new ModelGuardError("FILE_NOT_LOCKED", `model ${name}: transformers.js asked for ${file}, which is not a locked data file of ${graph}`, { model: name, file });
    return {
      size: Object.hasOwn(entry.files, file) ? entry.files[file]!.size : 0,
      read: () => Promise.reject(new ModelGuardError("USAGE", `${file} is served as a path in copies mode`)),
      path: () => this.#guard.auditLoad("transformers.js", name, async () => {
        const files = await made;
        // Every answer re-checks the copy: nothing changed it since it was made.
        await files.check();
        const copied = files.paths[file];
        if (copied === undefined) throw notLocked;
        return copied;
      }),
      // A chunk of a refused graph gets empty bytes (transformers.js throws the graph's error; a
      // second refusal would be left unhandled); an unlocked chunk of a served graph is refused.
      failed: (err) => (m[2] && err !== notLocked ? { size: 0, read: async () => EMPTY } : { size: 0, read: () => Promise.reject(err) }),
    };
  }

  /** Removes the private verified copies made for this server (copies mode); idempotent. */
  async dispose(): Promise<void> {
    const copies = [...this.#copies.values()];
    this.#copies.clear();
    await Promise.all(copies.map(async (c) => (await c.catch(() => undefined))?.release()));
  }

  /** The graph a chunk belongs to, when transformers.js asked for that graph and has not got it yet; throws when the graph is refused. */
  #pendingGraph(graphRequest: HubFileRequest): GraphLoad | undefined {
    const { name, path } = lockedFileFor(this.#models, this.#guard.lockfilePath, graphRequest);
    return this.#graphs.get(JSON.stringify([name, path]));
  }
}

/**
 * How graphs (`.onnx`) and their external data reach onnxruntime through transformers.js 4 in Node:
 * - `bytes`: as verified bytes in memory (transformers.js calls `InferenceSession.create(bytes)`
 *   with the data chunks as in-memory `externalData`);
 * - `copies`: as the path of a private verified copy (`guard.verifiedFiles`: 0700 folder, 0400
 *   files laid out by locked path, written from the hashed bytes): transformers.js hands the path
 *   to onnxruntime, which resolves external data next to the graph, inside the copy folder, where
 *   only the graph's verified data files are. Copies live until `dispose()` / `guard.close()`
 *   (transformers.js says nothing once the session exists, so they cannot go sooner);
 * - `auto` (default): `bytes` for a graph whose graph and data together are at most
 *   IN_MEMORY_LIMIT (1 MiB, where createSession switches too), `copies` above. Measured with
 *   `npm run bench:transformers` (README): at 286 MiB, copies load 9x (external data) and 1.6x
 *   (single file) faster than bytes, with under half the peak memory.
 */
export type ServeMode = "auto" | "bytes" | "copies";

/** The data chunks transformers.js would ask for with `graph` (`X.onnx_data`, `X.onnx_data_N`) that the lock has. */
function lockedChunksOf(entry: LockedModel, graph: string): string[] {
  return Object.keys(entry.files).filter((f) => f.startsWith(`${graph}_data`) && /^_data(?:_\d+)?$/.test(f.slice(graph.length)));
}

/**
 * Copies mode: a private verified copy of `graph` and the declared data chunks the lock has for
 * it, in one folder; the graph is then checked (from the copy, through the guard's handle) as
 * serving it as bytes checks it, and every data file it names must be in the copy.
 */
async function copyGraph(guard: ServingGuard, name: string, entry: LockedModel, graph: string, chunks: readonly string[]): Promise<VerifiedFiles> {
  const files = await guard.verifiedFiles(name, [graph, ...chunks]);
  try {
    const companions = await checkGraph(guard, 4, name, entry, graph, files.bytes(graph));
    const missing = companions.filter((c) => files.paths[c] === undefined);
    if (missing.length > 0) {
      throw new ModelGuardError("EXTERNAL_DATA_UNVERIFIED", `model ${name}: ${graph}: its external data ${missing.join(", ")} is not a chunk transformers.js would load`, { model: name, file: graph });
    }
    return files;
  } catch (err) {
    await files.release();
    throw err;
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
    private readonly guard: ServingGuard,
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
    const companions = await checkGraph(guard, this.major, name, entry, path, verifiedBytesOf(path, bytes));
    if (companions.length === 0) return { bytes, chunks: new Map() };
    this.#locations = companions;
    const chunks = await Promise.all(companions.map(async (file) => [file, await guard.readFile(name, file)] as const));
    return { bytes, chunks: new Map(chunks) };
  }
}

/**
 * What serving graph `path` checks, in either mode: what a load by the guard checks (the
 * onnxruntime adapter's `check`: every external-data reference a safe, locked file of this model,
 * main-graph initializers only), then that transformers.js would hand the data over: never in
 * 3.x, and in 4.x only the chunks config.json declares. Returns the locked paths of its data files.
 */
async function checkGraph(guard: ServingGuard, major: 3 | 4, name: string, entry: LockedModel, path: string, bytes: VerifiedBytes): Promise<string[]> {
  const refuse = (why: string): never => {
    throw new ModelGuardError("EXTERNAL_DATA_UNVERIFIED", `model ${name}: ${path}: ${why}`, { model: name, file: path });
  };
  const { companions } = await onnxruntime.check(name, entry, bytes);
  if (companions.length === 0) return [];
  const locations = companions.map((c) => c.as);
  if (major === 3) {
    refuse(
      `has external data (${locations.join(", ")}), which transformers.js 3.x never hands to onnxruntime in Node.js (onnxruntime would read it from the working directory): use transformers.js 4`,
    );
  }
  if (!Object.hasOwn(entry.files, "config.json")) {
    refuse(`has external data (${locations.join(", ")}) but config.json, which must declare it for transformers.js to pass it to onnxruntime, is not locked`);
  }
  let config: unknown;
  try {
    config = JSON.parse(Buffer.from(await guard.readFile(name, "config.json")).toString("utf8"));
  } catch {
    refuse("has external data, and config.json, which must declare it, is not JSON");
  }
  const declared = declaredExternalDataChunks(config, path);
  const undeclared = locations.filter((l) => !declared.includes(l));
  if (undeclared.length > 0) {
    refuse(
      `has external data ${undeclared.join(", ")} that config.json does not declare (transformers.js_config.use_external_data_format${declared.length ? ` names ${declared.join(", ")}` : " is not set"}): transformers.js would not hand it to onnxruntime, which would read a file of that name from the working directory`,
    );
  }
  return companions.map((c) => c.file);
}
