/**
 * Child process of `cluster_test.ts`: registers a host on the given database
 * and table prefix, prints `{ hostId }` as one JSON line, then idles until it
 * is killed (the parent sends SIGKILL to simulate a crashed host process).
 *
 * Usage: `deno run -A _crash_child.ts <url> <tablePrefix>`
 *
 * @module
 */

import { createPostgresProvider } from "./mod.ts";

const [url, tablePrefix] = Deno.args;
const provider = createPostgresProvider({ url, tablePrefix, cleanupIntervalMs: Infinity });
await provider.acquire();
const { hostId } = await provider.registerHost({
  address: `10.9.9.9:${Deno.pid}`,
  actorTypes: [{ actorType: "A", idleTimeoutMs: 60_000, concurrencyLimit: 0 }],
  healthCheckDeadlineMs: 600_000,
});
console.log(JSON.stringify({ hostId }));
setInterval(() => {}, 1_000);
