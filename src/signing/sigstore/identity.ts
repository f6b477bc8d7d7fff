/**
 * Who may have signed keylessly: a certificate identity (the SAN Fulcio put into the
 * certificate: an email, a workflow URI) and the OIDC issuer that vouched for it.
 */
import { ModelGuardError } from "../../errors.js";

export interface IdentityPolicy {
  /** The identity, matched exactly. */
  subject?: string;
  /** Or a regular expression for it, anchored at both ends (cosign's --certificate-identity-regexp). */
  subjectPattern?: string;
  /** The OIDC issuer, matched exactly. */
  issuer?: string;
  /** Or a regular expression for it, anchored at both ends. */
  issuerPattern?: string;
}

export interface SignerIdentity {
  identity: string;
  issuer: string;
}

function anchored(pattern: string, what: string): RegExp {
  try {
    // Anchored as a whole: "a|b" must not become "^a|b$", which would accept "xb".
    return new RegExp(`^(?:${pattern})$`, "u");
  } catch (cause) {
    throw new ModelGuardError("USAGE", `${what} ${JSON.stringify(pattern)} is not a valid regular expression`, { cause });
  }
}

function matcher(exact: string | undefined, pattern: string | undefined, what: string): (value: string) => boolean {
  if ((exact === undefined) === (pattern === undefined)) {
    throw new ModelGuardError("USAGE", `an identity needs exactly one of ${what} and ${what} pattern`);
  }
  if (exact !== undefined) return (value) => value === exact;
  const re = anchored(pattern!, `${what} pattern`);
  return (value) => re.test(value);
}

/** Checks a policy is usable (one of each field, valid patterns) before any verification starts. */
export function checkIdentityPolicy(policy: IdentityPolicy): void {
  matcher(policy.subject, policy.subjectPattern, "identity");
  matcher(policy.issuer, policy.issuerPattern, "issuer");
}

export function matchesIdentity(policy: IdentityPolicy, signer: SignerIdentity): boolean {
  return (
    matcher(policy.subject, policy.subjectPattern, "identity")(signer.identity) &&
    matcher(policy.issuer, policy.issuerPattern, "issuer")(signer.issuer)
  );
}

export function describePolicy(policy: IdentityPolicy): string {
  const subject = policy.subject ?? `/${policy.subjectPattern}/`;
  const issuer = policy.issuer ?? `/${policy.issuerPattern}/`;
  return `${subject} (issuer ${issuer})`;
}
