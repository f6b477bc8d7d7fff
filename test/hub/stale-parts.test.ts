import { mkdir, readdir, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { removeStaleParts, STALE_PART_MS } from "../../src/hub/stale-parts.js";
import { tempDir } from "../helpers/fixtures.js";

describe("removeStaleParts", () => {
  it("removes only old .part files of ours, never blobs or another process's fresh download", async () => {
    const blobs = join(await tempDir(), "blobs");
    await mkdir(blobs);
    const old = new Date(Date.now() - STALE_PART_MS - 60_000);
    for (const name of [".modelguard-aa11.part", ".modelguard-bb22.part", "0".repeat(64), "other.part"]) await writeFile(join(blobs, name), "x");
    for (const name of [".modelguard-aa11.part", "0".repeat(64), "other.part"]) await utimes(join(blobs, name), old, old);
    const removed = await removeStaleParts(blobs);
    expect(removed.map((p) => p.split("/").pop())).toEqual([".modelguard-aa11.part"]);
    expect((await readdir(blobs)).sort()).toEqual([".modelguard-bb22.part", "0".repeat(64), "other.part"]);
    expect(await removeStaleParts(join(blobs, "missing"))).toEqual([]);
  });
});
