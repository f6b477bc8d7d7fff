/**
 * How a locked model is named outside modelguard: its package URL and its Hub addresses.
 *
 * The purl follows the `huggingface` type of the purl spec (PURL-TYPES): namespace = the user or
 * organization and name = the repo name, both case sensitive and kept as written; version = the
 * commit, lower-cased; the `repository_url` qualifier only when the Hub is not huggingface.co.
 * `packageurl-js` does the encoding and the type's normalisation.
 */
import { createRequire } from "node:module";
import type { PackageURL as PackageURLClass } from "packageurl-js";
import { DEFAULT_HUB_URL } from "../hub/hub-options.js";

// Required on first use, so importing modelguard does not load it.
const require = createRequire(import.meta.url);
let PackageURL: typeof PackageURLClass | undefined;

function splitRepo(repo: string): { namespace?: string; name: string } {
  const slash = repo.indexOf("/");
  return slash < 0 ? { name: repo } : { namespace: repo.slice(0, slash), name: repo.slice(slash + 1) };
}

/** `pkg:huggingface/{org}/{name}@{commit}` (`?repository_url=...` for another Hub). */
export function huggingFacePurl(repo: string, revision: string, hubUrl: string = DEFAULT_HUB_URL): string {
  const { namespace, name } = splitRepo(repo);
  const base = hubUrl.replace(/\/+$/, "");
  const qualifiers = base === DEFAULT_HUB_URL ? undefined : { repository_url: base };
  PackageURL ??= (require("packageurl-js") as { PackageURL: typeof PackageURLClass }).PackageURL;
  return new PackageURL("huggingface", namespace, name, revision, qualifiers, undefined).toString();
}

/** The repo's files at that commit, as the Hub shows them. */
export function repoTreeUrl(repo: string, revision: string, hubUrl: string = DEFAULT_HUB_URL): string {
  return `${hubUrl.replace(/\/+$/, "")}/${repo}/tree/${revision}`;
}

/** Where the Hub serves one file of the repo at that commit (what `pull` downloads). */
export function fileResolveUrl(repo: string, revision: string, path: string, hubUrl: string = DEFAULT_HUB_URL): string {
  const encoded = path.split("/").map(encodeURIComponent).join("/");
  return `${hubUrl.replace(/\/+$/, "")}/${repo}/resolve/${revision}/${encoded}`;
}

export { splitRepo };
