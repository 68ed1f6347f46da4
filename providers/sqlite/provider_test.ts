import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { isFrancisError } from "../../errors.ts";
import { ManualClock } from "../../testing/manual_clock.ts";
import { runProviderSuite } from "../../testing/provider_suite.ts";
import type { ActorProvider } from "../types.ts";
import { createSqliteProvider, type SqliteProviderOptions } from "./mod.ts";

const DEADLINE = 60_000;

// The conformance suite, against an in-memory database and against a real file
// in a fresh temporary directory per test.
runProviderSuite({
  name: "sqlite :memory:",
  create: ({ clock }) => createSqliteProvider({ path: ":memory:", clock }),
});

const tempDirs = new WeakMap<ActorProvider, string>();
runProviderSuite({
  name: "sqlite file",
  async create({ clock }) {
    const dir = await Deno.makeTempDir({ prefix: "francis_sqlite_suite_" });
    const provider = createSqliteProvider({ path: `${dir}/francis.db`, clock });
    tempDirs.set(provider, dir);
    return provider;
  },
  async cleanup(provider) {
    const dir = tempDirs.get(provider);
    if (dir !== undefined) await Deno.remove(dir, { recursive: true });
  },
});

/** A fresh on-disk database file, removed by the returned cleanup. */
async function tempFile(): Promise<{ path: string; [Symbol.asyncDispose](): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "francis_sqlite_" });
  return { path: `${dir}/francis.db`, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

async function open(options: SqliteProviderOptions): Promise<ActorProvider> {
  const provider = createSqliteProvider({ cleanupIntervalMs: Infinity, ...options });
  await provider.acquire();
  return provider;
}

function count(db: DatabaseSync, sql: string, ...params: (string | number)[]): number {
  return (db.prepare(sql).get(...params) as { n: number }).n;
}

function writeStats(provider: ActorProvider): { batches: number; writes: number } {
  return (provider as unknown as { writeStats: { batches: number; writes: number } }).writeStats;
}

Deno.test("SqliteProvider group-commits 1,000 concurrent setState calls, each durable once resolved", async () => {
  await using file = await tempFile();
  const provider = await open({ path: file.path });
  const before = writeStats(provider).batches;
  await Promise.all(
    Array.from(
      { length: 1000 },
      (_, i) => provider.setState({ actorType: "counter", actorId: `c${i}`, data: new TextEncoder().encode(`v${i}`) }),
    ),
  );
  assert.ok(writeStats(provider).batches - before <= 2, `expected one or two batches, got ${writeStats(provider)}`);
  // A second connection (as another process would) sees every acknowledged write.
  const other = new DatabaseSync(file.path);
  try {
    assert.equal(count(other, "SELECT count(*) AS n FROM francis_state"), 1000);
    const row = other.prepare("SELECT data FROM francis_state WHERE actor_type = 'counter' AND actor_id = 'c999'")
      .get() as { data: Uint8Array };
    assert.equal(new TextDecoder().decode(row.data), "v999");
  } finally {
    other.close();
  }
  await provider.release();
});

Deno.test("SqliteProvider fails only the failing call of a batch", async () => {
  const provider = await open({ path: ":memory:" });
  await provider.registerHost({ address: "h:1", actorTypes: [], healthCheckDeadlineMs: DEADLINE });
  const before = writeStats(provider).batches;
  const calls = [
    provider.setState({ actorType: "T", actorId: "a", data: new Uint8Array([1]) }),
    provider.deleteState("T", "missing"),
    provider.registerHost({ address: "h:1", actorTypes: [], healthCheckDeadlineMs: DEADLINE }),
    provider.deleteAlarm("T", "a", "missing"),
    provider.setState({ actorType: "T", actorId: "b", data: new Uint8Array([2]) }),
  ];
  const settled = await Promise.allSettled(calls);
  assert.equal(writeStats(provider).batches - before, 1, "all five calls shared one transaction");
  assert.deepEqual(settled.map((s) => s.status), ["fulfilled", "rejected", "rejected", "rejected", "fulfilled"]);
  const codes = settled.map((s) => s.status === "rejected" ? (s.reason as { code?: string }).code : "ok");
  assert.deepEqual(codes, ["ok", "state_not_found", "host_already_registered", "alarm_not_found", "ok"]);
  assert.deepEqual(await provider.getState("T", "a"), new Uint8Array([1]));
  assert.deepEqual(await provider.getState("T", "b"), new Uint8Array([2]));
  assert.equal((await provider.listHosts(DEADLINE)).length, 1);
  await provider.release();
});

Deno.test("SqliteProvider leaves stored data unchanged when a write fails", async () => {
  await using file = await tempFile();
  const clock = new ManualClock();
  const provider = await open({ path: file.path, clock, busyTimeoutMs: 20 });
  await provider.setState({ actorType: "T", actorId: "a", data: new Uint8Array([1]) });
  const { hostId } = await provider.registerHost({ address: "h:1", actorTypes: [], healthCheckDeadlineMs: 1000 });

  // A registration that purges a dead host ("h:1") and then fails undoes the purge too.
  clock.advance(2000);
  await provider.registerHost({ address: "h:2", actorTypes: [], healthCheckDeadlineMs: DEADLINE });
  await assert.rejects(
    provider.registerHost({ address: "h:2", actorTypes: [], healthCheckDeadlineMs: 1000 }),
    (err: unknown) => isFrancisError(err, "host_already_registered"),
  );
  const locker = new DatabaseSync(file.path);
  try {
    // Another connection holds the write lock beyond busyTimeoutMs: the write fails whole.
    locker.exec("BEGIN IMMEDIATE");
    await assert.rejects(
      provider.setState({ actorType: "T", actorId: "a", data: new Uint8Array([2]) }),
      (err: unknown) => {
        assert.ok(isFrancisError(err, "provider_error"), String(err));
        assert.match((err as Error).message, /^Cannot commit write batch: database is locked/);
        assert.ok((err as Error).cause instanceof Error);
        return true;
      },
    );
    locker.exec("ROLLBACK");
    assert.deepEqual(await provider.getState("T", "a"), new Uint8Array([1]));
    assert.equal(count(locker, "SELECT count(*) AS n FROM francis_hosts WHERE host_id = ?", hostId), 1);
    assert.equal(count(locker, "SELECT count(*) AS n FROM francis_hosts"), 2);
  } finally {
    locker.close();
  }
  await provider.release();
});

Deno.test("SqliteProvider two connections on one file never double-place an actor", async () => {
  await using file = await tempFile();
  const a = await open({ path: file.path });
  const b = await open({ path: file.path });
  const types = [{ actorType: "A", idleTimeoutMs: 60_000, concurrencyLimit: 10 }];
  for (let i = 0; i < 3; i++) {
    await (i % 2 === 0 ? a : b).registerHost({ address: `h:${i}`, actorTypes: types, healthCheckDeadlineMs: DEADLINE });
  }
  const lookups = [];
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < 50; i++) {
      const provider = (round + i) % 2 === 0 ? a : b;
      lookups.push(
        provider.lookupActor({ actorType: "A", actorId: `x${i}`, activeOnly: false, healthCheckDeadlineMs: DEADLINE })
          .then((p) => ({ id: `x${i}`, hostId: p.hostId }), (err) => ({ id: `x${i}`, error: err as Error })),
      );
    }
  }
  const results = await Promise.all(lookups);
  const hostOf = new Map<string, Set<string>>();
  for (const r of results) {
    if ("error" in r) {
      assert.ok(isFrancisError(r.error, "no_host"), String(r.error));
      continue;
    }
    hostOf.set(r.id, (hostOf.get(r.id) ?? new Set()).add(r.hostId));
  }
  for (const [id, hosts] of hostOf) assert.equal(hosts.size, 1, `${id} placed on ${[...hosts]}`);
  const db = new DatabaseSync(file.path);
  try {
    assert.equal(count(db, "SELECT count(*) AS n FROM francis_active_actors"), 30, "3 hosts x concurrencyLimit 10");
    assert.equal(hostOf.size, 30);
    const perHost = db.prepare("SELECT count(*) AS n FROM francis_active_actors GROUP BY host_id").all() as {
      n: number;
    }[];
    assert.deepEqual(perHost.map((r) => r.n), [10, 10, 10]);
  } finally {
    db.close();
  }
  await a.release();
  await b.release();
});

