import type { Signer } from "./trust-policy.js";

/** A signer in a few words for a terminal line. */
export function describeSigner(signer: Signer): string {
  switch (signer.kind) {
    case "unsigned":
      return "unsigned, allowed";
    case "identity":
      return `publisher signature by ${signer.subject} (${signer.issuer})`;
    case "key":
      return `${signer.via === "publisher-signature" ? "publisher signature by" : "signed by"} key ${signer.fingerprint.slice(0, 16)}`;
  }
}
