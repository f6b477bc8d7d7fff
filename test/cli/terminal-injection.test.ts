/** Outside text (a Hub's error body, names in a lockfile or a signature) cannot drive the terminal or forge a line. */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { writeFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { describeDiff } from "../../src/signing/model-signing/compare-manifest.js";
import { escapeForTerminal } from "../../src/terminal-text.js";
import { tempDir } from "../helpers/fixtures.js";
import { runCli } from "../helpers/run-cli.js";

const FORGED = "\u001b[2J\u001b[1;32mok\r\nVerified OK\u009b31m\u202egnp.exe";

/** No escape sequence, carriage return or bidi override, and no line that is only "Verified OK". */
function expectInert(text: string): void {
  expect(text).not.toMatch(/[\u001b\r\u009b\u202e]/u);
  expect(text.split("\n")).not.toContain("Verified OK");
}

describe("escapeForTerminal", () => {
  it("shows control characters, C1 controls and bidi overrides as escapes, and keeps other text", () => {
    expect(escapeForTerminal(FORGED)).toBe("\\x1b[2J\\x1b[1;32mok\\x0d\\x0aVerified OK\\x9b31m\\u202egnp.exe");
    expect(escapeForTerminal("line 1\nline 2\tx", { keepNewlines: true })).toBe("line 1\nline 2\\x09x");
    expect(escapeForTerminal("modèle 日本 onnx/model.onnx")).toBe("modèle 日本 onnx/model.onnx");
  });

  it("keeps each name a model signature lists on its own line", () => {
    expectInert(describeDiff({ missing: [FORGED], extra: [], mismatched: [] }));
  });
});

describe("the CLI prints outside text inert", () => {
  it("a Hub error body with escape sequences and a forged line", async () => {
    const server = createServer((_req, res) => {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end(FORGED);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const dir = await tempDir();
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const run = await runCli(["--lockfile", join(dir, "models.lock.json"), "add", "org/model"], {
        env: { HF_ENDPOINT: url, HF_HUB_CACHE: join(dir, "cache"), HF_TOKEN: "", HF_HUB_OFFLINE: "" },
      });
      expect(run.code).toBe(3);
      expect(run.stderr).toContain("\\x1b[2J");
      expectInert(run.stderr);
    } finally {
      server.close();
    }
  });

  it("a locked path with escape sequences is refused as invalid, and shown escaped", async () => {
    const dir = await tempDir();
    const lockfile = join(dir, "models.lock.json");
    const files = { [`a${FORGED}`]: { size: 1, sha256: "a".repeat(64) } };
    await writeFile(lockfile, JSON.stringify({ lockfileVersion: 1, models: { m: { repo: "org/m", revision: "1".repeat(40), files } } }));
    const run = await runCli(["--lockfile", lockfile, "verify", "--allow-unsigned"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/contains a control character/);
    expectInert(run.stderr);
  });
});
