/**
 * (e) Resident memory of a host whose SQLite store holds 1,000,000 far-future
 * alarms (due in 30 days), against the same host on an empty store.
 *
 * The parent creates both files with the provider's own migrations, inserts
 * the alarms into one of them directly with `node:sqlite` in one transaction
 * (the exact columns `AlarmStore.set` writes), then runs this module as a
 * CHILD process per file (`--v8-flags=--expose-gc`). Each child starts a
 * host with `alarmsPollIntervalMs` 250, waits for the first fetch plus 3 poll
 * cycles, forces GC and reports `Deno.memoryUsage()` (and Linux VmHWM).
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { createSqliteProvider } from "../providers/sqlite/mod.ts";
import type { ActorProvider, FetchAlarmsRequest } from "../providers/types.ts";
import { metric, round, type ScenarioOptions, type ScenarioResult, summarize } from "./_stats.ts";
import { createHost, sleep, withTempDir } from "./_util.ts";

const TYPE = "far";
const POLL_MS = 250;
const CYCLES = 3;
const DAY_MS = 86_400_000;
const MB = 1024 * 1024;

interface ChildReport {
  rssBeforeHost: number;
  rss: number;
  heapUsed: number;
  external: number;
  peakRss: number | null;
  polls: number;
  pollMs: number[];
  /** Longest event-loop stall seen by a 10 ms interval timer while idling, in ms. */
  maxLoopStallMs: number;
  startMs: number;
  gc: boolean;
}

/** Child side: start a host on `path`, idle through the poll cycles, report memory as JSON. */
async function child(path: string): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const provider = createSqliteProvider({ path });
  const pollMs: number[] = [];
  const fetch = provider.fetchAndLeaseAlarms.bind(provider);
  (provider as { fetchAndLeaseAlarms: ActorProvider["fetchAndLeaseAlarms"] }).fetchAndLeaseAlarms = async (
    req: FetchAlarmsRequest,
  ) => {
    const t = performance.now();
    try {
      return await fetch(req);
    } finally {
      pollMs.push(round(performance.now() - t, 2));
    }
  };
  gc?.();
  const rssBeforeHost = Deno.memoryUsage().rss;
  const host = createHost(provider, { alarmsPollIntervalMs: POLL_MS });
  host.registerActor(TYPE, () => ({ alarm() {} }));
  const t0 = performance.now();
  await host.start();
  const startMs = round(performance.now() - t0, 1);
  let last = performance.now(), maxLoopStallMs = 0;
  const lag = setInterval(() => {
    const now = performance.now();
    maxLoopStallMs = Math.max(maxLoopStallMs, now - last - 10);
    last = now;
  }, 10);
  const deadline = Date.now() + 30_000;
  while (pollMs.length < CYCLES + 1 && Date.now() < deadline) await sleep(20);
  await sleep(50);
  clearInterval(lag);
  gc?.();
  await sleep(20);
  gc?.();
  const mu = Deno.memoryUsage();
  let peakRss: number | null = null;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(await Deno.readTextFile("/proc/self/status"));
    if (m) peakRss = Number(m[1]) * 1024;
  } catch {
    // Not Linux.
  }
  await host.stop();
  const report: ChildReport = {
    rssBeforeHost,
    rss: mu.rss,
    heapUsed: mu.heapUsed,
    external: mu.external,
    peakRss,
    polls: pollMs.length,
    pollMs,
    maxLoopStallMs: round(maxLoopStallMs, 1),
    startMs,
    gc: gc !== undefined,
  };
  console.log(JSON.stringify(report));
}

async function spawnChild(path: string): Promise<ChildReport> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--v8-flags=--expose-gc", import.meta.filename!, "--child", path],
    cwd: new URL("..", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) {
    throw new Error(`RSS child exited with ${out.code}: ${new TextDecoder().decode(out.stderr).slice(-2_000)}`);
  }
  return JSON.parse(stdout.split("\n").at(-1)!) as ChildReport;
}

/** Creates the provider's schema by acquiring a provider once. */
async function createStore(path: string): Promise<void> {
  const provider = createSqliteProvider({ path });
  await provider.acquire();
  await provider.release();
}

/** Inserts `n` one-shot alarms due in about 30 days, in one transaction. */
function insertAlarms(path: string, n: number): void {
  const db = new DatabaseSync(path);
  try {
    db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;");
    const insert = db.prepare(
      `INSERT INTO francis_alarms (alarm_id, actor_type, actor_id, name, due_time, interval, ttl, data)
       VALUES (?, ?, ?, ?, ?, NULL, NULL, NULL)`,
    );
    const base = Date.now() + 30 * DAY_MS;
    db.exec("BEGIN IMMEDIATE");
    for (let i = 0; i < n; i++) insert.run(crypto.randomUUID(), TYPE, `far-${i}`, "reminder", base + (i % 3_600_000));
    db.exec("COMMIT");
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  } finally {
    db.close();
  }
}

/** Runs scenario (e). */
export function run({ quick }: ScenarioOptions): Promise<ScenarioResult> {
  const n = quick ? 50_000 : 1_000_000;
  return withTempDir(async (dir) => {
    await createStore(`${dir}/empty.db`);
    await createStore(`${dir}/loaded.db`);
    const t0 = performance.now();
    insertAlarms(`${dir}/loaded.db`, n);
    const insertMs = round(performance.now() - t0, 0);
    const fileMb = round((await Deno.stat(`${dir}/loaded.db`)).size / MB, 1);
    const empty = await spawnChild(`${dir}/empty.db`);
    const loaded = await spawnChild(`${dir}/loaded.db`);
    const delta = (loaded.rss - empty.rss) / MB;
    const notes = [
      `${n.toLocaleString("en-US")} alarms inserted directly with node:sqlite in one transaction (${insertMs} ms; ` +
      `file ${fileMb} MB), before the host started; each measurement is a fresh child process.`,
      `Each child waited for the first fetch plus ${CYCLES} poll cycles (alarmsPollIntervalMs ${POLL_MS}); ` +
      `polls seen: empty ${empty.polls}, loaded ${loaded.polls}; GC forced: ${empty.gc && loaded.gc}.`,
    ];
    if (loaded.polls < CYCLES + 1) notes.push("FEWER POLL CYCLES THAN REQUIRED in the loaded child.");
    return {
      metrics: [
        metric("RSS, host on empty store", empty.rss / MB, "MB"),
        metric(`RSS, host on store with ${n.toLocaleString("en-US")} alarms`, loaded.rss / MB, "MB"),
        metric("RSS delta", delta, "MB", { op: "<=", value: 100 }),
        metric("alarm fetch (poll) p50, empty store", summarize(empty.pollMs).p50, "ms"),
        metric("alarm fetch (poll) p50, loaded store", summarize(loaded.pollMs).p50, "ms"),
        metric("max event-loop stall, loaded store", loaded.maxLoopStallMs, "ms"),
      ],
      params: { alarms: n, dueInDays: 30, alarmsPollIntervalMs: POLL_MS, pollCycles: CYCLES },
      notes,
      details: { insertMs, fileMb, empty, loaded },
    };
  });
}

if (import.meta.main && Deno.args[0] === "--child") await child(Deno.args[1]);
