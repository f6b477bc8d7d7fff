import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { signerFromFlags, type SigningFlags } from "../../src/cli/signing-flags.js";
import { makeKeys, tempDir } from "../helpers/fixtures.js";
import { rejection } from "../helpers/errors.js";

const dir = await tempDir();
const { privatePath } = await makeKeys(dir);
const TOKEN = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln";

describe("signerFromFlags: which signing mode the flags name", () => {
  it("key, certificate, keyless from the flag, from SIGSTORE_ID_TOKEN (only without --key), or from a token file", async () => {
    expect((await signerFromFlags("sign", { key: privatePath }, {})).mode).toBe("key");
    expect((await signerFromFlags("sign", { identityToken: TOKEN }, {})).mode).toBe("keyless");
    expect(await signerFromFlags("sign", {}, { SIGSTORE_ID_TOKEN: TOKEN })).toMatchObject({ mode: "keyless", identityToken: TOKEN });
    expect((await signerFromFlags("sign", { key: privatePath }, { SIGSTORE_ID_TOKEN: TOKEN })).mode).toBe("key");
    const file = join(dir, "token");
    await writeFile(file, `${TOKEN}\n`);
    expect(await signerFromFlags("sign", { identityToken: file }, {})).toMatchObject({ identityToken: TOKEN });
  });

  it.each<[string, SigningFlags, RegExp]>([
    ["no signer", {}, /sign needs --key, or --identity-token/],
    ["two modes", { key: privatePath, identityToken: TOKEN }, /not both/],
    ["a keyless flag with a key", { key: privatePath, fulcioUrl: "https://fulcio.example" }, /--fulcio-url only applies to keyless/],
    ["a trusted root with a key", { key: privatePath, trustedRoot: "root.json" }, /--trusted-root only applies to keyless/],
    ["a chain without its certificate", { key: privatePath, certificateChain: ["chain.pem"] }, /--certificate-chain goes with --certificate/],
    ["a certificate when keyless", { identityToken: TOKEN, certificate: "c.pem" }, /go with --key/],
    ["a URL that is not http(s)", { identityToken: TOKEN, rekorUrl: "ftp://rekor.example" }, /--rekor-url must be an http\(s\) URL/],
    ["a URL that is no URL", { identityToken: TOKEN, fulcioUrl: "fulcio" }, /--fulcio-url "fulcio" is not a URL/],
  ])("refuses %s (USAGE)", async (_what, flags, message) => {
    const err = await rejection(signerFromFlags("sign", flags, { SIGSTORE_ID_TOKEN: "" }));
    expect(err).toMatchObject({ code: "USAGE" });
    expect((err as Error).message).toMatch(message);
  });

  it("names a token file that is missing (FILE_MISSING)", async () => {
    expect(await rejection(signerFromFlags("sign", { identityToken: join(dir, "nope") }, {}))).toMatchObject({ code: "FILE_MISSING" });
  });
});
