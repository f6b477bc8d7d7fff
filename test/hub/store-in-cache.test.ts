import { describe, expect, it } from "vitest";
import { blobNameFor } from "../../src/hub/store-in-cache.js";

const sha256 = "a".repeat(64);
const gitBlobSha1 = "b".repeat(40);

describe("blobNameFor", () => {
  it("keeps the Hub's ETag only when it is a digest of the bytes we hashed", () => {
    expect(blobNameFor({ sha256, etag: sha256 })).toBe(sha256); // LFS: ETag is the sha256
    expect(blobNameFor({ sha256, gitBlobSha1, etag: gitBlobSha1 })).toBe(gitBlobSha1); // regular file
    // An ETag naming some other blob, or not a digest at all, never becomes the file name.
    expect(blobNameFor({ sha256, gitBlobSha1, etag: "c".repeat(64) })).toBe(sha256);
    expect(blobNameFor({ sha256, etag: "../../snapshots/x" })).toBe(sha256);
    expect(blobNameFor({ sha256 })).toBe(sha256);
  });
});
