/**
 * The signature schemes, strongest first: the order the trust policy asks them in, and the order
 * listings and the BOM show them in. A lockfile signature binds the most (the name, repo,
 * revision, every path and digest); per-file signatures bind each file's digest; a publisher's
 * signature binds the files it signed, not the name or revision. Adding a scheme is a module
 * implementing `SignatureScheme` and one line here.
 */
import { fileSignatures } from "./file-signatures.js";
import { modelSignature } from "./model-signature.js";
import { publisherSignature } from "./publisher-signature.js";
import type { SignatureScheme } from "./signature-scheme.js";

export const SIGNATURE_SCHEMES: readonly SignatureScheme[] = [modelSignature, fileSignatures, publisherSignature];
