import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { publicKeyId } from "../../src/keys/load-key.js";
import type { LockedModel } from "../../src/lockfile/types.js";
import { signBlob } from "../../src/signing/blob-signature.js";
import { signModel } from "../../src/signing/model-signing/sign-model.js";
import { SIGNATURE_SCHEMES } from "../../src/signing/schemes/index.js";
import { withSignature } from "../../src/signing/sign-locked-model.js";
import type { TrustAnchors } from "../../src/signing/trust-anchors.js";
import { lockedEntry, makeKeys, tempDir } from "../helpers/fixtures.js";

const FILES = { "model.onnx": Buffer.from("graph"), "config.json": Buffer.from("{}") };

/** One entry signed each way by the same key, with the scheme each signature belongs to. */
async function signedEachWay() {
  const dir = await tempDir();
  const keys = await makeKeys(dir, "signer");
  const base = lockedEntry("org/m", FILES);
  const model = join(dir, "m");
  await mkdir(model);
  for (const [path, bytes] of Object.entries(FILES)) await writeFile(join(model, path), bytes);
  const { bundle } = await signModel(model, { signer: { mode: "key", privateKey: keys.privateKey, publicKey: keys.publicKey } });
  const entries: Record<string, LockedModel> = {
    "model-signature": withSignature("m", base, keys.privateKey, keys.publicKey),
    "file-signatures": {
      ...base,
      files: Object.fromEntries(Object.entries(base.files).map(([path, f]) => [path, { ...f, signatures: [{ sig: signBlob(FILES[path as keyof typeof FILES], keys.privateKey) }] }])),
    },
    "publisher-signature": { ...base, publisherSignatures: [{ path: "model.sig", bundle }] },
  };
  const anchors: TrustAnchors = { keys: [{ key: keys.publicKey, fingerprint: publicKeyId(keys.publicKey) }] };
  return { entries, anchors, keys };
}

describe("signature schemes (src/signing/schemes/)", () => {
  it("are asked strongest first: the entry's own signature, then per-file signatures, then the publisher's", () => {
    expect(SIGNATURE_SCHEMES.map((s) => s.via)).toEqual(["model-signature", "file-signatures", "publisher-signature"]);
  });

  it("each verifies, lists and drops only its own signatures", async () => {
    const { entries, anchors, keys } = await signedEachWay();
    const fingerprint = publicKeyId(keys.publicKey);
    for (const scheme of SIGNATURE_SCHEMES) {
      const entry = entries[scheme.via]!;
      // Its own signature, by a trusted key: the signer, named with this scheme.
      expect(await scheme.verify({ name: "m", entry }, anchors)).toEqual({ signer: { kind: "key", fingerprint, via: scheme.via } });
      // Not trusted: no signer, and a finding that says so.
      const untrusted = await scheme.verify({ name: "m", entry }, { keys: [] });
      expect(untrusted.signer).toBeUndefined();
      expect(untrusted).toMatchObject({ invalid: [], uncovered: [], untrusted: [expect.any(String)] });
      expect(scheme.list(entry).length).toBeGreaterThan(0);
      const { entry: dropped, dropped: paths } = scheme.without(entry, { kind: "key", fingerprint }, keys.publicKey);
      expect(paths).toEqual(scheme.list(entry).map((s) => s.where));
      expect(scheme.list(dropped)).toEqual([]);
      // The other schemes see nothing of it: no signer, no finding, nothing listed.
      for (const other of SIGNATURE_SCHEMES.filter((s) => s !== scheme)) {
        expect(await other.verify({ name: "m", entry }, anchors)).toEqual({ invalid: [], untrusted: [], uncovered: [] });
        expect(other.list(entry)).toEqual([]);
      }
    }
  });

  it("a lockfile signature of another entry is a finding of tampering, not a missing signature", async () => {
    const { entries, anchors } = await signedEachWay();
    const [modelSignature] = SIGNATURE_SCHEMES;
    const changed = { ...entries["model-signature"]!, revision: "f".repeat(40) };
    const verdict = await modelSignature!.verify({ name: "m", entry: changed }, anchors);
    expect(verdict).toMatchObject({ invalid: [expect.stringContaining("changed after signing")], untrusted: [], uncovered: [] });
  });
});
