/**
 * Group commit of the job members of the PostgreSQL provider: calls made in
 * one tick share one statement, yet each keeps its own outcome exactly as if
 * it had been sent alone (`job_dispatch.ts`, `job_leases.ts`), and the fetch
 * merges its two candidate branches in due order (`leasing.ts`).
 *
 * @module
 */

import assert from "node:assert/strict";
import { isFrancisError } from "../../errors.ts";
import { createTestDatabase } from "../../testing/_postgres.ts";
import { ManualClock } from "../../testing/manual_clock.ts";
import type { ActorProvider, DispatchJobRequest, JobLease } from "../types.ts";
import { createPostgresProvider } from "./mod.ts";

const db = await createTestDatabase();
const DEADLINE = 60_000;
let count = 0;

interface Fixture extends AsyncDisposable {
  provider: ActorProvider;
  clock: ManualClock;
  hostId: string;
  /** Statements sent so far whose text contains `needle`. */
  statements(needle: string): number;
}

/** A provider on a fresh prefix with one host serving `A`, counting statements through `queryLog`. */
async function fixture(): Promise<Fixture> {
  const clock = new ManualClock();
  const sent: string[] = [];
  const debug = console.debug;
  console.debug = (message: unknown, attrs?: { sql?: string }) => {
    if (message === "[francis] PostgreSQL statement" && attrs?.sql !== undefined) sent.push(attrs.sql);
  };
  const provider = createPostgresProvider({
    url: db.url,
    clock,
    tablePrefix: `b${count++}`,
    cleanupIntervalMs: Infinity,
    queryLog: { enabled: true },
  });
  await provider.acquire();
  const { hostId } = await provider.registerHost({
    address: `10.0.0.${count}:7000`,
    actorTypes: [{ actorType: "A", idleTimeoutMs: 60_000, concurrencyLimit: 0 }],
    healthCheckDeadlineMs: DEADLINE,
  });
  return {
    provider,
    clock,
    hostId,
    statements: (needle) => sent.filter((s) => s.includes(needle)).length,
    async [Symbol.asyncDispose]() {
      await provider.release();
      console.debug = debug;
    },
  };
}

function req(f: Fixture, jobId: string, extra: Partial<DispatchJobRequest> = {}): DispatchJobRequest {
  const now = f.clock.now();
  return { jobId, actorType: "A", actorId: "a1", method: "run", dueTime: now, createdAt: now, ...extra };
}

function fetch(f: Fixture, batchSize = 100, leaseDurationMs = 60_000): Promise<JobLease[]> {
  return f.provider.fetchAndLeaseJobs({
    hostId: f.hostId,
    healthCheckDeadlineMs: DEADLINE,
    fetchAheadMs: 0,
    batchSize,
    leaseDurationMs,
  });
}

Deno.test("postgres jobs: dispatches of one tick share a statement and keep their own outcomes", async () => {
  await using f = await fixture();
  await f.provider.dispatchJob(req(f, "taken"));
  const before = f.statements("pg_notify");
  const results = await Promise.allSettled([
    f.provider.dispatchJob(req(f, "p1", { data: new Uint8Array([1, 2]) })),
    f.provider.dispatchJob(req(f, "k1", { idempotencyKey: "k" })),
    f.provider.dispatchJob(req(f, "k2", { idempotencyKey: "k", method: "other" })),
    f.provider.dispatchJob(req(f, "taken", { actorId: "a2" })),
    f.provider.dispatchJob(req(f, "bad", { method: "nul\u0000" })),
    f.provider.dispatchJob(req(f, "p2", { actorId: "a3", interval: "PT1M" })),
  ]);
  const values = results.map((r) => (r.status === "fulfilled" ? r.value : r.reason));
  assert.deepEqual(values[0], { jobId: "p1", created: true });
  assert.deepEqual(values[1], { jobId: "k1", created: true }, "the first dispatch with a key wins");
  assert.deepEqual(values[2], { jobId: "k1", created: false }, "the second sees the first's job");
  assert.ok(isFrancisError(values[3], "provider_error") && /taken/.test(values[3].message), String(values[3]));
  assert.ok(isFrancisError(values[4], "provider_error"), "a row the server rejects fails alone");
  assert.deepEqual(values[5], { jobId: "p2", created: true });
  // One statement for all but k2; it failed on bad's data, so its five were sent alone; then k2 (same key as k1).
  assert.equal(f.statements("pg_notify") - before, 7);
  const live = [...await f.provider.listJobs("A", "a1"), ...await f.provider.listJobs("A", "a3")];
  assert.deepEqual(live.map((j) => j.jobId).sort(), ["k1", "p1", "p2", "taken"]);
  assert.deepEqual((await f.provider.getJob("p1")).data, new Uint8Array([1, 2]));
  assert.equal((await f.provider.getJob("k1")).method, "run");
  assert.deepEqual(await f.provider.listJobs("A", "a2"), [], "a rejected dispatch stored nothing");
});

