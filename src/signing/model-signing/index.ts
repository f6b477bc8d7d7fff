/** OpenSSF Model Signing (model_signing v1.x `model.sig`): verify and sign. */
export { verifyModelSignature, verifySignedManifest } from "./verify-model-signature.js";
export type { ModelSignatureTrust, VerifiedModelSignature, DigestCheckOptions } from "./verify-model-signature.js";
export { verifyModelDirectory, readSignatureFile } from "./verify-model-directory.js";
export type { VerifyDirectoryOptions } from "./verify-model-directory.js";
export { signModel, modelStatement, modelName } from "./sign-model.js";
export type { SignModelOptions } from "./sign-model.js";
export { diffManifest, describeDiff, type ManifestDiff, type CompareOptions } from "./compare-manifest.js";
export { readSignedManifest, type SignedManifest, type Serialization } from "./signed-manifest.js";
export { parseCertificatesPem, type Certificate } from "./x509-chain.js";
export { resolveCliIgnorePath, GIT_PATHS, SIGNATURE_FILE_NAME } from "./ignore-paths.js";
export type { ModelSigner } from "./signer.js";
