/**
 * Signal built-in: three `LocalHost`s in one process share a memory store (a
 * real cluster over mutual TLS). Waiters on every host block on the signal
 * "release-42"; one `complete` on any host releases them all with its
 * payload. A late `wait` returns at once, a second `complete` is refused.
 *
 *     deno run -A examples/builtin/signal.ts
 *
 * @module
 */

import { generatePsk, isFrancisError, LocalHost } from "../../mod.ts";
import { createMemoryProvider } from "../../providers/memory/mod.ts";
import { createSignal } from "../../builtin/signal/mod.ts";

interface Release {
  version: string;
}

const deploys = createSignal("deploys", { retentionMs: 60_000 });

const provider = createMemoryProvider();
const psk = generatePsk();
const hosts = [0, 1, 2].map(() => new LocalHost({ address: "127.0.0.1:0", runtimePsks: [psk], provider }));
for (const host of hosts) host.registerBuiltInActor(deploys);
await Promise.all(hosts.map((h) => h.start()));

try {
  const waiters = hosts.map(async (host, i) => {
    const release = await deploys.service(host.service).wait<Release>("release-42", {
      signal: AbortSignal.timeout(30_000),
    });
    console.log(`waiter on host ${i} released: version ${release?.version}`);
  });
  console.log("check before:", await deploys.service(hosts[0].service).check("release-42"));
  await new Promise((r) => setTimeout(r, 200));
  await deploys.service(hosts[1].service).complete("release-42", { version: "1.4.0" });
  await Promise.all(waiters);

  console.log("late wait:", await deploys.service(hosts[2].service).wait<Release>("release-42"));
  try {
    await deploys.service(hosts[0].service).complete("release-42", { version: "1.4.1" });
  } catch (err) {
    if (!isFrancisError(err, "signal_already_completed")) throw err;
    console.log("second complete refused:", err.message);
  }
} finally {
  await Promise.all(hosts.map((h) => h.stop()));
}
