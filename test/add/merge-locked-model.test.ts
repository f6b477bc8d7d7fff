import { describe, expect, it } from "vitest";
import { mergeLockedModel } from "../../src/add/merge-locked-model.js";
import type { LockedModel, Lockfile } from "../../src/lockfile/types.js";

const A = "a".repeat(40);
const B = "b".repeat(40);
const file = { size: 1, sha256: "0".repeat(64) };
const entry = (revision: string, extra: Partial<LockedModel> = {}): LockedModel => ({ repo: "org/m", revision, files: { "model.onnx": file }, ...extra });
const lockfile = (models: Record<string, LockedModel>): Lockfile => ({ lockfileVersion: 1, models });

describe("mergeLockedModel", () => {
  it("adds a new name without touching the input", () => {
    const before = lockfile({});
    const r = mergeLockedModel(before, "m", entry(A));
    expect(r.status).toBe("added");
    expect(r.status === "added" && r.lockfile.models.m).toEqual(entry(A));
    expect(before.models).toEqual({});
  });

  it("is unchanged for the same commit, files and ref", () => {
    expect(mergeLockedModel(lockfile({ m: entry(A, { ref: "main" }) }), "m", entry(A, { ref: "main" })).status).toBe("unchanged");
  });

  it("reports drift without update, and writes nothing", () => {
    const r = mergeLockedModel(lockfile({ m: entry(A) }), "m", entry(B));
    expect(r).toMatchObject({ status: "drift", changes: [`revision: ${A} -> ${B}`] });
  });

  it("re-pins with update: old signatures dropped, unknown fields kept", () => {
    const base = entry(A);
    const files = Object.fromEntries(Object.entries(base.files).map(([path, f]) => [path, { ...f, signatures: [{ sig: "c2ln" }] }]));
    const old = { ...base, files, signatures: [{}], publisherSignatures: [{ path: "model.sig", bundle: {} }], note: "kept" } as unknown as LockedModel;
    const r = mergeLockedModel(lockfile({ m: old }), "m", entry(B), { update: true });
    expect(r.status).toBe("updated");
    const merged = r.status === "updated" ? (r.lockfile.models.m as unknown as Record<string, unknown>) : {};
    expect(merged).toMatchObject({ revision: B, note: "kept" });
    expect(merged).not.toHaveProperty("signatures");
    expect(merged).not.toHaveProperty("publisherSignatures");
    // The entry's signature, the publisher's and each file's cosign signature (gone with the old files).
    expect(r.status === "updated" && r.droppedSignatures).toBe(2 + Object.keys(files).length);
  });

  it("names the other entries that lock the same repo", () => {
    const other = { ...entry(A), repo: "org/other" };
    expect(mergeLockedModel(lockfile({ m: entry(A), m2: entry(B), o: other }), "m3", entry(B)).alsoLockedAs).toEqual(["m", "m2"]);
    expect(mergeLockedModel(lockfile({ m: entry(A), o: other }), "m", entry(B)).alsoLockedAs).toEqual([]);
  });

  it("treats a model named like an Object.prototype member as data", () => {
    for (const name of ["constructor", "__proto__", "toString"]) {
      const r = mergeLockedModel(lockfile({}), name, entry(A));
      expect(r.status).toBe("added");
      expect(r.status === "added" && Object.getOwnPropertyDescriptor(r.lockfile.models, name)?.value).toEqual(entry(A));
    }
  });
});
