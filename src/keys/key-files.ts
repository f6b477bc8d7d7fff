/**
 * The only file I/O of src/keys: reading key files and writing a new pair.
 */
import { constants } from "node:fs";
import { lstat, open, unlink, type FileHandle } from "node:fs/promises";
import { ModelGuardError, withErrorContext } from "../errors.js";
import type { KeyObject } from "node:crypto";
import type { KeyPairPem } from "./generate-key-pair.js";
import { parsePublicKey } from "./load-key.js";

// Far above any PEM key or certificate chain; stops a model file passed by mistake being slurped.
const MAX_KEY_FILE_BYTES = 1024 * 1024;

function errnoCode(err: unknown): string | undefined {
  return typeof err === "object" && err !== null && "code" in err && typeof err.code === "string" ? err.code : undefined;
}

async function exists(path: string): Promise<boolean> {
  try {
    // lstat: a dangling symlink counts as existing; O_EXCL would refuse it anyway.
    await lstat(path);
    return true;
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return false;
    throw err;
  }
}

async function createExclusive(path: string, contents: string, mode: number): Promise<void> {
  let fh: FileHandle;
  try {
    // O_EXCL: fails if the file appeared since the existence check, so nothing is overwritten.
    fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  } catch (err) {
    if (errnoCode(err) === "EEXIST") {
      throw new ModelGuardError("KEY_EXISTS", `${path} already exists; refusing to overwrite it`, { file: path });
    }
    throw new ModelGuardError("USAGE", `cannot create ${path}: ${(err as Error).message}`, { file: path, cause: err });
  }
  try {
    // The mode argument is filtered by the umask; chmod makes the private key 0600 regardless.
    await fh.chmod(mode);
    await fh.writeFile(contents, "utf8");
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await unlink(path).catch(() => undefined);
    throw new ModelGuardError("USAGE", `cannot write ${path}: ${(err as Error).message}`, { file: path, cause: err });
  }
  await fh.close();
}

/**
 * Write `<prefix>.key` (mode 0600) and `<prefix>.pub` (0644, like cosign). Unlike cosign, which
 * asks before overwriting cosign.key, this never overwrites: KEY_EXISTS if either file exists,
 * and if the .pub cannot be written the new .key is removed so no half pair is left behind.
 */
export async function writeKeyPair(
  prefix: string,
  pair: KeyPairPem,
): Promise<{ privatePath: string; publicPath: string }> {
  const privatePath = `${prefix}.key`;
  const publicPath = `${prefix}.pub`;
  for (const path of [privatePath, publicPath]) {
    if (await exists(path)) {
      throw new ModelGuardError("KEY_EXISTS", `${path} already exists; refusing to overwrite it`, { file: path });
    }
  }
  await createExclusive(privatePath, pair.privatePem, 0o600);
  try {
    await createExclusive(publicPath, pair.publicPem, 0o644);
  } catch (err) {
    await unlink(privatePath).catch(() => undefined);
    throw err;
  }
  return { privatePath, publicPath };
}

/** A key file's text. Missing: FILE_MISSING "key file not found: <path>". */
export async function readKeyFile(path: string): Promise<string> {
  let fh: FileHandle;
  try {
    fh = await open(path, "r");
  } catch (err) {
    if (errnoCode(err) === "ENOENT") {
      throw new ModelGuardError("FILE_MISSING", `key file not found: ${path}`, { file: path });
    }
    throw new ModelGuardError("KEY_INVALID", `cannot read key file ${path}: ${(err as Error).message}`, {
      file: path,
      cause: err,
    });
  }
  try {
    if ((await fh.stat()).isDirectory()) {
      throw new ModelGuardError("KEY_INVALID", `key file ${path} is a directory`, { file: path });
    }
    // Read by chunks rather than trusting stat's size, so pipes (--key <(...)) work too.
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.alloc(64 * 1024);
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > MAX_KEY_FILE_BYTES) {
        throw new ModelGuardError("KEY_INVALID", `key file ${path} is over ${MAX_KEY_FILE_BYTES} bytes, too large to be a key`, {
          file: path,
        });
      }
      chunks.push(buf.subarray(0, bytesRead));
    }
    return Buffer.concat(chunks).toString("utf8");
  } catch (err) {
    if (err instanceof ModelGuardError) throw err;
    throw new ModelGuardError("KEY_INVALID", `cannot read key file ${path}: ${(err as Error).message}`, {
      file: path,
      cause: err,
    });
  } finally {
    await fh.close();
  }
}

/** A public key from a PEM file, the one way every command and the library read trusted keys; errors name the file. */
export async function readPublicKeyFile(path: string): Promise<KeyObject> {
  const text = await readKeyFile(path);
  try {
    return parsePublicKey(text);
  } catch (err) {
    throw withErrorContext(err, { prefix: path, file: path });
  }
}
