/**
 * The remote topology as separate OS processes: runtime processes started by
 * the real CLI (`runtime/main.ts serve --config`), RemoteHost workers, a real
 * PostgreSQL database, SIGKILL for crashes (issue: part 3).
 */

import assert from "node:assert/strict";
import type postgres from "postgres";
import { generatePsk } from "../mod.ts";
import { deriveClusterCaPem } from "../security/cluster_ca.ts";
import { waitFor } from "../testing/wait_for.ts";
import { CLUSTER_TEST_SCHEMA } from "./_cluster/actors.ts";
import { type ClusterChild, startChildren } from "./_cluster/harness.ts";
import { openTestDatabase } from "./_shared/database.ts";
import { RuntimeProcess, type RuntimeProcessConfig } from "./_shared/runtime_process.ts";

const WORKER = new URL("./_remote/worker.ts", import.meta.url).pathname;
const HOST_PSK = "worker-bootstrap-secret-123";

interface RemoteCluster {
  sql: postgres.Sql;
  /** What a runtime process of this cluster is started with (`port` picks the port). */
  runtimeConfig: RuntimeProcessConfig;
  runtimes: RuntimeProcess[];
  workers: ClusterChild[];
  startWorkers(n: number, prefix: string): Promise<ClusterChild[]>;
  [Symbol.asyncDispose](): Promise<void>;
}

async function startRemote(replicas: number, workers: number): Promise<RemoteCluster> {
  const db = await openTestDatabase(CLUSTER_TEST_SCHEMA);
  const dir = await Deno.makeTempDir();
  const psk = generatePsk();
  const caPem = await deriveClusterCaPem(psk);
  const runtimeConfig = { dir, psk, hostPsk: HOST_PSK, connectionString: db.url };
  const runtimes = await Promise.all(Array.from({ length: replicas }, () => RuntimeProcess.start(runtimeConfig)));
  const c: RemoteCluster = {
    sql: db.sql,
    runtimeConfig,
    runtimes,
    workers: [],
    startWorkers: async (n, prefix) => {
      const started = await startChildren(
        { url: db.url, runtimes: c.runtimes.map((r) => r.address), hostPsk: HOST_PSK, caPem, requestTimeoutMs: 5_000 },
        n,
        prefix,
        WORKER,
      );
      c.workers.push(...started);
      return started;
    },
    async [Symbol.asyncDispose]() {
      await Promise.all(c.workers.map((w) => w.dispose()));
      await Promise.all(c.runtimes.map((r) => r.dispose()));
      await db[Symbol.asyncDispose]();
      await Deno.remove(dir, { recursive: true });
    },
  };
  try {
    await Promise.all(runtimes.map((r) => r.ready()));
    await c.startWorkers(workers, "w");
  } catch (err) {
    await c[Symbol.asyncDispose]();
    throw err;
  }
  return c;
}

interface CounterReply {
  n: number;
  host: string;
}

const ids = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/** Calls `inc` on every actor through every worker; each counter must end at the number of workers. */
async function incThroughAll(workers: ClusterChild[], actors: string[]): Promise<CounterReply[]> {
  for (const w of workers) {
    const replies = await w.request<(CounterReply | { error: string })[]>({
      op: "burst",
      type: "counter",
      actorIds: actors,
      method: "inc",
    });
    assert.deepEqual(replies.filter((r) => "error" in r), [], `calls through ${w.label} failed`);
  }
  return await workers[0].request<CounterReply[]>({ op: "burst", type: "counter", actorIds: actors, method: "get" });
}

Deno.test("remote: calls from any worker reach the right actor; state is in the runtime's store", async () => {
  await using c = await startRemote(1, 3);
  const actors = ids(30, "any-");
  const final = await incThroughAll(c.workers, actors);
  assert.deepEqual(final.map((r) => r.n), actors.map(() => 3));
  assert.deepEqual(new Set(final.map((r) => r.host)), new Set(["w0", "w1", "w2"]), "actors on every worker");
});

