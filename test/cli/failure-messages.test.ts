/**
 * What a failed verification tells the user to do, through the real CLI, and the README's
 * "When verification fails" table, which must explain every error code there is.
 */
import { readFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { ERROR_CODES, exitCodeFor } from "../../src/errors.js";
import { publicKeyId } from "../../src/keys/load-key.js";
import { makeCachedModels, makeKeys } from "../helpers/fixtures.js";
import { runCli } from "../helpers/run-cli.js";

async function setup() {
  const made = await makeCachedModels({ m: { repo: "org/m", files: { "config.json": Buffer.from('{"m":1}') } } });
  const g = ["--lockfile", made.lockfilePath, "--cache-dir", made.cacheDir];
  const signer = await makeKeys(made.dir, "signer");
  const stranger = await makeKeys(made.dir, "stranger");
  return { ...made, g, signer, stranger };
}

describe("verify says what to do", () => {
  it("SIGNATURE_MISSING: sign it with modelguard sign", async () => {
    const s = await setup();
    const res = await runCli([...s.g, "verify", "--key", s.signer.publicPath]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/FAIL \[SIGNATURE_MISSING\] model m has no signature; sign it with `modelguard sign m --key cosign\.key`/);
  });

  it("UNTRUSTED_SIGNER names the key id that signed and the keys given", async () => {
    const s = await setup();
    expect((await runCli([...s.g, "sign", "--key", s.signer.privatePath])).code).toBe(0);
    const res = await runCli([...s.g, "verify", "--key", s.stranger.publicPath]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(
      `[UNTRUSTED_SIGNER] model m: signatures[0]: the model was signed by key ${publicKeyId(s.signer.publicKey)}, which is not trusted (trusted: ${publicKeyId(s.stranger.publicKey)})`,
    );
    const none = await runCli([...s.g, "verify"]);
    expect(none.stderr).toContain(`signed by key ${publicKeyId(s.signer.publicKey)}; no key was given to trust (--key)`);
  });

  it("SIGNATURE_MALFORMED names the model", async () => {
    const s = await setup();
    const lock = JSON.parse(await readFile(s.lockfilePath, "utf8"));
    lock.models.m.signatures = [{ mediaType: "not a bundle" }];
    await writeFile(s.lockfilePath, JSON.stringify(lock));
    const res = await runCli([...s.g, "verify", "--key", s.signer.publicPath]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/\[SIGNATURE_MALFORMED\] model m: signatures\[0\]: /);
    const json = JSON.parse((await runCli([...s.g, "verify", "--key", s.signer.publicPath, "--json"])).stdout);
    expect(json.models[0].error).toMatchObject({ code: "SIGNATURE_MALFORMED", message: expect.stringMatching(/^model m: /) });
  });

  it("--allow-unsigned does not call a signed but untrusted model unsigned", async () => {
    const s = await setup();
    expect((await runCli([...s.g, "sign", "--key", s.signer.privatePath])).code).toBe(0);
    const res = await runCli([...s.g, "verify", "--allow-unsigned", "--key", s.stranger.publicPath]);
    expect(res.code).toBe(0);
    expect(res.stderr).toContain(`no trusted signature: signed by key ${publicKeyId(s.signer.publicKey).slice(0, 16)}, not trusted; allowed by --allow-unsigned`);
    expect(res.stderr).not.toMatch(/unsigned, allowed/);
    const json = JSON.parse((await runCli([...s.g, "verify", "--allow-unsigned", "--json"])).stdout);
    const schema = JSON.parse(readFileSync(new URL("../../docs/verify-report.schema.json", import.meta.url), "utf8"));
    const ajv = new Ajv2020({ allErrors: true, strict: true });
    ajv.addFormat("date-time", (t: string) => !Number.isNaN(Date.parse(t)));
    const validate = ajv.compile(schema);
    expect(validate(json), JSON.stringify(validate.errors)).toBe(true);
    expect(json.models[0].signer).toEqual({
      kind: "unsigned",
      untrustedSignatures: [{ where: "signatures[0]", kind: "model-signature", signer: { kind: "key", fingerprint: publicKeyId(s.signer.publicKey) } }],
    });
    // A model with no signature at all is still plainly unsigned.
    expect((await runCli([...s.g, "unsign", "--key", s.signer.publicPath])).code).toBe(0);
    expect((await runCli([...s.g, "verify", "--allow-unsigned"])).stderr).toMatch(/\(unsigned, allowed\)/);
  });
});

describe("README: When verification fails", () => {
  it("explains every error code, with its exit code and what to do", async () => {
    const readme = await readFile(new URL("../../README.md", import.meta.url), "utf8");
    const section = /\n## When verification fails\n([\s\S]*?)\n## /.exec(readme)?.[1] ?? "";
    const rows = [...section.matchAll(/^\| `([A-Z_]+)` \[(\d)\] \| ([^|]+) \| ([^|]+) \|$/gm)];
    expect(rows.map((r) => r[1]).sort()).toEqual([...ERROR_CODES].sort());
    for (const [, code, exit, meaning, todo] of rows) {
      expect(Number(exit), code).toBe(exitCodeFor(code as (typeof ERROR_CODES)[number]));
      expect(meaning!.trim().length, code).toBeGreaterThan(20);
      expect(todo!.trim().length, code).toBeGreaterThan(10);
    }
  });
});
