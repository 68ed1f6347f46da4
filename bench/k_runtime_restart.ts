/**
 * (k) Runtime restart: a runtime process (the real CLI, PostgreSQL) with
 * three worker processes; the runtime is SIGKILLed, a new one is started on
 * the same port, and once its `/readyz` answers 200 we measure until every
 * worker completed a call that needs the runtime: each worker invokes, through
 * itself, a `counter` actor it owns, which writes its state (a `setState` RPC
 * on that worker's own runtime session).
 *
 * @module
 */

import { generatePsk } from "../mod.ts";
import { deriveClusterCaPem } from "../security/cluster_ca.ts";
import { metric, round, roundSummary, type ScenarioOptions, type ScenarioResult, summarize } from "./_stats.ts";
import { type BenchChild, BenchRuntime, ChildSet, withDatabase } from "./_cluster.ts";
import { sleep, withTempDir } from "./_util.ts";

const TYPE = "counter";
const WORKERS = 3;
const HOST_PSK = "bench-worker-bootstrap-psk";
const TARGET_MS = 2_000;
const RETRY_MS = 20;

interface CounterReply {
  n: number;
  label: string;
}

/** One kill and restart. */
interface RestartRound {
  /** SIGKILL → old process reaped. */
  reapMs: number;
  /** New process spawned → `/readyz` 200 (the runtime's own start time). */
  startMs: number;
  /** `/readyz` 200 → every worker's write succeeded (the slowest worker counts). */
  servingMs: number;
  /** Per worker: `/readyz` 200 → its write succeeded. */
  perWorkerMs: number[];
  /** Calls that failed (and were retried after {@linkcode RETRY_MS}). */
  failedCalls: number;
  firstError?: string;
}

/** Invokes `actorId` through `w` until a call succeeds; resolves with the ms since `from` and the failures. */
async function untilServed(
  w: BenchChild,
  actorId: string,
  from: number,
): Promise<{ ms: number; failed: number; firstError?: string }> {
  let failed = 0, firstError: string | undefined;
  for (;;) {
    try {
      await w.request<CounterReply>({ op: "invoke", type: TYPE, actorId });
      return { ms: performance.now() - from, failed, firstError };
    } catch (err) {
      failed++;
      firstError ??= String(err);
      if (performance.now() - from > 60_000) throw new Error(`${w.label} not serving after 60 s: ${firstError}`);
      await sleep(RETRY_MS);
    }
  }
}

