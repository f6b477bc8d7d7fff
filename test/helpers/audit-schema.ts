/** docs/audit-event.schema.json compiled with ajv (strict), for the audit tests. */
import { readFileSync } from "node:fs";
import { Ajv2020 } from "ajv/dist/2020.js";
import { expect } from "vitest";

const schema = JSON.parse(readFileSync(new URL("../../docs/audit-event.schema.json", import.meta.url), "utf8"));
const ajv = new Ajv2020({ allErrors: true, strict: true });
ajv.addFormat("date-time", (s: string) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(s));
export const validateAuditEvent = ajv.compile(schema);

export function expectValidAuditEvent(event: unknown): void {
  validateAuditEvent(event);
  expect(validateAuditEvent.errors ?? [], JSON.stringify(event).slice(0, 300)).toEqual([]);
}

/** The lines of an audit log, each parsed and checked against the schema. */
export function parseAuditLog(text: string): Record<string, unknown>[] {
  expect(text.endsWith("\n") || text === "", "the log ends with a newline").toBe(true);
  return text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => {
      const event = JSON.parse(l) as Record<string, unknown>;
      expectValidAuditEvent(event);
      return event;
    });
}
