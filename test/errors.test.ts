import { describe, expect, it } from "vitest";
import { ModelGuardError, combinedError, exitCodeFor, withErrorContext } from "../src/errors.js";

describe("combinedError", () => {
  it("lists every failure and leads with the most serious: a verification failure outranks a missing file", () => {
    const err = combinedError([
      { code: "NOT_CACHED", message: "a is not cached", model: "m", file: "a" },
      { code: "DIGEST_MISMATCH", message: "b has another sha256", model: "m", file: "b" },
      { code: "SIZE_MISMATCH", message: "c is too long", model: "m", file: "c" },
    ]);
    expect(err).toMatchObject({ code: "DIGEST_MISMATCH", model: "m", file: "b" });
    expect(err.message.split("\n")).toEqual(["a is not cached", "b has another sha256", "c is too long"]);
    expect(exitCodeFor(err.code)).toBe(1);
  });

  it("keeps the first failure when none is a verification failure", () => {
    const err = combinedError([
      { code: "FETCH_FAILED", message: "x", httpStatus: 500, url: "http://h/x" },
      { code: "NOT_CACHED", message: "y" },
    ]);
    expect(err).toMatchObject({ code: "FETCH_FAILED", httpStatus: 500, url: "http://h/x" });
  });
});

describe("withErrorContext", () => {
  it("prefixes the message, adds model and file, keeps the code, HTTP details and the original as cause", () => {
    const inner = new ModelGuardError("FETCH_FAILED", "HTTP 503", { file: "inner.bin", httpStatus: 503, url: "http://hub/x" });
    const err = withErrorContext(inner, { prefix: "model m", model: "m" }) as ModelGuardError;
    expect(err).toBeInstanceOf(ModelGuardError);
    expect(err).toMatchObject({ code: "FETCH_FAILED", message: "model m: HTTP 503", model: "m", file: "inner.bin", httpStatus: 503, url: "http://hub/x" });
    expect(err.cause).toBe(inner);
    expect((withErrorContext(inner, { file: "outer.bin" }) as ModelGuardError).message).toBe("HTTP 503");
    expect((withErrorContext(inner, { file: "outer.bin" }) as ModelGuardError).file).toBe("outer.bin");
  });

  it("returns anything else unchanged", () => {
    const bug = new TypeError("x is undefined");
    expect(withErrorContext(bug, { prefix: "model m", model: "m" })).toBe(bug);
  });
});
