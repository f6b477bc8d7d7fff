/**
 * Why a locked file path is unsafe, or undefined when it is a plain relative path.
 * Paths come from a lockfile (or a hub listing) that may have been written by an attacker:
 * each rule stops a way of leaving the model's folder or of aliasing another file.
 */
export function unsafePathReason(path: string): string | undefined {
  if (path.length === 0) return "is empty";
  if (path.includes("\0")) return "contains a NUL byte";
  // Printed in every message about the file: a newline or escape sequence in it could forge or
  // hide what modelguard prints (see terminal-text.ts); no model needs one in a file name.
  if (/[\u0001-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u.test(path)) return "contains a control character";
  if (path.includes("\\")) return "contains a backslash";
  if (path.startsWith("/")) return "is absolute";
  if (/^[A-Za-z]:/.test(path)) return "starts with a drive letter";
  for (const segment of path.split("/")) {
    if (segment === "") return "has an empty segment";
    if (segment === "..") return "contains '..'";
    if (segment === ".") return "contains '.'";
  }
  return undefined;
}

/**
 * The key under which two paths are the same file on some file system: Unicode NFC and case
 * folded (macOS and Windows file systems are case-insensitive by default).
 */
export function collisionKey(path: string): string {
  return path.normalize("NFC").toLowerCase();
}
