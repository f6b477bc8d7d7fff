/**
 * cosign's encrypted private key format.
 *
 * cosign stores a PKCS#8 private key encrypted by go-securesystemslib's `encrypted` package:
 * key = scrypt(password, salt, N, r=8, p=1, 32), ciphertext = NaCl secretbox (XSalsa20-Poly1305)
 * of the PKCS#8 DER. The JSON envelope is base64'd into a PEM block labelled
 * `ENCRYPTED SIGSTORE PRIVATE KEY` (what current cosign writes) or `ENCRYPTED COSIGN PRIVATE KEY`
 * (older cosign; current cosign still reads it, so we do too).
 */
import { createPrivateKey, randomBytes, scrypt, type KeyObject } from "node:crypto";
import nacl from "tweetnacl";
import { ModelGuardError } from "../errors.js";
import { supportedCurve } from "./key-types.js";
import { decodeBase64Strict, encodePem, firstPemBlock } from "./pem.js";

export const SIGSTORE_PRIVATE_KEY_LABEL = "ENCRYPTED SIGSTORE PRIVATE KEY";
export const COSIGN_PRIVATE_KEY_LABEL = "ENCRYPTED COSIGN PRIVATE KEY";
export const ENCRYPTED_KEY_LABELS: readonly string[] = [SIGSTORE_PRIVATE_KEY_LABEL, COSIGN_PRIVATE_KEY_LABEL];

/**
 * The scrypt cost parameters go-securesystemslib accepts: legacy (cosign < 2.2), standard
 * (cosign >= 2.2) and OWASP. Anything else is refused before running the KDF, because the
 * parameters come from the (untrusted) file and a huge N is a cheap denial of service.
 */
export const ACCEPTED_SCRYPT_N: readonly number[] = [32768, 65536, 131072];
export const DEFAULT_SCRYPT_N = 65536;
const SCRYPT_R = 8;
const SCRYPT_P = 1;
const SALT_BYTES = 32;
const KEY_BYTES = nacl.secretbox.keyLength;
const NONCE_BYTES = nacl.secretbox.nonceLength;

export interface EncryptOptions {
  /** scrypt cost; one of ACCEPTED_SCRYPT_N. Default 65536, as cosign 2.2+ writes. */
  N?: number;
}

