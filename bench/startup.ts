/**
 * `npm run bench:startup`: wall time of CLI commands a service runs before it starts, each a fresh
 * process timed from spawn to exit with process.hrtime (hyperfine-style, no shell), commands
 * interleaved, after a warm-up:
 *
 *   - `node -e 0`: Node's own start-up, the floor under every command (reference);
 *   - `modelguard --version`;
 *   - `modelguard verify --key` of a tiny cached, signed model (the gate).
 *
 * Targets: --version <= 150 ms, verify of a tiny model <= 400 ms (medians).
 *
 *   BENCH_STARTUP_RUNS (default 20)
 */
import { spawnSync } from "node:child_process";
import { BenchCache, cli, envNumber, rotated, writeSingleFileModel } from "./fixtures.js";
import { heading, median, millis, spread, table, verdict, writeReadmeSection } from "./report.js";

const DEFAULT_RUNS = 20;
const runs = Math.round(envNumber("BENCH_STARTUP_RUNS", DEFAULT_RUNS));

function timed(args: string[]): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { stdio: ["ignore", "ignore", "inherit"] });
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  if (result.status !== 0) throw new Error(`node ${args.join(" ")} exited ${result.status}`);
  return wall;
}

const cache = await BenchCache.create("modelguard-bench-startup-");
try {
  // The same MatMul model as bench:load, at 2 × 3 floats: a few hundred bytes.
  await cache.addFile("tiny", "bench/tiny", "onnx/model.onnx", (sink) => writeSingleFileModel(sink, { kind: "matmul", rows: 2, columns: 3 }));
  const { lockfilePath, publicKeyPath } = await cache.lockAndSign();

  const NODE = "`node -e 0` (Node's own start-up, reference)";
  const VERSION = "`modelguard --version`";
  const VERIFY = "`modelguard verify --key` (tiny cached model, signed)";
  const commands: Record<string, string[]> = {
    [NODE]: ["-e", "0"],
    [VERSION]: [cli, "--version"],
    [VERIFY]: [cli, "--lockfile", lockfilePath, "--cache-dir", cache.cacheDir, "--quiet", "verify", "--key", publicKeyPath],
  };
  const targets: Record<string, number> = { [VERSION]: 0.15, [VERIFY]: 0.4 };
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(commands).map((c) => [c, []]));
  for (let run = 0; run <= runs; run++) {
    for (const name of rotated(Object.keys(commands), run)) {
      const t = timed(commands[name]!);
      if (run > 0) times[name]!.push(t); // run 0 warms the page cache
    }
  }
  const nodeFloor = median(times[NODE]!);
  const rows = Object.entries(times).map(([name, ts]) => {
    const m = median(ts);
    const target = targets[name];
    return [name, `${millis(m)} ms`, `${spread(ts, millis)} ms`, `${millis(m - nodeFloor)} ms`, target === undefined ? "" : `<= ${millis(target)} ms: ${verdict(m <= target)}`];
  });
  const missed = Object.entries(targets).filter(([name, target]) => median(times[name]!) > target);
  const lines = [
    heading(`each command a fresh process, spawn to exit (process.hrtime), ${runs} runs each after a warm-up, commands interleaved, median.`, runs < DEFAULT_RUNS ? `BENCH_STARTUP_RUNS=${runs}` : undefined, cache.dir),
    "",
    table(["command", "median", "range", "above Node's start-up", "target"], rows),
  ];
  if (missed.length > 0) {
    lines.push(
      "",
      missed
        .map(([name]) => `${name} missed its target: Node itself takes ${millis(nodeFloor)} ms of its ${millis(median(times[name]!))} ms; the other ${millis(median(times[name]!) - nodeFloor)} ms are modelguard's module loading and work (profile with \`node --cpu-prof bin/modelguard.js …\`).`)
        .join("\n"),
    );
  }
  const markdown = lines.join("\n");
  console.log(markdown);
  await writeReadmeSection("startup", markdown);
  for (const [name] of missed) console.error(`target missed: ${name}`);
} finally {
  await cache.remove();
}
