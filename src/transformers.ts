/**
 * `modelguard/transformers`: transformers.js (`@huggingface/transformers`, an optional peer
 * dependency) loading only verified bytes of locked models. Nothing here imports transformers.js.
 */
export { guardTransformers } from "./runtimes/transformers/guard-transformers.js";
export type { GuardTransformersOptions, TransformersGuardHandle } from "./runtimes/transformers/guard-transformers.js";
export type { ServeMode } from "./runtimes/transformers/transformers-file-server.js";
export type { ServingGuard } from "./runtimes/transformers/serving-guard.js";
export type { TransformersEnv } from "./runtimes/transformers/transformers-env.js";
