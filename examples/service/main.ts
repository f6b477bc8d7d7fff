/**
 * The example inference service: `node --import tsx examples/service/main.ts [options]`
 * (`--help` lists them). Verifies and loads every locked model through modelguard, then listens;
 * on any failure prints each one and exits non-zero without listening.
 */
import { closeOnSignals, runService } from "./server.js";

const result = await runService(process.argv.slice(2), process.env);
if (typeof result === "number") process.exit(result);
closeOnSignals(result);
