/**
 * What a VerifiedModel's readVerified hands an adapter lives as long as the load: a file over the
 * guard's in-memory limit (64 MiB) is read from a private verified copy, which is removed when
 * the adapter's create returns or throws, not at guard.close(); reads after that fail closed.
 */
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ModelGuard } from "../../src/guard/guard.js";
import { onnxruntime } from "../../src/runtimes/onnxruntime/onnxruntime-adapter.js";
import type { RuntimeAdapter, VerifiedBytes, VerifiedModel } from "../../src/runtimes/runtime-adapter.js";
import { makeCachedModels, tempDir } from "../helpers/fixtures.js";

const LARGE = "weights.bin";
// One byte over the guard's in-memory limit: read through a private verified copy.
const large = Buffer.alloc(64 * 2 ** 20 + 1, 7);
large.write("head", 0);

let copyDir: string;
let guard: ModelGuard;
let dir: string;

beforeAll(async () => {
  const made = await makeCachedModels({ m: { repo: "org/m", files: { [LARGE]: large, "small.txt": Buffer.from("small") } } });
  dir = made.dir;
  copyDir = await tempDir("mg-read-verified-copies-");
  guard = await ModelGuard.open({ lockfile: made.lockfilePath, cacheDir: made.cacheDir, allowUnsigned: true, offline: true, copyDir });
});
afterAll(async () => {
  await guard?.close();
  await rm(copyDir, { recursive: true, force: true });
  await rm(dir, { recursive: true, force: true });
});

/** Copies of the large file left in the copy dir (every load's own folder, inside our process's). */
async function copiesLeft(): Promise<string[]> {
  return (await readdir(copyDir, { recursive: true })).filter((p) => p.endsWith(LARGE)).map((p) => join(copyDir, p));
}

/** An adapter whose create runs `body` on the model and keeps what it was handed. */
function adapter(body: (model: VerifiedModel) => Promise<string>): RuntimeAdapter<string, unknown> {
  return {
    ...(onnxruntime as unknown as RuntimeAdapter<string, unknown>),
    entryFile: () => LARGE,
    create: async (model) => ({ session: await body(model), files: [] }),
    release: async () => undefined,
  };
}

describe("VerifiedModel.readVerified", () => {
  it("reads a large file from a copy that is gone once the load returns; later reads fail closed", async () => {
    let kept: VerifiedBytes | undefined;
    let kept2: VerifiedBytes | undefined;
    let model: VerifiedModel | undefined;
    let during: string[] = [];
    const { session } = await guard.load(
      adapter(async (m) => {
        model = m;
        kept = await m.readVerified(LARGE);
        const head = Buffer.from(await kept.read(0, 4)).toString();
        during = await copiesLeft();
        kept2 = await m.readVerified(LARGE); // asked for, never read: nothing is copied for it
        return head;
      }),
      "m",
    );
    expect(session).toBe("head");
    expect(during).toHaveLength(1);
    expect(await copiesLeft()).toEqual([]);
    await expect(kept!.read(0, 4)).rejects.toMatchObject({ code: "USAGE", file: LARGE });
    await expect(kept2!.read(0, 4)).rejects.toMatchObject({ code: "USAGE", file: LARGE });
    await expect(model!.readVerified(LARGE)).rejects.toMatchObject({ code: "USAGE", file: LARGE });
    await expect(model!.readVerified("small.txt")).rejects.toMatchObject({ code: "USAGE" });
    expect(await copiesLeft()).toEqual([]);
  });

  it("releases the copy when create throws, and waits for a read in flight before removing it", async () => {
    let kept: VerifiedBytes | undefined;
    let inFlight: Promise<Uint8Array> | undefined;
    await expect(
      guard.load(
        adapter(async (m) => {
          kept = await m.readVerified(LARGE);
          await kept.read(0, 1);
          // A read still running when create fails: it completes from the copy, then the copy goes.
          inFlight = kept.read(large.length - 1, 1);
          throw new Error("adapter failed");
        }),
        "m",
      ),
    ).rejects.toThrow("adapter failed");
    expect([...(await inFlight!)]).toEqual([7]);
    expect(await copiesLeft()).toEqual([]);
    await expect(kept!.read(0, 1)).rejects.toMatchObject({ code: "USAGE" });
  });
});
