// The baseline for `npm run bench:pull`: Node's fetch streamed to a file, no hashing, no checks.
import { open } from "node:fs/promises";

const [url, out] = process.argv.slice(2);
const response = await fetch(url, { redirect: "follow" });
if (!response.ok) throw new Error(`HTTP ${response.status}`);
const file = await open(out, "w");
let position = 0;
for await (const chunk of response.body) {
  await file.write(chunk, 0, chunk.length, position);
  position += chunk.length;
}
await file.sync();
await file.close();