Deno.test("SqliteProvider listStates pages in UTF-16 code-unit order", async () => {
  const provider = await open({ path: ":memory:" });
  // Code-point (UTF-8) order would put "\uFFFF" before the emoji; UTF-16 order puts it after.
  const ids = ["b", "\uFFFF", "😀", "a", "\uE000", "ab"];
  for (const id of ids) await provider.setState({ actorType: "T", actorId: id, data: new Uint8Array([1]) });
  const expected = [...ids].sort();
  const page = await provider.listStates({ actorType: "T", limit: 1000, includeData: false });
  assert.deepEqual(page.entries.map((e) => e.actorId), expected);
  const seen: string[] = [];
  let after: string | undefined;
  for (;;) {
    const p = await provider.listStates({ actorType: "T", limit: 2, includeData: true, after });
    seen.push(...p.entries.map((e) => e.actorId));
    if (!p.hasMore) break;
    after = p.entries.at(-1)!.actorId;
  }
  assert.deepEqual(seen, expected);
  await provider.release();
});

Deno.test("SqliteProvider returns plain Uint8Array copies and stores Infinity idle timeouts as NULL", async () => {
  const db = new DatabaseSync(":memory:");
  const provider = await open({ database: db });
  await provider.registerHost({
    address: "h:1",
    actorTypes: [{ actorType: "A", idleTimeoutMs: Infinity, concurrencyLimit: 0 }],
    healthCheckDeadlineMs: DEADLINE,
  });
  const placement = await provider.lookupActor({
    actorType: "A",
    actorId: "a",
    activeOnly: false,
    healthCheckDeadlineMs: DEADLINE,
  });
  assert.equal(placement.idleTimeoutMs, Infinity);
  assert.equal(count(db, "SELECT count(*) AS n FROM francis_active_actors WHERE idle_timeout_ms IS NULL"), 1);
  assert.equal(count(db, "SELECT count(*) AS n FROM francis_host_actor_types WHERE idle_timeout_ms IS NULL"), 1);

  await provider.setState({ actorType: "A", actorId: "a", data: new Uint8Array([1, 2, 3]) });
  const out = await provider.getState("A", "a");
  assert.equal(Object.getPrototypeOf(out), Uint8Array.prototype);
  out[0] = 9;
  assert.deepEqual(await provider.getState("A", "a"), new Uint8Array([1, 2, 3]));
  await provider.release();
  db.close();
});

