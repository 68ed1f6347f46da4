/**
 * (m) Durable jobs (API.md §10): throughput and start latency.
 *
 * - **SQLite throughput**: 20,000 one-shot jobs over 1,000 actors, dispatched
 *   through `host.service.dispatch` (256 in flight) on one host with an
 *   on-disk SQLite file; rate = jobs ÷ (first dispatch → last handler run).
 * - **PostgreSQL throughput**: the same over three host processes
 *   (`_child.ts`), job `k` dispatched through host `k mod 3`, so the
 *   dispatches enter through all three hosts.
 * - **Start latency**: 1,000 dispatches, a few in flight, each job due now;
 *   latency = handler entry − the moment its `dispatch` resolved. Once on the
 *   SQLite host, once on the three PostgreSQL hosts (where it is also split by
 *   whether the job ran on the host that dispatched it).
 *
 * Default `LocalHost` options everywhere (the job scheduler uses the alarm
 * poll, fetch-ahead, batch and lease settings).
 *
 * @module
 */

import { generatePsk, LOCAL_HOST_DEFAULTS } from "../mod.ts";
import { DatabaseSync } from "node:sqlite";
import postgres from "postgres";
import { createSqliteProvider } from "../providers/sqlite/mod.ts";
import { metric, round, roundSummary, type ScenarioOptions, type ScenarioResult, summarize } from "./_stats.ts";
import { type BenchChild, ChildSet, QUIET_LOGGER, withDatabase } from "./_cluster.ts";
import { createHost, pool, sleep, sum, withTempDir } from "./_util.ts";

const TYPE = "jobber";
const HOSTS = 3;
const ACTORS = 1_000;
const DISPATCH_IN_FLIGHT = 256;
/** Dispatches in flight in the latency phases (per dispatching host). */
const LATENCY_IN_FLIGHT = 2;
/** Actors of the PostgreSQL latency phase (shared by the three hosts, so most are owned by another host). */
const LATENCY_ACTORS = 30;
const WAIT_MS = 60_000;

interface DispatchResult {
  done: number;
  errors: number;
  firstError?: string;
  endedAt: number;
  acks: number[];
}

interface JobStats {
  runs: number;
  duplicates: number;
  first: number | null;
  last: number | null;
  entries?: [number, number][];
}

interface Throughput {
  jobs: number;
  ran: number;
  duplicates: number;
  errors: number;
  firstError?: string;
  dispatchMs: number;
  elapsedMs: number;
  rate: number;
  liveAfter: number;
}

/** SQLite, one host in this process: `n` jobs over `actors` actors. */
async function sqliteThroughput(path: string, n: number, actors: number): Promise<Throughput> {
  const runs = new Uint8Array(n);
  let ran = 0, duplicates = 0, last = 0;
  const host = createHost(createSqliteProvider({ path }), { logger: QUIET_LOGGER });
  host.registerActor(TYPE, () => ({
    job(_m: string, k: unknown) {
      if (runs[k as number]++ > 0) duplicates++;
      else ran++;
      last = performance.now();
    },
  }));
  await host.start();
  let errors = 0, firstError: string | undefined, dispatchMs: number, elapsedMs: number;
  try {
    const t0 = performance.now();
    await pool(n, DISPATCH_IN_FLIGHT, (k) =>
      host.service.dispatch(TYPE, `a${k % actors}`, "run", k).catch((err) => {
        errors++;
        firstError ??= String(err);
      }));
    dispatchMs = performance.now() - t0;
    const deadline = Date.now() + WAIT_MS;
    while (ran + errors < n && Date.now() < deadline) await sleep(5);
    elapsedMs = last - t0;
    await sleep(200); // let the last completions commit
  } finally {
    await host.stop();
  }
  const db = new DatabaseSync(path);
  const liveAfter = Number((db.prepare("SELECT count(*) AS c FROM francis_jobs").get() as { c: number }).c);
  db.close();
  return {
    jobs: n,
    ran,
    duplicates,
    errors,
    firstError,
    dispatchMs,
    elapsedMs,
    rate: ran / (elapsedMs / 1000),
    liveAfter,
  };
}

