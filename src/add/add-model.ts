import { open, rm } from "node:fs/promises";
import pLimit from "p-limit";
import { ModelGuardError } from "../errors.js";
import type { LockedModel } from "../lockfile/types.js";
import { downloadFile, downloadOptionsOf, type DownloadedFile, type DownloadRequest } from "../hub/download-file.js";
import type { FetchProgress } from "../hub/fetch-locked-file.js";
import type { RetryInfo } from "../hub/retry.js";
import type { HubOptions } from "../hub/hub-options.js";
import { listRepoFiles, type RepoFile } from "../hub/list-repo-files.js";
import { resolveRevision } from "../hub/resolve-revision.js";
import { selectFiles } from "./select-files.js";
import { SIGNATURE_FILE_NAME } from "../signing/model-signing/ignore-paths.js";
import { checkPublisherManifest, verifyPublisherSigner, type TrustedPublisherSignature } from "../signing/schemes/publisher-signature.js";
import type { Signer } from "../signers.js";
import type { TrustPolicy } from "../signing/trust-anchors.js";
import type { SignedManifest } from "../signing/model-signing/signed-manifest.js";
import { checkLock } from "../digest/lock-check.js";
import { blobNameFor, blobsFolder, placeVerifiedFile, writeRef } from "../hub/store-in-cache.js";
import { snapshotFilePath } from "../hub/cache-layout.js";
import { hashFile, hashFileWithGitOid } from "../digest/read-and-hash.js";
import { entryFilesOf } from "../runtimes/known-runtimes.js";
import { ggufLayoutOf } from "../gguf/gguf-layout.js";
import { readGgufFileMetadata } from "../gguf/read-gguf-metadata.js";
import { completeSplitModels, defaultGgufFiles, ggufFilesForTag } from "../gguf/select-gguf-files.js";
import { ggufModelsIn } from "../gguf/gguf-files.js";

export interface AddModelRequest {
  repo: string;
  /**
   * Verify the publisher's OpenSSF Model Signing signature (`signaturePath`, default `model.sig`)
   * with these anchors, lock exactly the files it signs (globs, when given, must select that set)
   * and record it in the entry; a repo without it is refused. Without anchors a signature in the
   * repo is only reported.
   */
  publisherTrust?: Pick<TrustPolicy, "keys" | "identities" | "trustedRoot">;
  /** Where the publisher's signature is in the repo. Default `model.sig`. */
  signaturePath?: string;
  /** Branch, tag or full commit id. Default `main`. */
  ref?: string;
  include?: string[];
  exclude?: string[];
  /**
   * More files to take, chosen from the commit's file list (and the bytes of small files such as
   * `config.json`, read on demand): `--preset` asks transformers.js which files a pipeline needs.
   * With a preset, the default selection is not taken; `include` globs still add to it.
   */
  preset?: (available: ReadonlySet<string>, read: (path: string) => Promise<Uint8Array>) => Promise<string[]>;
  /**
   * A quantization tag (`Q4_K_M`): take the one GGUF model whose file or folder name carries it,
   * every part of a split model, as node-llama-cpp's `hf:org/repo:Q4_K_M` names it.
   */
  quantization?: string;
  concurrency?: number;
  retry?: FetchProgress["retry"];
  onStart?: (file: { file: string; size: number }) => void;
  onProgress?: (file: string, bytes: number) => void;
  onRetry?: (file: string, info: RetryInfo) => void;
}

export interface AddedModel {
  entry: LockedModel;
  /** Who signed the publisher's signature, when it was verified and recorded. */
  publisherSigner?: Signer;
  /** A signature file the repo has that was not verified (no publisher trust was given). */
  unverifiedSignature?: string;
  /** The files chosen with --include hold no file any known runtime loads (the default selection refuses that). */
  noModelFile?: true;
}

/**
 * Locks a model from the Hub: resolves the ref to a commit once, lists that commit's tree, takes
 * the selected files (and the external-data files their ONNX graphs name), downloads each while
 * hashing it, and checks it against the Hub's own digests (LFS: sha256 `lfs.oid`; regular files:
 * the git blob SHA-1 `oid`) and sizes. Only when every file matches are they placed in the cache;
 * on any mismatch nothing is placed and the error names the file.
 */