Deno.test("SqliteProvider unregisterHost cascades to placements and clears their alarm leases", async () => {
  const clock = new ManualClock();
  const db = new DatabaseSync(":memory:");
  const provider = await open({ database: db, clock });
  const { hostId } = await provider.registerHost({
    address: "h:1",
    actorTypes: [{ actorType: "A", idleTimeoutMs: 1000, concurrencyLimit: 0 }],
    healthCheckDeadlineMs: DEADLINE,
  });
  await provider.setAlarm("A", "a", "n", { dueTime: clock.now() });
  const leases = await provider.fetchAndLeaseAlarms({
    hostId,
    healthCheckDeadlineMs: DEADLINE,
    fetchAheadMs: 0,
    batchSize: 10,
    leaseDurationMs: 60_000,
  });
  assert.equal(leases.length, 1);
  assert.equal(count(db, "SELECT count(*) AS n FROM francis_alarms WHERE lease_id IS NOT NULL"), 1);
  await provider.unregisterHost(hostId);
  assert.equal(count(db, "SELECT count(*) AS n FROM francis_active_actors"), 0);
  assert.equal(count(db, "SELECT count(*) AS n FROM francis_host_actor_types"), 0);
  assert.equal(count(db, "SELECT count(*) AS n FROM francis_alarms WHERE lease_id IS NOT NULL"), 0);
  await assert.rejects(provider.getLeasedAlarm(leases[0]), (err: unknown) => isFrancisError(err, "alarm_not_found"));
  await provider.release();
  db.close();
});

