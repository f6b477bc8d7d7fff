import { ModelGuardError, type SizeAndDigest } from "../errors.js";

/**
 * The one lock check, in ssri's order: the size first (often known before a byte is read: from
 * fstat, a `Content-Length`, bytes counted so far), then the sha256. Every place that holds bytes
 * against a lock entry (reads of the cache, private copies, downloads, cache writes, and `add`
 * against the Hub's listing) goes through `checkLock`, so the codes, their order and the
 * `expected`/`actual` fields are the same everywhere; only the wording is the caller's.
 */
export interface LockMismatch {
  code: "SIZE_MISMATCH" | "DIGEST_MISMATCH";
  expected: SizeAndDigest;
  actual: SizeAndDigest;
}

export interface LockCheckOptions {
  /**
   * `actual.size` counts bytes received so far: only more than expected is a mismatch (a
   * response running past the locked size), and no digest is compared yet.
   */
  partial?: boolean;
  /**
   * The reader already found the size wrong (its "size-mismatch" result), even where the count it
   * reports equals the lock's (a file that changed size while it was read): SIZE_MISMATCH.
   */
  sizeDiffers?: boolean;
}

/** How `actual` differs from `expected`, or undefined when it matches (a sha256 either side lacks is not compared). */
export function lockMismatch(expected: SizeAndDigest, actual: SizeAndDigest, options: LockCheckOptions = {}): LockMismatch | undefined {
  const sizeWrong = options.sizeDiffers || (options.partial ? actual.size > expected.size : actual.size !== expected.size);
  if (sizeWrong) return { code: "SIZE_MISMATCH", expected, actual };
  if (options.partial || expected.sha256 === undefined || actual.sha256 === undefined) return undefined;
  if (actual.sha256 !== expected.sha256) return { code: "DIGEST_MISMATCH", expected, actual };
  return undefined;
}

/**
 * Throws SIZE_MISMATCH or DIGEST_MISMATCH, carrying `expected` and `actual`, with the message
 * `describe` words for this place (it names the model and file), unless `actual` matches.
 */
export function checkLock(
  expected: SizeAndDigest,
  actual: SizeAndDigest,
  describe: (mismatch: LockMismatch) => string,
  where: { model?: string; file?: string } = {},
  options: LockCheckOptions = {},
): void {
  const mismatch = lockMismatch(expected, actual, options);
  if (!mismatch) return;
  throw new ModelGuardError(mismatch.code, describe(mismatch), {
    ...where,
    expected: sizeAndDigest(mismatch.expected),
    actual: sizeAndDigest(mismatch.actual),
  });
}

/** Only the two facts, whatever else the caller's object holds (a LockedFile's signatures, a download's temp path). */
function sizeAndDigest(facts: SizeAndDigest): SizeAndDigest {
  return facts.sha256 === undefined ? { size: facts.size } : { size: facts.size, sha256: facts.sha256 };
}