export async function addModelFromHub(request: AddModelRequest, hub: HubOptions, fetchImpl: typeof fetch): Promise<AddedModel> {
  if (hub.offline) throw new ModelGuardError("NOT_CACHED", `cannot add ${request.repo}: HF_HUB_OFFLINE is set`);
  const ref = request.ref ?? "main";
  const revision = await resolveRevision(request.repo, ref, hub, fetchImpl);
  const tree = await listRepoFiles(request.repo, revision, hub, fetchImpl);
  const byPath = new Map(tree.map((f) => [f.path, f]));
  const signaturePath = request.signaturePath ?? SIGNATURE_FILE_NAME;
  const signatureFile = byPath.get(signaturePath);
  if (request.signaturePath && !signatureFile) {
    throw new ModelGuardError("SIGNATURE_MISSING", `${request.repo}@${ref} has no ${request.signaturePath}`);
  }
  // The publisher's signature first: it is small, and when trusted it says which files make the model.
  const publisher = request.publisherTrust ? await trustedPublisherSignature(request, hub, revision, ref, signatureFile) : undefined;
  const paths = [...byPath.keys()];
  let selected: string[];
  if (publisher) {
    selected = selectSignedFiles(request, revision, byPath, publisher.manifest, signaturePath);
  } else if (request.preset) {
    const preset = await request.preset(new Set(paths), (path) => readRepoFile(request, hub, revision, byPath.get(path)!));
    const included = new Set([...preset, ...(request.include ? selectFiles(paths, request.include) : [])]);
    selected = selectFiles([...included].sort(), ["**"], request.exclude);
  } else {
    selected = selectRepoFiles(request, paths);
  }
  if (selected.length === 0) {
    throw new ModelGuardError("USAGE", `no file of ${request.repo}@${ref} matches the include/exclude globs`);
  }
  // The default selection without a model file would lock only config and tokenizer files, which
  // looks like a locked model and is not one: refused. Files the user chose (or the publisher signed) are theirs to choose.
  const noModelFile = modelFilesOf(selected).length === 0;
  if (noModelFile && !publisher && !request.include && !request.preset && request.quantization === undefined) throw noModelFileError(request.repo, ref, selected, paths);
  const limit = pLimit(request.concurrency ?? 4);
  const downloaded = new Map<string, DownloadedFile>();
  // Files already cached at this commit that still match the tree: kept, not downloaded again.
  const reused = new Map<string, { size: number; sha256: string; path: string }>();
  const fetchOne = (file: RepoFile) =>
    limit(async () => {
      const cachedPath = snapshotFilePath(hub.cacheDir, request.repo, revision, file.path);
      const hash = file.lfsSha256 === undefined ? hashFileWithGitOid(cachedPath, file.size) : hashFile(cachedPath);
      const cached = await hash.catch(() => undefined);
      if (cached && matchesTree(request.repo, file, cached)) {
        reused.set(file.path, { size: cached.size, sha256: cached.sha256, path: cachedPath });
        return;
      }
      request.onStart?.({ file: file.path, size: file.size });
      const result = await downloadRepoFile(request, hub, revision, file, {
        ...(request.retry ? { retry: request.retry } : {}),
        onProgress: (bytes) => request.onProgress?.(file.path, bytes),
        ...(request.onRetry ? { onRetry: (info: RetryInfo) => request.onRetry?.(file.path, info) } : {}),
      });
      downloaded.set(file.path, result);
      checkAgainstTree(request.repo, file, result);
    });
  try {
    await allOrFirstError(selected.map((p) => fetchOne(byPath.get(p)!)));
    // What the selected entries need (ONNX external data), wherever the globs left it: each runtime's adapter says.
    const extra = await companionFiles(selected, (p) => downloaded.get(p)?.tempPath ?? reused.get(p)!.path, byPath);
    await allOrFirstError(extra.map((p) => fetchOne(byPath.get(p)!)));
  } catch (err) {
    await Promise.all([...downloaded.values()].map((d) => rm(d.tempPath, { force: true })));
    throw err;
  }
  // fromEntries, not assignment: a file named "__proto__" is a file like any other.
  const files: LockedModel["files"] = Object.fromEntries(
    [...downloaded, ...reused].sort(([a], [b]) => (a < b ? -1 : 1)).map(([path, result]) => [path, { size: result.size, sha256: result.sha256 }]),
  );
  const gguf = await ggufLayoutOf(Object.keys(files), async (p) => {
    const header = await readGgufFileMetadata(downloaded.get(p)?.tempPath ?? reused.get(p)!.path, ["general.type"], `${request.repo}: ${p}`);
    const type = header.values.get("general.type");
    return typeof type === "string" ? type : undefined;
  }).catch(async (err: unknown) => {
    await Promise.all([...downloaded.values()].map((d) => rm(d.tempPath, { force: true })));
    throw err;
  });
  const entry: LockedModel = { repo: request.repo, revision, ...(ref === revision ? {} : { ref }), files, ...(gguf ? { gguf } : {}) };
  try {
    if (publisher) {
      // Checked against the digests just computed from the downloaded bytes: nothing is hashed twice.
      checkPublisherManifest(entry.files, publisher.manifest);
      entry.publisherSignatures = [{ path: signaturePath, bundle: publisher.bundle }];
    }
  } catch (err) {
    await Promise.all([...downloaded.values()].map((d) => rm(d.tempPath, { force: true })));
    throw err;
  }
  try {
    for (const [path, result] of downloaded) {
      await placeVerifiedFile(hub.cacheDir, request.repo, revision, path, result.tempPath, blobNameFor(result));
    }
  } catch (err) {
    // The files placed so far are verified; the rest are not left behind as .part files.
    await Promise.all([...downloaded.values()].map((d) => rm(d.tempPath, { force: true })));
    throw err;
  }
  await writeRef(hub.cacheDir, request.repo, ref, revision);
  return {
    entry,
    ...(publisher ? { publisherSigner: publisher.signer } : {}),
    ...(signatureFile && !request.publisherTrust ? { unverifiedSignature: signaturePath } : {}),
    ...(noModelFile ? { noModelFile: true } : {}),
  };
}

