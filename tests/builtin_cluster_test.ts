/**
 * The rate limit and the task pool built-ins (API.md §21.2, §21.4, C-90,
 * C-93) across three host processes on one PostgreSQL database: separate OS
 * processes (`_builtin/child.ts`), real TLS peer links, real SIGKILL.
 *
 * - The rate limiter holds its limit under concurrent callers on every host:
 *   no window of time admits more than its token bucket allows, and the limit
 *   is reached.
 * - The task pool never runs more than `concurrency` tasks at once on a host,
 *   runs every task and uses every host; after a kill -9 of a host mid-run,
 *   every task still completes (tasks are durable jobs: at least once).
 */

import assert from "node:assert/strict";
import type postgres from "postgres";
import { generatePsk } from "../mod.ts";
import { waitFor } from "../testing/wait_for.ts";
import { type ClusterChild, type HostCluster, startHostCluster } from "./_cluster/harness.ts";
import { type Admission, type BuiltinSettings, type HammerReport, TASK_RUNS_SCHEMA } from "./_builtin/child.ts";

const CHILD = new URL("./_builtin/child.ts", import.meta.url).pathname;

const RATE_LIMIT = { rate: 20, perMs: 1_000, burst: 10 };
const CONCURRENCY = 2;

type Cluster = HostCluster<BuiltinSettings>;

/** Three hosts on a fresh database; disposing kills them and drops the database. */
function startCluster(extra: Partial<BuiltinSettings> = {}): Promise<Cluster> {
  return startHostCluster({
    schema: TASK_RUNS_SCHEMA,
    settings: { psk: generatePsk(), rateLimit: RATE_LIMIT, concurrency: CONCURRENCY, ...extra },
    hosts: 3,
    script: CHILD,
  });
}

/**
 * Windows that admit more than a token bucket allows. An admission happens at
 * some instant of its call, between `send` and `recv`; k admissions at
 * instants x₁ ≤ … ≤ x_k need k tokens, and the bucket holds at most `burst`
 * at x₁ and gains `rate / perMs` per ms, so k ≤ burst + rate × (x_k − x₁) /
 * perMs. For every window [a, b] with a the send of an admission and b the
 * receipt of another, the admissions sent at or after a and received at or
 * before b took place inside [a, b]. `slackMs` covers the millisecond clock.
 */
function overAdmittedWindows(
  admitted: Admission[],
  o: { rate: number; perMs: number; burst: number },
  slackMs: number,
): string[] {
  const bad: string[] = [];
  const starts = [...new Set(admitted.map(([send]) => send))].sort((x, y) => x - y);
  for (const a of starts) {
    const recvs = admitted.filter(([send]) => send >= a).map(([, recv]) => recv).sort((x, y) => x - y);
    for (let k = 1; k <= recvs.length; k++) {
      const b = recvs[k - 1];
      const allowed = Math.floor(o.burst + o.rate * (b - a + slackMs) / o.perMs);
      if (k > allowed) bad.push(`${k} admissions within [${a}, ${b}] (${b - a} ms), at most ${allowed} allowed`);
    }
  }
  return bad;
}

Deno.test("builtin cluster: the rate limiter holds its limit under concurrent callers on three hosts (C-90)", async () => {
  await using c = await startCluster();
  const HAMMER_MS = 3_000;
  const CALLERS = 6;
  const t0 = Date.now();
  const reports = await Promise.all(
    c.children.map((child) =>
      child.request<HammerReport>({ op: "hammer", key: "client/42", callers: CALLERS, durationMs: HAMMER_MS })
    ),
  );
  const elapsed = Date.now() - t0;
  for (const [h, r] of reports.entries()) assert.deepEqual(r.errors, [], `no call failed on h${h}`);

  const admitted = reports.flatMap((r) => r.admitted);
  const refused = reports.reduce((n, r) => n + r.refused, 0);
  const perHost = reports.map((r) => r.admitted.length);
  console.log(
    `rate limit ${JSON.stringify(RATE_LIMIT)}: ${admitted.length} admitted (per host ${perHost}), ` +
      `${refused} refused, in ${elapsed} ms`,
  );
  assert.ok(refused > 0, "the callers hit the limit");
  const maxRetryAfterMs = Math.ceil(RATE_LIMIT.perMs / RATE_LIMIT.rate);
  for (const [h, r] of reports.entries()) {
    if (r.refused === 0) continue;
    assert.ok(
      r.minRetryAfterMs >= 1 && r.maxRetryAfterMs <= maxRetryAfterMs,
      `h${h}: retryAfterMs in [${r.minRetryAfterMs}, ${r.maxRetryAfterMs}], expected within [1, ${maxRetryAfterMs}]`,
    );
  }

  // Never more than the bucket allows, in any window, across all three hosts.
  const bad = overAdmittedWindows(admitted, RATE_LIMIT, 5);
  assert.deepEqual(bad.slice(0, 5), [], `${bad.length} windows over the limit`);

  // The limit is reached: while every host hammered, the bucket was drained about as fast as it refills.
  const common = Math.min(...reports.map((r) => r.lastRecv)) - Math.max(...reports.map((r) => r.firstSend));
  const ideal = RATE_LIMIT.burst + RATE_LIMIT.rate * Math.max(common, 0) / RATE_LIMIT.perMs;
  assert.ok(common > HAMMER_MS / 2, `the hosts hammered together for ${common} ms`);
  assert.ok(
    admitted.length >= 0.75 * ideal,
    `${admitted.length} admitted, expected close to ${ideal.toFixed(1)} (burst + rate × ${common} ms)`,
  );
});

