/**
 * Cron job built-in: three `LocalHost`s in one process share a memory store
 * (a real cluster over mutual TLS) and register the same cron job, "report",
 * every 500 ms. It still runs once per occurrence cluster-wide. A manual
 * `trigger()` runs it at once, and `unregister()` stops it.
 *
 *     deno run -A examples/builtin/cronjob.ts
 *
 * @module
 */

import { generatePsk, LocalHost } from "../../mod.ts";
import { createMemoryProvider } from "../../providers/memory/mod.ts";
import { createCronJob } from "../../builtin/cronjob/mod.ts";

const started = Date.now();
const runs: string[] = [];
const report = createCronJob("report", {
  interval: 500,
  run: ({ trigger, attempt }) => {
    runs.push(trigger);
    console.log(`run #${runs.length} at +${Date.now() - started} ms (${trigger}, attempt ${attempt})`);
  },
});

const provider = createMemoryProvider();
const psk = generatePsk();
const quiet = { debug() {}, info() {}, warn() {}, error: console.error };
const hosts = [0, 1, 2].map(() =>
  new LocalHost({ address: "127.0.0.1:0", runtimePsks: [psk], provider, alarmsPollIntervalMs: 250, logger: quiet })
);
for (const host of hosts) host.registerBuiltInActor(report); // every host that serves it, same name and options
await Promise.all(hosts.map((h) => h.start()));

try {
  const cron = report.service(hosts[2].service);
  while (runs.length < 3) await new Promise((r) => setTimeout(r, 50)); // three scheduled runs, one per occurrence
  await cron.trigger(); // one more, right away
  while (!runs.includes("manual")) await new Promise((r) => setTimeout(r, 50));
  await cron.unregister(); // no run after this
  const total = runs.length;
  await new Promise((r) => setTimeout(r, 1_200));
  console.log(`${total} runs, ${runs.length - total} after unregister`);
} finally {
  await Promise.all(hosts.map((h) => h.stop()));
}
