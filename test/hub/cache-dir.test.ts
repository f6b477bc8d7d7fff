import { mkdir, rename, rm } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { getHFHubCachePath } from "@huggingface/hub";
import { afterEach, describe, expect, it } from "vitest";
import { resolveCacheDir } from "../../src/hub/cache-layout.js";
import { makeCachedModels } from "../helpers/fixtures.js";
import { runCli } from "../helpers/run-cli.js";

const VARIABLES = ["HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME"] as const;
const none = Object.fromEntries(VARIABLES.map((v) => [v, undefined])) as NodeJS.ProcessEnv;

/** What @huggingface/hub itself resolves for this environment (it reads process.env). */
function theirs(env: NodeJS.ProcessEnv): string {
  const saved = Object.fromEntries(VARIABLES.map((v) => [v, process.env[v]]));
  try {
    for (const v of VARIABLES) {
      if (env[v] === undefined) delete process.env[v];
      else process.env[v] = env[v];
    }
    return getHFHubCachePath();
  } finally {
    for (const v of VARIABLES) {
      if (saved[v] === undefined) delete process.env[v];
      else process.env[v] = saved[v];
    }
  }
}

describe("the cache folder, resolved as huggingface_hub and @huggingface/hub resolve it", () => {
  const cases: Array<[string, NodeJS.ProcessEnv, string]> = [
    ["nothing set: ~/.cache/huggingface/hub", {}, join(homedir(), ".cache", "huggingface", "hub")],
    ["XDG_CACHE_HOME", { XDG_CACHE_HOME: "/xdg" }, "/xdg/huggingface/hub"],
    ["HF_HOME over XDG_CACHE_HOME", { HF_HOME: "/hfhome", XDG_CACHE_HOME: "/xdg" }, "/hfhome/hub"],
    ["HUGGINGFACE_HUB_CACHE over HF_HOME", { HUGGINGFACE_HUB_CACHE: "/legacy", HF_HOME: "/hfhome", XDG_CACHE_HOME: "/xdg" }, "/legacy"],
    ["HF_HUB_CACHE over everything", { HF_HUB_CACHE: "/new", HUGGINGFACE_HUB_CACHE: "/legacy", HF_HOME: "/hfhome", XDG_CACHE_HOME: "/xdg" }, "/new"],
  ];
  for (const [what, env, expected] of cases) {
    it(`${what}, the same folder @huggingface/hub uses`, () => {
      expect(resolveCacheDir(undefined, { ...none, ...env })).toBe(expected);
      expect(theirs({ ...none, ...env })).toBe(expected);
    });
  }

  it("--cache-dir wins over every variable", () => {
    expect(resolveCacheDir("/flag", { HF_HUB_CACHE: "/new", HF_HOME: "/hfhome" })).toBe("/flag");
  });

  it("expands a leading ~ as huggingface_hub does, and treats an empty variable as unset", () => {
    expect(resolveCacheDir(undefined, { HF_HOME: "~/hf" })).toBe(join(homedir(), "hf", "hub"));
    expect(resolveCacheDir(undefined, { HF_HUB_CACHE: "", XDG_CACHE_HOME: "/xdg" })).toBe("/xdg/huggingface/hub");
    expect(resolveCacheDir(undefined, { XDG_CACHE_HOME: "" })).toBe(join(homedir(), ".cache", "huggingface", "hub"));
  });
});

describe("the CLI reads the cache each variable names", () => {
  let made: Awaited<ReturnType<typeof makeCachedModels>> | undefined;
  afterEach(async () => {
    if (made) await rm(made.dir, { recursive: true, force: true });
    made = undefined;
  });
  const layouts: Array<[string, (root: string) => { env: NodeJS.ProcessEnv; cache: string }]> = [
    ["HF_HUB_CACHE", (root) => ({ env: { HF_HUB_CACHE: join(root, "c") }, cache: join(root, "c") })],
    ["HUGGINGFACE_HUB_CACHE", (root) => ({ env: { HUGGINGFACE_HUB_CACHE: join(root, "c") }, cache: join(root, "c") })],
    ["HF_HOME", (root) => ({ env: { HF_HOME: join(root, "home") }, cache: join(root, "home", "hub") })],
    ["XDG_CACHE_HOME", (root) => ({ env: { XDG_CACHE_HOME: join(root, "xdg") }, cache: join(root, "xdg", "huggingface", "hub") })],
  ];
  for (const [variable, layout] of layouts) {
    it(`verify finds the cached model through ${variable} alone`, async () => {
      made = await makeCachedModels({ m: { repo: "org/m", files: { "config.json": new TextEncoder().encode("{}") } } });
      const { env, cache } = layout(made.dir);
      await mkdir(join(cache, ".."), { recursive: true });
      await rename(made.cacheDir, cache);
      const cleared = Object.fromEntries(VARIABLES.map((v) => [v, ""]));
      const res = await runCli(["--lockfile", made.lockfilePath, "verify", "--allow-unsigned"], { env: { ...cleared, ...env } });
      expect(res.stderr).toMatch(/ok m: 1 file,/);
      expect(res.code).toBe(0);
    });
  }
});