/**
 * The repo paths to lock: a quantization tag's GGUF model (plus `include`), the `include` globs,
 * or the default (config, tokenizer and ONNX graph; for a repo without an ONNX graph, its only
 * GGUF model); less `exclude`; and every part of each split GGUF model touched.
 */
function selectRepoFiles(request: AddModelRequest, paths: string[]): string[] {
  const excluded = request.exclude?.length ? new Set(paths.filter((p) => selectFiles([p], request.exclude).length > 0)) : new Set<string>();
  const candidates = paths.filter((p) => !excluded.has(p));
  let selected: string[];
  if (request.quantization !== undefined) {
    selected = [...ggufFilesForTag(request.repo, candidates, request.quantization), ...(request.include ? selectFiles(candidates, request.include) : [])];
  } else {
    selected = selectFiles(candidates, request.include);
    if (!request.include && !selected.some((p) => p.endsWith(".onnx"))) selected = defaultGgufFiles(request.repo, candidates) ?? selected;
  }
  return completeSplitModels(request.repo, [...new Set(selected)], candidates);
}

/** The files a runtime starts a load from: each known runtime's entries (`.onnx`) and GGUF models (not projectors). */
function modelFilesOf(paths: readonly string[]): string[] {
  return [...entryFilesOf(paths).map((e) => e.file), ...ggufModelsIn(paths).map((m) => m.entry)];
}

function listed(paths: readonly string[], max = 8): string {
  return paths.length <= max ? paths.join(", ") : `${paths.slice(0, max).join(", ")} and ${paths.length - max} more`;
}

function noModelFileError(repo: string, ref: string, selected: readonly string[], available: readonly string[]): ModelGuardError {
  const loadable = modelFilesOf(available);
  const next = loadable.length > 0 ? `it has ${listed(loadable)}: name the one to lock with --include` : `it has none (${listed(available)}): choose a repo with an ONNX or GGUF export`;
  return new ModelGuardError(
    "USAGE",
    `${repo}@${ref}: the default selection (${listed(selected)}) holds no model file (.onnx for onnxruntime, .gguf for node-llama-cpp); ${next}. Nothing was locked`,
  );
}

/** One file of the commit into a temporary file in the cache's blobs/, with the digest the Hub's tree lists for it computed on the way. */
async function downloadRepoFile(
  request: AddModelRequest,
  hub: HubOptions,
  revision: string,
  file: RepoFile,
  extra: Partial<DownloadRequest>,
): Promise<DownloadedFile> {
  return downloadFile({
    ...downloadOptionsOf(hub),
    repo: request.repo,
    revision,
    path: file.path,
    size: file.size,
    tempDir: await blobsFolder(hub.cacheDir, request.repo, `${request.repo}: ${file.path}`),
    gitBlobSha1: file.lfsSha256 === undefined,
    ...extra,
  });
}

/** A small file of the commit, read into memory and checked against the tree; never placed in the cache. */
async function readRepoFile(request: AddModelRequest, hub: HubOptions, revision: string, file: RepoFile): Promise<Uint8Array> {
  if (file.size > 16 * 1024 * 1024) throw new ModelGuardError("USAGE", `${request.repo}: ${file.path} is ${file.size} bytes: too large to read for a preset`);
  const result = await downloadRepoFile(request, hub, revision, file, { keepBytes: true });
  await rm(result.tempPath, { force: true });
  checkAgainstTree(request.repo, file, result);
  return result.bytes!;
}

/**
 * The repo's publisher signature, verified against the caller's anchors: a repo that should carry
 * one and does not is refused, not locked unverified.
 */
