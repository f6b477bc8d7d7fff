import { createPublicKey, type KeyObject } from "node:crypto";
import { readKeyFile } from "../keys/key-files.js";
import { parsePrivateKey } from "../keys/load-key.js";
import { readPassword } from "../keys/password.js";

/** A signing key named by `--key`: cosign's encrypted PEM (password asked only then) or PKCS#8. */
export async function loadSigningKey(path: string): Promise<{ privateKey: KeyObject; publicKey: KeyObject }> {
  const privateKey = await parsePrivateKey(await readKeyFile(path), () => readPassword());
  return { privateKey, publicKey: createPublicKey(privateKey) };
}