/** SQLite, one host: `n` dispatches (`LATENCY_IN_FLIGHT` in flight), handler entry − dispatch ack (ms). */
async function sqliteLatency(path: string, n: number): Promise<{ latencies: number[]; ran: number }> {
  const entry = new Float64Array(n).fill(NaN);
  const ack = new Float64Array(n).fill(NaN);
  const host = createHost(createSqliteProvider({ path }), { logger: QUIET_LOGGER });
  host.registerActor(TYPE, () => ({
    job(_m: string, k: unknown) {
      entry[k as number] = performance.now();
    },
  }));
  await host.start();
  try {
    // Warm-up: the actors exist and the statements are prepared.
    await pool(LATENCY_ACTORS, LATENCY_IN_FLIGHT, (i) => host.service.dispatch(TYPE, `w${i}`, "warm", -1));
    await sleep(300);
    await pool(n, LATENCY_IN_FLIGHT, async (k) => {
      await host.service.dispatch(TYPE, `l${k % LATENCY_ACTORS}`, "run", k);
      ack[k] = performance.now();
    });
    const deadline = Date.now() + 10_000;
    while (entry.some(Number.isNaN) && Date.now() < deadline) await sleep(10);
  } finally {
    await host.stop();
  }
  const latencies: number[] = [];
  for (let k = 0; k < n; k++) if (!Number.isNaN(entry[k])) latencies.push(entry[k] - ack[k]);
  return { latencies, ran: latencies.length };
}

async function collect(hosts: BenchChild[], full = false): Promise<JobStats[]> {
  return await Promise.all(hosts.map((c) => c.request<JobStats>({ op: "jobStats", full })));
}

/** PostgreSQL, three hosts: `n` jobs over `actors` actors, job k dispatched through host k mod 3. */
async function pgThroughput(sql: postgres.Sql, hosts: BenchChild[], n: number, actors: number): Promise<Throughput> {
  const startAt = Date.now() + 300;
  const results = await Promise.all(hosts.map((c, h) =>
    c.request<DispatchResult>({
      op: "dispatch",
      type: TYPE,
      prefix: "a",
      actors,
      jobs: Array.from({ length: Math.ceil((n - h) / HOSTS) }, (_, i) => i * HOSTS + h),
      concurrency: Math.ceil(DISPATCH_IN_FLIGHT / HOSTS),
      startAt,
    })
  ));
  const errors = sum(results.map((r) => r.errors));
  const deadline = Date.now() + WAIT_MS;
  let stats = await collect(hosts);
  while (sum(stats.map((s) => s.runs)) + errors < n && Date.now() < deadline) {
    await sleep(100);
    stats = await collect(hosts);
  }
  await sleep(500); // let the last completions commit
  const [{ c }] = await sql`SELECT count(*)::int AS c FROM francis_jobs WHERE actor_type = ${TYPE}`;
  const ran = sum(stats.map((s) => s.runs));
  const last = Math.max(...stats.map((s) => s.last ?? -Infinity));
  const elapsedMs = last - startAt;
  return {
    jobs: n,
    ran,
    duplicates: sum(stats.map((s) => s.duplicates)),
    errors,
    firstError: results.find((r) => r.firstError)?.firstError,
    dispatchMs: Math.max(...results.map((r) => r.endedAt)) - startAt,
    elapsedMs,
    rate: ran / (elapsedMs / 1000),
    liveAfter: Number(c),
  };
}

/**
 * PostgreSQL, three hosts: `n` dispatches, `LATENCY_IN_FLIGHT` in flight per
 * host, to `LATENCY_ACTORS` shared actors (already active, spread over the
 * hosts). Numbers from `base` on, so they do not clash with the throughput run.
 */
