import { describe, expect, it } from "vitest";
import { digestBytes, gitBlobOid, gitCommitOid, gitTreeOid, lfsPointer } from "../../local-hub/git-oid.js";

describe("git object ids", () => {
  it("reproduces the Hub's oid for LFS pointers (google-bert/bert-base-uncased, from @huggingface/hub's list-files spec)", () => {
    const pytorch = lfsPointer("097417381d6c7230bd9e3557456d726de6e83245ec8b24f529f60198a67b203a", 440473133);
    expect(pytorch.length).toBe(134);
    expect(gitBlobOid(pytorch)).toBe("ba5d19791be1dd7992e33bd61f20207b0f7f50a5");
    const tf = lfsPointer("a7a17d6d844b5de815ccab5f42cad6d24496db3850a2a43d8258221018ce87d2", 536063208);
    expect(gitBlobOid(tf)).toBe("9eb98c817f04b051b3bcca591bcd4e03cec88018");
  });

  it("hashes regular blobs like `git hash-object`", () => {
    expect(gitBlobOid(Buffer.from(""))).toBe("e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
    expect(gitBlobOid(Buffer.from("hi\n"))).toBe("45b983be36b73c0788dc9cbcb76cbb80fc7bb057");
    expect(digestBytes(Buffer.from("hi\n")).sha256).toBe("98ea6e4f216f2fb4b69fff9b3a44842c38686ca685f3f55dc48c5d3fb1107be4");
  });

  it("builds git trees in git's order (a directory sorts as if its name ended in /)", () => {
    expect(gitTreeOid([])).toBe("4b825dc642cb6eb9a060e54bf8d69288fbee4904");
    // `git write-tree` of a/x = "hi\n", a.txt = "z\n", b = "yo\n"
    const a = gitTreeOid([{ name: "x", kind: "file", oid: gitBlobOid(Buffer.from("hi\n")) }]);
    const root = gitTreeOid([
      { name: "b", kind: "file", oid: gitBlobOid(Buffer.from("yo\n")) },
      { name: "a.txt", kind: "file", oid: gitBlobOid(Buffer.from("z\n")) },
      { name: "a", kind: "directory", oid: a },
    ]);
    expect(root).toBe("2c7e848b5c4270583f1d569892ad5a69d290b58e");
  });

  it("gives real git commit ids (`git commit-tree` with the same author, date and message)", () => {
    const id = gitCommitOid({
      tree: "2c7e848b5c4270583f1d569892ad5a69d290b58e",
      parents: [],
      author: "local-hub <local-hub@localhost>",
      time: 1700000000,
      message: "initial commit",
    });
    expect(id).toBe("2eb71e34b92ce3e360ee39328679ecf74377270a");
  });
});
