import type { ClaimedSigner, Signer } from "../signers.js";

/** Who signed, in a few words: `key 0123456789abcdef`, `alice@example.com (https://issuer)`, `certificate CN=…`. */
export function signerName(signer: ClaimedSigner): string {
  switch (signer.kind) {
    case "identity":
      return `${signer.subject} (${signer.issuer})`;
    case "certificate":
      return `certificate ${signer.subject}`;
    case "key":
      return `key ${signer.fingerprint.slice(0, 16)}`;
  }
}

/** A signer in a few words for a terminal line: a verified one (with `via`) or a claimed one. */
export function describeSigner(signer: Signer | ClaimedSigner): string {
  if (signer.kind === "unsigned") {
    // Signed by someone not trusted is not "unsigned": say who, so the operator sees which key is missing.
    const claimed = (signer.untrustedSignatures ?? []).map((s) => (s.signer ? signerName(s.signer) : "a key it does not name"));
    return claimed.length > 0 ? `no trusted signature: signed by ${[...new Set(claimed)].join(", ")}, not trusted; allowed by --allow-unsigned` : "unsigned, allowed";
  }
  return `${"via" in signer && signer.via === "publisher-signature" ? "publisher signature by" : "signed by"} ${signerName(signer)}`;
}
