/** Model names and file paths that are JavaScript prototype keys, through the real CLI. */
import { readFile, writeFile } from "node:fs/promises";
import { afterAll, describe, expect, it } from "vitest";
import { buildAddModel } from "../helpers/build-model.js";
import { makeCachedModels, makeKeys } from "../helpers/fixtures.js";
import { runCli, type CliResult } from "../helpers/run-cli.js";
import { startHubEnv, type HubTestEnv } from "./hub-fixture.js";

let env: HubTestEnv;
afterAll(async () => {
  await env?.hub.close();
});

function expectClean(run: CliResult, code: number): void {
  expect(run.stderr).not.toMatch(/internal error|\n\s+at /);
  expect(run.code, run.stderr).toBe(code);
}

describe("prototype keys are names like any other", () => {
  it("pull and add take them as model names, or refuse them cleanly", async () => {
    env = await startHubEnv();
    await env.hub.createRepo("org/toString", { files: { "config.json": Buffer.from("{}\n"), "onnx/model.onnx": buildAddModel({ weights: Float32Array.from([1, 2]), dims: [2] }).model } });
    const run = (...args: string[]) => runCli([...env.g, ...args], { env: env.env });
    expectClean(await run("pull", "toString"), 2);
    expectClean(await run("add", "org/toString"), 0);
    expectClean(await run("add", "org/toString", "--name", "constructor"), 0);
    const proto = await run("add", "org/toString", "--name", "__proto__");
    expectClean(proto, 2);
    expect(proto.stderr).toMatch(/"__proto__" is not a valid model name/);
    expect(Object.keys(JSON.parse(await readFile(env.lockfilePath, "utf8")).models).sort()).toEqual(["constructor", "toString"]);
  });

  it("sign keeps a file named __proto__ and a top-level __proto__ field, and what it wrote verifies", async () => {
    const made = await makeCachedModels({ constructor: { repo: "org/m", files: { ["__proto__"]: Buffer.from("p"), "config.json": Buffer.from("{}") } } });
    const text = (await readFile(made.lockfilePath, "utf8")).replace('"lockfileVersion"', '"__proto__": { "note": "kept" }, "lockfileVersion"');
    await writeFile(made.lockfilePath, text);
    const keys = await makeKeys(made.dir, "operator");
    const run = (...args: string[]) => runCli(["--lockfile", made.lockfilePath, "--cache-dir", made.cacheDir, ...args]);
    expectClean(await run("sign", "--key", keys.privatePath), 0);
    const lock = JSON.parse(await readFile(made.lockfilePath, "utf8"));
    expect(Object.keys(lock)).toContain("__proto__");
    expect(Object.keys(lock.models.constructor.files).sort()).toEqual(["__proto__", "config.json"]);
    expectClean(await run("verify", "--key", keys.publicPath), 0);
  });
});
