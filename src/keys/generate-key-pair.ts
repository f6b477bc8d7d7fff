/**
 * New signing key pairs in cosign's formats, what `cosign generate-key-pair` writes.
 */
import { generateKeyPair as nodeGenerateKeyPair } from "node:crypto";
import { promisify } from "node:util";
import { DEFAULT_SCRYPT_N, encryptPrivateKey, type EncryptOptions } from "./encrypted-key.js";

export interface KeyPairPem {
  /** `ENCRYPTED SIGSTORE PRIVATE KEY` PEM (cosign.key). */
  privatePem: string;
  /** SPKI `PUBLIC KEY` PEM (cosign.pub). */
  publicPem: string;
}

const generateEc = promisify(nodeGenerateKeyPair);

/**
 * An ECDSA P-256 key pair (cosign's default algorithm), the private key PKCS#8 encrypted with
 * scrypt N=65536 as cosign 2.2+ does. `opts.N` exists for tests and for writing keys that
 * cosign 2.0/2.1 (N=32768 only) can still read.
 */
export async function generateKeyPair(password: string, opts: EncryptOptions = {}): Promise<KeyPairPem> {
  const { privateKey, publicKey } = await generateEc("ec", { namedCurve: "P-256" });
  const der = privateKey.export({ type: "pkcs8", format: "der" });
  try {
    const privatePem = await encryptPrivateKey(der, password, { N: opts.N ?? DEFAULT_SCRYPT_N });
    // OpenSSL's SPKI PEM is the same bytes as Go's cryptoutils.MarshalPublicKeyToPEM.
    const publicPem = publicKey.export({ type: "spki", format: "pem" }).toString();
    return { privatePem, publicPem };
  } finally {
    der.fill(0);
  }
}
