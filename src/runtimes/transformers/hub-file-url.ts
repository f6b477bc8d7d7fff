/**
 * The Hub URL transformers.js builds for every file it wants, read back into repo, revision and
 * path. While guarded, transformers.js's `remoteHost` and `remotePathTemplate` are pinned to the
 * Hub's defaults (see `transformers-env.ts`), so every URL it asks about has the one shape
 * `{HUB_HOST}{repo}/resolve/{encodeURIComponent(revision)}/{path}`.
 */

export const HUB_HOST = "https://huggingface.co/";
export const HUB_PATH_TEMPLATE = "{model}/resolve/{revision}/";

export interface HubFileRequest {
  repo: string;
  /** As transformers.js asked for it: `main` when no revision was given. */
  revision: string;
  /** The file's path in the repo, e.g. `onnx/model.onnx`. */
  path: string;
  url: string;
}

/**
 * The repo, revision and path of a URL of that shape, or undefined for anything else (the local
 * paths transformers.js also asks its cache about). A repo id is one or two segments; when both
 * readings fit (a repo or org literally named "resolve"), the one `isLocked` knows wins.
 */
export function parseHubFileUrl(url: string, isLocked: (repo: string) => boolean = () => false): HubFileRequest | undefined {
  if (!url.startsWith(HUB_HOST)) return undefined;
  const segments = url.slice(HUB_HOST.length).split("/");
  const readings: HubFileRequest[] = [];
  for (const repoSegments of [2, 1]) {
    if (segments[repoSegments] !== "resolve" || segments.length < repoSegments + 3) continue;
    const path = segments.slice(repoSegments + 2).join("/");
    let revision: string;
    try {
      revision = decodeURIComponent(segments[repoSegments + 1]!);
    } catch {
      continue;
    }
    if (path === "" || revision === "") continue;
    readings.push({ repo: segments.slice(0, repoSegments).join("/"), revision, path, url });
  }
  return readings.find((r) => isLocked(r.repo)) ?? readings[0];
}
