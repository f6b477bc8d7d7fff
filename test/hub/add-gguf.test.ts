import { readFile, stat } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/digest/sha256.js";
import { tinyLlamaGguf, tinyLlamaLora, tinyLlamaSplitGguf } from "../helpers/tiny-llama.js";
import { runCli } from "../helpers/run-cli.js";
import { startHubEnv, type HubTestEnv } from "./hub-fixture.js";

let env: HubTestEnv;
afterEach(async () => {
  await env?.hub.close();
});

async function lock(e: HubTestEnv) {
  return JSON.parse(await readFile(e.lockfilePath, "utf8"));
}

/** A repo laid out like the GGUF repos on the Hub: one file per quantization, a split one in a folder, a projector, a LoRA. */
function ggufRepoFiles(): Record<string, Uint8Array> {
  const split = Object.fromEntries(Object.entries(tinyLlamaSplitGguf("tiny-Q6_K")).map(([name, bytes]) => [`Q6_K/${name}`, bytes]));
  return {
    "README.md": Buffer.from("# tiny GGUF\n"),
    "tiny-Q8_0.gguf": tinyLlamaGguf({ seed: 8 }),
    "tiny-F32.gguf": tinyLlamaGguf({ seed: 32 }),
    ...split,
    "mmproj-tiny-f16.gguf": tinyLlamaGguf({ seed: 99 }),
    "lora/no-period.gguf": tinyLlamaLora(),
  };
}

describe("modelguard add of a GGUF repo", () => {
  it("refuses to choose among several GGUF models, listing them; a quantization tag or a glob chooses", async () => {
    env = await startHubEnv();
    const files = ggufRepoFiles();
    const sha = await env.hub.createRepo("org/Tiny-GGUF", { files });

    const none = await runCli([...env.g, "add", "org/Tiny-GGUF"], { env: env.env });
    expect(none.code).toBe(2);
    // File names cannot tell a LoRA adapter from a model, so it is listed too; the projector is not.
    expect(none.stderr).toContain(
      "org/Tiny-GGUF holds 4 GGUF models; choose one with a quantization tag (org/Tiny-GGUF:Q4_K_M) or --include:\n" +
        "  Q6_K/tiny-Q6_K-00001-of-00003.gguf (3 parts)\n  lora/no-period.gguf\n  tiny-F32.gguf\n  tiny-Q8_0.gguf\n",
    );
    await expect(stat(env.lockfilePath)).rejects.toMatchObject({ code: "ENOENT" });

    // By tag, as node-llama-cpp names models (hf: prefix and any case accepted).
    expect((await runCli([...env.g, "add", "org/Tiny-GGUF:Q8_0", "--name", "q8"], { env: env.env })).code).toBe(0);
    expect((await runCli([...env.g, "add", "hf:org/Tiny-GGUF:q6_k", "--name", "q6"], { env: env.env })).code).toBe(0);
    // By glob: one part of a split model brings every part; a LoRA adapter is recorded as one.
    const byGlob = await runCli([...env.g, "add", "org/Tiny-GGUF", "--name", "f32", "--include", "*F32*.gguf", "--include", "lora/*.gguf"], { env: env.env });
    expect(byGlob.code).toBe(0);
    expect((await runCli([...env.g, "add", "org/Tiny-GGUF", "--name", "part", "--include", "Q6_K/*-00002-of-*.gguf"], { env: env.env })).code).toBe(0);

    const { models } = await lock(env);
    const parts = ["Q6_K/tiny-Q6_K-00001-of-00003.gguf", "Q6_K/tiny-Q6_K-00002-of-00003.gguf", "Q6_K/tiny-Q6_K-00003-of-00003.gguf"];
    expect(models.q8).toMatchObject({ repo: "org/Tiny-GGUF", revision: sha, ref: "main", gguf: { entry: "tiny-Q8_0.gguf" } });
    expect(models.q8.files).toEqual({ "tiny-Q8_0.gguf": { size: files["tiny-Q8_0.gguf"]!.length, sha256: sha256Hex(files["tiny-Q8_0.gguf"]!) } });
    expect(Object.keys(models.q6.files)).toEqual(parts);
    expect(models.q6.gguf).toEqual({ entry: parts[0], parts });
    expect(Object.keys(models.f32.files)).toEqual(["lora/no-period.gguf", "tiny-F32.gguf"]);
    expect(models.f32.gguf).toEqual({ entry: "tiny-F32.gguf", loras: ["lora/no-period.gguf"] });
    expect(Object.keys(models.part.files)).toEqual(parts);

    const unknown = await runCli([...env.g, "add", "org/Tiny-GGUF:Q2_K"], { env: env.env });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("no GGUF model of org/Tiny-GGUF has the quantization tag Q2_K; its GGUF models:");
  });

  it("takes a repo's only GGUF model by default, and refuses a split model the repo lacks a part of", async () => {
    env = await startHubEnv();
    const one = { "README.md": Buffer.from("# one\n"), "model.gguf": tinyLlamaGguf() };
    await env.hub.createRepo("org/One-GGUF", { files: one });
    const res = await runCli([...env.g, "add", "org/One-GGUF"], { env: env.env });
    expect(res.code).toBe(0);
    expect((await lock(env)).models["One-GGUF"]).toMatchObject({ files: { "model.gguf": { size: one["model.gguf"].length } }, gguf: { entry: "model.gguf" } });

    const split = tinyLlamaSplitGguf("big");
    delete split["big-00002-of-00003.gguf"];
    await env.hub.createRepo("org/Broken-GGUF", { files: split });
    const broken = await runCli([...env.g, "add", "org/Broken-GGUF"], { env: env.env });
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain("org/Broken-GGUF lacks part 2 of 3 of the split model big-00001-of-00003.gguf (big-00002-of-00003.gguf)");
  });
});
