/**
 * (b) `invoke` + `setState` on an on-disk SQLite file (WAL, synchronous=normal):
 * durable state writes per second with 1 actor called sequentially and with
 * 1,000 actors each looped on by its own caller; compared, in the same run,
 * with raw `node:sqlite` autocommit single-row upserts on a separate file.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { createSqliteProvider } from "../providers/sqlite/mod.ts";
import { metric, round, roundSummary, type ScenarioOptions, type ScenarioResult, summarize } from "./_stats.ts";
import { createHost, loopFor, sum, withTempDir } from "./_util.ts";

const TYPE = "counter";

/** Raw autocommit upserts of a small blob over 1,000 keys: WAL, synchronous=NORMAL (deno-platform.md Q6). */
function rawUpsertRate(path: string, n: number): number {
  const db = new DatabaseSync(path);
  try {
    db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 2500;");
    db.exec("CREATE TABLE IF NOT EXISTS kv (k TEXT NOT NULL PRIMARY KEY, v BLOB NOT NULL) STRICT, WITHOUT ROWID");
    const up = db.prepare("INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v");
    const enc = new TextEncoder();
    for (let i = 0; i < 1_000; i++) up.run(`k${i}`, enc.encode(`{"n":${i}}`)); // warm-up
    const t0 = performance.now();
    for (let i = 0; i < n; i++) up.run(`k${i % 1_000}`, enc.encode(`{"n":${i}}`));
    return n / ((performance.now() - t0) / 1000);
  } finally {
    db.close();
  }
}

/** Runs scenario (b). */
export function run({ quick }: ScenarioOptions): Promise<ScenarioResult> {
  const rawN = quick ? 3_000 : 30_000;
  const seqN = quick ? 2_000 : 20_000;
  const actors = 1_000;
  const durationMs = quick ? 500 : 5_000;
  return withTempDir(async (dir) => {
    const rawBefore = rawUpsertRate(`${dir}/raw.db`, rawN);

    const provider = createSqliteProvider({ path: `${dir}/francis.db` });
    const stats = () => (provider as unknown as { writeStats?: { batches: number; writes: number } }).writeStats;
    const host = createHost(provider);
    host.registerActor(TYPE, (id, svc) => {
      const self = svc.client<{ n: number }>(TYPE, id, { initialState: () => ({ n: 0 }) });
      return {
        async invoke() {
          const s = await self.getState();
          s.n++;
          await self.setState(s);
          return s.n;
        },
      };
    });
    await host.start();
    const svc = host.service;
    const call = (id: string) => svc.invoke<number>(TYPE, id, "increment");
    let seq, conc, lat;
    const checks: string[] = [];
    try {
      // 1 actor, sequential.
      for (let i = 0; i < 1_000; i++) await call("solo");
      const lats = new Float64Array(seqN);
      let t0 = performance.now();
      for (let i = 0; i < seqN; i++) {
        const t = performance.now();
        await call("solo");
        lats[i] = (performance.now() - t) * 1000;
      }
      seq = seqN / ((performance.now() - t0) / 1000);
      lat = summarize(lats);

      // 1,000 actors, one looping caller each, for a fixed duration.
      const ids = Array.from({ length: actors }, (_, i) => `a${i}`);
      await Promise.all(ids.map((id) => call(id))); // activate + place
      for (let r = 0; r < 3; r++) await Promise.all(ids.map((id) => call(id))); // warm-up
      const before = stats();
      const last = new Array<number>(actors).fill(0);
      t0 = performance.now();
      const { counts, elapsedMs } = await loopFor(actors, durationMs, async (w) => {
        last[w] = await call(ids[w]);
      });
      const after = stats();
      const total = sum(counts);
      conc = { total, rate: total / (elapsedMs / 1000), elapsedMs, minPerActor: Math.min(...counts) };
      if (before !== undefined && after !== undefined) {
        const batches = after.batches - before.batches;
        const writes = after.writes - before.writes;
        Object.assign(conc, { batches, writes, avgBatch: round(writes / Math.max(1, batches), 1) });
      }
      const bad = last.filter((n, w) => n !== counts[w] + 4).length;
      checks.push(
        bad === 0 ? "Each actor's final counter equals its calls (no lost update)." : `${bad} actors lost updates!`,
      );
    } finally {
      await host.stop();
    }
    // Durability check on the file itself, after the host closed it.
    const db = new DatabaseSync(`${dir}/francis.db`);
    const rows = (db.prepare("SELECT count(*) AS c FROM francis_state").get() as { c: number }).c;
    db.close();
    checks.push(`State rows on disk after stop: ${rows} (expected ${actors + 1}).`);

    const rawAfter = rawUpsertRate(`${dir}/raw2.db`, rawN);
    const raw = (rawBefore + rawAfter) / 2;
    return {
      metrics: [
        metric("raw node:sqlite autocommit upserts (mean of 2)", raw, "writes/s"),
        metric("1 actor sequential", seq, "writes/s"),
        metric("1 actor ratio to raw", seq / raw, "×"),
        metric("1 actor invoke+setState p50", lat.p50, "µs"),
        metric("1,000 actors", conc.rate, "writes/s", { op: ">=", value: 50_000 }),
        metric("1,000 actors ratio to raw", conc.rate / raw, "×"),
      ],
      params: { rawUpserts: rawN, sequentialCalls: seqN, actors, durationMs, synchronous: "normal" },
      notes: [
        "Each invoke reads state from the client cache and does one setState (one durable write).",
        "Raw rate: autocommit upsert of a small blob over 1,000 keys on a separate file in the same dir, " +
        "measured before and after the francis runs; the ratio uses their mean.",
        ...checks,
      ],
      details: {
        rawBefore: round(rawBefore, 0),
        rawAfter: round(rawAfter, 0),
        soloLatencyUs: roundSummary(lat),
        concurrent: conc,
      },
    };
  });
}
