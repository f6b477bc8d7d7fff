import type { IncomingMessage, ServerResponse } from "node:http";
import type { RequestLimits } from "./config.js";
import { ClientGone, HttpError, readJson, sendError, sendJson } from "./http-io.js";
import type { ServedModel } from "./load-models.js";
import { fromTensor, type JsonTensor } from "./tensors.js";
import { parseCompletionRequest, parseInferRequest, RequestError } from "./validate-request.js";

export interface ServiceState {
  /** False before the sessions exist and again once shutdown starts. */
  ready: boolean;
  models: Map<string, ServedModel>;
  limits: RequestLimits;
  log: (line: string) => void;
}

type Handler = (req: IncomingMessage, res: ServerResponse, params: string[]) => Promise<void> | void;

interface Route {
  pattern: RegExp;
  methods: Partial<Record<string, Handler>>;
}

function describeModel(m: ServedModel) {
  const meta = (list: readonly { name: string; isTensor: boolean; type?: string; shape?: readonly (number | string)[] }[]) =>
    list.map((v) => (v.isTensor ? { name: v.name, type: v.type, shape: v.shape } : { name: v.name }));
  return {
    name: m.name,
    repo: m.repo,
    revision: m.revision,
    files: m.files,
    signer: m.signer,
    runtime: m.runtime,
    ...(m.session ? { inputs: meta(m.session.inputMetadata), outputs: meta(m.session.outputMetadata) } : {}),
  };
}

function servedModel(state: ServiceState, name: string): ServedModel {
  const model = state.models.get(name);
  if (!model) throw new HttpError(404, "MODEL_NOT_FOUND", `no model ${JSON.stringify(name)}; GET /v1/models lists them`);
  return model;
}

async function infer(state: ServiceState, req: IncomingMessage, res: ServerResponse, name: string): Promise<void> {
  const model = servedModel(state, name);
  if (!model.session) throw new HttpError(404, "MODEL_NOT_FOUND", `model ${name} locks no .onnx file; there is nothing to run${model.llama ? ` here: use POST /v1/models/${name}/completions` : ""}`);
  const session = model.session;
  const body = await readJson(req, state.limits.maxBodyBytes);
  const feeds = parseInferRequest(body, session.inputMetadata, state.limits);
  let results;
  try {
    results = await session.run(feeds);
  } catch (err) {
    // Shapes the metadata cannot rule out (symbolic dims that must agree, say) fail here.
    throw new HttpError(400, "INFERENCE_FAILED", `onnxruntime refused the inputs: ${(err as Error).message}`);
  }
  const outputs: Record<string, JsonTensor> = {};
  for (const name of session.outputNames) outputs[name] = fromTensor(results[name]!);
  sendJson(res, 200, { outputs });
}

async function completions(state: ServiceState, req: IncomingMessage, res: ServerResponse, name: string): Promise<void> {
  const model = servedModel(state, name);
  if (!model.llama) throw new HttpError(404, "MODEL_NOT_FOUND", `model ${name} locks no GGUF model; there is nothing to complete${model.session ? `: use POST /v1/models/${name}/infer` : ""}`);
  const { prompt, maxTokens } = parseCompletionRequest(await readJson(req, state.limits.maxBodyBytes), state.limits);
  let completion: string;
  try {
    completion = await model.llama.completer.complete(prompt, maxTokens);
  } catch (err) {
    // A prompt longer than the context, say.
    throw new HttpError(400, "COMPLETION_FAILED", `llama.cpp refused the prompt: ${(err as Error).message}`);
  }
  sendJson(res, 200, { completion });
}

function routes(state: ServiceState): Route[] {
  return [
    { pattern: /^\/healthz$/, methods: { GET: (_q, res) => sendJson(res, 200, { status: "ok" }) } },
    {
      pattern: /^\/readyz$/,
      methods: {
        GET: (_q, res) => (state.ready ? sendJson(res, 200, { status: "ready" }) : sendError(res, 503, "NOT_READY", "the models are not loaded, or the service is shutting down")),
      },
    },
    { pattern: /^\/v1\/models$/, methods: { GET: (_q, res) => sendJson(res, 200, [...state.models.values()].map(describeModel)) } },
    { pattern: /^\/v1\/models\/([^/]+)$/, methods: { GET: (_q, res, [name]) => sendJson(res, 200, describeModel(servedModel(state, name!))) } },
    { pattern: /^\/v1\/models\/([^/]+)\/infer$/, methods: { POST: (req, res, [name]) => infer(state, req, res, name!) } },
    { pattern: /^\/v1\/models\/([^/]+)\/completions$/, methods: { POST: (req, res, [name]) => completions(state, req, res, name!) } },
  ];
}

/** The request handler. It never throws: every failure becomes an error answer. */
export function createHandler(state: ServiceState): (req: IncomingMessage, res: ServerResponse) => void {
  const table = routes(state);
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let path: string;
    try {
      path = new URL(req.url ?? "/", "http://service.invalid").pathname;
    } catch {
      // An absolute-form target such as `GET http://[ HTTP/1.1` is a malformed request, not a server error.
      throw new HttpError(400, "INVALID_REQUEST", "the request target is not a valid URL");
    }
    for (const route of table) {
      const match = route.pattern.exec(path);
      if (!match) continue;
      // HEAD is what GET is, minus the body (node:http drops it).
      const method = req.method === "HEAD" && route.methods.GET ? "GET" : (req.method ?? "");
      const handler = route.methods[method];
      if (!handler) {
        const allow = Object.keys(route.methods).flatMap((m) => (m === "GET" ? ["GET", "HEAD"] : [m])).join(", ");
        throw new HttpError(405, "METHOD_NOT_ALLOWED", `${req.method} is not allowed on ${path}; use ${allow}`, { allow });
      }
      let params: string[];
      try {
        params = match.slice(1).map((p) => decodeURIComponent(p));
      } catch {
        throw new HttpError(404, "NOT_FOUND", `no route for ${path}`);
      }
      await handler(req, res, params);
      return;
    }
    throw new HttpError(404, "NOT_FOUND", `no route for ${path}`);
  };
  return (req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (err instanceof ClientGone) {
        state.log(`${req.method} ${req.url}: ${err.message}`);
        res.destroy();
        return;
      }
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof RequestError) {
        // The rest of an oversized body may still be on its way; do not keep the connection for it.
        sendError(res, 400, err.code, err.message, err.code === "BODY_TOO_LARGE" ? { connection: "close" } : {});
      } else if (err instanceof HttpError) {
        sendError(res, err.status, err.code, err.message, err.headers);
      } else {
        state.log(`internal error on ${req.method} ${req.url}: ${(err as Error)?.stack ?? String(err)}`);
        sendError(res, 500, "INTERNAL", "internal error");
      }
    });
  };
}