interface RunRow {
  key: string;
  taskId: string;
  host: string;
  attempt: number;
  /** Start and end in µs on the database clock; `e` is null for a run cut short. */
  s: number;
  e: number | null;
}

async function taskRuns(sql: postgres.Sql): Promise<RunRow[]> {
  const rows = await sql`SELECT key, task_id, host, attempt,
    (extract(epoch FROM started) * 1000000)::bigint AS s, (extract(epoch FROM ended) * 1000000)::bigint AS e
    FROM t_task_runs ORDER BY id`;
  return rows.map((r) => ({
    key: r.key,
    taskId: r.task_id,
    host: r.host,
    attempt: r.attempt,
    s: Number(r.s),
    e: r.e === null ? null : Number(r.e),
  }));
}

/**
 * The most runs in progress at once on each host. A run cut short by a kill
 * (no end) counts as running until the end of time: it ran until the kill,
 * after which its host ran nothing. At equal times an end comes first (the
 * next task starts only after a slot is free, so touching runs do not overlap).
 */
function peakConcurrency(runs: RunRow[]): Map<string, number> {
  const peaks = new Map<string, number>();
  for (const host of new Set(runs.map((r) => r.host))) {
    const events = runs.filter((r) => r.host === host)
      .flatMap((r): [number, number][] => [[r.s, 1], [r.e ?? Infinity, -1]])
      .sort((x, y) => x[0] - y[0] || x[1] - y[1]);
    let now = 0, peak = 0;
    for (const [, d] of events) peak = Math.max(peak, now += d);
    peaks.set(host, peak);
  }
  return peaks;
}

/** Runs `step`; if it fails, adds what the runs table and the hosts' stderr show to the error. */
async function explained<T>(c: Cluster, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    const runs = await taskRuns(c.sql).catch(() => []);
    const open = runs.filter((r) => r.e === null).map((r) => `${r.key}@${r.host}`);
    const logs = c.children.map((ch) => `--- ${ch.label} stderr:\n${ch.output.slice(-3_000)}`).join("\n");
    throw new Error(`${(err as Error).message}\n${runs.length} runs, unfinished: ${open.join(" ")}\n${logs}`, {
      cause: err,
    });
  }
}

/** Submits `keys` spread over every host (input `{ ms }`), all at once; the task IDs by key. */
async function submitAll(c: Cluster, keys: string[], ms: number): Promise<Map<string, string>> {
  const perHost = c.children.map((_, h) => keys.filter((_, i) => i % c.children.length === h));
  const ids = await Promise.all(
    c.children.map((child, h) => child.request<string[]>({ op: "submit", keys: perHost[h], input: { ms } })),
  );
  const byKey = new Map(perHost.flatMap((ks, h) => ks.map((k, i) => [k, ids[h][i]] as const)));
  assert.equal(new Set(byKey.values()).size, keys.length, "every submit created its own task");
  return byKey;
}

/** Waits until every task has a finished run and is no longer known (finished tasks leave the store). */
async function waitAllFinished(c: Cluster, ids: Map<string, string>, asker: ClusterChild, timeoutMs: number) {
  await waitFor(async () => {
    const done = new Set((await taskRuns(c.sql)).filter((r) => r.e !== null).map((r) => r.key));
    return [...ids.keys()].every((k) => done.has(k));
  }, { what: "every task to finish a run", timeoutMs, intervalMs: 100 });
  let left: unknown[] = [];
  await waitFor(async () => {
    left = await asker.request<unknown[]>({ op: "unfinished", taskIds: [...ids.values()] });
    return left.length === 0;
  }, { what: "every finished task to leave the store", timeoutMs: 15_000, intervalMs: 100 }).catch((err) => {
    throw new Error(`${err.message}: ${JSON.stringify(left.slice(0, 5))}`);
  });
}