Deno.test("postgres jobs: lease reads and writes of one tick share statements and fail one by one", async () => {
  await using f = await fixture();
  for (const id of ["j1", "j2", "j3", "j4"]) await f.provider.dispatchJob(req(f, id, { actorId: id }));
  const [l1, l2, l3, l4] = await fetch(f);
  const stale = { ...l4, leaseId: "not-the-lease" };
  const reads = f.statements("AS l(job_id, lease_id, ord)");
  const got = await Promise.allSettled([f.provider.getLeasedJob(l1), f.provider.getLeasedJob(stale)]);
  assert.equal(f.statements("AS l(job_id, lease_id, ord)") - reads, 1, "one read statement");
  assert.equal(got[0].status === "fulfilled" && got[0].value.status, "active");
  assert.ok(got[1].status === "rejected" && isFrancisError(got[1].reason, "job_not_found"));

  const writes = f.statements("DELETE FROM");
  const settled = await Promise.allSettled([
    f.provider.completeLeasedJob(l1),
    f.provider.completeLeasedJob(l2, { dueTime: f.clock.now() + 60_000 }),
    f.provider.releaseLeasedJob(l3, { dueTime: f.clock.now() + 1_000 }),
    f.provider.completeLeasedJob(stale),
    f.provider.releaseLeasedJob(l1, { dueTime: 0 }), // the same job again: runs after the first, finds no lease
  ]);
  assert.deepEqual(settled.map((s) => s.status), ["fulfilled", "fulfilled", "fulfilled", "rejected", "rejected"]);
  for (const s of settled.slice(3)) assert.ok(s.status === "rejected" && isFrancisError(s.reason, "job_not_found"));
  assert.equal(f.statements("DELETE FROM") - writes, 2, "two write statements (the repeated job waits)");
  await assert.rejects(f.provider.getJob("j1"), (err: unknown) => isFrancisError(err, "job_not_found"));
  const j2 = await f.provider.getJob("j2");
  assert.deepEqual([j2.status, j2.dueTime], ["pending", f.clock.now() + 60_000]);
  assert.equal((await f.provider.getJob("j3")).status, "pending");
  assert.equal((await f.provider.getJob("j4")).status, "active", "a stale lease changed nothing");
});

Deno.test("postgres jobs: a fetch merges expired leases and unleased jobs in due order", async () => {
  await using f = await fixture();
  const t = f.clock.now();
  for (const [id, due] of [["e1", t - 5_000], ["u2", t - 4_000], ["e3", t - 3_000], ["u4", t - 2_000]] as const) {
    await f.provider.dispatchJob(req(f, id, { actorId: id, dueTime: due }));
  }
  const first = await fetch(f, 100, 10);
  assert.deepEqual(first.map((l) => l.jobId), ["e1", "u2", "e3", "u4"]);
  await f.provider.releaseLeasedJob(first[1], { dueTime: t - 4_000 });
  await f.provider.releaseLeasedJob(first[3], { dueTime: t - 2_000 });
  f.clock.advance(20); // e1 and e3 hold expired leases now
  assert.deepEqual((await fetch(f, 3)).map((l) => l.jobId), ["e1", "u2", "e3"]);
  assert.deepEqual((await fetch(f, 3)).map((l) => l.jobId), ["u4"]);
  assert.deepEqual(await fetch(f, 3), []);
});

Deno.test("postgres jobs batch tests: drop the test database", async () => {
  await db.drop();
});
