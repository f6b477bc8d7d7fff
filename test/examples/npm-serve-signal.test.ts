/**
 * `npm run serve` under a process manager: a SIGTERM to npm (what `kill`, systemd or a container
 * runtime sends to the process it started) must reach the service, which then shuts down as the
 * README says (port closed, exit 0), and npm exits with it: no service left running as an orphan.
 *
 * Runs the real `npm run serve` (it builds first) in a copy of the sources with this checkout's
 * node_modules linked in, so its build never rewrites the dist/ the other tests are reading.
 */
import { spawn } from "node:child_process";
import { cpSync, mkdirSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { tempDir } from "../helpers/fixtures.js";
import { portAccepts } from "../helpers/port-accepts.js";

const root = join(import.meta.dirname, "../..");

/** The pids below `pid`: its children, their children, and so on (Linux /proc). */
async function descendantsOf(pid: number): Promise<number[]> {
  const { readdir, readFile } = await import("node:fs/promises");
  const out: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    // pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (ppid === pid) out.push(Number(entry));
  }
  for (const child of [...out]) out.push(...(await descendantsOf(child)));
  return out;
}

/** Whether `pid` still runs a few seconds on (a process that just exited may not be reaped yet). */
async function stillRunning(pid: number): Promise<boolean> {
  const { readFile } = await import("node:fs/promises");
  for (let i = 0; i < 50; i++) {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
    if (stat === "" || stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

describe("npm run serve", () => {
  let work: string | undefined;
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("passes a SIGTERM sent to npm on to the service, which stops cleanly; nothing is left running", async () => {
    work = await tempDir("mg-npm-serve-");
    const copy = join(work, "modelguard");
    mkdirSync(copy);
    for (const entry of ["package.json", "package-lock.json", ".npmrc", "tsconfig.json", "tsconfig.build.json", "bin", "src", "examples", "local-hub", "test/helpers"]) {
      cpSync(join(root, entry), join(copy, entry), { recursive: true, filter: (from) => !from.includes(".hf-cache") });
    }
    symlinkSync(join(root, "node_modules"), join(copy, "node_modules"));
    const env = {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_|HF_|MODELGUARD_)/i.test(k))),
      MODELGUARD_EXAMPLE_CACHE: join(work, "example-cache"),
      HOST: "127.0.0.1",
    };
    const npm = spawn("npm", ["run", "serve", "--", "--port", "0"], { cwd: copy, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    npm.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    npm.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => npm.once("exit", (code) => resolve(code)));
    try {
      const port = await new Promise<number>((resolve, reject) => {
        npm.stdout.on("data", () => {
          const m = /^listening on http:\/\/127\.0\.0\.1:(\d+)$/m.exec(stdout);
          if (m) resolve(Number(m[1]));
        });
        void exited.then((code) => reject(new Error(`npm run serve exited ${code} before listening:\n${stderr}`)));
      });
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
      const below = await descendantsOf(npm.pid!);
      expect(below.length).toBeGreaterThan(0);

      npm.kill("SIGTERM");
      expect(await exited).toBe(0);
      expect(stderr).toMatch(/SIGTERM: stopping/);
      // Whatever npm started is gone, and the port with it.
      for (const pid of below) expect(await stillRunning(pid), `pid ${pid} outlived npm`).toBe(false);
      expect(await portAccepts(port)).toBe(false);
    } finally {
      for (const pid of [npm.pid!, ...(await descendantsOf(npm.pid!))]) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
  }, 180_000);
});
