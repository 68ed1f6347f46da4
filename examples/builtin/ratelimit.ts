/**
 * Rate limit built-in: two `LocalHost`s in one process share a memory store
 * (a real two-host cluster over mutual TLS) and one limiter, "api", allowing
 * 2 calls per second per client with a burst of 3. Calls through either host
 * draw from the same bucket.
 *
 *     deno run -A examples/builtin/ratelimit.ts
 *
 * @module
 */

import { generatePsk, LocalHost } from "../../mod.ts";
import { createMemoryProvider } from "../../providers/memory/mod.ts";
import { createRateLimit } from "../../builtin/ratelimit/mod.ts";

const api = createRateLimit("api", { rate: 2, perMs: 1_000, burst: 3 });

const provider = createMemoryProvider();
const psk = generatePsk();
const hosts = [0, 1].map(() => new LocalHost({ address: "127.0.0.1:0", runtimePsks: [psk], provider }));
for (const host of hosts) host.registerBuiltInActor(api); // every host that serves it, same name and options
await Promise.all(hosts.map((h) => h.start()));

try {
  // A burst of 5 calls for one client, alternating hosts: 3 pass, 2 are told when to retry.
  for (let i = 0; i < 5; i++) {
    const { allowed, retryAfterMs } = await api.service(hosts[i % 2].service).allow("client-1");
    console.log(`call ${i + 1} via host ${i % 2}: ${allowed ? "allowed" : `refused, retry in ${retryAfterMs} ms`}`);
  }
  // Another client has its own bucket.
  console.log("client-2:", await api.service(hosts[0].service).allow("client-2"));
  // After the advertised wait, client-1 passes again.
  const { retryAfterMs } = await api.service(hosts[0].service).allow("client-1");
  await new Promise((r) => setTimeout(r, retryAfterMs));
  console.log("client-1 after waiting:", await api.service(hosts[1].service).allow("client-1"));
} finally {
  await Promise.all(hosts.map((h) => h.stop()));
}
