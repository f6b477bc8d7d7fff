import cliProgress from "cli-progress";
import type { GlobalOptions } from "./global-options.js";
import { escapeForTerminal } from "../terminal-text.js";

/** Per-file bars and a total (bytes, rate, ETA) while files download; nothing off a TTY or with --quiet/--json. */
export interface DownloadProgress {
  start(file: string, size: number): void;
  advance(file: string, bytes: number): void;
  finish(file: string): void;
  stop(): void;
}

const SILENT: DownloadProgress = { start() {}, advance() {}, finish() {}, stop() {} };

export function createDownloadProgress(global: GlobalOptions, stream: NodeJS.WriteStream = process.stderr): DownloadProgress {
  if (!process.stdout.isTTY || global.quiet || global.json) return SILENT;
  const multi = new cliProgress.MultiBar(
    {
      stream,
      clearOnComplete: false,
      hideCursor: true,
      format: " {bar} {percentage}% | {value}/{total} | {speed}/s | ETA {eta_formatted} | {name}",
      formatValue: (value, _options, type) => (type === "value" || type === "total" ? humanBytes(value) : String(value)),
    },
    cliProgress.Presets.shades_classic,
  );
  const total = multi.create(0, 0, { name: "total", speed: "0 B" });
  const bars = new Map<string, cliProgress.SingleBar>();
  const started = Date.now();
  let totalBytes = 0;
  let done = 0;
  const speed = () => humanBytes(done / Math.max((Date.now() - started) / 1000, 0.001));
  return {
    start(file, size) {
      totalBytes += size;
      total.setTotal(totalBytes);
      bars.set(file, multi.create(size, 0, { name: escapeForTerminal(file), speed: "0 B" }));
    },
    advance(file, bytes) {
      done += bytes;
      bars.get(file)?.increment(bytes, { speed: speed() });
      total.increment(bytes, { speed: speed() });
    },
    finish(file) {
      bars.get(file)?.stop();
    },
    stop() {
      multi.stop();
    },
  };
}

function humanBytes(n: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}
