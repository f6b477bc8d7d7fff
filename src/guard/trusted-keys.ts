import { readFile } from "node:fs/promises";
import type { KeyObject } from "node:crypto";
import { ModelGuardError } from "../errors.js";
import { parsePublicKey, publicKeyId } from "../keys/load-key.js";
import type { TrustedKey } from "../signing/trust-policy.js";

/** A trusted key as a caller names it: a path to a PEM public key, or a key object. */
export type TrustedKeyInput = string | KeyObject;

export async function loadTrustedKeys(inputs: readonly TrustedKeyInput[]): Promise<TrustedKey[]> {
  return Promise.all(
    inputs.map(async (input) => {
      if (typeof input !== "string") return { key: input, fingerprint: publicKeyId(input) };
      let text: string;
      try {
        text = await readFile(input, "utf8");
      } catch (err) {
        throw new ModelGuardError("KEY_INVALID", `cannot read public key ${input}: ${(err as Error).message}`, { cause: err });
      }
      let key: KeyObject;
      try {
        key = parsePublicKey(text);
      } catch (err) {
        throw new ModelGuardError("KEY_INVALID", `${input}: ${(err as Error).message}`, { cause: err });
      }
      return { key, fingerprint: publicKeyId(key), source: input };
    }),
  );
}
