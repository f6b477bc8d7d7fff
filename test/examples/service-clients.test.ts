/**
 * Hostile HTTP clients against the example service: one that drops its body midway, slow-loris
 * headers, a body that trickles, more connections than it will hold. Each is cut off by a limit,
 * none prints a stack trace, and the service keeps answering. Short limits keep the test fast.
 */
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_LIMITS, parseConfig } from "../../examples/service/config.js";
import { startService, type RunningService } from "../../examples/service/server.js";
import { writeLockfile } from "../../src/lockfile/lockfile-file.js";
import { buildAddModel } from "../helpers/build-model.js";
import { withSignature } from "../../src/signing/sign-locked-model.js";
import { makeCachedModels, makeKeys, tempDir } from "../helpers/fixtures.js";

let svc: RunningService;
const log: string[] = [];
let port = 0;

beforeAll(async () => {
  const keys = await makeKeys(await tempDir());
  const made = await makeCachedModels({ add: { repo: "org/add", files: { "model.onnx": buildAddModel({ weights: Float32Array.from([1, 2, 3, 4]), dims: [4] }).model } } });
  made.lockfile.models.add = withSignature("add", made.lockfile.models.add!, keys.privateKey, keys.publicKey);
  await writeLockfile(made.lockfilePath, made.lockfile);
  const config = parseConfig(["--port", "0", "--host", "127.0.0.1", "--lockfile", made.lockfilePath, "--cache-dir", made.cacheDir, "--key", keys.publicPath, "--offline"], {})!;
  config.limits = { ...DEFAULT_LIMITS, headersTimeoutMs: 600, requestTimeoutMs: 1200, maxConnections: 6 };
  svc = await startService(config, { stdout: () => undefined, stderr: (line) => log.push(line) });
  port = Number(new URL(svc.url).port);
});
afterAll(async () => {
  await svc?.close();
});

const INFER = { inputs: { X: { type: "float32", dims: [4], data: [1, 1, 1, 1] } } };

async function infer(): Promise<number> {
  const res = await fetch(`${svc.url}/v1/models/add/infer`, { method: "POST", body: JSON.stringify(INFER), headers: { "content-type": "application/json" } });
  await res.arrayBuffer();
  return res.status;
}

/** A raw connection; resolves with what the server sent once it closes, or "open" after `ms`. */
function rawClient(act: (socket: Socket) => void, ms: number): Promise<{ closed: boolean; text: string }> {
  return new Promise((resolve) => {
    let text = "";
    const socket = connect(port, "127.0.0.1", () => act(socket));
    socket.setEncoding("utf8").on("data", (d: string) => (text += d));
    socket.on("error", () => undefined);
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ closed: false, text });
    }, ms);
    socket.once("close", () => {
      clearTimeout(timer);
      resolve({ closed: true, text });
    });
  });
}

const HEAD = "POST /v1/models/add/infer HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n";

describe("the example service against hostile clients", () => {
  it("a client that drops its POST body midway: a one-line note, no internal error, no stack trace", async () => {
    await new Promise<void>((resolve) => {
      const socket = connect(port, "127.0.0.1", () => {
        socket.write(`${HEAD}Content-Length: 1000\r\n\r\n{"inputs": {"X": `);
        setTimeout(() => {
          socket.destroy();
          resolve();
        }, 100);
      });
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(log.join("\n")).not.toMatch(/internal error|\n\s+at /);
    expect(log.some((l) => /closed the connection before the request body was complete/.test(l))).toBe(true);
    expect(await infer()).toBe(200);
  });

  it("slow-loris headers are cut off at the headers timeout (408)", async () => {
    const res = await rawClient((s) => {
      s.write("GET /healthz HTTP/1.1\r\nHost: test\r\n");
      const timer = setInterval(() => s.write("X-Slow: 1\r\n"), 100);
      s.once("close", () => clearInterval(timer));
    }, 5000);
    expect(res.closed).toBe(true);
    expect(res.text).toMatch(/^HTTP\/1\.1 408 /);
  });

  it("a body that trickles is cut off at the request timeout (408)", async () => {
    const res = await rawClient((s) => {
      s.write(`${HEAD}Content-Length: 100000\r\n\r\n`);
      const timer = setInterval(() => s.write(" "), 100);
      s.once("close", () => clearInterval(timer));
    }, 5000);
    expect(res.closed).toBe(true);
    expect(res.text).toMatch(/^HTTP\/1\.1 408 /);
    expect(log.join("\n")).not.toMatch(/internal error|\n\s+at /);
  });

  it("holds at most maxConnections; silent ones are dropped at the headers timeout, then it answers again", async () => {
    const silent = Array.from({ length: 6 }, () => rawClient(() => undefined, 5000));
    await new Promise((r) => setTimeout(r, 150));
    // One more than the limit: refused at once.
    const extra = await rawClient(() => undefined, 400);
    expect(extra.closed).toBe(true);
    expect(extra.text).toBe("");
    // The silent ones do not hold their places.
    const dropped = await Promise.all(silent);
    expect(dropped.every((d) => d.closed)).toBe(true);
    expect(await infer()).toBe(200);
  });
});
