/**
 * (c) New activations per second: invoke distinct, never-seen actor IDs of a
 * trivial actor with about 256 calls in flight, on the memory provider and on
 * an on-disk SQLite file. Each call places the actor (a provider write on
 * SQLite), runs the factory, and runs one turn.
 *
 * @module
 */

import { createMemoryProvider } from "../providers/memory/mod.ts";
import { createSqliteProvider } from "../providers/sqlite/mod.ts";
import type { ActorProvider } from "../mod.ts";
import { metric, round, type ScenarioOptions, type ScenarioResult } from "./_stats.ts";
import { createHost, pool, withTempDir } from "./_util.ts";

const TYPE = "trivial";
const IN_FLIGHT = 256;

interface Outcome {
  rate: number;
  elapsedMs: number;
  stopMs: number;
}

async function measure(provider: ActorProvider, n: number, warmup: number): Promise<Outcome> {
  const host = createHost(provider);
  host.registerActor(TYPE, () => ({ invoke: () => 1 }));
  await host.start();
  let elapsedMs: number;
  let stopMs = 0;
  try {
    const svc = host.service;
    await pool(warmup, IN_FLIGHT, (i) => svc.invoke(TYPE, `w${i}`, "ping"));
    const t0 = performance.now();
    await pool(n, IN_FLIGHT, (i) => svc.invoke(TYPE, `n${i}`, "ping"));
    elapsedMs = performance.now() - t0;
  } finally {
    const t = performance.now();
    await host.stop();
    stopMs = performance.now() - t;
  }
  return { rate: n / (elapsedMs / 1000), elapsedMs: round(elapsedMs, 1), stopMs: round(stopMs, 1) };
}

/** Runs scenario (c). */
export function run({ quick }: ScenarioOptions): Promise<ScenarioResult> {
  const n = quick ? 2_000 : 20_000;
  const warmup = quick ? 500 : 2_000;
  return withTempDir(async (dir) => {
    const memory = await measure(createMemoryProvider(), n, warmup);
    const sqlite = await measure(createSqliteProvider({ path: `${dir}/francis.db` }), n, warmup);
    return {
      metrics: [
        metric("memory", memory.rate, "activations/s", { op: ">=", value: 10_000 }),
        metric("sqlite (on-disk)", sqlite.rate, "activations/s", { op: ">=", value: 10_000 }),
      ],
      params: { newActorIds: n, warmupActivations: warmup, inFlight: IN_FLIGHT },
      notes: [
        "Trivial actor (factory returns { invoke: () => 1 }); every measured call targets a never-seen ID.",
        "host.stop() afterwards halts every activation and removes its placement; its time is in details, untimed.",
      ],
      details: { memory, sqlite },
    };
  });
}
