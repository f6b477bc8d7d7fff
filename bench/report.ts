import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { basename } from "node:path";

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** `min–max` of the values, each formatted. */
export function spread(values: number[], format: (v: number) => string): string {
  return `${format(Math.min(...values))}–${format(Math.max(...values))}`;
}

export const seconds = (s: number): string => (s >= 10 ? s.toFixed(1) : s >= 0.1 ? s.toFixed(2) : s.toFixed(3));
export const millis = (s: number): string => (s * 1000).toFixed(0);
export const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(0);
export const gb = (bytes: number): string => `${+(bytes / 1e9).toPrecision(3)} GB`;

function cpuFlags(): string[] {
  try {
    const flags = /^flags\s*:(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1]?.trim().split(/\s+/) ?? [];
    return [flags.includes("sha_ni") ? "SHA-NI" : "", flags.includes("hypervisor") ? "VM" : ""].filter(Boolean);
  } catch {
    return [];
  }
}

/** The filesystem holding `dir` and its block device, from `df` and /sys/block (Linux). */
export function disk(dir = tmpdir()): string {
  const df = spawnSync("df", ["-PT", dir], { encoding: "utf8" });
  const fields = df.status === 0 ? df.stdout.trim().split("\n")[1]?.split(/\s+/) : undefined;
  if (!fields || fields.length < 2) return "disk unknown";
  const [device, fsType] = fields as [string, string];
  let kind = "";
  const block = basename(device).replace(/p?\d+$/, "");
  try {
    const rotational = readFileSync(`/sys/block/${block}/queue/rotational`, "utf8").trim();
    kind = block.startsWith("vd") ? "virtio disk" : rotational === "0" ? "SSD" : "rotational or virtual disk";
  } catch {
    // not Linux, or not a block device (tmpfs, overlay)
  }
  return `${fsType} on ${device}${kind ? ` (${kind})` : ""}`;
}

/** The machine in one line: cores, CPU (and SHA-NI/VM), memory, Node, and the disk the bench files live on. */
export function machine(dir = tmpdir()): string {
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  const flags = cpuFlags();
  return `${cpus().length} cores (${cpu}${flags.length ? `, ${flags.join(", ")}` : ""}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${disk(dir)}`;
}

// Taken when a bench script starts: other work on the machine shows up in its figures.
const loadAtStart = loadavg()[0];

/**
 * `Measured DATE on MACHINE (load average at the start): WHAT`, after a warning line when the run
 * was smaller than the real benchmark (`smallRun` names the settings).
 */
export function heading(what: string, smallRun: string | undefined, dir?: string): string {
  const load = loadAtStart === undefined ? "" : ` (1-minute load average ${loadAtStart.toFixed(2)} at the start)`;
  const line = `Measured ${new Date().toISOString().slice(0, 10)} on ${machine(dir)}${load}: ${what}`;
  return smallRun ? `**Small-size development run (${smallRun}): not the benchmark figures; run it at the default sizes on an idle machine.**\n\n${line}` : line;
}

export const verdict = (met: boolean): string => (met ? "met" : "missed");

export function table(header: string[], rows: string[][]): string {
  return [header, header.map(() => "---"), ...rows].map((r) => `| ${r.join(" | ")} |`).join("\n");
}

/** Replaces the README section between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`. */
export async function writeReadmeSection(name: string, markdown: string, readme = new URL("../README.md", import.meta.url)): Promise<void> {
  const text = await readFile(readme, "utf8");
  const start = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i === -1 || j === -1) throw new Error(`README.md has no ${start} … ${end} section`);
  await writeFile(readme, `${text.slice(0, i + start.length)}\n${markdown.trim()}\n${text.slice(j)}`);
}

export const hr = (): bigint => process.hrtime.bigint();
/** Seconds since `t` (from `hr()`). */
export const since = (t: bigint): number => Number(hr() - t) / 1e9;

/** Where the guard makes its private verified copies in this run (as `ModelGuard` picks it by default). */
export async function copyRootNote(): Promise<string> {
  const { existsSync } = await import("node:fs");
  const dir = process.env.MODELGUARD_COPY_DIR || (existsSync("/dev/shm") ? "/dev/shm" : tmpdir());
  return `Private verified copies in ${dir} (${disk(dir)}).`;
}
