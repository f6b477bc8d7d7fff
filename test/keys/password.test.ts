import { PassThrough, Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { isModelGuardError } from "../../src/errors.js";
import { CONFIRM_PROMPT, PROMPT, readNewPassword, readPassword, type PasswordInput } from "../../src/keys/password.js";
import { rejection } from "../helpers/errors.js";


function capture(): { stream: Writable; text: () => string } {
  let out = "";
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out += chunk.toString();
      cb();
    },
  });
  return { stream, text: () => out };
}

/** A piped (non-TTY) stdin holding `data`. */
function pipe(data: string): PasswordInput {
  const s = new PassThrough();
  s.end(data);
  return s;
}

/** A fake terminal: records raw mode, types `keystrokes` (one chunk each) once raw mode is on. */
function tty(keystrokes: string[]): PasswordInput & { rawModes: boolean[] } {
  const s = new PassThrough() as PassThrough & { isTTY: boolean; rawModes: boolean[]; setRawMode(m: boolean): void };
  s.isTTY = true;
  s.rawModes = [];
  let next = 0;
  s.setRawMode = (mode: boolean) => {
    s.rawModes.push(mode);
    if (mode) {
      const k = keystrokes[next++];
      if (k !== undefined) setImmediate(() => s.write(Buffer.from(k, "utf8")));
    }
  };
  return s;
}

describe("COSIGN_PASSWORD", () => {
  it("is used when set, even to the empty string, without touching stdin", async () => {
    const input = pipe("from-stdin\n");
    expect(await readPassword({ env: { COSIGN_PASSWORD: "" }, input })).toBe("");
    expect(await readNewPassword({ env: { COSIGN_PASSWORD: "s3cret" }, input })).toBe("s3cret");
    expect(await readPassword({ env: {}, input })).toBe("from-stdin");
  });
});

describe("piped standard input", () => {
  it.each([
    ["hello\n", "hello"],
    ["hello\r\n", "hello"],
    ["hello", "hello"],
    ["\n", ""],
    ["first\nsecond\n", "first"],
    ["pässwörd 🔑\n", "pässwörd 🔑"],
    ["  spaced  \n", "  spaced  "],
  ])("%j gives %j", async (data, expected) => {
    expect(await readPassword({ env: {}, input: pipe(data) })).toBe(expected);
  });

  it("asks once for a new key too (nobody to confirm with)", async () => {
    expect(await readNewPassword({ env: {}, input: pipe("new\n") })).toBe("new");
  });

  it("an empty stdin is PASSWORD_REQUIRED", async () => {
    const err = await rejection(readPassword({ env: {}, input: pipe("") }));
    expect(isModelGuardError(err, "PASSWORD_REQUIRED")).toBe(true);
    expect((err as Error).message).toContain("COSIGN_PASSWORD");
  });

  it("reads a line split across chunks", async () => {
    const s = new PassThrough();
    const p = readPassword({ env: {}, input: s });
    s.write("hel");
    s.write("lo\nrest");
    expect(await p).toBe("hello");
  });
});

describe("terminal prompt", () => {
  it("prompts once on the output, echo off, for an existing key", async () => {
    const input = tty(["secret\r"]);
    const out = capture();
    expect(await readPassword({ env: {}, input, output: out.stream })).toBe("secret");
    expect(out.text()).toBe(`${PROMPT}\n`);
    expect(input.rawModes).toEqual([true, false]);
  });

  it("asks twice for a new key", async () => {
    const input = tty(["pw\r", "pw\r"]);
    const out = capture();
    expect(await readNewPassword({ env: {}, input, output: out.stream })).toBe("pw");
    expect(out.text()).toBe(`${PROMPT}\n${CONFIRM_PROMPT}\n`);
    expect(input.rawModes).toEqual([true, false, true, false]);
  });

  it("a mismatch is an error", async () => {
    const out = capture();
    const err = await rejection(readNewPassword({ env: {}, input: tty(["one\r", "two\r"]), output: out.stream }));
    expect(isModelGuardError(err, "PASSWORD_REQUIRED")).toBe(true);
    expect((err as Error).message).toBe("passwords do not match");
  });

  it("handles backspace, and Ctrl-C cancels", async () => {
    const out = capture();
    expect(await readPassword({ env: {}, input: tty(["abx\u007fc\r"]), output: out.stream })).toBe("abc");
    const input = tty(["ab\u0003"]);
    const err = await rejection(readPassword({ env: {}, input, output: out.stream }));
    expect(isModelGuardError(err, "PASSWORD_REQUIRED")).toBe(true);
    expect(input.rawModes).toEqual([true, false]);
  });
});
