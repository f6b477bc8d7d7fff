/**
 * Minimal RFC 7468 PEM reading and writing, with the strictness of Go's encoding/pem where it
 * matters for cosign interop (padded standard base64, 64-character lines on output).
 */
import { ModelGuardError } from "../errors.js";

export interface PemBlock {
  label: string;
  der: Buffer;
}

// RFC 7468 labelchar: printable ASCII except "-", spaces allowed inside.
const BEGIN_RE = /-----BEGIN ([\x20-\x2C\x2E-\x7E]*)-----/g;
const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

/** Strict standard base64 (padding required), as Go's base64.StdEncoding decodes it. */
export function decodeBase64Strict(text: string, what: string): Buffer {
  if (text.length % 4 !== 0 || !BASE64_RE.test(text)) {
    throw new ModelGuardError("KEY_INVALID", `${what} is not valid base64`);
  }
  // Buffer.from silently skips bad characters, hence the regex above.
  return Buffer.from(text, "base64");
}

/**
 * Every PEM block in `text`, in order. Text outside the blocks is ignored, because real key
 * files carry preambles (OpenSSF model-signing public keys start with a GnuTLS key dump).
 */
export function findPemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  BEGIN_RE.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = BEGIN_RE.exec(text)) !== null) {
    const label = m[1] ?? "";
    const endMarker = `-----END ${label}-----`;
    const bodyStart = m.index + m[0].length;
    const endAt = text.indexOf(endMarker, bodyStart);
    if (endAt < 0) {
      throw new ModelGuardError("KEY_INVALID", `PEM block "${label}" has no "${endMarker}" line`);
    }
    const body = text.slice(bodyStart, endAt).replace(/[ \t\r\n]+/g, "");
    if (body.includes(":")) {
      // RFC 1421 headers (Proc-Type: 4,ENCRYPTED ...) mean legacy OpenSSL encryption.
      throw new ModelGuardError(
        "KEY_INVALID",
        `PEM block "${label}" has RFC 1421 headers (legacy OpenSSL encryption), which is not supported`,
      );
    }
    blocks.push({ label, der: decodeBase64Strict(body, `the body of PEM block "${label}"`) });
    BEGIN_RE.lastIndex = endAt + endMarker.length;
  }
  return blocks;
}

/** The first PEM block, like Go's pem.Decode: cosign only ever looks at the first one. */
export function firstPemBlock(text: string, what: string): PemBlock {
  const block = findPemBlocks(text)[0];
  if (block === undefined) {
    throw new ModelGuardError("KEY_INVALID", `${what}: no PEM block found`);
  }
  return block;
}

/** PEM exactly as Go's pem.EncodeToMemory writes it: 64-char lines, trailing newline. */
export function encodePem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString("base64");
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join("\n")}${lines.length > 0 ? "\n" : ""}-----END ${label}-----\n`;
}
