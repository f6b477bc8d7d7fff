import { readFile } from "node:fs/promises";
import { afterAll, describe, expect, it } from "vitest";
import { buildAddModel } from "../helpers/build-model.js";
import { runCli } from "../helpers/run-cli.js";
import { startHubEnv, type HubTestEnv } from "./hub-fixture.js";

let env: HubTestEnv;
afterAll(async () => {
  await env?.hub.close();
});

describe("concurrent writers of one lockfile", () => {
  it("four adds at once all exit 0 and all four entries are in the lockfile", async () => {
    env = await startHubEnv();
    const names = ["a", "b", "c", "d"];
    const graph = buildAddModel({ weights: Float32Array.from([1, 2]), dims: [2] }).model;
    for (const n of names) await env.hub.createRepo(`org/${n}`, { files: { "config.json": Buffer.from(`{"n":"${n}"}\n`), "onnx/model.onnx": graph } });
    const runs = await Promise.all(names.map((n) => runCli([...env.g, "add", `org/${n}`], { env: env.env })));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    expect(Object.keys(JSON.parse(await readFile(env.lockfilePath, "utf8")).models).sort()).toEqual(names);
  });
});
