/**
 * A three-host local cluster on PostgreSQL: separate OS processes, real TLS
 * peer links, real SIGKILL and SIGTERM (issue: part 2). The test process is a
 * fourth host that serves no actor type and drives the load, so calls it makes
 * are always forwarded.
 */

import assert from "node:assert/strict";
import type postgres from "postgres";
import { generatePsk, isFrancisError, LocalHost } from "../mod.ts";
import { createPostgresProvider } from "../providers/postgres/mod.ts";
import { waitFor } from "../testing/wait_for.ts";
import { CLUSTER_TEST_SCHEMA } from "./_cluster/actors.ts";
import { type ClusterSettings, type HostCluster, startChildren, startHostCluster } from "./_cluster/harness.ts";

/** Three hosts, and the driver: a host in the test process that serves no actor type. */
interface Cluster extends HostCluster<ClusterSettings> {
  driver: LocalHost;
}

const QUIET = { debug() {}, info() {}, warn() {}, error: console.error };

async function startCluster(extra: Partial<ClusterSettings> = {}, driverRequestTimeoutMs?: number): Promise<Cluster> {
  const hosts = await startHostCluster({
    schema: CLUSTER_TEST_SCHEMA,
    settings: { psk: generatePsk(), ...extra },
    hosts: 3,
  });
  const driver = new LocalHost({
    address: "127.0.0.1:0",
    runtimePsks: [hosts.settings.psk],
    provider: createPostgresProvider({ url: hosts.settings.url, maxConnections: 4 }),
    logger: QUIET,
    ...(driverRequestTimeoutMs === undefined ? {} : { requestTimeoutMs: driverRequestTimeoutMs }),
  });
  try {
    await driver.start();
  } catch (err) {
    await hosts[Symbol.asyncDispose]();
    throw err;
  }
  const stopHosts = hosts[Symbol.asyncDispose].bind(hosts);
  return Object.assign(hosts, {
    driver,
    async [Symbol.asyncDispose]() {
      await driver.stop();
      await stopHosts();
    },
  });
}

interface CounterReply {
  n: number;
  host: string;
}

const ids = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

Deno.test("cluster: actors spread over all three hosts and any host answers any call", async () => {
  await using c = await startCluster();
  const actors = ids(30, "spread-");
  for (const child of c.children) {
    const replies = await child.request<CounterReply[]>({
      op: "burst",
      type: "counter",
      actorIds: actors,
      method: "inc",
    });
    assert.ok(replies.every((r) => typeof r.n === "number"), JSON.stringify(replies));
  }
  const final = await Promise.all(actors.map((id) => c.driver.service.invoke<CounterReply>("counter", id, "get")));
  assert.deepEqual(final.map((r) => r.n), actors.map(() => 3), "each of the three hosts incremented every counter");
  const owners = new Set(final.map((r) => r.host));
  assert.deepEqual([...owners].sort(), ["h0", "h1", "h2"], "placement used every host");
});

Deno.test("cluster: 1,000 concurrent first calls to 100 actors from three hosts give exactly 100 activations", async () => {
  await using c = await startCluster();
  const actors = ids(100, "race-");
  const perHost = [334, 333, 333];
  const bursts = c.children.map((child, h) =>
    child.request<(CounterReply | { error: string })[]>({
      op: "burst",
      type: "counter",
      actorIds: Array.from({ length: perHost[h] }, (_, i) => actors[(i * 7 + h) % 100]),
      method: "inc",
    })
  );
  const replies = (await Promise.all(bursts)).flat();
  assert.equal(replies.length, 1_000);
  assert.deepEqual(replies.filter((r) => "error" in r), [], "every call succeeded");
  const [{ total, distinct }] = await c.sql`SELECT count(*)::int AS total, count(DISTINCT actor)::int AS distinct
    FROM t_activations WHERE actor LIKE 'race-%'`;
  assert.equal(distinct, 100);
  assert.equal(total, 100, "each actor's factory ran exactly once in the cluster");
  const counts = await Promise.all(actors.map((id) => c.driver.service.invoke<CounterReply>("counter", id, "get")));
  assert.equal(counts.reduce((sum, r) => sum + r.n, 0), 1_000, "no increment lost or doubled");
});

