/**
 * PostgreSQL-specific tests: what the single-process conformance suite cannot
 * see. Several provider instances (and a child process) share one fresh
 * database, each test on its own table prefix.
 *
 * @module
 */

import assert from "node:assert/strict";
import postgres from "postgres";
import { isFrancisError } from "../../errors.ts";
import { createTestDatabase } from "../../testing/_postgres.ts";
import type { ActorProvider } from "../types.ts";
import { SCHEMA_VERSION } from "./migrations.ts";
import { createPostgresProvider, type PostgresProviderOptions } from "./mod.ts";

const db = await createTestDatabase();
const DEADLINE = 60_000;
const TYPES = [{ actorType: "A", idleTimeoutMs: 60_000, concurrencyLimit: 0 }];
let count = 0;

function prefix(): string {
  return `c${count++}`;
}

async function open(tablePrefix: string, extra: Partial<PostgresProviderOptions> = {}): Promise<ActorProvider> {
  const provider = createPostgresProvider({ url: db.url, tablePrefix, cleanupIntervalMs: Infinity, ...extra });
  await provider.acquire();
  return provider;
}

async function admin<T>(fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(db.url, { max: 1, onnotice: () => {} });
  try {
    return await fn(sql);
  } finally {
    await sql.end();
  }
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

Deno.test("PostgresProvider: 5 instances acquiring a new prefix at once migrate it exactly once", async () => {
  const p = prefix();
  const providers = Array.from({ length: 5 }, () => createPostgresProvider({ url: db.url, tablePrefix: p }));
  await Promise.all(providers.map((x) => x.acquire()));
  await Promise.all(providers.map((x) => x.release()));
  // Re-acquiring finds nothing to do.
  const again = await open(p);
  await again.release();
  const rows = await admin((sql) => sql.unsafe(`SELECT version FROM ${p}_migrations ORDER BY version`));
  assert.deepEqual(rows.map((r) => r.version), Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
});

Deno.test("PostgresProvider: a schema newer than supported fails acquire with ProviderError and adds no reference", async () => {
  const p = prefix();
  await (await open(p)).release();
  await admin((sql) => sql.unsafe(`INSERT INTO ${p}_migrations (version, applied_at) VALUES (99, 0)`));
  const provider = createPostgresProvider({ url: db.url, tablePrefix: p });
  await assert.rejects(provider.acquire(), (err: unknown) => {
    assert.ok(isFrancisError(err, "provider_error"), String(err));
    assert.match(
      (err as Error).message,
      new RegExp(`schema version 99 .* newer than supported version ${SCHEMA_VERSION}`),
    );
    return true;
  });
  await assert.rejects(provider.listHosts(DEADLINE), (err: unknown) => isFrancisError(err, "provider_error"));
});

Deno.test("PostgresProvider: a caller-supplied sql instance is used and never closed", async () => {
  const sql = postgres(db.url, { max: 3, onnotice: () => {} });
  try {
    const provider = createPostgresProvider({ sql, tablePrefix: prefix(), cleanupIntervalMs: Infinity });
    await provider.acquire();
    await provider.setState({ actorType: "T", actorId: "a", data: new Uint8Array([1, 2]) });
    assert.deepEqual(await provider.getState("T", "a"), new Uint8Array([1, 2]));
    await provider.release();
    const [row] = await sql`SELECT 1 AS one`;
    assert.equal(row.one, 1, "the caller's pool still works after the final release");
  } finally {
    await sql.end();
  }
});

Deno.test("PostgresProvider: concurrent lookups from 3 instances give exactly one placement per actor", async () => {
  const p = prefix();
  const providers = await Promise.all([open(p), open(p), open(p)]);
  const hostIds: string[] = [];
  for (const [i, x] of providers.entries()) {
    hostIds.push(
      (await x.registerHost({ address: `h:${i}`, actorTypes: TYPES, healthCheckDeadlineMs: DEADLINE })).hostId,
    );
  }
  const seen = new Map<string, Set<string>>();
  await Promise.all(Array.from({ length: 600 }, async (_, i) => {
    const actorId = `a${i % 40}`;
    const placement = await providers[i % 3].lookupActor({
      actorType: "A",
      actorId,
      activeOnly: false,
      healthCheckDeadlineMs: DEADLINE,
    });
    seen.set(actorId, (seen.get(actorId) ?? new Set()).add(placement.hostId));
  }));
  for (const [actorId, hosts] of seen) assert.equal(hosts.size, 1, `${actorId} seen on ${[...hosts]}`);
  const rows = await admin((sql) =>
    sql.unsafe(`SELECT host_id, count(*)::int AS n FROM ${p}_active_actors GROUP BY 1`)
  );
  assert.equal(rows.reduce((sum, r) => sum + r.n, 0), 40, "one row per actor");
  // Least-loaded: 40 actors over 3 empty hosts end up 13/13/14.
  assert.ok(rows.every((r) => r.n >= 13 && r.n <= 14), JSON.stringify(rows));
  const counts = await admin((sql) => sql.unsafe(`SELECT sum(actor_count)::int AS n FROM ${p}_host_types`));
  assert.equal(counts[0].n, 40, "actor_count matches the placements");
  await Promise.all(providers.map((x) => x.release()));
});

Deno.test("PostgresProvider: a fenced write is refused once the placement moved, and nothing changes", async () => {
  const p = prefix();
  const a = await open(p);
  const b = await open(p);
  const h1 = (await a.registerHost({ address: "h:1", actorTypes: TYPES, healthCheckDeadlineMs: DEADLINE })).hostId;
  const h2 = (await b.registerHost({ address: "h:2", actorTypes: TYPES, healthCheckDeadlineMs: DEADLINE })).hostId;
  const req = { actorType: "A", actorId: "x", activeOnly: false, healthCheckDeadlineMs: DEADLINE };
  await a.lookupActor({ ...req, allowedHostIds: [h1] });
  await a.setState({ actorType: "A", actorId: "x", data: new Uint8Array([1]), fenceHostId: h1 });
  // The actor moves to h2 while a batch of h1's writes is in flight.
  assert.equal(await b.removeActor("A", "x", h1), true);
  assert.equal((await b.lookupActor({ ...req, allowedHostIds: [h2] })).hostId, h2);
  const results = await Promise.allSettled([
    a.setState({ actorType: "A", actorId: "x", data: new Uint8Array([9]), fenceHostId: h1 }),
    a.setState({ actorType: "A", actorId: "other", data: new Uint8Array([5]) }),
    a.deleteState("A", "x", { fenceHostId: h1 }),
  ]);
  assert.equal(results[0].status, "rejected");
  assert.ok(isFrancisError((results[0] as PromiseRejectedResult).reason, "placement_lost"));
  assert.equal(results[1].status, "fulfilled", "an unfenced write in the same batch still lands");
  assert.ok(isFrancisError((results[2] as PromiseRejectedResult).reason, "placement_lost"));
  assert.deepEqual(await b.getState("A", "x"), new Uint8Array([1]));
  await b.setState({ actorType: "A", actorId: "x", data: new Uint8Array([2]), fenceHostId: h2 });
  assert.deepEqual(await a.getState("A", "x"), new Uint8Array([2]));
  await a.release();
  await b.release();
});

Deno.test("PostgresProvider: evictHost spares a live session and evicts once it is terminated", async () => {
  const p = prefix();
  const owner = await open(p);
  const peer = await open(p);
  const { hostId } = await owner.registerHost({ address: "h:1", actorTypes: TYPES, healthCheckDeadlineMs: DEADLINE });
  assert.equal(await peer.evictHost(hostId), false, "the owner's session holds the lock");
  assert.equal((await peer.listHosts(DEADLINE)).length, 1);
  // A transient loss: heartbeat re-takes the lock on a new session.
  const pid = (owner as unknown as { livenessPid(id: string): number }).livenessPid(hostId);
  await admin((sql) => sql`SELECT pg_terminate_backend(${pid})`);
  await owner.heartbeat(hostId, DEADLINE);
  assert.equal(await peer.evictHost(hostId), false, "the lock was re-taken");
  // A loss the owner does not notice in time: the peer evicts, the owner's next heartbeat fails.
  const pid2 = (owner as unknown as { livenessPid(id: string): number }).livenessPid(hostId);
  assert.notEqual(pid2, pid);
  await admin((sql) => sql`SELECT pg_terminate_backend(${pid2})`);
  await until("the session is gone", () => peer.evictHost(hostId));
  assert.deepEqual(await peer.listHosts(DEADLINE), []);
  await assert.rejects(owner.heartbeat(hostId, DEADLINE), (err: unknown) => isFrancisError(err, "host_unregistered"));
  await owner.release();
  await peer.release();
});

Deno.test("PostgresProvider: evictHost removes the host of a SIGKILLed process, not before", async () => {
  const p = prefix();
  const peer = await open(p);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./_crash_child.ts", import.meta.url).pathname, db.url, p],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let line = "";
    while (!line.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) assert.fail("the child exited before registering");
      line += value;
    }
    const { hostId } = JSON.parse(line) as { hostId: string };
    await peer.lookupActor({ actorType: "A", actorId: "z", activeOnly: false, healthCheckDeadlineMs: DEADLINE });
    assert.equal(await peer.evictHost(hostId), false, "the child is alive");
    child.kill("SIGKILL");
    await child.status;
    await reader.cancel();
    await until("the dead child's host is evicted", () => peer.evictHost(hostId));
    await assert.rejects(
      peer.lookupActor({ actorType: "A", actorId: "z", activeOnly: true, healthCheckDeadlineMs: DEADLINE }),
      (err: unknown) => isFrancisError(err, "actor_not_active"),
    );
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
    await child.status;
    await peer.release();
  }
});

