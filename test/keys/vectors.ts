import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

// Copied from cosign and the reference model_signing; provenance in test/fixtures/vectors/README.md.
export const COSIGN_VECTORS = new URL("../fixtures/vectors/cosign/", import.meta.url);
export const MODEL_SIGNING_VECTORS = new URL("../fixtures/vectors/model-signing/", import.meta.url);

export function cosignVector(name: string): string {
  return readFileSync(new URL(name, COSIGN_VECTORS), "utf8");
}

export function cosignVectorPath(name: string): string {
  return fileURLToPath(new URL(name, COSIGN_VECTORS));
}

export function modelSigningVector(name: string): string {
  return readFileSync(new URL(name, MODEL_SIGNING_VECTORS), "utf8");
}

/** The JSON envelope inside a cosign encrypted-key PEM, as text. */
export function envelopeJson(pem: string): string {
  const body = pem.replace(/-----(BEGIN|END) [^-]+-----/g, "").replace(/\s+/g, "");
  return Buffer.from(body, "base64").toString("utf8");
}

/** Re-wrap an edited envelope under the same label, 64-char lines. */
export function withEnvelope(label: string, json: string): string {
  const b64 = Buffer.from(json, "utf8").toString("base64");
  return `-----BEGIN ${label}-----\n${b64.match(/.{1,64}/g)!.join("\n")}\n-----END ${label}-----\n`;
}

export const PASSWORD = "hello";
