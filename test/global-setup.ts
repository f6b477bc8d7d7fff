import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * The CLI tests run the built `bin/modelguard.js` as users do, so build `dist/` from the current
 * sources first, into an empty folder: a file left from a source that was moved or deleted would
 * otherwise still be imported, and shipped (test/package/ lists the tarball from this build).
 * Private verified copies go to a folder of this run (not /dev/shm), inherited by every test process and CLI.
 */
export default function setup(): () => void {
  rmSync("dist", { recursive: true, force: true });
  execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"], { stdio: "inherit" });
  const copies = mkdtempSync(join(tmpdir(), "mg-test-copies-"));
  process.env.MODELGUARD_COPY_DIR = copies;
  return () => rmSync(copies, { recursive: true, force: true });
}
