import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { escapeForTerminal } from "modelguard";
import { parseConfig, USAGE, UsageError, type ServiceConfig } from "./config.js";
import { loadModels, releaseSessions, StartupError, toFailure, type ServedModel } from "./load-models.js";
import { createHandler, type ServiceState } from "./routes.js";

export interface RunningService {
  url: string;
  server: Server;
  /** Stops taking requests (readyz turns 503), lets those in flight finish, releases the sessions. */
  close(): Promise<void>;
}

export interface ServiceIo {
  /** The first line is always `listening on URL`, so whoever started us can read the port. */
  stdout: (line: string) => void;
  stderr: (line: string) => void;
}

// Startup messages quote the lockfile, the cache and the Hub: escaped before they reach a terminal.
const processIo: ServiceIo = {
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${escapeForTerminal(line, { keepNewlines: true })}\n`),
};

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/**
 * Verifies and loads every model, and only then listens: a process that answers on its port has
 * every session, so readiness is true from the first request. Throws StartupError without ever
 * opening the port.
 */
export async function startService(config: ServiceConfig, io: ServiceIo = processIo): Promise<RunningService> {
  const log = (line: string) => io.stderr(line);
  const { models } = await loadModels(config, log);
  const state: ServiceState = { ready: false, models: new Map(models.map((m) => [m.name, m])), limits: config.limits, log };
  const { headersTimeoutMs, requestTimeoutMs, maxConnections } = config.limits;
  const server = createServer(
    {
      headersTimeout: headersTimeoutMs,
      requestTimeout: requestTimeoutMs,
      // How often those two are checked (Node's default, 30 s, would let a slow client stay that long).
      connectionsCheckingInterval: Math.min(1000, Math.ceil(headersTimeoutMs / 4)),
    },
    createHandler(state),
  );
  server.maxConnections = maxConnections;
  let address: AddressInfo;
  try {
    address = await listen(server, config.port, config.host);
  } catch (err) {
    await releaseSessions(models);
    const e = err as NodeJS.ErrnoException;
    throw new StartupError([{ code: "USAGE", message: `cannot listen on ${config.host}:${config.port}: ${e.code ?? e.message}` }]);
  }
  state.ready = true;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  io.stdout(`listening on ${url}`);
  return { url, server, close: () => shutdown(server, state, models) };
}

async function shutdown(server: Server, state: ServiceState, models: ServedModel[]): Promise<void> {
  state.ready = false;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  // A client holding a connection open must not keep the process from stopping.
  const force = setTimeout(() => server.closeAllConnections(), 10_000);
  force.unref();
  await closed;
  clearTimeout(force);
  await releaseSessions(models);
}

/** Prints every failure with its model, file and code, one per line. */
export function printFailures(err: StartupError, io: ServiceIo): void {
  io.stderr(`not starting: ${err.failures.length} failure(s)`);
  for (const f of err.failures) {
    const where = [f.model !== undefined ? `model ${f.model}` : "", f.file !== undefined ? `file ${f.file}` : ""].filter(Boolean).join(", ");
    io.stderr(`FAIL [${f.code}]${where ? ` ${where}` : ""}: ${f.message}`);
  }
}

/**
 * The command line: config from argv and env, then the start. Resolves to the running service,
 * or to the exit code when it must not run (after printing why).
 */
export async function runService(argv: readonly string[], env: NodeJS.ProcessEnv, io: ServiceIo = processIo): Promise<RunningService | number> {
  let config: ServiceConfig | undefined;
  try {
    config = parseConfig(argv, env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr(`FAIL [USAGE]: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  if (!config) {
    io.stdout(USAGE);
    return 0;
  }
  try {
    return await startService(config, io);
  } catch (err) {
    const failure = err instanceof StartupError ? err : new StartupError([toFailure(err)]);
    printFailures(failure, io);
    return failure.exitCode;
  }
}

/** SIGTERM (Kubernetes, docker stop) and SIGINT (Ctrl-C) stop the service cleanly, then `after` runs. */
export function closeOnSignals(service: RunningService, after: () => Promise<void> = async () => {}): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${signal}: stopping\n`);
    service
      .close()
      .then(after)
      .then(
        () => process.exit(0),
        (err: unknown) => {
          process.stderr.write(`error while stopping: ${String(err)}\n`);
          process.exit(1);
        },
      );
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}
