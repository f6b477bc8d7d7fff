import { afterEach, beforeEach } from "vitest";

/**
 * Replaces `globalThis.fetch` in each test of the file with one that records the URL and refuses:
 * a test that asserts `calls` is empty proves nothing reached the network. Restored after each test.
 */
export function refuseNetworkInEachTest(): { calls: string[] } {
  const network = { calls: [] as string[] };
  const originalFetch = globalThis.fetch;
  beforeEach(() => {
    network.calls = [];
    globalThis.fetch = ((input: unknown) => {
      network.calls.push(String(input));
      return Promise.reject(new Error(`network access in a test: ${String(input)}`));
    }) as typeof fetch;
  });
  afterEach(() => {
    globalThis.fetch = originalFetch;
  });
  return network;
}
