/**
 * What `npm pack` puts in the package: the built library, the CLI, the licence and the report
 * schema the README points to; no tests, no test-only builders, no source maps pointing at sources
 * that are not shipped. Lists the tarball of the `dist/` that global-setup just built.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));

interface PackEntry {
  path: string;
  size: number;
}

function packedFiles(): string[] {
  // --ignore-scripts: prepack would rebuild dist/ under the feet of the tests running beside this one.
  const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, npm_config_loglevel: "error" },
  });
  const [result] = JSON.parse(out) as Array<{ files: PackEntry[] }>;
  return result!.files.map((f) => f.path).sort();
}

describe("the npm package", () => {
  const files = packedFiles();

  it("ships the library, the CLI, LICENSE (Apache-2.0 full text) and the schemas of the report, the lockfile and audit events", () => {
    expect(files).toEqual(expect.arrayContaining(["LICENSE", "README.md", "package.json", "bin/modelguard.js", "dist/index.js", "dist/index.d.ts", "docs/verify-report.schema.json", "docs/lockfile.schema.json", "docs/audit-event.schema.json"]));
    const pkg = JSON.parse(readFileSync(`${root}package.json`, "utf8")) as { license: string; bin: Record<string, string>; exports: Record<string, Record<string, string>> };
    expect(pkg.license).toBe("Apache-2.0");
    const license = readFileSync(`${root}LICENSE`, "utf8");
    expect(license).toMatch(/Apache License\s+Version 2\.0, January 2004/);
    expect(license).toMatch(/END OF TERMS AND CONDITIONS/);
    for (const target of [...Object.values(pkg.bin), ...Object.values(pkg.exports).flatMap((e) => Object.values(e))]) {
      expect(files).toContain(target.replace(/^\.\//, ""));
    }
  });

  it("holds nothing but those: no tests, fixtures, examples, benchmarks, local Hub or test builders", () => {
    const unexpected = files.filter((f) => !/^(LICENSE|README\.md|package\.json|bin\/modelguard\.js|docs\/(verify-report|lockfile|audit-event)\.schema\.json|dist\/.+\.(js|d\.ts))$/.test(f));
    expect(unexpected).toEqual([]);
    expect(files.filter((f) => /build-model|write-gguf|tiny-llama/.test(f))).toEqual([]);
    expect(files.filter((f) => f.startsWith("dist/") && /(^|\/)(test|fixtures?)(\/|\.)/.test(f))).toEqual([]);
  });

  it("has no source maps pointing at sources it does not ship", () => {
    expect(files.filter((f) => f.endsWith(".map"))).toEqual([]);
    for (const f of files.filter((p) => p.endsWith(".js"))) {
      expect(readFileSync(`${root}${f}`, "utf8"), f).not.toMatch(/sourceMappingURL/);
    }
  });

  it("does not ship the test-only cache writer inside the library's cache module", () => {
    const storeInCache = readFileSync(`${root}dist/hub/store-in-cache.js`, "utf8");
    expect(storeInCache).not.toMatch(/export async function storeInCache/);
  });
});
