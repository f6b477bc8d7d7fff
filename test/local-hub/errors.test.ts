import { downloadFile, fileDownloadInfo, HubApiError, listFiles, modelInfo } from "@huggingface/hub";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalHub, type LocalHub } from "../../local-hub/index.js";
import { createModel, MODEL, rawGet } from "./helpers.js";

let hub: LocalHub;
let sha: string;
const OWNER = "hf_owner_token";
const OTHER = "hf_other_token";
beforeAll(async () => {
  hub = await startLocalHub();
  sha = await createModel(hub);
  await createModel(hub, "org/private");
  await createModel(hub, "org/gated");
  await hub.setPrivate("org/private", OWNER);
  await hub.setGated("org/gated", [OWNER]);
});
afterAll(() => hub.close());

async function get(path: string, token?: string, method = "GET") {
  const res = await fetch(hub.url + path, { method, redirect: "manual", headers: token ? { Authorization: `Bearer ${token}` } : {} });
  const text = await res.text();
  return { status: res.status, code: res.headers.get("x-error-code"), message: res.headers.get("x-error-message"), text };
}

const endpoints = (repo: string) => [
  `/api/models/${repo}/revision/main`,
  `/api/models/${repo}/tree/main`,
  `/${repo}/resolve/main/config.json`,
  `/${repo}/resolve/main/onnx/model.onnx`,
];

describe("the Hub's error answers", () => {
  it("a missing repo: 401 RepoNotFound anonymously, 404 with a token; JSON body and X-Error-Message", async () => {
    for (const path of [`/api/models/org/missing`, ...endpoints("org/missing")]) {
      expect(await get(path)).toEqual({ status: 401, code: "RepoNotFound", message: "Repository not found", text: '{"error":"Repository not found"}' });
      expect((await get(path, OTHER)).status).toBe(404);
    }
    const paths = await fetch(`${hub.url}/api/models/org/missing/paths-info/main`, { method: "POST", body: new URLSearchParams([["paths", "a"]]) });
    expect([paths.status, paths.headers.get("x-error-code")]).toEqual([401, "RepoNotFound"]);
  });

  it("a private repo looks missing without its token (401/404 RepoNotFound) and opens with it", async () => {
    for (const path of [`/api/models/org/private`, ...endpoints("org/private")]) {
      expect(await get(path)).toMatchObject({ status: 401, code: "RepoNotFound" });
      expect(await get(path, OTHER)).toMatchObject({ status: 404, code: "RepoNotFound" });
      expect((await get(path, OWNER)).status).toBeLessThan(400);
    }
    const info = (await (await fetch(`${hub.url}/api/models/org/private`, { headers: { Authorization: `Bearer ${OWNER}` } })).json()) as { private: boolean };
    expect(info.private).toBe(true);
  });

  it("a gated repo shows its card but refuses revisions and files: 401 GatedRepo anonymously, 403 without access", async () => {
    const card = (await (await fetch(`${hub.url}/api/models/org/gated`)).json()) as { gated: string };
    expect(card.gated).toBe("manual");
    for (const path of endpoints("org/gated")) {
      const anon = await get(path);
      expect(anon).toMatchObject({ status: 401, code: "GatedRepo" });
      expect(anon.message).toMatch(/Access to model org\/gated is restricted\. You must have access to it and be authenticated/);
      const other = await get(path, OTHER);
      expect(other).toMatchObject({ status: 403, code: "GatedRepo" });
      expect(other.message).toMatch(/not in the authorized list/);
      expect((await get(path, OWNER)).status).toBeLessThan(400);
    }
  });

  it("a missing revision is 404 RevisionNotFound on every revision-scoped endpoint", async () => {
    for (const path of [`/api/models/${MODEL}/revision/nope`, `/api/models/${MODEL}/tree/nope`, `/${MODEL}/resolve/nope/config.json`, `/${MODEL}/resolve/${"0".repeat(40)}/config.json`]) {
      expect(await get(path)).toMatchObject({ status: 404, code: "RevisionNotFound", message: expect.stringMatching(/^Invalid rev id: /) });
    }
    // A revision quoted in X-Error-Message is kept to printable ASCII, as a header must be.
    expect(await get(`/api/models/${MODEL}/revision/%C3%A9t%C3%A9%0D%0AX-Evil:%201`)).toMatchObject({ status: 404, message: "Invalid rev id: ?t???X-Evil: 1" });
    const paths = await fetch(`${hub.url}/api/models/${MODEL}/paths-info/nope`, { method: "POST", body: new URLSearchParams([["paths", "a"]]) });
    expect([paths.status, paths.headers.get("x-error-code")]).toEqual([404, "RevisionNotFound"]);
  });

  it("a missing file is 404 EntryNotFound with X-Repo-Commit (HEAD too, without a body)", async () => {
    const res = await fetch(`${hub.url}/${MODEL}/resolve/main/nope.bin`);
    expect([res.status, res.headers.get("x-error-code"), res.headers.get("x-repo-commit")]).toEqual([404, "EntryNotFound", sha]);
    const head = await rawGet(`${hub.url}/${MODEL}/resolve/main/nope.bin`, {}, "HEAD");
    expect([head.status, head.headers["x-error-code"], head.body.length]).toEqual([404, "EntryNotFound", 0]);
  });

  it("unknown routes are 404 without a Hub error code; malformed URLs are 400", async () => {
    expect(await get("/nothing/here")).toMatchObject({ status: 404, code: null });
    expect(await get(`/api/models/${MODEL}/revision/%E0%A4%A`)).toMatchObject({ status: 400 });
    expect((await get(`/${MODEL}/resolve/main/config.json`, undefined, "DELETE")).status).toBe(404);
  });

  it("gates and privacy can be lifted", async () => {
    await createModel(hub, "org/toggle");
    await hub.setPrivate("org/toggle", OWNER);
    await hub.setGated("org/toggle", OWNER);
    expect((await get("/org/toggle/resolve/main/config.json")).status).toBe(401);
    await hub.setPrivate("org/toggle", false);
    expect((await get("/org/toggle/resolve/main/config.json")).code).toBe("GatedRepo");
    await hub.setGated("org/toggle", false);
    expect((await get("/org/toggle/resolve/main/config.json")).status).toBe(200);
  });
});

