/**
 * The repository stands alone: nothing a test, example, benchmark or the local Hub reads lives
 * outside the checkout. Every relative path written in their sources (`"../x"`, `new URL("../x",
 * import.meta.url)`, `join(import.meta.dirname, "../x")`) must resolve inside the repository.
 * (The full proof is a clone in an empty folder running `npm ci && npm test`; this catches the
 * usual way it breaks, a path to something beside the checkout, in a second.)
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));
const folders = ["src", "test", "bench", "examples", "local-hub", "bin", ".ci"];

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const ent of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, ent.name);
    if (ent.isDirectory()) {
      if (ent.name !== "node_modules" && ent.name !== "fixtures" && !ent.name.startsWith(".hf-cache")) out.push(...sourceFiles(full));
    } else if (/\.(ts|mjs|js|sh)$/.test(ent.name) || ent.name === "run") out.push(full);
  }
  return out;
}

describe("the repository stands alone", () => {
  it("no source of a test, example, benchmark or the local Hub points outside the checkout", () => {
    const outside: string[] = [];
    for (const folder of folders) {
      for (const file of sourceFiles(join(root, folder))) {
        const text = readFileSync(file, "utf8");
        for (const m of text.matchAll(/["'`]((?:\.\.\/)+[^"'`$]*)["'`]/g)) {
          const target = resolve(dirname(file), m[1]!);
          const rel = relative(root, target);
          if (rel.startsWith(`..${sep}`) || rel === "..") outside.push(`${relative(root, file)}: ${m[1]}`);
        }
        if (/\/work\/|shared\/vectors/.test(text)) outside.push(`${relative(root, file)}: names a path outside the checkout`);
      }
    }
    expect(outside).toEqual([]);
  });
});
