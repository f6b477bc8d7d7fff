import { execFileSync, spawnSync } from "node:child_process";
import { createPublicKey, sign, verify } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { decryptPrivateKey } from "../../src/keys/encrypted-key.js";
import { generateKeyPair } from "../../src/keys/generate-key-pair.js";
import { parsePublicKey } from "../../src/keys/load-key.js";
import { cosignVector, envelopeJson } from "./vectors.js";

const hasOpenssl = spawnSync("openssl", ["version"], { stdio: "ignore" }).status === 0;

describe("interop", () => {
  it.skipIf(!hasOpenssl)("a generated, re-decrypted key signs what openssl verifies", async () => {
    const pair = await generateKeyPair("correct horse");
    expect(JSON.parse(envelopeJson(pair.privatePem)).kdf.params.N).toBe(65536);
    const key = await decryptPrivateKey(pair.privatePem, "correct horse");
    expect(createPublicKey(key).export({ type: "spki", format: "pem" })).toBe(pair.publicPem);

    const dir = mkdtempSync(join(tmpdir(), "modelguard-openssl-"));
    try {
      const blob = Buffer.from("model bytes\n");
      writeFileSync(join(dir, "pub.pem"), pair.publicPem);
      writeFileSync(join(dir, "blob"), blob);
      writeFileSync(join(dir, "sig.bin"), sign("sha256", blob, key));
      const out = execFileSync(
        "openssl",
        ["dgst", "-sha256", "-verify", "pub.pem", "-signature", "sig.bin", "blob"],
        { cwd: dir, encoding: "utf8" },
      );
      expect(out.trim()).toBe("Verified OK");
      // openssl parses our public PEM the same way: same DER back out.
      const der = execFileSync("openssl", ["pkey", "-pubin", "-in", "pub.pem", "-outform", "DER"], { cwd: dir });
      expect(der).toEqual(createPublicKey(key).export({ type: "spki", format: "der" }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the cosign sign-blob vector verifies with the parsed .pub", () => {
    const pub = parsePublicKey(cosignVector("pemsigstorekey.pub"));
    const sig = Buffer.from(cosignVector("blob.txt.sig").trim(), "base64");
    expect(verify("sha256", Buffer.from(cosignVector("blob.txt")), pub, sig)).toBe(true);
  });
});