async function pgLatency(hosts: BenchChild[], n: number, base: number) {
  // Warm-up: activate the actors (one job each, through host i mod 3) and let the hosts settle.
  await Promise.all(hosts.map((c, h) =>
    c.request<DispatchResult>({
      op: "dispatch",
      type: TYPE,
      prefix: "l",
      actors: LATENCY_ACTORS,
      jobs: Array.from({ length: LATENCY_ACTORS }, (_, i) => base + i).filter((k) => k % HOSTS === h),
      concurrency: LATENCY_IN_FLIGHT,
      startAt: 0,
    })
  ));
  await sleep(LOCAL_HOST_DEFAULTS.alarmsPollIntervalMs * 2 + 500);
  await Promise.all(hosts.map((c) => c.request({ op: "jobReset" })));
  const first = base + LATENCY_ACTORS * 10; // a multiple of LATENCY_ACTORS: k mod 30 covers every actor
  const perHost = hosts.map((_, h) => Array.from({ length: n }, (_, i) => first + i).filter((k) => k % HOSTS === h));
  const results = await Promise.all(hosts.map((c, h) =>
    c.request<DispatchResult>({
      op: "dispatch",
      type: TYPE,
      prefix: "l",
      actors: LATENCY_ACTORS,
      jobs: perHost[h],
      concurrency: LATENCY_IN_FLIGHT,
      startAt: 0,
    })
  ));
  const ackOf = new Map<number, { at: number; host: number }>();
  results.forEach((r, h) => r.acks.forEach((at, i) => at > 0 && ackOf.set(perHost[h][i], { at, host: h })));
  const deadline = Date.now() + 15_000;
  let stats = await collect(hosts);
  while (sum(stats.map((s) => s.runs)) < ackOf.size && Date.now() < deadline) {
    await sleep(100);
    stats = await collect(hosts);
  }
  stats = await collect(hosts, true);
  const all: number[] = [], same: number[] = [], other: number[] = [];
  stats.forEach((s, h) => {
    for (const [k, at] of s.entries!) {
      const a = ackOf.get(k);
      if (a === undefined) continue;
      all.push(at - a.at);
      (a.host === h ? same : other).push(at - a.at);
    }
  });
  return { all, same, other, dispatched: ackOf.size, errors: sum(results.map((r) => r.errors)) };
}

