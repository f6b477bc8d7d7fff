import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * The CLI tests run the built `bin/modelguard.js` as users do, so build `dist/` from the current
 * sources first, then drop what a moved or deleted source (or an older build's source maps) left there: it would still be imported,
 * and shipped (test/package/ lists the tarball from this build). Files are removed one by one,
 * never the whole folder, so another test run in the same checkout keeps a working `dist/`.
 * Private verified copies go to a folder of this run (not /dev/shm), inherited by every test process and CLI.
 */
export default function setup(): () => void {
  execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"], { stdio: "inherit" });
  for (const file of readdirSync("dist", { recursive: true, encoding: "utf8" })) {
    const source = join("src", file.replace(/\.(js|d\.ts)$/, ".ts"));
    // Source maps are not built (they would point at sources the package does not ship).
    if (file.endsWith(".map") || (/\.(js|d\.ts)$/.test(file) && !existsSync(source))) rmSync(join("dist", file), { force: true });
  }
  const copies = mkdtempSync(join(tmpdir(), "mg-test-copies-"));
  process.env.MODELGUARD_COPY_DIR = copies;
  return () => rmSync(copies, { recursive: true, force: true });
}
