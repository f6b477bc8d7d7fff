/**
 * A CycloneDX 1.6 ML-BOM of locked models: plain data in (lockfile entries, who signed them, what
 * their config.json states), plain JSON out. Built with `@cyclonedx/cyclonedx-library`'s models and
 * JSON normalizer, loaded on first use (it takes a noticeable part of a second to import). The
 * library's models have no model card, so `modelCard` is added to the normalized JSON of each
 * model; the tests hold the result to the library's 1.6 JSON schema validator.
 *
 * What goes in (README, "Compliance", documents it for users):
 * - one `machine-learning-model` component per model: `group`/`name` the Hub repo id, `version` the
 *   pinned commit, `purl` `pkg:huggingface/{org}/{name}@{commit}`, a `distribution` reference to
 *   the repo at that commit, every locked file as a nested `file` component (SHA-256, size, its
 *   download URL), and the `modelCard` its config.json states;
 * - `modelguard:` properties: `model` (the name in the lockfile), `ref` (the branch or tag asked
 *   for), `signer:N:{verified,kind,via,fingerprint,subject,issuer}` per signer, `size` per file;
 * - `metadata.tools`: modelguard and the CycloneDX library, with their versions.
 * Lists keep the caller's order (the lockfile's sorted order from the CLI), never a locale's.
 */
import { createHash, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { LockedModel } from "../lockfile/types.js";
import type { RecordedSigner } from "../signing/recorded-signers.js";
import type { Signer } from "../signers.js";
import { fileResolveUrl, huggingFacePurl, repoTreeUrl, splitRepo } from "./huggingface-purl.js";
import type { ModelCard } from "./model-card.js";

export const BOM_SPEC_VERSION = "1.6";

/** A signer as the BOM states it: the trust check's (`verified: true`) or a recorded signature's claim (`verified: false`). */
export type BomSigner = (Signer | RecordedSigner) & { verified: boolean };

export interface BomModel {
  /** The model's name in the lockfile. */
  name: string;
  entry: LockedModel;
  signers: BomSigner[];
  /** What the model's locked and verified config.json states (`modelCardFromConfig`). */
  modelCard?: ModelCard;
}

export interface BomOptions {
  /** The Hub the repos live on. Default https://huggingface.co (then the purl has no `repository_url`). */
  hubUrl?: string;
  /** No timestamp, and a serial number derived from the content: the same input gives the same bytes. */
  reproducible?: boolean;
  /** The time to state (default now); ignored when reproducible. */
  timestamp?: Date;
}

/** A CycloneDX JSON document. */
export type CycloneDxBom = Record<string, unknown> & { bomFormat: "CycloneDX"; specVersion: string; components: Record<string, unknown>[] };

const require = createRequire(import.meta.url);

function packageVersion(url: URL): string {
  return (JSON.parse(readFileSync(url, "utf8")) as { version: string }).version;
}


function modelRef(name: string): string {
  return `modelguard:model:${encodeURIComponent(name)}`;
}

function fileRef(name: string, path: string): string {
  return `${modelRef(name)}:file:${encodeURIComponent(path)}`;
}

function signerProperties(signers: readonly BomSigner[]): [string, string][] {
  return signers.flatMap((signer, i) =>
    Object.entries(signer)
      .filter((kv): kv is [string, string | boolean] => typeof kv[1] === "string" || typeof kv[1] === "boolean")
      .map(([k, v]): [string, string] => [`modelguard:signer:${i}:${k}`, String(v)]),
  );
}

/** RFC 9562 UUID version 8 from the SHA-256 of the text: the same document, the same serial number. */
export function contentUuid(text: string): string {
  const b = createHash("sha256").update(text).digest().subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x80;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export async function buildModelBom(models: readonly BomModel[], options: BomOptions = {}): Promise<CycloneDxBom> {
  const { Enums, Models, Serialize, Spec } = await import("@cyclonedx/cyclonedx-library");
  const hubUrl = options.hubUrl;
  const properties = (pairs: [string, string][]) => new Models.PropertyRepository(pairs.map(([n, v]) => new Models.Property(n, v)));
  const distribution = (url: string, comment: string) =>
    new Models.ExternalReferenceRepository([new Models.ExternalReference(url, Enums.ExternalReferenceType.Distribution, { comment })]);

  const bom = new Models.Bom();
  bom.metadata.tools.components.add(
    new Models.Component(Enums.ComponentType.Application, "modelguard", { version: packageVersion(new URL("../../package.json", import.meta.url)), bomRef: "modelguard:tool:modelguard" }),
  );
  bom.metadata.tools.components.add(
    new Models.Component(Enums.ComponentType.Library, "cyclonedx-library", {
      group: "@cyclonedx",
      version: packageVersion(new URL(`file://${require.resolve("@cyclonedx/cyclonedx-library/package.json")}`)),
      bomRef: "modelguard:tool:cyclonedx-library",
    }),
  );
  if (!options.reproducible) bom.metadata.timestamp = options.timestamp ?? new Date();

  for (const { name, entry, signers } of models) {
    const { namespace, name: repoName } = splitRepo(entry.repo);
    const files = Object.keys(entry.files).sort();
    bom.components.add(
      new Models.Component(Enums.ComponentType.MachineLearningModel, repoName, {
        bomRef: modelRef(name),
        ...(namespace !== undefined ? { group: namespace } : {}),
        version: entry.revision,
        purl: huggingFacePurl(entry.repo, entry.revision, hubUrl),
        externalReferences: distribution(repoTreeUrl(entry.repo, entry.revision, hubUrl), "the repository at the pinned commit"),
        properties: properties([
          ["modelguard:model", name],
          ...(typeof entry.ref === "string" ? [["modelguard:ref", entry.ref] as [string, string]] : []),
          ...signerProperties(signers),
        ]),
        components: new Models.ComponentRepository(
          files.map((path) => {
            const locked = entry.files[path]!;
            return new Models.Component(Enums.ComponentType.File, path, {
              bomRef: fileRef(name, path),
              hashes: new Models.HashDictionary([[Enums.HashAlgorithm["SHA-256"], locked.sha256]]),
              externalReferences: distribution(fileResolveUrl(entry.repo, entry.revision, path, hubUrl), "the file at the pinned commit"),
              properties: properties([["modelguard:size", String(locked.size)]]),
            });
          }),
        ),
      }),
    );
  }

  const normalized = new Serialize.JSON.Normalize.Factory(Spec.Spec1dot6).makeForBom().normalize(bom, { sortLists: false });
  const doc = JSON.parse(JSON.stringify(normalized)) as CycloneDxBom;
  // The model card, which the library's models do not carry, beside the component it describes.
  const cards = new Map(models.map((m) => [modelRef(m.name), m.modelCard]));
  for (const component of doc.components) {
    const card = cards.get(component["bom-ref"] as string);
    if (card) component.modelCard = card;
  }
  const { $schema, bomFormat, specVersion, serialNumber: _none, ...rest } = doc;
  const serialNumber = `urn:uuid:${options.reproducible ? contentUuid(JSON.stringify(doc)) : randomUUID()}`;
  return { $schema, bomFormat, specVersion, serialNumber, ...rest } as CycloneDxBom;
}

/** The BOM as a file holds it: 2-space indent, trailing newline. */
export function serializeBom(bom: CycloneDxBom): string {
  return `${JSON.stringify(bom, null, 2)}\n`;
}