/** Runs scenario (k). */
export function run({ quick }: ScenarioOptions): Promise<ScenarioResult> {
  const rounds = quick ? 2 : 5;
  return withDatabase("k_runtime_restart", (url) =>
    withTempDir(async (dir) => {
      const psk = generatePsk();
      const caPem = await deriveClusterCaPem(psk);
      const children = new ChildSet({ url, psk });
      const runtimes: BenchRuntime[] = [];
      try {
        const first = await BenchRuntime.start({ dir, psk, hostPsk: HOST_PSK, url });
        runtimes.push(first);
        await first.ready();
        const port = first.port;
        const workers = await children.startWorkers(
          Array.from({ length: WORKERS }, (_, i) => ({
            label: `k${i}`,
            runtimes: [first.address],
            hostPsk: HOST_PSK,
            caPem,
            types: [TYPE],
          })),
        );
        // One actor owned by each worker: place actors until every worker owns one.
        const own = new Map<string, string>();
        for (let i = 0; own.size < WORKERS; i++) {
          if (i >= 200) throw new Error(`placement never reached every worker: ${JSON.stringify([...own])}`);
          const id = `own-${i}`;
          const reply = await workers[0].request<CounterReply>({ op: "invoke", type: TYPE, actorId: id });
          if (!own.has(reply.label)) own.set(reply.label, id);
        }
        const ownActor = (w: BenchChild) => own.get(w.label)!;

        const results: RestartRound[] = [];
        for (let r = 0; r < rounds; r++) {
          // Every worker serves before the kill.
          await Promise.all(workers.map((w) => untilServed(w, ownActor(w), performance.now())));
          await sleep(500);
          const old = runtimes[runtimes.length - 1];
          const killedAt = performance.now();
          old.kill("SIGKILL");
          await old.exited;
          const reapedAt = performance.now();
          const fresh = await BenchRuntime.start({ dir, psk, hostPsk: HOST_PSK, url, port });
          runtimes.push(fresh);
          await fresh.ready(30_000, 5);
          const readyAt = performance.now();
          const served = await Promise.all(workers.map((w) => untilServed(w, ownActor(w), readyAt)));
          const round_: RestartRound = {
            reapMs: reapedAt - killedAt,
            startMs: readyAt - reapedAt,
            servingMs: Math.max(...served.map((s) => s.ms)),
            perWorkerMs: served.map((s) => s.ms),
            failedCalls: served.reduce((n, s) => n + s.failed, 0),
          };
          const firstError = served.find((s) => s.firstError !== undefined)?.firstError;
          if (firstError !== undefined) round_.firstError = firstError;
          results.push(round_);
          console.error(
            `[bench] k_runtime_restart: round ${r + 1}/${rounds}: runtime ready ${Math.round(round_.startMs)} ms ` +
              `after spawn, workers serving ${Math.round(round_.servingMs)} ms after ready`,
          );
        }

        // Sanity: every counter holds the calls made (1 placement call + 1 per round + 1 before each round).
        const finals = await Promise.all(
          workers.map((w) => w.request<CounterReply>({ op: "invoke", type: TYPE, actorId: ownActor(w) })),
        );
        const expected = 1 + 2 * rounds + 1;
        const countsOk = finals.every((f) => f.n === expected);

        const serving = summarize(results.map((x) => x.servingMs));
        const start = summarize(results.map((x) => x.startMs));
        return {
          metrics: [
            metric(`serving again after ready p50, ${rounds} restarts`, serving.p50, "ms"),
            metric(`serving again after ready max, ${rounds} restarts`, serving.max, "ms", {
              op: "<=",
              value: TARGET_MS,
            }),
            metric("runtime start (spawn → /readyz) p50", start.p50, "ms"),
          ],
          params: {
            workers: WORKERS,
            rounds,
            runtime: "separate process, real CLI (runtime/main.ts serve --config), PostgreSQL, default settings",
            workerOptions: "RemoteHost defaults (requestTimeoutMs 15000)",
            retryMs: RETRY_MS,
            readyzPollMs: 5,
          },
          notes: [
            `A runtime process (real CLI, PostgreSQL) and ${WORKERS} worker processes (one RemoteHost each, serving ` +
            "`counter`). Each round: every worker serves; SIGKILL the runtime and reap it; start a new runtime " +
            "process (same config, same worker port, new health port); poll /readyz every 5 ms; from the first 200, " +
            "each worker invokes, through itself, a `counter` actor it owns (found by placement before the first " +
            "round), which reads and writes its state: the setState is an RPC on that worker's own runtime session. " +
            `A failed call is retried after ${RETRY_MS} ms; a call made while the worker is disconnected waits for ` +
            "the session (RemoteProvider calls wait up to requestTimeoutMs for a reconnect).",
            `The measure is /readyz 200 → the slowest worker's successful write; target max ≤ ${TARGET_MS} ms. The ` +
            "runtime's own start time (spawn → /readyz) is reported separately and is not part of the measure.",
            `Sanity: every owned counter ends at ${expected} (calls acknowledged before, during and after the ` +
            `restarts): ${countsOk ? "yes" : `NO (${JSON.stringify(finals)})`}.`,
          ],
          details: {
            servingMs: roundSummary(serving),
            runtimeStartMs: roundSummary(start),
            rounds: results.map((x) => ({
              reapMs: round(x.reapMs, 1),
              startMs: round(x.startMs, 0),
              servingMs: round(x.servingMs, 0),
              perWorkerMs: x.perWorkerMs.map((v) => round(v, 0)),
              failedCalls: x.failedCalls,
              ...(x.firstError === undefined ? {} : { firstError: x.firstError }),
            })),
            finalCounters: finals,
          },
        };
      } finally {
        await children.disposeAll();
        await Promise.all(runtimes.map((r) => r.dispose()));
      }
    }));
}