async function trustedPublisherSignature(
  request: AddModelRequest,
  hub: HubOptions,
  revision: string,
  ref: string,
  signatureFile: RepoFile | undefined,
): Promise<TrustedPublisherSignature & { bundle: unknown }> {
  if (!signatureFile) {
    throw new ModelGuardError(
      "SIGNATURE_MISSING",
      `${request.repo}@${ref} has no publisher signature (${request.signaturePath ?? SIGNATURE_FILE_NAME}) to verify with the trust given`,
    );
  }
  const bundle = await downloadSignature(request, hub, revision, signatureFile);
  return { bundle, ...(await verifyPublisherSigner(bundle, request.publisherTrust!)) };
}

/**
 * What to lock under a trusted publisher signature: by default exactly the files it signed (it
 * vouches for that set and no other); with globs, what they select, which must then be that set.
 * The signature file itself is never locked: it is recorded in `publisherSignatures`.
 */
function selectSignedFiles(
  request: AddModelRequest,
  revision: string,
  tree: Map<string, RepoFile>,
  manifest: SignedManifest,
  signaturePath: string,
): string[] {
  if (request.include || request.exclude) {
    return selectFiles([...tree.keys()], request.include, request.exclude).filter((p) => p !== signaturePath);
  }
  const signed = [...manifest.resources.keys()];
  const absent = signed.filter((p) => !tree.has(p));
  if (absent.length > 0) {
    throw new ModelGuardError(
      "SIGNATURE_INVALID",
      `${request.repo}@${revision} does not match its publisher signature: it lacks ${absent.slice(0, 10).join(", ")}`,
    );
  }
  return signed;
}

/** The publisher's signature, read into memory (it is small) and parsed; never placed in the cache. */
async function downloadSignature(request: AddModelRequest, hub: HubOptions, revision: string, file: RepoFile): Promise<unknown> {
  if (file.size > 16 * 1024 * 1024) throw new ModelGuardError("SIGNATURE_MALFORMED", `${file.path} is ${file.size} bytes: too large for a signature`);
  const result = await downloadRepoFile(request, hub, revision, file, { keepBytes: true });
  await rm(result.tempPath, { force: true });
  checkAgainstTree(request.repo, file, result);
  try {
    return JSON.parse(result.bytes!.toString("utf8"));
  } catch {
    throw new ModelGuardError("SIGNATURE_MALFORMED", `${request.repo}: ${file.path} is not JSON`);
  }
}

/** Waits for every download to settle (so none is still writing when temporaries are removed), then throws the first error. */
async function allOrFirstError(jobs: Promise<void>[]): Promise<void> {
  const failed = (await Promise.allSettled(jobs)).find((r) => r.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
}

function matchesTree(repo: string, file: RepoFile, result: { size: number; sha256: string; gitBlobSha1?: string }): boolean {
  try {
    checkAgainstTree(repo, file, result);
    return true;
  } catch {
    return false;
  }
}

function checkAgainstTree(repo: string, file: RepoFile, result: { size: number; sha256: string; gitBlobSha1?: string }): void {
  const where = { file: file.path };
  // The Hub's listing stands in for the lock entry: a regular (non-LFS) file lists no sha256.
  checkLock(
    { size: file.size, ...(file.lfsSha256 === undefined ? {} : { sha256: file.lfsSha256 }) },
    result,
    ({ code }) =>
      code === "SIZE_MISMATCH"
        ? `${repo}: ${file.path} is ${result.size} bytes, the Hub lists ${file.size}`
        : `${repo}: ${file.path} has sha256 ${result.sha256}, the Hub lists ${file.lfsSha256}`,
    where,
  );
  if (file.lfsSha256 === undefined && file.oid !== undefined && result.gitBlobSha1 !== file.oid) {
    throw new ModelGuardError("DIGEST_MISMATCH", `${repo}: ${file.path} has git blob id ${result.gitBlobSha1}, the Hub lists ${file.oid}`, where);
  }
}

/**
 * Repo paths the selected runtime entries (`.onnx` graphs) refer to that were not selected, as
 * their runtime adapters name them. The entries were just checked against the Hub's digests.
 */
async function companionFiles(selected: string[], localPath: (repoPath: string) => string, tree: Map<string, RepoFile>): Promise<string[]> {
  const available = new Set(tree.keys());
  const extra = new Set<string>();
  const taken = new Set(selected);
  for (const { file, adapter } of entryFilesOf(selected)) {
    const handle = await open(localPath(file), "r");
    try {
      // Positioned reads, not readFile: a GGUF model or a single-file graph can exceed one Buffer.
      const { size } = await handle.stat();
      const read = async (position: number, length: number) => {
        const buffer = Buffer.alloc(Math.max(0, Math.min(length, size - position)));
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
        return buffer.subarray(0, bytesRead);
      };
      for (const target of await adapter.referencedFiles({ file, size, read }, available)) {
        if (!taken.has(target)) extra.add(target);
      }
    } finally {
      await handle.close();
    }
  }
  return [...extra];
}
