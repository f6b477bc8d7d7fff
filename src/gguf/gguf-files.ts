/**
 * How GGUF models are laid out in a repo, from file names alone: split parts
 * (`{prefix}-00001-of-00003.gguf`, the names llama.cpp derives the other parts from, see
 * `llama_split_path`), quantization tags as node-llama-cpp names them (`org/repo:Q4_K_M`), and
 * multimodal projectors (`mmproj-*.gguf`), which are companions, not models.
 */

const SPLIT_PART = /-(\d{5})-of-(\d{5})\.gguf$/;

export interface SplitPart {
  /** The path up to `-00001-of-00003.gguf`. */
  prefix: string;
  /** 1-based. */
  part: number;
  parts: number;
}

/** `{prefix}-0000i-of-0000N.gguf` → its prefix, part and part count; undefined for any other name. */
export function splitPartOf(path: string): SplitPart | undefined {
  const m = SPLIT_PART.exec(path);
  if (!m) return undefined;
  const part = Number(m[1]);
  const parts = Number(m[2]);
  if (part < 1 || parts < 1 || part > parts) return undefined;
  return { prefix: path.slice(0, m.index), part, parts };
}

/** The path of part `part` (1-based) of `parts`, as llama.cpp names it. */
export function splitPartPath(prefix: string, part: number, parts: number): string {
  const five = (n: number) => String(n).padStart(5, "0");
  return `${prefix}-${five(part)}-of-${five(parts)}.gguf`;
}

export function isGgufFile(path: string): boolean {
  return path.toLowerCase().endsWith(".gguf");
}

/** A multimodal projector (`mmproj-model-f16.gguf`, `…/mmproj-F16.gguf`): loaded beside a model, never as one. */
export function isProjectorFile(path: string): boolean {
  return /(^|\/)mmproj[^/]*\.gguf$/i.test(path);
}

/** One GGUF model of a repo: a single file, or every part of a split model in part order. */
export interface GgufModelFiles {
  /** The file a loader is given: the file itself, or part 1. */
  entry: string;
  /** In part order. */
  files: string[];
  /** Part numbers (1-based) a split model lacks; empty when complete. */
  missingParts: number[];
}

/**
 * Groups the GGUF files among `paths` into models (projectors left out): each split prefix with
 * its parts, each other `.gguf` alone. Sorted by entry path.
 */
export function ggufModelsIn(paths: Iterable<string>): GgufModelFiles[] {
  const singles: GgufModelFiles[] = [];
  const groups = new Map<string, { parts: number; found: Map<number, string> }>();
  for (const path of paths) {
    if (!isGgufFile(path) || isProjectorFile(path)) continue;
    const split = splitPartOf(path);
    if (!split) {
      singles.push({ entry: path, files: [path], missingParts: [] });
      continue;
    }
    // Parts that disagree on the count (`-00001-of-00002` beside `-00002-of-00003`) are separate models.
    const key = `${split.prefix}\0${split.parts}`;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { parts: split.parts, found: new Map() }));
    group.found.set(split.part, path);
  }
  const split = [...groups.entries()].map(([key, { parts, found }]): GgufModelFiles => {
    const prefix = key.slice(0, key.indexOf("\0"));
    const numbers = Array.from({ length: parts }, (_, i) => i + 1);
    return {
      entry: splitPartPath(prefix, 1, parts),
      files: numbers.filter((n) => found.has(n)).map((n) => found.get(n)!),
      missingParts: numbers.filter((n) => !found.has(n)),
    };
  });
  return [...singles, ...split].sort((a, b) => (a.entry < b.entry ? -1 : a.entry > b.entry ? 1 : 0));
}

/**
 * Whether a GGUF path carries the quantization tag `tag` (case-insensitive), as node-llama-cpp's
 * `hf:org/repo:TAG` means it: the tag as a whole word of the file or folder name, so `Q4_K`
 * matches `model-Q4_K.gguf` but not `model-Q4_K_M.gguf`, and `Q4_0` not `IQ4_0`.
 */
export function hasQuantizationTag(path: string, tag: string): boolean {
  const split = splitPartOf(path);
  const stem = (split ? split.prefix : path.replace(/\.gguf$/i, "")).toLowerCase();
  const want = tag.toLowerCase();
  const boundaryBefore = /[-./_ ]/;
  const boundaryAfter = /[-./ ]/;
  for (let at = stem.indexOf(want); at !== -1; at = stem.indexOf(want, at + 1)) {
    const before = at === 0 ? "" : stem[at - 1]!;
    const after = stem[at + want.length] ?? "";
    if ((before === "" || boundaryBefore.test(before)) && (after === "" || boundaryAfter.test(after))) return true;
  }
  return false;
}

/** A tag as node-llama-cpp accepts one after `:` (`Q4_K_M`, `q8_0`, `UD-Q4_K_XL`): letters, digits, `_`, `-`, `.`. */
export function isQuantizationTag(tag: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(tag) && !tag.includes("..");
}
