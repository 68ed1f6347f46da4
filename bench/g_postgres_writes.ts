/**
 * (g) Durable state writes on PostgreSQL: 1,000 actors on three host
 * processes, each actor doing read-modify-write through its `ActorClient`
 * (`setState`, group-committed by the provider), 1,000 callers looping for
 * 5 s, entering the cluster through all three hosts. Compared, in the same
 * run, with raw postgres.js single-row upserts from a pool of the same total
 * size (three hosts × the provider's default 10 connections).
 *
 * @module
 */

import postgres from "postgres";
import { generatePsk } from "../mod.ts";
import { POSTGRES_PROVIDER_DEFAULTS } from "../providers/postgres/options.ts";
import { metric, round, type ScenarioOptions, type ScenarioResult } from "./_stats.ts";
import { ChildSet, withDatabase } from "./_cluster.ts";
import { sum } from "./_util.ts";

const TYPE = "counter";
const HOSTS = 3;
const ACTORS = 1_000;
/** Calls per actor before the timed loop: the activation plus warm-up. */
const WARM_ROUNDS = 4;

interface LoopResult {
  counts: number[];
  last: (number | null)[];
  errors: number;
  firstError?: string;
  endedAt: number;
}

/** Raw baseline: `workers` loops of autocommit single-row upserts over 1,000 keys for `durationMs`. */
async function rawUpsertRate(sql: postgres.Sql, workers: number, durationMs: number): Promise<number> {
  const enc = new TextEncoder();
  const upsert = (k: number, n: number) =>
    sql`INSERT INTO bench_kv (k, v) VALUES (${`k${k}`}, ${enc.encode(`{"n":${n}}`)})
      ON CONFLICT (k) DO UPDATE SET v = excluded.v`;
  await Promise.all(Array.from({ length: workers }, (_, w) => upsert(w, 0))); // warm-up, rows exist
  let done = 0;
  const t0 = performance.now();
  const end = t0 + durationMs;
  await Promise.all(Array.from({ length: workers }, async (_, w) => {
    let n = 0;
    while (performance.now() < end) {
      await upsert(w, ++n);
      done++;
    }
  }));
  return done / ((performance.now() - t0) / 1000);
}

async function commits(sql: postgres.Sql): Promise<number> {
  const [{ c }] = await sql`SELECT xact_commit::int8 AS c FROM pg_stat_database WHERE datname = current_database()`;
  return Number(c);
}

/** Runs scenario (g). */
export function run({ quick }: ScenarioOptions): Promise<ScenarioResult> {
  const durationMs = quick ? 1_000 : 5_000;
  const rawMs = quick ? 500 : 2_000;
  const rawPool = HOSTS * POSTGRES_PROVIDER_DEFAULTS.maxConnections;
  return withDatabase("g_postgres_writes", async (url) => {
    const children = new ChildSet({ url, psk: generatePsk() });
    const sql = postgres(url, { max: rawPool, onnotice: () => {} });
    try {
      await sql`CREATE TABLE bench_kv (k text PRIMARY KEY, v bytea NOT NULL)`;
      const rawBefore = await rawUpsertRate(sql, ACTORS, rawMs);

      const hosts = await children.start(["g0", "g1", "g2"], [TYPE]);
      const ids = Array.from({ length: ACTORS }, (_, i) => `a${i}`);
      const byHost = hosts.map((_, h) => ids.filter((_, i) => i % HOSTS === h));
      await Promise.all(
        hosts.map((c, h) => c.request({ op: "warm", type: TYPE, actorIds: byHost[h], rounds: WARM_ROUNDS })),
      );

      const commitsBefore = await commits(sql);
      const startAt = Date.now() + 300;
      const results = await Promise.all(
        hosts.map((c, h) =>
          c.request<LoopResult>({ op: "loop", type: TYPE, actorIds: byHost[h], startAt, durationMs })
        ),
      );
      const elapsedMs = Math.max(...results.map((r) => r.endedAt)) - startAt;
      const counts = results.flatMap((r) => r.counts);
      const total = sum(counts);
      const rate = total / (elapsedMs / 1000);
      const errors = sum(results.map((r) => r.errors));
      const lost = results.flatMap((r) => r.last.filter((n, w) => n !== r.counts[w] + WARM_ROUNDS)).length;
      await new Promise((r) => setTimeout(r, 600)); // let backends report their commit counts
      const txns = (await commits(sql)) - commitsBefore;

      // Durability: the counters as stored in PostgreSQL must equal the calls each actor acknowledged.
      const expected = new Map<string, number>();
      results.forEach((r, h) => r.counts.forEach((n, w) => expected.set(byHost[h][w], n + WARM_ROUNDS)));
      const rows = await sql<{ id: string; n: number }[]>`SELECT actor_id AS id,
        (convert_from(data, 'UTF8')::jsonb ->> 'n')::int AS n FROM francis_state WHERE actor_type = ${TYPE}`;
      const storedBad = rows.filter((r) => expected.get(r.id) !== r.n).length;

      const rawAfter = await rawUpsertRate(sql, ACTORS, rawMs);
      const raw = (rawBefore + rawAfter) / 2;
      const checks = [
        errors === 0
          ? "No call failed."
          : `${errors} calls failed! First: ${results.find((r) => r.firstError)?.firstError}`,
        lost === 0
          ? "Each actor's final counter equals its calls (no lost or doubled update)."
          : `${lost} actors' final counters differ from their call counts!`,
        storedBad === 0 && rows.length === ACTORS
          ? `The ${rows.length} state rows in PostgreSQL hold exactly the acknowledged counts.`
          : `Stored state differs: ${rows.length} rows (expected ${ACTORS}), ${storedBad} with another count!`,
      ];
      return {
        metrics: [
          metric(`raw postgres.js single-row upserts, pool ${rawPool} (mean of 2)`, raw, "writes/s"),
          metric("1,000 actors on 3 hosts", rate, "writes/s", { op: ">=", value: 10_000 }),
          metric("ratio francis ÷ raw", rate / raw, "×"),
        ],
        params: {
          hosts: HOSTS,
          processes: "3 child host processes (default LocalHost and provider options) + this orchestrating process",
          actors: ACTORS,
          callers: ACTORS,
          durationMs,
          warmRounds: WARM_ROUNDS,
          rawPool,
          rawWorkers: ACTORS,
          rawDurationMs: rawMs,
          synchronousCommit: "on",
        },
        notes: [
          "Each call: getState from the client cache, n++, setState (one durable write, group-committed by the " +
          "provider). Callers of actor i run in host i mod 3, so about 2/3 of the calls are forwarded to the owner.",
          "Rate = all calls ÷ (last host's end − common start); the hosts start at the same wall-clock instant.",
          "Raw baseline: 1,000 concurrent loops of autocommit INSERT … ON CONFLICT DO UPDATE of a small bytea over " +
          `1,000 keys, postgres.js pool of ${rawPool}, measured before and after the francis run; the ratio uses ` +
          "their mean. It runs in this process while the hosts idle.",
          "All processes and the PostgreSQL server share the same 2 vCPUs.",
          ...checks,
        ],
        details: {
          rawBefore: round(rawBefore, 0),
          rawAfter: round(rawAfter, 0),
          total,
          elapsedMs,
          perHost: results.map((r) => sum(r.counts)),
          minPerActor: Math.min(...counts),
          maxPerActor: Math.max(...counts),
          transactionsDuringLoop: txns,
          writesPerTransaction: round(total / Math.max(1, txns), 1),
        },
      };
    } finally {
      await children.disposeAll();
      await sql.end({ timeout: 5 });
    }
  });
}
