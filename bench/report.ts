import { readFile, writeFile } from "node:fs/promises";
import { cpus, totalmem } from "node:os";

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function machine(): string {
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  return `${cpus().length} cores (${cpu}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
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
