import { readFileSync } from "node:fs";
import { readFile, stat, writeFile } from "node:fs/promises";
import { Ajv2020 } from "ajv/dist/2020.js";
import { afterEach, describe, expect, it } from "vitest";
import { runCli } from "../helpers/run-cli.js";
import { startHubEnv, type HubTestEnv } from "./hub-fixture.js";

const vectors = new URL("../fixtures/vectors/model-signing/", import.meta.url);
const publisherKey = new URL("keys/signing-key-pub.pem", vectors).pathname;
const IDENTITY = ["--identity", "stefanb@us.ibm.com", "--identity-provider", "https://sigstore.verify.ibm.com/oauth2"];

let env: HubTestEnv;
afterEach(async () => {
  await env?.hub.close();
});

/** A Hub repo holding one of the reference implementation's signed vector models, model.sig included. */
async function publish(vector: string): Promise<HubTestEnv> {
  env = await startHubEnv();
  const files: Record<string, Uint8Array> = {};
  for (const name of ["signme-1", "signme-2", "ignore-me", "model.sig"]) files[name] = readFileSync(new URL(`${vector}/${name}`, vectors));
  await env.hub.createRepo("publisher/model", { files });
  return env;
}

const ajv = new Ajv2020({ strict: true });
ajv.addFormat("date-time", (s: string) => !Number.isNaN(Date.parse(s)));
const validateReport = ajv.compile(JSON.parse(readFileSync(new URL("../../docs/verify-report.schema.json", import.meta.url), "utf8")));

const lock = async (e: HubTestEnv) => JSON.parse(await readFile(e.lockfilePath, "utf8"));

describe("a publisher's model.sig", () => {
  it("keyless: add verifies it against the files being locked and records it; verify requires the identity", async () => {
    const e = await publish("v1.1.0-sigstore");
    const add = await runCli([...e.g, "add", "publisher/model", "--include", "signme-*", ...IDENTITY], { env: e.env });
    expect(add.stderr).toMatch(/publisher signature model\.sig verified: publisher signature by stefanb@us\.ibm\.com/);
    expect(add.code).toBe(0);
    const entry = (await lock(e)).models.model;
    expect(Object.keys(entry.files)).toEqual(["signme-1", "signme-2"]);
    expect(entry.publisherSignatures).toHaveLength(1);
    expect(entry.publisherSignatures[0].path).toBe("model.sig");

    const ok = await runCli([...e.g, "verify", "--json", ...IDENTITY], { env: e.env });
    expect(ok.code).toBe(0);
    expect(validateReport(JSON.parse(ok.stdout)), JSON.stringify(validateReport.errors)).toBe(true);
    expect(JSON.parse(ok.stdout).models[0].signer).toEqual({
      kind: "identity",
      subject: "stefanb@us.ibm.com",
      issuer: "https://sigstore.verify.ibm.com/oauth2",
      via: "publisher-signature",
    });
    const wrongIdentity = await runCli([...e.g, "verify", "--identity", "mallory@example.com", "--identity-provider", "https://sigstore.verify.ibm.com/oauth2"], { env: e.env });
    expect(wrongIdentity.code).toBe(1);
    expect(wrongIdentity.stderr).toMatch(/UNTRUSTED_SIGNER/);
    const wrongIssuer = await runCli([...e.g, "verify", "--identity", "stefanb@us.ibm.com", "--identity-provider", "https://accounts.google.com"], { env: e.env });
    expect(wrongIssuer.code).toBe(1);
    expect((await runCli([...e.g, "verify"], { env: e.env })).code).toBe(1);

    // The lockfile edited after the publisher signed: a digest the publisher never signed.
    const edited = await lock(e);
    edited.models.model.files["signme-1"].sha256 = "0".repeat(64);
    await writeFile(e.lockfilePath, JSON.stringify(edited));
    const tampered = await runCli([...e.g, "verify", ...IDENTITY], { env: e.env });
    expect(tampered.code).toBe(1);
    expect(tampered.stderr).toMatch(/SIGNATURE_INVALID/);
  });

  it("by key: add with the publisher's key records it; verify --key accepts it", async () => {
    const e = await publish("v1.1.0-elliptic-key");
    const add = await runCli([...e.g, "add", "publisher/model", "--include", "signme-*", "--key", publisherKey], { env: e.env });
    expect(add.code).toBe(0);
    const ok = await runCli([...e.g, "verify", "--json", "--key", publisherKey], { env: e.env });
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).models[0].signer).toMatchObject({ kind: "key", via: "publisher-signature" });
  });

  it("refuses to lock what the publisher did not sign, or a signature by someone else; nothing is written", async () => {
    const e = await publish("v1.1.0-elliptic-key");
    const uncovered = await runCli([...e.g, "add", "publisher/model", "--include", "signme-*", "--include", "ignore-me", "--key", publisherKey], { env: e.env });
    expect(uncovered.code).toBe(1);
    expect(uncovered.stderr).toMatch(/does not cover ignore-me/);
    const stranger = await runCli([...e.g, "add", "publisher/model", "--include", "signme-*", "--key", new URL("../fixtures/vectors/cosign/pemsigstorekey.pub", import.meta.url).pathname], { env: e.env });
    expect(stranger.code).toBe(1);
    expect(stranger.stderr).toMatch(/signed by k/);
    await expect(stat(e.lockfilePath)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("without trust flags, add only points the signature out", async () => {
    const e = await publish("v1.1.0-elliptic-key");
    const add = await runCli([...e.g, "add", "publisher/model", "--include", "signme-*"], { env: e.env });
    expect(add.code).toBe(0);
    expect(add.stderr).toMatch(/has a publisher signature \(model\.sig\); pass --key or --identity/);
    expect((await lock(e)).models.model.publisherSignatures).toBeUndefined();
  });
});