Deno.test("PostgresProvider: onAlarmSet delivers due times set by another instance, until unsubscribed", async () => {
  const p = prefix();
  const setter = await open(p);
  const watcher = await open(p);
  const received: number[] = [];
  const stop = watcher.onAlarmSet!((dueTime) => received.push(dueTime));
  let due = 1_000;
  // LISTEN starts in the background: set alarms until one arrives.
  await until("a notification arrives", async () => {
    await setter.setAlarm("A", "a", "n", { dueTime: ++due });
    return received.includes(due);
  });
  await setter.setAlarm("A", "a", "n", { dueTime: due }); // unchanged: no notification
  await setter.setAlarm("A", "a", "m", { dueTime: 77 });
  await until("the second alarm arrives", () => Promise.resolve(received.includes(77)));
  assert.equal(received.filter((d) => d === due).length, 1, "an unchanged alarm is not announced");
  stop();
  const before = received.length;
  await setter.setAlarm("A", "a", "n", { dueTime: 5 });
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(received.length, before);
  await setter.release();
  await watcher.release();
});

Deno.test("PostgresProvider: onJobDispatched delivers the due time of a job dispatched by another instance", async () => {
  const p = prefix();
  const dispatcher = await open(p);
  const watcher = await open(p);
  const received: number[] = [];
  const stop = watcher.onJobDispatched!((dueTime) => received.push(dueTime));
  let n = 0;
  // LISTEN starts in the background: dispatch until one arrives.
  await until("a job notification arrives", async () => {
    const dueTime = 5_000 + ++n;
    await dispatcher.dispatchJob({
      jobId: `job-${n}`,
      actorType: "A",
      actorId: "a",
      method: "m",
      dueTime,
      createdAt: 1,
    });
    return received.includes(dueTime);
  });
  // A re-dispatch that finds the live job holding its key creates nothing and announces nothing.
  const keyed = { actorType: "A", actorId: "k", method: "m", dueTime: 9_001, createdAt: 1, idempotencyKey: "once" };
  await dispatcher.dispatchJob({ ...keyed, jobId: "keyed-1" });
  await until("the keyed job arrives", () => Promise.resolve(received.includes(9_001)));
  assert.deepEqual(await dispatcher.dispatchJob({ ...keyed, jobId: "keyed-2", dueTime: 9_002 }), {
    jobId: "keyed-1",
    created: false,
  });
  stop();
  await dispatcher.release();
  await watcher.release();
  assert.ok(!received.includes(9_002));
});

Deno.test("PostgresProvider cluster tests: drop the test database", async () => {
  await db.drop();
});
