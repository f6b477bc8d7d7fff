/** The local Hub: a Hugging Face Hub stand-in on loopback for tests and examples. See docs/LOCAL-HUB.md. */
export { startLocalHub, type LocalHub, type LocalHubOptions, type RepoAccessOptions } from "./server.js";
export type { RequestLogEntry } from "./routes.js";
export type { FaultSpec, FaultKind, FaultHandle, Endpoint } from "./faults.js";
export {
  RepoStore,
  defaultLfsRule,
  type FileContent,
  type CommitOptions,
  type CreateRepoOptions,
  type CommitRecord,
  type FileRecord,
  type LfsRule,
} from "./storage.js";
export { gitBlobOid, lfsPointer, digestBytes } from "./git-oid.js";
