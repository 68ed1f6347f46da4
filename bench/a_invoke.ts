/**
 * (a) `invoke` on an ACTIVE actor, memory provider: the per-call overhead of
 * the framework (validation, ambient context, turn lock, codec round trips).
 *
 * - The actor returns a small object and writes no state.
 * - Sequential latency: every call timed with `performance.now()` after a warm-up.
 * - Sequential rate: a separate untimed loop of the same length.
 * - Concurrent rate: 64 callers, each looping on its own (already active) actor.
 *
 * @module
 */

import { createMemoryProvider } from "../providers/memory/mod.ts";
import { metric, roundSummary, type ScenarioOptions, type ScenarioResult, summarize } from "./_stats.ts";
import { createHost } from "./_util.ts";

const TYPE = "echo";
const CONCURRENT_ACTORS = 64;

/** Runs scenario (a). */
export async function run({ quick }: ScenarioOptions): Promise<ScenarioResult> {
  const warmup = quick ? 2_000 : 20_000;
  const calls = quick ? 5_000 : 100_000;
  const perCaller = quick ? 100 : 2_000;
  const host = createHost(createMemoryProvider());
  host.registerActor(TYPE, () => ({ invoke: () => ({ ok: true }) }));
  await host.start();
  try {
    const svc = host.service;
    for (let i = 0; i < warmup; i++) await svc.invoke(TYPE, "seq", "ping");

    // Sequential latency, each call timed.
    const lat = new Float64Array(calls);
    for (let i = 0; i < calls; i++) {
      const t0 = performance.now();
      await svc.invoke(TYPE, "seq", "ping");
      lat[i] = (performance.now() - t0) * 1000;
    }
    const latency = summarize(lat);

    // Sequential throughput, untimed loop.
    let t0 = performance.now();
    for (let i = 0; i < calls; i++) await svc.invoke(TYPE, "seq", "ping");
    const seqRate = calls / ((performance.now() - t0) / 1000);

    // 64 concurrent callers on 64 active actors.
    const ids = Array.from({ length: CONCURRENT_ACTORS }, (_, i) => `c${i}`);
    await Promise.all(ids.map(async (id) => {
      for (let i = 0; i < warmup / CONCURRENT_ACTORS; i++) await svc.invoke(TYPE, id, "ping");
    }));
    t0 = performance.now();
    await Promise.all(ids.map(async (id) => {
      for (let i = 0; i < perCaller; i++) await svc.invoke(TYPE, id, "ping");
    }));
    const concRate = (perCaller * CONCURRENT_ACTORS) / ((performance.now() - t0) / 1000);

    return {
      metrics: [
        metric("sequential p50", latency.p50, "µs", { op: "<=", value: 20 }),
        metric("sequential p99", latency.p99, "µs"),
        metric("sequential rate", seqRate, "calls/s", { op: ">=", value: 150_000 }),
        metric("64 callers / 64 actors rate", concRate, "calls/s", { op: ">=", value: 150_000 }),
      ],
      params: { warmup, sequentialCalls: calls, concurrentCallers: CONCURRENT_ACTORS, callsPerCaller: perCaller },
      notes: [
        "Memory provider; the actor returns { ok: true } and touches no state; all actors active before timing.",
        "Latency samples include the performance.now() overhead (< 0.1 µs here).",
      ],
      details: { sequentialLatencyUs: roundSummary(latency) },
    };
  } finally {
    await host.stop();
  }
}
