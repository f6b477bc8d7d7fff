/**
 * `npm run bench:verify`: verification throughput over several large cached files, in one run,
 * paired (each method once per run, rotating order), page cache warm:
 *
 *   - `guard.verifyAll()` in this process (guard opened before the clock starts);
 *   - `modelguard verify --key` as a subprocess (includes its start-up);
 *   - Node's SHA-256 on one core of the same bytes already in memory (no I/O): the target's baseline;
 *   - Node's SHA-256 on one core: one `createHash` per file, files in turn, 8 MiB reads, this process;
 *   - `openssl dgst -sha256` over the same files (if openssl is installed).
 *
 * The files are split over two signed models. verifyAll runs warm: the process's hash pool is
 * started by the warm-up run and kept between runs. Target: verifyAll >= 1.8x the throughput of
 * single-core Node hashing the bytes in memory (median of the paired ratios) on 2 cores.
 *
 *   BENCH_VERIFY_FILES (default 2)   BENCH_VERIFY_FILE_BYTES (default 512 MiB)   BENCH_RUNS (default 5)
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { open, readFile, rm } from "node:fs/promises";
import { cpus } from "node:os";
import { join } from "node:path";
import { ModelGuard } from "modelguard";
import { BenchCache, cli, collectGarbage, envNumber, rotated, writeRandomFile } from "./fixtures.js";
import { gb, heading, median, mib, seconds, spread, table, verdict, writeReadmeSection, hr, since } from "./report.js";

const DEFAULT_FILES = 2;
const DEFAULT_FILE_BYTES = 512 * 2 ** 20;
const files = Math.round(envNumber("BENCH_VERIFY_FILES", DEFAULT_FILES));
const fileBytes = Math.round(envNumber("BENCH_VERIFY_FILE_BYTES", DEFAULT_FILE_BYTES));
const runs = Math.round(envNumber("BENCH_RUNS", 5));
const TARGET = 1.8;
const CHUNK = 8 * 2 ** 20;

interface Sample {
  wall: number;
  /** CPU seconds (user + system, all threads) of the process that did the work, when known. */
  cpu?: number;
}


async function inProcess(work: () => Promise<unknown>): Promise<Sample> {
  collectGarbage();
  const cpu = process.cpuUsage();
  const start = hr();
  await work();
  const wall = since(start);
  const used = process.cpuUsage(cpu);
  return { wall, cpu: (used.user + used.system) / 1e6 };
}

// GNU time, when present, reports the child's CPU time; the wall time is ours either way.
const gnuTime = existsSync("/usr/bin/time") && spawnSync("/usr/bin/time", ["-f", "%U", "true"]).status === 0 ? "/usr/bin/time" : undefined;