/** Sequential increments on each actor from the driver, counting acknowledged and unknown outcomes. */
function runLoad(driver: LocalHost, actors: string[], signal: AbortSignal) {
  const acked = new Map(actors.map((a) => [a, 0]));
  const unknown = new Map(actors.map((a) => [a, 0]));
  const failures: string[] = [];
  const lastOk = new Map<string, { at: number; host: string }>();
  const done = Promise.all(actors.map(async (id) => {
    while (!signal.aborted) {
      try {
        const r = await driver.service.invoke<CounterReply>("counter", id, "inc");
        acked.set(id, acked.get(id)! + 1);
        lastOk.set(id, { at: Date.now(), host: r.host });
      } catch (err) {
        unknown.set(id, unknown.get(id)! + 1);
        failures.push(`${id}: ${(err as Error).name}: ${(err as Error).message}`);
      }
    }
  }));
  return { acked, unknown, failures, lastOk, done };
}

/** Fails if any actor's recorded turns overlap; open turns of `killed` end at `killedAt` at the latest. */
async function assertNoOverlap(sql: postgres.Sql, killed?: { host: string; at: number }): Promise<void> {
  const rows = await sql`SELECT actor, host, extract(epoch FROM started) * 1000 AS s,
    extract(epoch FROM ended) * 1000 AS e FROM t_turns ORDER BY actor, started`;
  const byActor = new Map<string, { host: string; s: number; e: number }[]>();
  for (const r of rows) {
    let e = r.e === null ? NaN : Number(r.e);
    if (Number.isNaN(e)) {
      assert.equal(r.host, killed?.host, `an unfinished turn on a live host: ${JSON.stringify(r)}`);
      e = Math.max(Number(r.s), killed!.at);
    }
    const list = byActor.get(r.actor) ?? [];
    list.push({ host: r.host, s: Number(r.s), e });
    byActor.set(r.actor, list);
  }
  for (const [actor, turns] of byActor) {
    for (let i = 1; i < turns.length; i++) {
      assert.ok(
        turns[i].s >= turns[i - 1].e,
        `actor ${actor} ran on ${turns[i - 1].host} and ${turns[i].host} at once`,
      );
    }
  }
}

Deno.test("cluster: kill -9 of a host under load moves its actors, loses no acknowledged write, never runs an actor twice", async () => {
  await using c = await startCluster();
  const actors = ids(24, "load-");
  const stopLoad = new AbortController();
  const load = runLoad(c.driver, actors, stopLoad.signal);
  await waitFor(() => load.lastOk.size === actors.length, { what: "every actor to answer", timeoutMs: 15_000 });
  const owners = new Map<string, string[]>();
  for (const [id, { host }] of load.lastOk) owners.set(host, [...(owners.get(host) ?? []), id]);
  const [victimLabel, moved] = [...owners.entries()].sort((a, b) => b[1].length - a[1].length)[0];
  const victim = c.children.find((ch) => ch.label === victimLabel)!;
  const killedAt = Date.now();
  victim.kill("SIGKILL");
  // Every actor of the dead host must answer again, elsewhere.
  const failover = await waitFor(() => {
    const back = moved.map((id) => load.lastOk.get(id)!).filter((r) => r.at > killedAt && r.host !== victimLabel);
    return back.length === moved.length ? Math.max(...back.map((r) => r.at)) - killedAt : undefined;
  }, { what: "the victim's actors to answer on survivors", timeoutMs: 20_000 });
  stopLoad.abort();
  await load.done;
  console.log(`failover of ${moved.length} actors after SIGKILL: ${failover} ms`);
  assert.ok(failover < 5_000, `failover took ${failover} ms`);
  for (const id of actors) {
    const { n } = await c.driver.service.invoke<CounterReply>("counter", id, "get");
    assert.ok(n >= load.acked.get(id)!, `${id}: ${n} < acknowledged ${load.acked.get(id)}`);
    assert.ok(n <= load.acked.get(id)! + load.unknown.get(id)!, `${id}: ${n} counts writes never made`);
  }
  await assertNoOverlap(c.sql, { host: victimLabel, at: killedAt });
});

