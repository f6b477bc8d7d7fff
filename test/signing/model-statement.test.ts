import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parsePublicKey } from "../../src/keys/load-key.js";
import { MODEL_SIGNATURE, readDsseBundle } from "../../src/signing/sigstore/read-bundle.js";
import { verifyWithKeys } from "../../src/signing/model-signing/verify-with-key.js";
import { buildModelStatement, sortResources } from "../../src/signing/model-statement.js";
import { sha256Hex } from "../../src/digest/sha256.js";

const readTraditionalBundle = (json: unknown) => readDsseBundle(json, { traditional: true, malformed: MODEL_SIGNATURE });

const vectors = new URL("../fixtures/vectors/model-signing/", import.meta.url);

describe("OpenSSF model signing statements", () => {
  it("sorts resources path component by component, like pathlib", () => {
    const names = sortResources(["a.txt", "a/b", "B", "a/a/z", "é", "z"].map((name) => ({ name, algorithm: "sha256", digest: "" })));
    expect(names.map((r) => r.name)).toEqual(["B", "a/a/z", "a/b", "a.txt", "z", "é"]);
  });

  it("builds the reference implementation's statement for a vector's files", () => {
    const dir = new URL("v1.1.0-elliptic-key/", vectors);
    const bundle = JSON.parse(readFileSync(new URL("model.sig", dir), "utf8"));
    const theirs = JSON.parse(Buffer.from(readTraditionalBundle(bundle).content.dsseEnvelope.payload).toString("utf8"));
    const ours = buildModelStatement(
      "v1.1.0-elliptic-key",
      ["signme-1", "signme-2"].map((path) => ({ path, sha256: sha256Hex(readFileSync(new URL(path, dir))) })),
      theirs.predicate.serialization.ignore_paths,
    );
    expect(ours).toEqual(theirs);
  });

  it("verifies the reference implementation's DSSE signature (P-384) and rejects a changed payload", () => {
    const bundle = JSON.parse(readFileSync(new URL("v1.1.0-elliptic-key/model.sig", vectors), "utf8"));
    const key = parsePublicKey(readFileSync(new URL("keys/signing-key-pub.pem", vectors), "utf8"));
    expect(verifyWithKeys(readTraditionalBundle(bundle), [key]).signer).toMatchObject({ method: "key" });
    const changed = readTraditionalBundle(bundle);
    changed.content.dsseEnvelope.payload = Buffer.concat([changed.content.dsseEnvelope.payload, Buffer.from(" ")]);
    expect(() => verifyWithKeys(changed, [key])).toThrow(/does not verify/);
  });
});