describe("how @huggingface/hub surfaces them", () => {
  it("throws HubApiError with the status and the JSON `error` as message (X-Error-Code is not exposed)", async () => {
    const err = await modelInfo({ name: "org/missing", hubUrl: hub.url }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HubApiError);
    expect((err as HubApiError).statusCode).toBe(401);
    expect((err as HubApiError).message).toMatch(/^Repository not found\. URL: /);
    expect((err as HubApiError).requestId).toMatch(/^local-/);
    const gated = await listFiles({ repo: { type: "model", name: "org/gated" }, hubUrl: hub.url, accessToken: OTHER })
      .next()
      .catch((e: unknown) => e);
    expect((gated as HubApiError).statusCode).toBe(403);
  });

  it("fileDownloadInfo and downloadFile return null for EntryNotFound; tokens must start with hf_", async () => {
    const repo = { type: "model" as const, name: MODEL };
    expect(await fileDownloadInfo({ repo, path: "nope.bin", hubUrl: hub.url })).toBeNull();
    expect(await downloadFile({ repo, path: "nope.bin", hubUrl: hub.url })).toBeNull();
    await expect(modelInfo({ name: MODEL, hubUrl: hub.url, accessToken: "secret" })).rejects.toThrow(/must start with 'hf_'/);
    const blob = await downloadFile({ repo: { type: "model", name: "org/private" }, path: "onnx/model.onnx", hubUrl: hub.url, accessToken: OWNER });
    expect(blob?.size).toBe(20_000);
  });
});
