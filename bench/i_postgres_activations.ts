/**
 * (i) New activations per second across a three-host cluster on PostgreSQL:
 * never-seen actor IDs of a trivial actor, calls entering through all three
 * host processes, 256 in flight in total.
 *
 * @module
 */

import { generatePsk } from "../mod.ts";
import { metric, round, type ScenarioOptions, type ScenarioResult } from "./_stats.ts";
import { ChildSet, withDatabase } from "./_cluster.ts";
import { sum } from "./_util.ts";

const TYPE = "trivial";
const HOSTS = 3;
/** Calls in flight across the cluster (a third per entry host): the target is checked here. */
const IN_FLIGHT = 256;
/** The extra phase: 256 in flight per entry host, like scenario (c) on one host. */
const IN_FLIGHT_PER_HOST_EXTRA = 256;

interface ActivateResult {
  done: number;
  errors: number;
  firstError?: string;
  endedAt: number;
}

/** Runs scenario (i). */
export function run({ quick }: ScenarioOptions): Promise<ScenarioResult> {
  const warmup = quick ? 300 : 2_000;
  const count = quick ? 1_500 : 20_000;
  return withDatabase("i_postgres_activations", async (url) => {
    const children = new ChildSet({ url, psk: generatePsk() });
    try {
      const hosts = await children.start(["i0", "i1", "i2"], [TYPE]);
      const perHost = (n: number, h: number) => Math.floor(n / HOSTS) + (h < n % HOSTS ? 1 : 0);
      const concurrency = (h: number) => perHost(IN_FLIGHT, h);
      const phase = async (prefix: string, n: number, inFlight: (h: number) => number = concurrency) => {
        const startAt = Date.now() + 300;
        const results = await Promise.all(hosts.map((c, h) =>
          c.request<ActivateResult>({
            op: "activate",
            type: TYPE,
            prefix: `${prefix}-${c.label}-`,
            count: perHost(n, h),
            concurrency: inFlight(h),
            startAt,
          })
        ));
        const elapsedMs = Math.max(...results.map((r) => r.endedAt)) - startAt;
        return { results, elapsedMs, done: sum(results.map((r) => r.done)) };
      };
      await phase("warm", warmup);
      const { results, elapsedMs, done } = await phase("new", count);
      const rate = done / (elapsedMs / 1000);
      const extra = await phase("more", count, () => IN_FLIGHT_PER_HOST_EXTRA);
      const extraRate = extra.done / (extra.elapsedMs / 1000);
      const errors = sum([...results, ...extra.results].map((r) => r.errors));
      return {
        metrics: [
          metric(`new activations, ${IN_FLIGHT} in flight in total`, rate, "activations/s", { op: ">=", value: 3_000 }),
          metric(
            `new activations, ${IN_FLIGHT_PER_HOST_EXTRA} in flight per entry host (extra)`,
            extraRate,
            "activations/s",
          ),
        ],
        params: {
          hosts: HOSTS,
          processes: "3 child host processes (default LocalHost and provider options) + this orchestrating process",
          warmupActivations: warmup,
          activations: count,
          inFlight: IN_FLIGHT,
          inFlightPerHost: hosts.map((_, h) => concurrency(h)),
          extraPhaseInFlightPerHost: IN_FLIGHT_PER_HOST_EXTRA,
        },
        notes: [
          "Trivial actor ({ invoke: () => 1 }); every ID is new, so each call places the actor (a PostgreSQL " +
          "write) and runs its factory on the chosen host; about 2/3 of the calls are then forwarded.",
          "Calls enter through all three hosts at once (a third of the IDs and of the in-flight slots each); the " +
          "rate is all activations ÷ (last host's end − common start).",
          `Extra phase (no target): another ${count} new IDs with ${IN_FLIGHT_PER_HOST_EXTRA} in flight per entry ` +
          `host (${HOSTS * IN_FLIGHT_PER_HOST_EXTRA} in total), as scenario (c) runs 256 on one host. Placement ` +
          "batches serialise on the type's host rows across the cluster, so the rate grows with the calls in " +
          "flight (bigger batches): the 256-in-total figure is latency-bound, not CPU-bound.",
          errors === 0
            ? "No call failed."
            : `${errors} calls failed! First: ${results.find((r) => r.firstError)?.firstError}`,
        ],
        details: {
          elapsedMs,
          done,
          errors,
          perHost: results.map((r) => r.done),
          rate: round(rate, 0),
          extra: { elapsedMs: extra.elapsedMs, done: extra.done, rate: round(extraRate, 0) },
        },
      };
    } finally {
      await children.disposeAll();
    }
  });
}
