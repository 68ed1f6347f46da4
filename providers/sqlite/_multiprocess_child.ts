/**
 * Child process of `multiprocess_test.ts`: opens (and, racing its siblings,
 * migrates) the shared file, registers a host of its own, waits for a shared
 * start instant, then looks up 50 actors 300 times concurrently and prints
 * `{ hostId, placements: { [actorId]: hostId } }` as JSON.
 *
 * Usage: `deno run -A _multiprocess_child.ts <dbPath> <startAtEpochMs>`
 *
 * @module
 */

import { createSqliteProvider } from "./mod.ts";

const [path, startAtArg] = Deno.args;
const ACTORS = 50;
const LOOKUPS = 300;
const DEADLINE = 60_000;

const provider = createSqliteProvider({ path, cleanupIntervalMs: Infinity });
await provider.acquire();
const { hostId } = await provider.registerHost({
  address: `10.0.0.${Deno.pid}:7000`,
  actorTypes: [{ actorType: "worker", idleTimeoutMs: 60_000, concurrencyLimit: 0 }],
  healthCheckDeadlineMs: DEADLINE,
});
await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(startAtArg) - Date.now())));

const seen = new Map<string, Set<string>>();
await Promise.all(Array.from({ length: LOOKUPS }, async (_, i) => {
  const actorId = `actor-${i % ACTORS}`;
  // Half start at once, half spread over 30 ms, so batches of all processes interleave.
  if (i % 2 === 1) await new Promise((resolve) => setTimeout(resolve, Math.random() * 30));
  const placement = await provider.lookupActor({
    actorType: "worker",
    actorId,
    activeOnly: false,
    healthCheckDeadlineMs: DEADLINE,
  });
  seen.set(actorId, (seen.get(actorId) ?? new Set()).add(placement.hostId));
}));
await provider.release();

const placements: Record<string, string | string[]> = {};
for (const [actorId, hosts] of seen) placements[actorId] = hosts.size === 1 ? [...hosts][0] : [...hosts];
console.log(JSON.stringify({ hostId, placements }));