Deno.test("cluster: a rolling restart of every host under load fails no call", async () => {
  await using c = await startCluster();
  const actors = ids(24, "roll-");
  const stopLoad = new AbortController();
  const load = runLoad(c.driver, actors, stopLoad.signal);
  await waitFor(() => load.lastOk.size === actors.length, { what: "every actor to answer", timeoutMs: 15_000 });
  for (let i = 0; i < c.children.length; i++) {
    const old = c.children[i];
    old.kill("SIGTERM");
    const status = await old.exited;
    assert.equal(status.code, 0, `${old.label} stopped cleanly:\n${old.output}`);
    await old.dispose();
    const [fresh] = await startChildren({ ...c.settings }, 1, `${old.label}r`);
    c.children[i] = fresh;
    const before = [...load.acked.values()].reduce((a, b) => a + b, 0);
    await waitFor(() => [...load.acked.values()].reduce((a, b) => a + b, 0) > before + 50, {
      what: "the load to keep running",
      timeoutMs: 10_000,
    });
  }
  stopLoad.abort();
  await load.done;
  assert.deepEqual(load.failures, [], "no call failed during the rolling restart");
  await assertNoOverlap(c.sql);
});

Deno.test("cluster: repeating alarms keep firing on survivors after a host is killed", async () => {
  await using c = await startCluster({ alarmsPollIntervalMs: 500 });
  const tickers = ids(12, "tick-");
  for (const id of tickers) {
    await c.driver.service.invoke("ticker", id, "where");
    await c.driver.service.setAlarm("ticker", id, "tick", { delayMs: 0, interval: 200 });
  }
  const firedOn = async () =>
    new Map(
      (await c.sql`SELECT DISTINCT ON (actor) actor, host, extract(epoch FROM at) * 1000 AS at FROM t_fires
        ORDER BY actor, at DESC`).map((r) => [r.actor as string, { host: r.host as string, at: Number(r.at) }]),
    );
  const first = await waitFor(async () => {
    const m = await firedOn();
    return m.size === tickers.length ? m : undefined;
  }, { what: "every ticker to fire", timeoutMs: 15_000 });
  const counts = new Map<string, number>();
  for (const { host } of first.values()) counts.set(host, (counts.get(host) ?? 0) + 1);
  const victimLabel = [...counts.entries()].sort((a, b) => b[1] - a[1])[0][0];
  const moved = [...first.entries()].filter(([, v]) => v.host === victimLabel).map(([k]) => k);
  const killedAt = Date.now();
  c.children.find((ch) => ch.label === victimLabel)!.kill("SIGKILL");
  await waitFor(async () => {
    const m = await firedOn();
    return moved.every((id) => m.get(id)!.at > killedAt && m.get(id)!.host !== victimLabel);
  }, { what: "the victim's tickers to fire on survivors", timeoutMs: 25_000 });
  console.log(`alarms of ${moved.length} actors moved off the killed host in ${Date.now() - killedAt} ms`);
});

Deno.test("cluster: a call to a frozen host rejects within 2 x requestTimeoutMs + 2 s instead of hanging (C-81)", async () => {
  const requestTimeoutMs = 2_000;
  await using c = await startCluster({}, requestTimeoutMs);
  const actors = ids(12, "frozen-");
  const owners = await Promise.all(actors.map((id) => c.driver.service.invoke<CounterReply>("counter", id, "inc")));
  const victim = c.children.find((ch) => ch.label === owners[0].host)!;
  const onVictim = actors.filter((_, i) => owners[i].host === victim.label);
  victim.kill("SIGSTOP"); // a partition as the caller sees it: the peer's sockets stay open, nothing answers
  try {
    const started = Date.now();
    const outcomes = await Promise.all(
      onVictim.map((id) => c.driver.service.invoke("counter", id, "inc").then(() => undefined, (e) => e)),
    );
    const elapsed = Date.now() - started;
    assert.ok(elapsed <= 2 * requestTimeoutMs + 2_000, `took ${elapsed} ms`);
    for (const err of outcomes) {
      assert.ok(
        isFrancisError(err) && (err.retryable || err.code === "transport_failure"),
        `expected a retryable error or TransportError, got ${err}`,
      );
    }
  } finally {
    victim.kill("SIGCONT");
  }
});
