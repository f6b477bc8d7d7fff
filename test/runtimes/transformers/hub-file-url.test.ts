import { describe, expect, it } from "vitest";
import { parseHubFileUrl } from "../../../src/runtimes/transformers/hub-file-url.js";

describe("parseHubFileUrl", () => {
  it("reads repo, revision and path from the URL transformers.js builds", () => {
    expect(parseHubFileUrl("https://huggingface.co/Xenova/all-MiniLM-L6-v2/resolve/main/onnx/model_quantized.onnx")).toEqual({
      repo: "Xenova/all-MiniLM-L6-v2",
      revision: "main",
      path: "onnx/model_quantized.onnx",
      url: "https://huggingface.co/Xenova/all-MiniLM-L6-v2/resolve/main/onnx/model_quantized.onnx",
    });
    expect(parseHubFileUrl("https://huggingface.co/gpt2/resolve/v1.0/config.json")).toMatchObject({ repo: "gpt2", revision: "v1.0", path: "config.json" });
    // transformers.js encodes the revision with encodeURIComponent.
    expect(parseHubFileUrl("https://huggingface.co/org/m/resolve/refs%2Fpr%2F1/config.json")).toMatchObject({ repo: "org/m", revision: "refs/pr/1" });
  });

  it("is undefined for local paths, other hosts and other shapes", () => {
    expect(parseHubFileUrl("/app/node_modules/@huggingface/transformers/models/org/m/config.json")).toBeUndefined();
    expect(parseHubFileUrl("https://example.com/org/m/resolve/main/config.json")).toBeUndefined();
    expect(parseHubFileUrl("https://huggingface.co/org/m/blob/main/config.json")).toBeUndefined();
    expect(parseHubFileUrl("https://huggingface.co/org/m/resolve/main/")).toBeUndefined();
    expect(parseHubFileUrl("https://huggingface.co/org/m/resolve/%E0%A4%A/config.json")).toBeUndefined();
  });

  it("prefers the reading that names a locked repo when a repo is literally called resolve", () => {
    const url = "https://huggingface.co/resolve/resolve/resolve/main/config.json";
    expect(parseHubFileUrl(url)).toMatchObject({ repo: "resolve/resolve", revision: "main", path: "config.json" });
    expect(parseHubFileUrl(url, (r) => r === "resolve")).toMatchObject({ repo: "resolve", revision: "resolve", path: "main/config.json" });
  });
});
