import { describe, expect, it } from "vitest";
import { checkLock, lockMismatch } from "../../src/digest/lock-check.js";
import { ModelGuardError, withErrorContext, combinedError } from "../../src/errors.js";

const A = "a".repeat(64);
const B = "b".repeat(64);

describe("checkLock (the one lock check)", () => {
  it("checks the size before the digest, as ssri does", () => {
    expect(lockMismatch({ size: 3, sha256: A }, { size: 4, sha256: B })).toMatchObject({ code: "SIZE_MISMATCH" });
    expect(lockMismatch({ size: 3, sha256: A }, { size: 3, sha256: B })).toMatchObject({ code: "DIGEST_MISMATCH" });
    expect(lockMismatch({ size: 3, sha256: A }, { size: 3, sha256: A })).toBeUndefined();
  });

  it("compares no digest one side lacks, and in partial mode only a size past the expected one", () => {
    expect(lockMismatch({ size: 3 }, { size: 3, sha256: B })).toBeUndefined();
    expect(lockMismatch({ size: 3, sha256: A }, { size: 3 })).toBeUndefined();
    expect(lockMismatch({ size: 3, sha256: A }, { size: 2 }, { partial: true })).toBeUndefined();
    expect(lockMismatch({ size: 3, sha256: A }, { size: 4 }, { partial: true })).toMatchObject({ code: "SIZE_MISMATCH" });
    expect(lockMismatch({ size: 3, sha256: A }, { size: 3 }, { sizeDiffers: true })).toMatchObject({ code: "SIZE_MISMATCH" });
  });

  it("throws a ModelGuardError with expected and actual as fields (only size and sha256), worded by the caller", () => {
    const locked = { size: 3, sha256: A, signatures: [] };
    const err = (() => {
      try {
        checkLock(locked, { size: 3, sha256: B, tempPath: "/x" } as { size: number; sha256: string }, (m) => `m: ${m.code}`, { model: "m", file: "f" });
      } catch (e) {
        return e;
      }
    })() as ModelGuardError;
    expect(err).toBeInstanceOf(ModelGuardError);
    expect(err).toMatchObject({ code: "DIGEST_MISMATCH", message: "m: DIGEST_MISMATCH", model: "m", file: "f" });
    expect(err.expected).toEqual({ size: 3, sha256: A });
    expect(err.actual).toEqual({ size: 3, sha256: B });
    // Context added above keeps them, and so does the combined error of a report.
    expect(withErrorContext(err, { prefix: "p" })).toMatchObject({ expected: { size: 3, sha256: A }, actual: { size: 3, sha256: B } });
    expect(combinedError([{ code: err.code, message: err.message, expected: err.expected!, actual: err.actual! }])).toMatchObject({ actual: { sha256: B } });
  });

  it("does nothing when the bytes match", () => {
    expect(() => checkLock({ size: 1, sha256: A }, { size: 1, sha256: A }, () => "no")).not.toThrow();
  });
});