Deno.test("builtin cluster: the task pool runs every task once, never exceeds its per-host bound and uses every host (C-93)", async () => {
  await using c = await startCluster();
  const N = 48;
  const TASK_MS = 150;
  const keys = Array.from({ length: N }, (_, i) => `task-${i}`);
  const t0 = Date.now();
  const ids = await submitAll(c, keys, TASK_MS);
  await explained(c, () => waitAllFinished(c, ids, c.children[0], 60_000));
  const runs = await taskRuns(c.sql);
  console.log(`${N} tasks of ${TASK_MS} ms on 3 hosts × ${CONCURRENCY}: ${Date.now() - t0} ms`);

  for (const key of keys) {
    const mine = runs.filter((r) => r.key === key);
    assert.equal(mine.length, 1, `${key} ran once: ${JSON.stringify(mine)}`);
    assert.equal(mine[0].taskId, ids.get(key), `${key} ran as the task submit returned`);
    assert.equal(mine[0].attempt, 1);
  }
  const peaks = peakConcurrency(runs);
  const counts = Object.fromEntries(["h0", "h1", "h2"].map((h) => [h, runs.filter((r) => r.host === h).length]));
  console.log(
    `tasks per host ${JSON.stringify(counts)}, peak concurrency ${JSON.stringify(Object.fromEntries(peaks))}`,
  );
  for (const [host, peak] of peaks) assert.ok(peak <= CONCURRENCY, `${host} ran ${peak} tasks at once`);
  assert.deepEqual([...peaks.keys()].sort(), ["h0", "h1", "h2"], "every host ran tasks");
  assert.ok([...peaks.values()].some((p) => p === CONCURRENCY), "the bound was reached (the check is not vacuous)");
});

Deno.test("builtin cluster: after kill -9 of a host mid-run, every task still completes on the survivors (C-93)", async () => {
  // Fast failure detection, so that the killed host's tasks move within seconds.
  await using c = await startCluster({
    healthCheckDeadlineMs: 4_000,
    alarmsLeaseDurationMs: 4_000,
    alarmsPollIntervalMs: 300,
  });
  const N = 36;
  const TASK_MS = 800;
  const keys = Array.from({ length: N }, (_, i) => `crash-${i}`);
  const ids = await submitAll(c, keys, TASK_MS);

  // Kill a host while it runs as many tasks as it may.
  let inFlight = new Map<string, string[]>();
  await explained(c, () =>
    waitFor(async () => {
      inFlight = new Map();
      for (const r of await taskRuns(c.sql)) {
        if (r.e === null) inFlight.set(r.host, [...inFlight.get(r.host) ?? [], r.key]);
      }
      return [...inFlight.values()].some((keys) => keys.length === CONCURRENCY);
    }, { what: `a host to run ${CONCURRENCY} tasks`, timeoutMs: 20_000, intervalMs: 20 }));
  const [victimLabel, cutShort] = [...inFlight].sort((a, b) => b[1].length - a[1].length)[0];
  const victim = c.children.find((ch) => ch.label === victimLabel)!;
  const killedAt = Date.now();
  victim.kill("SIGKILL");
  await victim.exited;

  const survivor = c.children.find((ch) => ch !== victim)!;
  await explained(c, () => waitAllFinished(c, ids, survivor, 60_000));
  const runs = await taskRuns(c.sql);
  console.log(
    `killed ${victimLabel} with ${cutShort.length} of ${N} tasks in flight; all done ${Date.now() - killedAt} ms ` +
      `after the kill; ${runs.length} runs (${runs.length - N} repeated)`,
  );
  for (const key of cutShort) {
    const mine = runs.filter((r) => r.key === key);
    assert.ok(
      mine.some((r) => r.host === victimLabel && r.e === null),
      `${key} was cut short: ${JSON.stringify(mine)}`,
    );
    assert.ok(
      mine.some((r) => r.host !== victimLabel && r.e !== null),
      `${key} ran again and finished on a survivor: ${JSON.stringify(mine)}`,
    );
  }
  for (const r of runs) {
    assert.ok(r.e !== null || r.host === victimLabel, `a run on a live host never ended: ${JSON.stringify(r)}`);
    assert.equal(r.taskId, ids.get(r.key), `${r.key} ran as the task submit returned`);
  }
  const peaks = peakConcurrency(runs);
  for (const [host, peak] of peaks) assert.ok(peak <= CONCURRENCY, `${host} ran ${peak} tasks at once`);
  const survivors = c.children.filter((ch) => ch !== victim).map((ch) => ch.label);
  for (const host of survivors) assert.ok(peaks.has(host), `survivor ${host} ran tasks`);
});
