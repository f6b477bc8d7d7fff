/**
 * Where the private key password comes from, in cosign's order:
 * 1. `COSIGN_PASSWORD` when it is set, even to "" (how CI uses keys without a password);
 * 2. a prompt on the terminal, echo off, when standard input is a TTY (prompts on stderr,
 *    worded like cosign's);
 * 3. otherwise standard input.
 *
 * One deliberate difference in 3: cosign uses *all* of stdin verbatim (io.ReadAll), so
 * `echo hello | cosign generate-key-pair` sets the password "hello\n". We take the first line
 * without its line ending, which is what people mean; a key made that way by cosign needs
 * COSIGN_PASSWORD=$'hello\n' here. `printf hello |` behaves the same in both.
 */
import { StringDecoder } from "node:string_decoder";
import { ModelGuardError } from "../errors.js";

export const PASSWORD_ENV = "COSIGN_PASSWORD";
export const PROMPT = "Enter password for private key: ";
export const CONFIRM_PROMPT = "Enter password for private key again: ";

// A password longer than this on stdin means the wrong thing was piped in.
const MAX_PASSWORD_BYTES = 64 * 1024;

/** Standard input as far as password reading needs it; tty.ReadStream fits. */
export interface PasswordInput extends NodeJS.ReadableStream {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
}

export interface PasswordOptions {
  /** Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Default `process.stdin`. */
  input?: PasswordInput;
  /** Where prompts go. Default `process.stderr`, so stdout stays clean for output. */
  output?: NodeJS.WritableStream;
}

function resolve(opts: PasswordOptions): Required<PasswordOptions> {
  return {
    env: opts.env ?? process.env,
    input: opts.input ?? process.stdin,
    output: opts.output ?? process.stderr,
  };
}

function fromEnv(env: Readonly<Record<string, string | undefined>>): string | undefined {
  return Object.prototype.hasOwnProperty.call(env, PASSWORD_ENV) ? env[PASSWORD_ENV] : undefined;
}

/** The password to unlock an existing key: asked once. */
export async function readPassword(opts: PasswordOptions = {}): Promise<string> {
  const io = resolve(opts);
  const env = fromEnv(io.env);
  if (env !== undefined) return env;
  if (io.input.isTTY === true) return promptHidden(io.input, io.output, PROMPT);
  return readFirstLine(io.input);
}

/**
 * The password for a new key. On a terminal it is asked twice and must match, as cosign does;
 * from the environment or a pipe there is nobody to ask again.
 */
export async function readNewPassword(opts: PasswordOptions = {}): Promise<string> {
  const io = resolve(opts);
  const env = fromEnv(io.env);
  if (env !== undefined) return env;
  if (io.input.isTTY !== true) return readFirstLine(io.input);
  const first = await promptHidden(io.input, io.output, PROMPT);
  const second = await promptHidden(io.input, io.output, CONFIRM_PROMPT);
  if (first !== second) throw new ModelGuardError("PASSWORD_REQUIRED", "passwords do not match");
  return first;
}

function noPassword(): ModelGuardError {
  return new ModelGuardError(
    "PASSWORD_REQUIRED",
    `no password: set ${PASSWORD_ENV}, run in a terminal, or pipe the password on standard input`,
  );
}

/** The first line of a non-TTY input, without its "\n" or "\r\n". EOF with no bytes at all is an error. */
function readFirstLine(input: PasswordInput): Promise<string> {
  // An ended stream never emits "end" again; waiting for it would hang.
  if ((input as { readableEnded?: boolean }).readableEnded === true) return Promise.reject(noPassword());
  return new Promise((done, fail) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let sawBytes = false;
    const cleanup = (): void => {
      input.removeListener("data", onData);
      input.removeListener("end", onEnd);
      input.removeListener("error", onError);
      input.pause();
    };
    const finish = (): void => {
      cleanup();
      let line = Buffer.concat(chunks).toString("utf8");
      if (line.endsWith("\r")) line = line.slice(0, -1);
      done(line);
    };
    const onData = (chunk: Buffer | string): void => {
      const buf = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
      if (buf.length > 0) sawBytes = true;
      const nl = buf.indexOf(0x0a);
      chunks.push(nl >= 0 ? buf.subarray(0, nl) : buf);
      total += buf.length;
      if (nl >= 0) return finish();
      if (total > MAX_PASSWORD_BYTES) {
        cleanup();
        fail(new ModelGuardError("PASSWORD_REQUIRED", "the password on standard input is longer than 64 KiB"));
      }
    };
    const onEnd = (): void => {
      if (sawBytes) return finish();
      cleanup();
      fail(noPassword());
    };
    const onError = (err: Error): void => {
      cleanup();
      fail(new ModelGuardError("PASSWORD_REQUIRED", `cannot read the password from standard input: ${err.message}`, { cause: err }));
    };
    input.on("data", onData);
    input.on("end", onEnd);
    input.on("error", onError);
    input.resume();
  });
}

/**
 * One line typed on a terminal with echo off (raw mode), handling the keys golang.org/x/term's
 * ReadPassword handles for cosign: Enter ends, Backspace deletes, Ctrl-C cancels, Ctrl-D on an
 * empty line is end of input.
 */
function promptHidden(input: PasswordInput, output: NodeJS.WritableStream, prompt: string): Promise<string> {
  const setRawMode = input.setRawMode?.bind(input);
  if (setRawMode === undefined) {
    return Promise.reject(new ModelGuardError("PASSWORD_REQUIRED", "cannot turn off echo on this terminal"));
  }
  return new Promise((done, fail) => {
    const decoder = new StringDecoder("utf8");
    let chars: string[] = [];
    const cleanup = (): void => {
      input.removeListener("data", onData);
      input.removeListener("end", onEnd);
      input.removeListener("error", onError);
      setRawMode(false);
      input.pause();
      // The Enter the user typed was not echoed.
      output.write("\n");
    };
    const onData = (chunk: Buffer | string): void => {
      const text = typeof chunk === "string" ? chunk : decoder.write(chunk);
      for (const ch of text) {
        if (ch === "\r" || ch === "\n") {
          cleanup();
          return done(chars.join(""));
        }
        if (ch === "\u0003") {
          cleanup();
          return fail(new ModelGuardError("PASSWORD_REQUIRED", "password entry cancelled"));
        }
        if (ch === "\u0004") {
          if (chars.length === 0) {
            cleanup();
            return fail(noPassword());
          }
          continue;
        }
        if (ch === "\u007f" || ch === "\b") {
          chars.pop();
        } else if (ch === "\u0015") {
          chars = [];
        } else if (ch >= " ") {
          chars.push(ch);
        }
      }
    };
    const onEnd = (): void => {
      cleanup();
      fail(noPassword());
    };
    const onError = (err: Error): void => {
      cleanup();
      fail(new ModelGuardError("PASSWORD_REQUIRED", `cannot read the password: ${err.message}`, { cause: err }));
    };
    output.write(prompt);
    setRawMode(true);
    input.on("data", onData);
    input.on("end", onEnd);
    input.on("error", onError);
    input.resume();
  });
}