async function subprocess(command: string, args: string[], timesFile: string): Promise<Sample> {
  const [cmd, argv] = gnuTime ? [gnuTime, ["-f", "%U %S", "-o", timesFile, command, ...args]] : [command, args];
  const start = hr();
  const result = spawnSync(cmd, argv, { stdio: ["ignore", "ignore", "inherit"] });
  const wall = since(start);
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} exited ${result.status}`);
  if (!gnuTime) return { wall };
  const [user, system] = (await readFile(timesFile, "utf8")).trim().split("\n").at(-1)!.split(" ").map(Number);
  return { wall, cpu: user! + system! };
}

/** What a single core does: one hash per file, files one after another, read and hash in turn. */
async function nodeSingleCore(paths: string[]): Promise<void> {
  const chunk = Buffer.allocUnsafe(CHUNK);
  for (const path of paths) {
    const handle = await open(path, "r");
    try {
      const hash = createHash("sha256");
      for (;;) {
        const { bytesRead } = await handle.read(chunk, 0, CHUNK, null);
        if (bytesRead === 0) break;
        hash.update(chunk.subarray(0, bytesRead));
      }
      hash.digest("hex");
    } finally {
      await handle.close();
    }
  }
}

const hasOpenssl = spawnSync("openssl", ["version"]).status === 0;
const cache = await BenchCache.create("modelguard-bench-verify-");
try {
  console.error(`generating ${files} × ${gb(fileBytes)} files…`);
  const paths: string[] = [];
  for (let i = 0; i < files; i++) {
    const model = i % 2 === 0 ? "shards-a" : "shards-b";
    const name = `model-${String(i + 1).padStart(5, "0")}-of-${String(files).padStart(5, "0")}.safetensors`;
    paths.push(await cache.addFile(model, `bench/${model}`, name, (sink) => writeRandomFile(sink, fileBytes)));
  }
  const total = files * fileBytes;
  const { lockfilePath, publicKeyPath } = await cache.lockAndSign();
  const timesFile = join(cache.dir, "time.txt");

  const VERIFY_ALL = "`guard.verifyAll()` (in process)";
  const CLI = "`modelguard verify --key` (subprocess)";
  const MEMORY = "Node `createHash`, one core, the bytes already in memory";
  const NODE = "Node `createHash`, one core (files read in turn, in process)";
  const inMemory = await Promise.all(paths.map((p) => readFile(p)));
  const OPENSSL = "`openssl dgst -sha256 FILES` (subprocess)";
  const methods: Record<string, () => Promise<Sample>> = {
    [VERIFY_ALL]: async () => {
      const guard = await ModelGuard.open({ lockfile: lockfilePath, cacheDir: cache.cacheDir, trust: { keys: [publicKeyPath] } });
      return inProcess(() => guard.verifyAll());
    },
    [CLI]: () => subprocess(process.execPath, [cli, "--lockfile", lockfilePath, "--cache-dir", cache.cacheDir, "--quiet", "verify", "--key", publicKeyPath], timesFile),
    [MEMORY]: () =>
      inProcess(async () => {
        for (const bytes of inMemory) createHash("sha256").update(bytes).digest("hex");
      }),
    [NODE]: () => inProcess(() => nodeSingleCore(paths)),
    ...(hasOpenssl ? { [OPENSSL]: () => subprocess("openssl", ["dgst", "-sha256", ...paths], timesFile) } : {}),
  };
  const samples: Record<string, Sample[]> = Object.fromEntries(Object.keys(methods).map((m) => [m, []]));
  for (let run = 0; run <= runs; run++) {
    for (const name of rotated(Object.keys(methods), run)) {
      const s = await methods[name]!();
      if (run > 0) samples[name]!.push(s); // run 0 warms the page cache and the code
      console.error(`${run === 0 ? "warm-up" : `run ${run}`}: ${name}: ${seconds(s.wall)} s${s.cpu === undefined ? "" : ` (CPU ${seconds(s.cpu)} s)`}`);
    }
  }
  const node = samples[MEMORY]!;
  const speedup = (ss: Sample[]) => median(ss.map((s, i) => node[i]!.wall / s.wall));
  const coresBusy = (ss: Sample[]) => (ss.every((s) => s.cpu !== undefined) ? median(ss.map((s) => s.cpu! / s.wall)).toFixed(2) : "n/a");
  const rows = Object.entries(samples).map(([name, ss]) => {
    const m = median(ss.map((s) => s.wall));
    return [name, `${seconds(m)} s`, `${spread(ss.map((s) => s.wall), seconds)} s`, `${mib(total / m)} MiB/s`, coresBusy(ss), `${speedup(ss).toFixed(2)}x`];
  });
  const ratio = speedup(samples[VERIFY_ALL]!);
  const lines = [
    heading(
      `${files} files × ${gb(fileBytes)} (${gb(total)}) in two signed models, page cache warm, ${runs} paired runs after a warm-up (methods in rotating order), median.`,
      files * fileBytes < DEFAULT_FILES * DEFAULT_FILE_BYTES || runs < 5 ? `BENCH_VERIFY_FILES=${files}, BENCH_VERIFY_FILE_BYTES=${fileBytes}, BENCH_RUNS=${runs}` : undefined,
      cache.dir,
    ),
    "",
    table(["method", "median", "range", "throughput", "CPU / wall", "throughput vs one core in memory (median of paired ratios)"], rows),
    "",
    `**verifyAll / one-core Node SHA-256 of the bytes in memory = ${ratio.toFixed(2)}x** (target >= ${TARGET}x on ${cpus().length} cores: ${verdict(ratio >= TARGET)}).`,
  ];
  if (ratio < TARGET) {
    const busy = coresBusy(samples[VERIFY_ALL]!);
    lines.push(
      "",
      `verifyAll used ${busy} cores on average (CPU time / wall) for ${mib(total / median(samples[VERIFY_ALL]!.map((s) => s.wall)))} MiB/s, against ${mib(total / median(node.map((s) => s.wall)))} MiB/s for one core${
        Number(busy) < 1.3 ? ": the hashing was not spread over the cores" : ""
      }${total < DEFAULT_FILES * DEFAULT_FILE_BYTES ? " (at this small size, fixed costs such as starting worker threads and checking signatures weigh more)" : ""}.`,
    );
  }
  lines.push("", "CPU / wall: CPU time of all of the process's threads over wall time (subprocesses: GNU time's user + system).");
  const markdown = lines.join("\n");
  console.log(markdown);
  await writeReadmeSection("verify", markdown);
  if (ratio < TARGET) console.error(`target missed: verifyAll / one-core in-memory SHA-256 = ${ratio.toFixed(2)}x`);
  await rm(timesFile, { force: true });
} finally {
  await cache.remove();
}
