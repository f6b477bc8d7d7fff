import { constants, type Stats } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";

/** The `code` of the error for a path that is no regular file (a FIFO, a directory, a device, a socket). */
export const NOT_REGULAR = "ENOTREG";

export function describeFileType(stats: Stats): string {
  if (stats.isDirectory()) return "a directory";
  if (stats.isFIFO()) return "a FIFO";
  if (stats.isCharacterDevice()) return "a character device";
  if (stats.isBlockDevice()) return "a block device";
  if (stats.isSocket()) return "a socket";
  if (stats.isSymbolicLink()) return "a symbolic link";
  return "not a regular file";
}

export function notRegularError(path: string, stats: Stats): NodeJS.ErrnoException {
  return Object.assign(new Error(`${path} is ${describeFileType(stats)}, not a regular file`), { code: NOT_REGULAR, path });
}

/**
 * Opens a file for reading only if it is a regular file, judged on the open descriptor (fstat),
 * so nothing swapped in between a check and the open is read. O_NONBLOCK makes opening a FIFO
 * return at once instead of waiting for a writer (it changes nothing for a regular file); a
 * directory or device is refused before a byte is read. `noFollow` refuses a symlink as the last
 * component (ELOOP).
 */
export async function openRegularFile(path: string, options: { noFollow?: boolean } = {}): Promise<{ handle: FileHandle; stats: Stats }> {
  const flags = constants.O_RDONLY | constants.O_NONBLOCK | (options.noFollow ? constants.O_NOFOLLOW : 0);
  const handle = await open(path, flags);
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw notRegularError(path, stats);
    return { handle, stats };
  } catch (err) {
    await handle.close();
    throw err;
  }
}
