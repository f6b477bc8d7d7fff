/**
 * Loading signing and verification keys from PEM text. Pure: text in, KeyObject out.
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { ModelGuardError } from "../errors.js";
import { checkEncryptedKey, decryptPrivateKey, ENCRYPTED_KEY_LABELS } from "./encrypted-key.js";
import { supportedCurve } from "./key-types.js";
import { encodePem, findPemBlocks } from "./pem.js";

// Labels people commonly hand us by mistake, with what to do about them.
const PRIVATE_KEY_HINTS: Readonly<Record<string, string>> = {
  "RSA PRIVATE KEY": "a PKCS#1 RSA private key; only ECDSA keys are supported",
  "ENCRYPTED PRIVATE KEY":
    "an OpenSSL-encrypted PKCS#8 key, which is not supported; decrypt it first " +
    '(openssl pkcs8 -in KEY -out plain.pem), then use it as is or import it with "cosign import-key-pair"',
  "PUBLIC KEY": "a public key; signing needs the private key",
  CERTIFICATE: "a certificate; signing needs the private key",
};

// Unencrypted PEM private keys we load, and how Node decodes each.
const PLAIN_PRIVATE_KEY_TYPES: Readonly<Record<string, "pkcs8" | "sec1">> = {
  "PRIVATE KEY": "pkcs8",
  // SEC1 is what OpenSSF model_signing's test key (keys/signing-key.pem) and `openssl ecparam
  // -genkey` produce. cosign's sign refuses it unencrypted but its import-key-pair takes it; we
  // accept it so model_signing keys work as they are.
  "EC PRIVATE KEY": "sec1",
};

/**
 * A private key for signing: cosign's encrypted PEM (either label), for which `password` is
 * called once and only then, or an unencrypted PKCS#8 `PRIVATE KEY` or SEC1 `EC PRIVATE KEY` PEM.
 * Like cosign (Go's pem.Decode) only the first PEM block counts, text before it is ignored,
 * except that an `EC PARAMETERS` block in front (openssl ecparam -genkey output) is skipped.
 */
export async function parsePrivateKey(pem: string, password: () => Promise<string>): Promise<KeyObject> {
  const block = findPemBlocks(pem).find((b) => b.label !== "EC PARAMETERS");
  if (block === undefined) throw new ModelGuardError("KEY_INVALID", "private key: no PEM block found");
  if (ENCRYPTED_KEY_LABELS.includes(block.label)) {
    const only = encodePem(block.label, block.der);
    // Reject a malformed file before making someone type a password for it.
    checkEncryptedKey(only);
    return decryptPrivateKey(only, await password());
  }
  const plainType = PLAIN_PRIVATE_KEY_TYPES[block.label];
  if (plainType !== undefined) {
    let key: KeyObject;
    try {
      key = createPrivateKey({ key: block.der, format: "der", type: plainType });
    } catch (cause) {
      throw new ModelGuardError(
        "KEY_INVALID",
        `private key: the "${block.label}" block is not a valid ${plainType === "pkcs8" ? "PKCS#8" : "SEC1"} key`,
        { cause },
      );
    }
    supportedCurve(key, "the private key");
    return key;
  }
  const hint = PRIVATE_KEY_HINTS[block.label];
  throw new ModelGuardError(
    "KEY_INVALID",
    `private key: unsupported PEM type "${block.label}"${hint === undefined ? "" : `: ${hint}`}; expected ` +
      `"${[...ENCRYPTED_KEY_LABELS, ...Object.keys(PLAIN_PRIVATE_KEY_TYPES)].join('", "')}"`,
  );
}

/**
 * A verification key: exactly one SPKI `PUBLIC KEY` PEM block, with any text around it (the
 * OpenSSF model-signing test keys start with a GnuTLS key dump). Certificates are refused here;
 * several blocks are refused because it would be unclear which key is trusted.
 */
export function parsePublicKey(text: string): KeyObject {
  const blocks = findPemBlocks(text);
  const block = blocks[0];
  if (block === undefined) throw new ModelGuardError("KEY_INVALID", "public key: no PEM block found");
  if (blocks.length > 1) {
    throw new ModelGuardError(
      "KEY_INVALID",
      `public key: expected one PEM block, found ${blocks.length} (${blocks.map((b) => b.label).join(", ")})`,
    );
  }
  if (block.label !== "PUBLIC KEY") {
    const why =
      block.label === "CERTIFICATE"
        ? "; certificates are not accepted as public keys"
        : block.label === "RSA PUBLIC KEY"
          ? "; PKCS#1 RSA keys are not supported"
          : block.label.includes("PRIVATE KEY")
            ? "; this is a private key, give the public key"
            : "";
    throw new ModelGuardError("KEY_INVALID", `public key: expected a "PUBLIC KEY" PEM block, found "${block.label}"${why}`);
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: block.der, format: "der", type: "spki" });
  } catch (cause) {
    throw new ModelGuardError("KEY_INVALID", 'public key: the "PUBLIC KEY" block is not a valid SPKI key', { cause });
  }
  supportedCurve(key, "the public key");
  return key;
}

function publicOf(key: KeyObject): KeyObject {
  return key.type === "private" ? createPublicKey(key) : key;
}

/**
 * A public key's id in modelguard (reports, messages, bundles): the
 * `verificationMaterial.publicKey.hint` OpenSSF model_signing 1.1+ writes for key signing, so the
 * id printed is the id a bundle carries:
 * SHA-256 hex of the *PEM* SPKI text (Python cryptography's `public_bytes(PEM,
 * SubjectPublicKeyInfo)`), not of the DER. OpenSSL and hence Node produce the identical PEM bytes
 * (64-char lines, trailing newline), checked against the v1.1.0-elliptic-key vector.
 */
export function publicKeyId(key: KeyObject): string {
  const pem = publicOf(key).export({ type: "spki", format: "pem" });
  return createHash("sha256").update(pem).digest("hex");
}
