import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "../../examples/service/config.js";
import { parseCompletionRequest, RequestError } from "../../examples/service/validate-request.js";

function refusal(body: unknown): { code: string; message: string } {
  try {
    parseCompletionRequest(body, DEFAULT_LIMITS);
  } catch (err) {
    expect(err).toBeInstanceOf(RequestError);
    return { code: (err as RequestError).code, message: (err as Error).message };
  }
  throw new Error("expected a refusal");
}

describe("parseCompletionRequest", () => {
  it("takes a prompt and maxTokens (default 16)", () => {
    expect(parseCompletionRequest({ prompt: "only verified", maxTokens: 3 }, DEFAULT_LIMITS)).toEqual({ prompt: "only verified", maxTokens: 3 });
    expect(parseCompletionRequest({ prompt: "" }, DEFAULT_LIMITS)).toEqual({ prompt: "", maxTokens: 16 });
  });

  it("refuses anything else, naming the field", () => {
    expect(refusal([])).toMatchObject({ code: "INVALID_REQUEST" });
    expect(refusal({ prompt: "x", temperature: 1 })).toEqual({ code: "INVALID_REQUEST", message: 'the body has unknown field "temperature"; expected "prompt", "maxTokens"' });
    expect(refusal({ maxTokens: 3 })).toEqual({ code: "INVALID_REQUEST", message: "prompt must be a string, got nothing" });
    expect(refusal({ prompt: 5 })).toEqual({ code: "INVALID_REQUEST", message: "prompt must be a string, got 5" });
    expect(refusal({ prompt: "x".repeat(DEFAULT_LIMITS.maxPromptChars + 1) })).toMatchObject({ code: "INVALID_REQUEST", message: expect.stringMatching(/^prompt is 16385 characters; at most 16384$/) });
    for (const maxTokens of [0, -1, 1.5, "3", null]) expect(refusal({ prompt: "x", maxTokens }).code).toBe("INVALID_REQUEST");
    expect(refusal({ prompt: "x", maxTokens: 513 })).toEqual({ code: "TOO_MANY_TOKENS", message: "maxTokens is 513; at most 512" });
  });
});
