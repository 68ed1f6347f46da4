/**
 * Small helpers shared by the scenarios: host creation, temp dirs, load loops.
 *
 * @module
 */

import { type ActorFactory, type ActorProvider, generatePsk, LocalHost, type LocalHostOptions } from "../mod.ts";
import { summarize, type Summary } from "./_stats.ts";

const PSK = generatePsk();

/** A `LocalHost` on 127.0.0.1 with a random port; `options` win. */
export function createHost(provider: ActorProvider, options?: Partial<LocalHostOptions>): LocalHost {
  return new LocalHost({ address: "127.0.0.1:0", runtimePsks: [PSK], provider, ...options });
}

/**
 * The `counter` actor of type `type`: each call reads its state `{ n }`,
 * increments it, writes it back and answers `answer(n)`.
 */
export function counterActor(type: string, answer: (n: number) => unknown): ActorFactory {
  return (id, svc) => {
    const self = svc.client<{ n: number }>(type, id, { initialState: () => ({ n: 0 }) });
    return {
      async invoke() {
        const s = await self.getState();
        s.n++;
        await self.setState(s);
        return answer(s.n);
      },
    };
  };
}

/** Runs `fn` with a fresh temp dir, removed afterwards whatever happens. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "francis-bench-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Runs `fn(0..count-1)` with at most `concurrency` calls in flight. */
export async function pool(count: number, concurrency: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/**
 * `workers` loops, each calling `fn(worker)` until `durationMs` passed.
 * Resolves with the completed calls per worker and the elapsed ms (from start
 * until the last in-flight call finished).
 */
export async function loopFor(
  workers: number,
  durationMs: number,
  fn: (worker: number) => Promise<unknown>,
): Promise<{ counts: number[]; elapsedMs: number }> {
  const counts = new Array<number>(workers).fill(0);
  const start = performance.now();
  const end = start + durationMs;
  await Promise.all(counts.map(async (_, w) => {
    while (performance.now() < end) {
      await fn(w);
      counts[w]++;
    }
  }));
  return { counts, elapsedMs: performance.now() - start };
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Sum of an array. */
export function sum(values: readonly number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return s;
}

/** What {@linkcode measureCalls} reports: sequential latency (µs) and rate, and the concurrent rate. */
export interface CallMeasurement {
  latencyUs: Summary;
  seqRate: number;
  concRate: number;
}

/**
 * The call loop of (f) and (j): `warmup` sequential calls, then `calls`
 * sequential calls each timed with `performance.now()`, then `inFlight`
 * callers that each warm up (max(10, warmup ÷ inFlight) calls) and then loop
 * `perCaller` calls, giving the concurrent rate.
 */
export async function measureCalls(
  o: { warmup: number; calls: number; perCaller: number; inFlight: number },
  seqCall: () => Promise<unknown>,
  concCall: (caller: number) => Promise<unknown>,
): Promise<CallMeasurement> {
  for (let i = 0; i < o.warmup; i++) await seqCall();
  const lat = new Float64Array(o.calls);
  const t0 = performance.now();
  for (let i = 0; i < o.calls; i++) {
    const t = performance.now();
    await seqCall();
    lat[i] = (performance.now() - t) * 1000;
  }
  const seqRate = o.calls / ((performance.now() - t0) / 1000);
  const callers = Array.from({ length: o.inFlight }, (_, c) => c);
  await Promise.all(callers.map(async (c) => {
    for (let i = 0; i < Math.max(10, o.warmup / o.inFlight); i++) await concCall(c);
  }));
  const t1 = performance.now();
  await Promise.all(callers.map(async (c) => {
    for (let i = 0; i < o.perCaller; i++) await concCall(c);
  }));
  const concRate = (o.perCaller * o.inFlight) / ((performance.now() - t1) / 1000);
  return { latencyUs: summarize(lat), seqRate, concRate };
}