Deno.test("remote: kill -9 a worker: its actors move to the others with their state", async () => {
  await using c = await startRemote(1, 3);
  const actors = ids(24, "kw-");
  const before = await incThroughAll(c.workers, actors);
  const victim = c.workers.find((w) => w.label === before[0].host)!;
  const moved = actors.filter((_, i) => before[i].host === victim.label);
  const killedAt = Date.now();
  victim.kill("SIGKILL");
  const survivor = c.workers.find((w) => w !== victim)!;
  await waitFor(async () => {
    const replies = await survivor.request<(CounterReply | { error: string })[]>({
      op: "burst",
      type: "counter",
      actorIds: moved,
      method: "get",
    });
    return replies.every((r) => "n" in r && r.host !== victim.label && r.n === 3);
  }, { what: "the victim's actors to answer on survivors with their state", timeoutMs: 30_000, intervalMs: 100 });
  console.log(`worker kill: ${moved.length} actors answered elsewhere after ${Date.now() - killedAt} ms`);
});

Deno.test("remote: kill -9 the runtime and restart it: workers reconnect, acknowledged writes and pending alarms survive", async () => {
  await using c = await startRemote(1, 2);
  const actors = ids(10, "rt-");
  await incThroughAll(c.workers, actors);
  await c.workers[0].request({ op: "setAlarm", type: "ticker", actorId: "t-1", name: "tick", interval: 300 });
  const old = c.runtimes[0];
  old.kill("SIGKILL");
  await old.exited;
  const fresh = await RuntimeProcess.start({ ...c.runtimeConfig, port: old.port });
  c.runtimes[0] = fresh;
  await fresh.ready();
  const readyAt = Date.now();
  // Serving again: an invocation through each worker that needs the runtime (a state write) succeeds.
  await waitFor(async () => {
    const results = await Promise.all(
      c.workers.map((w) => w.request<CounterReply>({ op: "invoke", type: "counter", actorId: "rt-0", method: "inc" }))
        .map((p) => p.then(() => true, () => false)),
    );
    return results.every((ok) => ok);
  }, { what: "every worker to serve again", timeoutMs: 20_000, intervalMs: 20 });
  console.log(`runtime restart: workers serving again ${Date.now() - readyAt} ms after the runtime was ready`);
  const final = await c.workers[1].request<CounterReply[]>({
    op: "burst",
    type: "counter",
    actorIds: actors,
    method: "get",
  });
  assert.equal(final[0].n, 2 + c.workers.length, "rt-0: two rounds before, one call per worker after");
  assert.deepEqual(final.slice(1).map((r) => r.n), actors.slice(1).map(() => 2), "every acknowledged write kept");
  const fired = Date.now();
  await waitFor(async () => {
    const [{ n }] = await c.sql`SELECT count(*)::int AS n FROM t_fires WHERE actor = 't-1'
      AND at > to_timestamp(${fired / 1000})`;
    return n > 0;
  }, { what: "the alarm to fire after the restart", timeoutMs: 20_000, intervalMs: 100 });
});

Deno.test("remote: two runtime replicas on PostgreSQL: kill one, the cluster keeps serving", async () => {
  await using c = await startRemote(2, 3);
  const actors = ids(20, "ha-");
  await incThroughAll(c.workers, actors);
  const killedAt = Date.now();
  c.runtimes[0].kill("SIGKILL");
  await waitFor(async () => {
    const replies = await Promise.all(
      c.workers.map((w) =>
        w.request<(CounterReply | { error: string })[]>({
          op: "burst",
          type: "counter",
          actorIds: actors,
          method: "inc",
        })
      ),
    );
    return replies.flat().every((r) => "n" in r);
  }, { what: "every worker to serve through the surviving replica", timeoutMs: 60_000, intervalMs: 100 });
  console.log(`replica kill: cluster serving again after ${Date.now() - killedAt} ms`);
});