function scryptKey(password: string, salt: Uint8Array, N: number): Promise<Buffer> {
  // OpenSSL needs about 128*r*(N+p+2) bytes; Node's default maxmem (32 MiB) is below N=65536's.
  const maxmem = 256 * N * SCRYPT_R;
  return new Promise((resolve, reject) => {
    scrypt(Buffer.from(password, "utf8"), salt, KEY_BYTES, { N, r: SCRYPT_R, p: SCRYPT_P, maxmem }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

/**
 * Encrypt a PKCS#8 DER private key into cosign's PEM. The output is byte-for-byte what cosign
 * would write for the same salt, nonce and key, so cosign reads it back.
 */
export async function encryptPrivateKey(
  pkcs8Der: Uint8Array,
  password: string,
  opts: EncryptOptions = {},
): Promise<string> {
  const N = opts.N ?? DEFAULT_SCRYPT_N;
  if (!ACCEPTED_SCRYPT_N.includes(N)) {
    throw new ModelGuardError("USAGE", `scrypt N must be one of ${ACCEPTED_SCRYPT_N.join(", ")}, got ${N}`);
  }
  // A key cosign could not load afterwards is worse than an error now.
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: Buffer.from(pkcs8Der), format: "der", type: "pkcs8" });
  } catch (cause) {
    throw new ModelGuardError("KEY_INVALID", "the key to encrypt is not a PKCS#8 DER private key", { cause });
  }
  supportedCurve(key, "the key to encrypt");

  const salt = randomBytes(SALT_BYTES);
  const nonce = randomBytes(NONCE_BYTES);
  const boxKey = await scryptKey(password, salt, N);
  const ciphertext = nacl.secretbox(pkcs8Der, nonce, boxKey);
  boxKey.fill(0);

  // Field order is Go's json.Marshal of go-securesystemslib's structs; Go's HTML escaping
  // never applies because base64 has no <, > or &.
  const envelope = {
    kdf: { name: "scrypt", params: { N, r: SCRYPT_R, p: SCRYPT_P }, salt: salt.toString("base64") },
    cipher: { name: "nacl/secretbox", nonce: nonce.toString("base64") },
    ciphertext: Buffer.from(ciphertext).toString("base64"),
  };
  return encodePem(SIGSTORE_PRIVATE_KEY_LABEL, Buffer.from(JSON.stringify(envelope), "utf8"));
}

interface Envelope {
  N: number;
  salt: Buffer;
  nonce: Buffer;
  ciphertext: Buffer;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function invalid(message: string): ModelGuardError {
  return new ModelGuardError("KEY_INVALID", `encrypted private key: ${message}`);
}

function parseEnvelope(json: Buffer): Envelope {
  let doc: unknown;
  try {
    doc = JSON.parse(json.toString("utf8"));
  } catch {
    throw invalid("the PEM body is not cosign's JSON envelope");
  }
  if (!isObject(doc) || !isObject(doc.kdf) || !isObject(doc.cipher)) {
    throw invalid('the envelope lacks the "kdf" or "cipher" object');
  }
  const { kdf, cipher } = doc;
  if (kdf.name !== "scrypt") throw invalid(`unsupported kdf ${JSON.stringify(kdf.name)} (expected "scrypt")`);
  if (cipher.name !== "nacl/secretbox") {
    throw invalid(`unsupported cipher ${JSON.stringify(cipher.name)} (expected "nacl/secretbox")`);
  }
  const params = kdf.params;
  if (!isObject(params)) throw invalid('the kdf has no "params" object');
  const { N, r, p } = params;
  if (typeof N !== "number" || !ACCEPTED_SCRYPT_N.includes(N)) {
    throw invalid(`scrypt parameter N=${JSON.stringify(N)} is not accepted (allowed: ${ACCEPTED_SCRYPT_N.join(", ")})`);
  }
  if (r !== SCRYPT_R) throw invalid(`scrypt parameter r=${JSON.stringify(r)} is not accepted (allowed: ${SCRYPT_R})`);
  if (p !== SCRYPT_P) throw invalid(`scrypt parameter p=${JSON.stringify(p)} is not accepted (allowed: ${SCRYPT_P})`);
  const b64 = (v: unknown, what: string): Buffer => {
    if (typeof v !== "string") throw invalid(`${what} is missing or not a string`);
    return decodeBase64Strict(v, `encrypted private key: ${what}`);
  };
  // Go decodes any salt length, so we do too; only the nonce size is fixed by secretbox.
  const salt = b64(kdf.salt, "kdf salt");
  const nonce = b64(cipher.nonce, "cipher nonce");
  if (nonce.length !== NONCE_BYTES) throw invalid(`the nonce is ${nonce.length} bytes, expected ${NONCE_BYTES}`);
  const ciphertext = b64(doc.ciphertext, "ciphertext");
  if (ciphertext.length < nacl.secretbox.overheadLength) throw invalid("the ciphertext is too short");
  return { N, salt, nonce, ciphertext };
}

function readEnvelope(pem: string): Envelope & { label: string } {
  const block = firstPemBlock(pem, "encrypted private key");
  if (!ENCRYPTED_KEY_LABELS.includes(block.label)) {
    throw invalid(
      `unsupported PEM type "${block.label}" (expected "${SIGSTORE_PRIVATE_KEY_LABEL}" or "${COSIGN_PRIVATE_KEY_LABEL}")`,
    );
  }
  return { label: block.label, ...parseEnvelope(block.der) };
}

/**
 * Validate everything about an encrypted key that does not need the password (label, envelope,
 * KDF parameters), so a caller can reject a bad file before prompting for a password.
 */
export function checkEncryptedKey(pem: string): { label: string; N: number } {
  const { label, N } = readEnvelope(pem);
  return { label, N };
}

/** Turn decrypted bytes into a key, explaining the formats cosign refuses. */
function pkcs8ToKey(plain: Buffer): KeyObject {
  try {
    return createPrivateKey({ key: plain, format: "der", type: "pkcs8" });
  } catch {
    // Diagnose only; cosign's x509.ParsePKCS8PrivateKey rejects these, so we do too.
    for (const [type, label, goParser] of [
      ["sec1", 'a SEC1 EC private key ("EC PRIVATE KEY")', "ParseECPrivateKey"],
      ["pkcs1", 'a PKCS#1 RSA private key ("RSA PRIVATE KEY")', "ParsePKCS1PrivateKey"],
    ] as const) {
      try {
        createPrivateKey({ key: plain, format: "der", type });
      } catch {
        continue;
      }
      throw invalid(
        `the decrypted key is ${label}, not PKCS#8; cosign refuses it too ("x509: failed to parse ` +
          `private key (use ${goParser} instead for this key format)"). If you have the key ` +
          `unencrypted, "cosign import-key-pair" re-encrypts it as PKCS#8.`,
      );
    }
    throw invalid("the decrypted data is not a PKCS#8 private key");
  }
}

/**
 * Decrypt cosign's encrypted private key PEM. Wrong password: WRONG_PASSWORD. Unknown label,
 * KDF parameters outside cosign's set, or a plaintext that is not a PKCS#8 ECDSA key:
 * KEY_INVALID.
 */
export async function decryptPrivateKey(pem: string, password: string): Promise<KeyObject> {
  const env = readEnvelope(pem);
  const boxKey = await scryptKey(password, env.salt, env.N);
  const opened = nacl.secretbox.open(env.ciphertext, env.nonce, boxKey);
  boxKey.fill(0);
  if (opened === null) {
    throw new ModelGuardError("WRONG_PASSWORD", "wrong password: cannot decrypt the private key (or the key file is corrupted)");
  }
  const plain = Buffer.from(opened.buffer, opened.byteOffset, opened.byteLength);
  try {
    const key = pkcs8ToKey(plain);
    supportedCurve(key, "the private key");
    return key;
  } finally {
    plain.fill(0);
  }
}