/** Runs scenario (m). */
export async function run({ quick }: ScenarioOptions): Promise<ScenarioResult> {
  const n = quick ? 2_000 : 20_000;
  const actors = quick ? 100 : ACTORS;
  const latencyJobs = quick ? 100 : 1_000;

  const { sqlite, sqliteLat } = await withTempDir(async (dir) => ({
    sqlite: await sqliteThroughput(`${dir}/jobs.db`, n, actors),
    sqliteLat: await sqliteLatency(`${dir}/latency.db`, latencyJobs),
  }));

  const { pg, pgLat } = await withDatabase("m_jobs", async (url) => {
    const children = new ChildSet({ url, psk: generatePsk() });
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      const hosts = await children.start(["m0", "m1", "m2"], [TYPE]);
      const pg = await pgThroughput(sql, hosts, n, actors);
      const pgLat = await pgLatency(hosts, latencyJobs, n);
      return { pg, pgLat };
    } finally {
      await children.disposeAll();
      await sql.end({ timeout: 5 });
    }
  });

  const sl = summarize(sqliteLat.latencies);
  const pl = summarize(pgLat.all);
  const ps = summarize(pgLat.same);
  const po = summarize(pgLat.other);
  const checks: string[] = [];
  for (const [name, t] of [["SQLite", sqlite], ["PostgreSQL", pg]] as const) {
    checks.push(
      t.ran === t.jobs && t.errors === 0 && t.duplicates === 0 && t.liveAfter === 0
        ? `${name} throughput: all ${t.jobs} jobs ran exactly once, no dispatch failed, no live job left in the store.`
        : `${name} throughput: ${t.ran} of ${t.jobs} ran, ${t.duplicates} ran twice, ${t.errors} dispatches failed ` +
          `(${t.firstError ?? "—"}), ${t.liveAfter} live jobs left in the store!`,
    );
  }
  if (sqliteLat.ran < latencyJobs) checks.push(`SQLite latency: only ${sqliteLat.ran} of ${latencyJobs} jobs ran!`);
  if (pgLat.all.length < latencyJobs) {
    checks.push(`PostgreSQL latency: only ${pgLat.all.length} of ${latencyJobs} jobs ran (${pgLat.errors} failed)!`);
  }
  return {
    metrics: [
      metric("SQLite, 1 host: jobs/s (first dispatch → last run)", sqlite.rate, "jobs/s", { op: ">=", value: 10_000 }),
      metric("PostgreSQL, 3 hosts: jobs/s (first dispatch → last run)", pg.rate, "jobs/s", { op: ">=", value: 3_000 }),
      metric("SQLite: dispatch ack → handler p50", sl.p50, "ms"),
      metric("SQLite: dispatch ack → handler p99", sl.p99, "ms", { op: "<=", value: 50 }),
      metric("PostgreSQL: dispatch ack → handler p50", pl.p50, "ms"),
      metric("PostgreSQL: dispatch ack → handler p99", pl.p99, "ms", { op: "<=", value: 50 }),
      metric("PostgreSQL, ran on the dispatching host: p99", ps.p99, "ms"),
      metric("PostgreSQL, ran on another host: p99", po.p99, "ms"),
    ],
    params: {
      jobs: n,
      actors,
      dispatchInFlight: DISPATCH_IN_FLIGHT,
      pgHosts: HOSTS,
      pgDispatchInFlightPerHost: Math.ceil(DISPATCH_IN_FLIGHT / HOSTS),
      latencyJobs,
      latencyInFlight: `${LATENCY_IN_FLIGHT} (SQLite); ${LATENCY_IN_FLIGHT} per host, 3 hosts (PostgreSQL)`,
      latencyActors: LATENCY_ACTORS,
      alarmsPollIntervalMs: LOCAL_HOST_DEFAULTS.alarmsPollIntervalMs,
      alarmsFetchAheadMs: LOCAL_HOST_DEFAULTS.alarmsFetchAheadMs,
      alarmsFetchBatchSize: LOCAL_HOST_DEFAULTS.alarmsFetchBatchSize,
    },
    notes: [
      "Default LocalHost options (the job scheduler uses the alarm poll interval, fetch-ahead, batch size and lease).",
      "Throughput: rate = jobs that ran ÷ (first dispatch → last handler entry); the handler only records its entry. " +
      "PostgreSQL: job k is dispatched through host k mod 3 to actor a(k mod actors); the hosts start together.",
      "Latency: handler entry − the moment dispatch resolved (the job is due at dispatch). SQLite: performance.now() " +
      "in one process; PostgreSQL: Date.now() in the dispatching and the running process (same machine clock, 1 ms " +
      "resolution). PostgreSQL latency jobs go to 30 actors that are already active, spread over the three hosts, " +
      "dispatched through all three hosts, so about 2/3 run on a host other than the dispatching one.",
      "A dispatch wakes every host at once (the dispatching one directly; the others through onJobDispatched, " +
      "PostgreSQL NOTIFY), each leasing the jobs of actors placed on it or on no host. PostgreSQL group-commits " +
      "dispatches, lease reads and completions; fetches double in size (up to 1000) while they come back full.",
      `SQLite: dispatching took ${round(sqlite.dispatchMs, 0)} ms of ${round(sqlite.elapsedMs, 0)} ms; PostgreSQL: ` +
      `${round(pg.dispatchMs, 0)} ms of ${round(pg.elapsedMs, 0)} ms.`,
      ...checks,
    ],
    details: {
      sqlite: { ...sqlite, dispatchMs: round(sqlite.dispatchMs, 1), elapsedMs: round(sqlite.elapsedMs, 1) },
      postgres: pg,
      sqliteLatencyMs: roundSummary(sl),
      postgresLatencyMs: { all: roundSummary(pl), sameHost: roundSummary(ps), otherHost: roundSummary(po) },
    },
  };
}