Deno.test("SqliteProvider keeps hosts, placements, state and alarms across release and reopen", async () => {
  await using file = await tempFile();
  const clock = new ManualClock();
  const first = await open({ path: file.path, clock });
  const { hostId } = await first.registerHost({
    address: "h:1",
    actorTypes: [{ actorType: "A", idleTimeoutMs: 1000, concurrencyLimit: 0 }],
    healthCheckDeadlineMs: DEADLINE,
  });
  await first.lookupActor({ actorType: "A", actorId: "a", activeOnly: false, healthCheckDeadlineMs: DEADLINE });
  await first.setState({ actorType: "A", actorId: "a", data: new Uint8Array([4]) });
  await first.setAlarm("A", "a", "n", { dueTime: clock.now() + 5, interval: "PT1S", data: new Uint8Array([7]) });
  await first.release();

  const second = await open({ path: file.path, clock });
  assert.deepEqual((await second.listHosts(DEADLINE)).map((h) => h.hostId), [hostId]);
  const placement = await second.lookupActor({
    actorType: "A",
    actorId: "a",
    activeOnly: true,
    healthCheckDeadlineMs: DEADLINE,
  });
  assert.equal(placement.hostId, hostId);
  assert.deepEqual(await second.getState("A", "a"), new Uint8Array([4]));
  assert.deepEqual(await second.getAlarm("A", "a", "n"), {
    actorType: "A",
    actorId: "a",
    name: "n",
    dueTime: clock.now() + 5,
    interval: "PT1S",
    data: new Uint8Array([7]),
  });
  await second.release();
});

Deno.test("SqliteProvider runs periodic cleanup while acquired and stops it on the final release", async () => {
  await using file = await tempFile();
  const clock = new ManualClock();
  const provider = createSqliteProvider({ path: file.path, clock, cleanupIntervalMs: 20 });
  await provider.acquire();
  await provider.registerHost({ address: "h:1", actorTypes: [], healthCheckDeadlineMs: 1000 });
  await provider.setState({ actorType: "T", actorId: "a", data: new Uint8Array([1]), ttlMs: 10 });
  await provider.setState({ actorType: "T", actorId: "b", data: new Uint8Array([1]) });
  clock.advance(5000);
  const db = new DatabaseSync(file.path);
  try {
    const deadline = Date.now() + 5000;
    while (count(db, "SELECT count(*) AS n FROM francis_state") !== 1 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(count(db, "SELECT count(*) AS n FROM francis_state"), 1, "expired state purged");
    assert.equal(count(db, "SELECT count(*) AS n FROM francis_hosts"), 0, "dead host purged");
    assert.equal(count(db, "SELECT count(*) AS n FROM francis_metadata WHERE key = 'last_cleanup'"), 1);
    await provider.release();
    // No timer is left: with the clock moved on, nothing is purged any more.
    await provider.acquire();
    await provider.release();
    db.exec(
      "INSERT INTO francis_state (actor_type, actor_key, actor_id, data, expiration) VALUES ('T', x'00', 'z', x'', 0)",
    );
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.equal(count(db, "SELECT count(*) AS n FROM francis_state"), 2);
  } finally {
    db.close();
  }
});

Deno.test("SqliteProvider cleanup() reports what it removed", async () => {
  const clock = new ManualClock();
  const provider = await open({ path: ":memory:", clock });
  await provider.registerHost({ address: "h:1", actorTypes: [], healthCheckDeadlineMs: 1000 });
  await provider.setState({ actorType: "T", actorId: "a", data: new Uint8Array([1]), ttlMs: 10 });
  assert.deepEqual(await provider.cleanup({ healthCheckDeadlineMs: 1000 }), { expiredStates: 0, deadHosts: 0 });
  clock.advance(10);
  assert.deepEqual(await provider.cleanup({ healthCheckDeadlineMs: 1000 }), { expiredStates: 1, deadHosts: 0 });
  clock.advance(1000);
  assert.deepEqual(await provider.cleanup({ healthCheckDeadlineMs: 1000 }), { expiredStates: 0, deadHosts: 1 });
  await provider.release();
});
