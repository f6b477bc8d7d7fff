/**
 * DSSE pre-authentication encoding, as model_signing signs it, including the broken encoding of
 * model_signing 0.2 that its verifier still accepts for key signatures.
 */
import { dsse } from "@sigstore/core";

export function pae(payloadType: string, payload: Buffer): Buffer {
  return dsse.preAuthEncoding(payloadType, payload);
}

/**
 * Python's `repr()` of a bytes object: what model_signing 0.2 put into the signed text by
 * formatting bytes into an f-string (`pae_compat` in the reference).
 */
export function pythonBytesRepr(bytes: Buffer): string {
  const hasSingle = bytes.includes(0x27);
  const quote = hasSingle && !bytes.includes(0x22) ? '"' : "'";
  let out = `b${quote}`;
  for (const byte of bytes) {
    if (byte === 0x5c) out += "\\\\";
    else if (byte === 0x09) out += "\\t";
    else if (byte === 0x0a) out += "\\n";
    else if (byte === 0x0d) out += "\\r";
    else if (quote === "'" && byte === 0x27) out += "\\'";
    else if (byte < 0x20 || byte >= 0x7f) out += `\\x${byte.toString(16).padStart(2, "0")}`;
    else out += String.fromCharCode(byte);
  }
  return `${out}${quote}`;
}

/** model_signing 0.2's PAE: "DSSEV1" (capital V) and the payload's repr instead of its bytes. */
export function paeCompat(payloadType: string, payload: Buffer): Buffer {
  const typeLength = Buffer.byteLength(payloadType, "utf8");
  return Buffer.from(`DSSEV1 ${typeLength} ${payloadType} ${payload.length} ${pythonBytesRepr(payload)}`, "utf8");
}
