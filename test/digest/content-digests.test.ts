import { describe, expect, it } from "vitest";
import { ContentDigests } from "../../src/digest/content-digests.js";

describe("ContentDigests", () => {
  it("gives git's blob ids (what the Hub lists as oid) and the SHA-256 of the same bytes, across chunks and a reset", () => {
    const empty = new ContentDigests(0, true).digest();
    expect(empty).toEqual({ sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", gitBlobSha1: "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391" });
    const hello = new ContentDigests(6, true);
    hello.update(Buffer.from("wrong bytes"));
    hello.reset();
    hello.update(Buffer.from("hel"));
    hello.update(Buffer.from("lo\n"));
    // `printf 'hello\n' | git hash-object --stdin`, `sha256sum`
    expect(hello.digest()).toEqual({ sha256: "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03", gitBlobSha1: "ce013625030ba8dba906f756967f9e9ca394464a" });
    expect(new ContentDigests(6, false).digest()).not.toHaveProperty("gitBlobSha1");
  });
});
