import { ModelGuardError } from "../../errors.js";
import { HUB_HOST, parseHubFileUrl } from "./hub-file-url.js";
import { installSettings, type TransformersEnv } from "./transformers-env.js";

/**
 * The files a transformers.js pipeline asks for, for `modelguard add --preset TASK[:DTYPE]`:
 * computed by the installed transformers.js itself (`ModelRegistry.get_pipeline_files`, what
 * `pipeline()` runs first), so they are exactly the files that version will ask the guard for,
 * whatever the task and model type. It reads the repo at the commit being locked only: its
 * `config.json` (through `read`) and which files the commit has (`available`); transformers.js
 * makes no request of its own meanwhile, and its env is put back afterwards. (transformers.js
 * remembers, per repo and process, whether a repo has `tokenizer_config.json` and
 * `preprocessor_config.json`; `add` runs once per process.)
 */

export interface PipelinePreset {
  task: string;
  /** transformers.js's dtype (`fp32`, `q8`, `fp16`, `q4`, ...); default: what the pipeline would pick. */
  dtype?: string;
}

/** transformers.js 4.3's dtypes (`DATA_TYPES`): it quietly falls back to fp32 for any other name, so a typo is caught here. */
const DTYPES = ["auto", "fp32", "fp16", "q8", "int8", "uint8", "q4", "bnb4", "q4f16", "q2", "q2f16", "q1", "q1f16"];

/** `TASK[:DTYPE]`, as `--preset` takes it. */
export function parsePipelinePreset(text: string): PipelinePreset {
  const [task, dtype, ...rest] = text.split(":");
  if (!task || rest.length > 0 || dtype === "") {
    throw new ModelGuardError("USAGE", `--preset ${JSON.stringify(text)}: expected TASK[:DTYPE], e.g. feature-extraction or feature-extraction:q8`);
  }
  if (dtype !== undefined && !DTYPES.includes(dtype)) {
    throw new ModelGuardError("USAGE", `--preset ${JSON.stringify(text)}: ${JSON.stringify(dtype)} is not a transformers.js dtype (${DTYPES.join(", ")})`);
  }
  return dtype === undefined ? { task } : { task, dtype };
}

export interface PipelineFiles {
  /** The files the pipeline asks for that the commit has. */
  files: string[];
  /** Files it asks for that the commit lacks (optional ones, such as generation_config.json). */
  missing: string[];
}

interface TransformersModule {
  env: TransformersEnv;
  ModelRegistry: { get_pipeline_files(task: string, modelId: string, options?: { dtype?: string; config?: unknown }): Promise<string[]> };
}

export async function transformersPipelineFiles(
  preset: PipelinePreset,
  repo: string,
  available: ReadonlySet<string>,
  read: (path: string) => Promise<Uint8Array>,
): Promise<PipelineFiles> {
  let transformers: TransformersModule;
  try {
    transformers = (await import("@huggingface/transformers" as string)) as TransformersModule;
  } catch {
    throw new ModelGuardError("USAGE", "--preset asks transformers.js which files a pipeline needs: install @huggingface/transformers (npm i @huggingface/transformers)");
  }
  const cache = {
    async match(key: unknown) {
      const request = typeof key === "string" ? parseHubFileUrl(key, (r) => r === repo) : undefined;
      if (!request || request.repo !== repo || !available.has(request.path)) return undefined;
      const body = new ReadableStream<Uint8Array>(
        {
          async pull(controller) {
            controller.enqueue(await read(request.path));
            controller.close();
          },
        },
        { highWaterMark: 0 },
      );
      return new Response(body, { status: 200 });
    },
    async put() {},
  };
  // What the cache lacks, the commit lacks: transformers.js's existence probes get a 404.
  const notFound = async (input: unknown) => {
    if (String(input).startsWith(HUB_HOST)) return new Response(null, { status: 404 });
    throw new ModelGuardError("USAGE", `transformers.js tried to fetch ${String(input)} while listing a pipeline's files`);
  };
  // Handed over parsed: transformers.js memoizes a config it fetched by repo alone, whatever the commit.
  let config: unknown;
  if (available.has("config.json")) {
    try {
      config = JSON.parse(Buffer.from(await read("config.json")).toString("utf8"));
    } catch (err) {
      if (err instanceof SyntaxError) throw new ModelGuardError("USAGE", `--preset: ${repo}'s config.json is not JSON`);
      throw err;
    }
  }
  const restore = installSettings(transformers.env, cache, notFound);
  let asked: string[];
  try {
    asked = await transformers.ModelRegistry.get_pipeline_files(preset.task, repo, {
      ...(config === undefined ? {} : { config }),
      ...(preset.dtype === undefined ? {} : { dtype: preset.dtype }),
    });
  } catch (err) {
    if (err instanceof ModelGuardError) throw err;
    throw new ModelGuardError("USAGE", `--preset ${preset.task}${preset.dtype ? `:${preset.dtype}` : ""} for ${repo}: transformers.js ${transformers.env.version}: ${(err as Error).message}`);
  } finally {
    restore();
  }
  const unique = [...new Set(asked)];
  return { files: unique.filter((p) => available.has(p)).sort(), missing: unique.filter((p) => !available.has(p)).sort() };
}
