/**
 * modelguard as a dependency of a new app, the way the README's "Use it in your service" says:
 * `npm pack`, then in an empty app `npm i ./modelguard-*.tgz onnxruntime-node` with only
 * ONNXRUNTIME_NODE_INSTALL=skip (no .npmrc, none of this repository's npm settings), then the
 * README's snippet, type-checked with tsc against the installed package and run on the bundled
 * example models. Installs from the npm cache (--prefer-offline), so it needs no network once
 * `npm ci` ran here.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fillExampleCache } from "../../examples/example-cache.js";
import { makeKeys, tempDir } from "../helpers/fixtures.js";

const root = fileURLToPath(new URL("../../", import.meta.url));

/** The first ```ts block of a README section. */
export function readmeSnippet(heading: string): string {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf(`\n## ${heading}\n`));
  const match = /```ts\n([\s\S]*?)```/.exec(section.slice(0, section.indexOf("\n## ", 4)));
  if (!match) throw new Error(`no ts block under "## ${heading}" in README.md`);
  return match[1]!;
}

/** The environment of a user's shell: none of the npm_* settings `npm test` passes down (they hold this repository's .npmrc). */
function userEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== "ONNXRUNTIME_NODE_INSTALL"));
  return { ...env, ...extra };
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv) {
  return spawnSync(cmd, args, { cwd, env, encoding: "utf8", timeout: 240_000 });
}

describe("installed from npm pack into a new app", () => {
  let work: string;
  let app: string;
  let install: ReturnType<typeof run>;

  beforeAll(async () => {
    work = await tempDir("mg-install-");
    app = join(work, "app");
    mkdirSync(join(app, "keys"), { recursive: true });
    // --ignore-scripts: global-setup built dist/ already, and prepack's clean rebuild would pull it
    // from under the tests running beside this one.
    execFileSync("npm", ["pack", "--ignore-scripts", "--pack-destination", work, "--loglevel", "error"], { cwd: root, env: userEnv({}) });
    const tarball = readdirSync(work).find((f) => /^modelguard-.*\.tgz$/.test(f))!;
    const ortVersion = (JSON.parse(readFileSync(join(root, "node_modules/onnxruntime-node/package.json"), "utf8")) as { version: string }).version;
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", version: "1.0.0", private: true, type: "module" }, null, 2));
    install = run("npm", ["i", `../${tarball}`, `onnxruntime-node@${ortVersion}`, "--prefer-offline", "--no-audit", "--no-fund"], app, userEnv({ ONNXRUNTIME_NODE_INSTALL: "skip" }));
  }, 300_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("installs with only ONNXRUNTIME_NODE_INSTALL=skip, one onnxruntime-node, without npm warning about config", () => {
    expect(install.stderr).not.toMatch(/npm error|Unknown (project|user) config/);
    expect(install.status).toBe(0);
    const ls = run("npm", ["ls", "onnxruntime-node", "--all", "--parseable"], app, userEnv({}));
    expect(ls.stdout.trim().split("\n")).toEqual([join(app, "node_modules", "onnxruntime-node")]);
    expect(run("npx", ["--no-install", "modelguard", "--version"], app, userEnv({})).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("type-checks the README's service snippet against the installed package, and runs it", async () => {
    expect(install.status).toBe(0);
    writeFileSync(join(app, "server.ts"), readmeSnippet("Use it in your service"));
    writeFileSync(
      join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          outDir: "out",
          types: ["node"],
          typeRoots: [join(root, "node_modules/@types")],
        },
        files: ["server.ts"],
      }),
    );
    const tsc = run(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"], app, userEnv({}));
    expect(tsc.stdout + tsc.stderr).toBe("");
    expect(tsc.status).toBe(0);

    const cache = join(work, "hub");
    await fillExampleCache(cache);
    copyFileSync(join(root, "examples/models.lock.json"), join(app, "models.lock.json"));
    copyFileSync(join(root, "examples/keys/cosign.pub"), join(app, "keys/cosign.pub"));
    const env = userEnv({ HF_HUB_CACHE: cache, HF_HUB_OFFLINE: "1" });
    const ok = run(process.execPath, ["out/server.js"], app, env);
    expect(ok.stderr).toBe("");
    expect(ok.stdout).toMatch(/^probabilities: 0\.53583\d* 0\.12759\d* 0\.33657\d*\n$/);
    expect(ok.status).toBe(0);

    // The error path of the snippet: another key signed nothing here, so it refuses to start.
    const stranger = await makeKeys(work, "stranger");
    copyFileSync(stranger.publicPath, join(app, "keys/cosign.pub"));
    const refused = run(process.execPath, ["out/server.js"], app, env);
    expect(refused.stdout).toBe("");
    expect(refused.stderr).toMatch(/^not starting: \[UNTRUSTED_SIGNER\] .*tiny-classifier/m);
    expect(refused.status).toBe(1);
  }, 120_000);
});
