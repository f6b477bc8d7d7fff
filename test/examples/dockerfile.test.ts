/**
 * examples/deploy/Dockerfile, replayed without a container engine (this machine has none): its
 * instructions run in order in an empty folder standing in for the image's WORKDIR, COPY taking
 * from the repository as the build context (minus .dockerignore), RUN through `sh -c` with the
 * ENV so far, then ENTRYPOINT + CMD with the image's /config and /models mounted from temp
 * folders. A build step that needs a file not yet copied fails here as it fails in `docker build`.
 * The one difference: `npm ci` installs from the npm cache (--prefer-offline through the
 * environment), and `npm link` into a temp prefix instead of the image's global one.
 */
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import picomatch from "picomatch";
import { afterAll, describe, expect, it } from "vitest";
import { fillExampleCache } from "../../examples/example-cache.js";
import { tempDir } from "../helpers/fixtures.js";

const root = fileURLToPath(new URL("../../", import.meta.url));

interface Instruction {
  op: string;
  args: string;
}

export function parseDockerfile(text: string): Instruction[] {
  const lines = text.replace(/\\\n/g, " ").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  return lines.map((l) => {
    const m = /^(\w+)\s+(.*)$/.exec(l);
    if (!m) throw new Error(`cannot read Dockerfile line: ${l}`);
    return { op: m[1]!.toUpperCase(), args: m[2]! };
  });
}

function dockerignore(): (path: string) => boolean {
  const file = join(root, ".dockerignore");
  const patterns = existsSync(file) ? readFileSync(file, "utf8").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#")) : [];
  const matchers = patterns.map((p) => picomatch(p.replace(/^\/+|\/+$/g, ""), { dot: true }));
  // A pattern that matches a folder excludes everything under it, as Docker's does.
  return (path) => path.split("/").some((_, i, parts) => matchers.some((m) => m(parts.slice(0, i + 1).join("/"))));
}

describe("examples/deploy/Dockerfile, replayed step by step", () => {
  let work: string | undefined;
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("builds from its COPY and RUN steps in order, and its entrypoint starts the gated service", async () => {
    work = await tempDir("mg-docker-");
    const app = join(work, "app");
    const prefix = join(work, "global");
    const steps = parseDockerfile(readFileSync(join(root, "examples/deploy/Dockerfile"), "utf8"));
    const ignored = dockerignore();
    let workdir = "/";
    const imageEnv: Record<string, string> = {};
    let entrypoint: string[] = [];
    let cmd: string[] = [];
    const hostPath = (p: string) => (p.startsWith("/app") ? join(app, p.slice(4)) : p);
    const baseEnv = {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k))),
      PATH: `${join(prefix, "bin")}:${process.env.PATH}`,
      npm_config_prefix: prefix,
      npm_config_prefer_offline: "true",
    };
    for (const { op, args } of steps) {
      if (op === "FROM") {
        expect(args).toMatch(/^node:(20|22|24)-/);
      } else if (op === "WORKDIR") {
        workdir = args;
        mkdirSync(hostPath(workdir), { recursive: true });
      } else if (op === "COPY") {
        const parts = args.split(/\s+/);
        const dest = parts.pop()!;
        const destDir = hostPath(dest.startsWith("/") ? dest : join(workdir, dest));
        for (const src of parts) {
          if (src === ".") {
            cpSync(root, destDir, { recursive: true, filter: (from) => from === root.replace(/\/$/, "") || !ignored(relative(root, from)) });
          } else {
            expect(existsSync(join(root, src)), `COPY ${src}: not in the build context`).toBe(true);
            cpSync(join(root, src), join(destDir, src.split("/").pop()!), { recursive: true });
          }
        }
      } else if (op === "RUN") {
        const res = spawnSync("sh", ["-c", args], { cwd: hostPath(workdir), env: { ...baseEnv, ...imageEnv }, encoding: "utf8", timeout: 240_000 });
        expect(res.status, `RUN ${args}\n${res.stdout}\n${res.stderr}`).toBe(0);
      } else if (op === "ENV") {
        for (const m of args.matchAll(/(\w+)=(\S+)/g)) imageEnv[m[1]!] = m[2]!;
      } else if (op === "ENTRYPOINT") {
        entrypoint = JSON.parse(args) as string[];
      } else if (op === "CMD") {
        cmd = JSON.parse(args) as string[];
      } else {
        throw new Error(`the replay does not know ${op}; teach it`);
      }
    }
    // The image holds what the service needs, built from the sources copied in.
    expect(existsSync(join(app, "dist/index.js"))).toBe(true);
    expect(existsSync(join(prefix, "bin/modelguard"))).toBe(true);
    expect(statSync(hostPath(entrypoint[0]!)).mode & 0o111).not.toBe(0);

    // docker run -v config:/config -v models:/models: the bundled example models, its key.
    const mounts = { "/config": join(work, "config"), "/models": join(work, "models") };
    mkdirSync(mounts["/config"], { recursive: true });
    cpSync(join(root, "examples/models.lock.json"), join(mounts["/config"], "models.lock.json"));
    cpSync(join(root, "examples/keys/cosign.pub"), join(mounts["/config"], "cosign.pub"));
    await fillExampleCache(mounts["/models"]);
    const mount = (s: string) => s.replace(/^\/(config|models)(?=\/|$)/, (m) => mounts[m as keyof typeof mounts]);
    const env = {
      ...baseEnv,
      ...Object.fromEntries(Object.entries(imageEnv).map(([k, v]) => [k, mount(v)])),
      // docker run -e: the entrypoint's defaults name /config, which is a temp folder here.
      MODELGUARD_LOCKFILE: join(mounts["/config"], "models.lock.json"),
      MODELGUARD_TRUSTED_KEYS: join(mounts["/config"], "cosign.pub"),
      PORT: "0",
      HOST: "127.0.0.1",
    };
    const [program, ...rest] = [...entrypoint, ...cmd].map((a) => mount(hostPath(a)));
    const child = spawn(program!, rest, { cwd: hostPath(workdir), env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on("data", (d: Buffer) => {
        stdout += d.toString();
        const m = /^listening on (http:\/\/\S+)\n/.exec(stdout);
        if (m) resolve(m[1]!);
      });
      void exited.then((code) => reject(new Error(`the container exited ${code} before listening:\n${stderr}`)));
    });
    expect(stderr).toMatch(/ok tiny-classifier: /); // the gate ran first, in the entrypoint
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  }, 300_000);
});
