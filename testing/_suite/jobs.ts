/**
 * Conformance cases for durable jobs (API.md §10; C-44, C-47..C-61 at the
 * storage level): dispatch and idempotency, management of live and
 * dead-lettered jobs, and job leases, which follow the alarm leasing rules.
 *
 * @module
 */

import assert from "node:assert/strict";
import { JobNotFoundError, ProviderError } from "../../errors.ts";
import type {
  ActorProvider,
  DispatchJobRequest,
  FetchAlarmsRequest,
  JobLease,
  JobRecord,
} from "../../providers/types.ts";
import type { ManualClock } from "../manual_clock.ts";
import {
  addHost,
  assertRejects,
  BATCH,
  DEADLINE,
  FETCH_AHEAD,
  LEASE,
  lookup,
  type SuiteCase,
  text,
  typeReg,
  utf8,
} from "./helpers.ts";

const HOUR = 3_600_000;
const UNKNOWN = "00000000-0000-4000-8000-000000000000";

let serial = 0;

/** A fresh job ID: sortable by creation within one test, unique across tests. */
function newJobId(): string {
  serial++;
  return `job-${String(serial).padStart(6, "0")}-${crypto.randomUUID()}`;
}

/** Dispatches a job of `actorType/actorId` due `inMs` after now, with suite defaults. */
async function dispatch(
  p: ActorProvider,
  clock: ManualClock,
  actorType: string,
  actorId: string,
  inMs = 0,
  extra: Partial<DispatchJobRequest> = {},
): Promise<string> {
  const req: DispatchJobRequest = {
    jobId: newJobId(),
    actorType,
    actorId,
    method: "run",
    dueTime: clock.now() + inMs,
    createdAt: clock.now(),
    ...extra,
  };
  const { jobId } = await p.dispatchJob(req);
  return jobId;
}

/** `fetchAndLeaseJobs` with suite defaults. */
function fetchJobs(p: ActorProvider, hostId: string, extra: Partial<FetchAlarmsRequest> = {}): Promise<JobLease[]> {
  return p.fetchAndLeaseJobs({
    hostId,
    healthCheckDeadlineMs: DEADLINE,
    fetchAheadMs: FETCH_AHEAD,
    batchSize: BATCH,
    leaseDurationMs: LEASE,
    ...extra,
  });
}

/** Registers one host serving `A`, dispatches `count` jobs due now on actors a0…, and leases them. */
async function leasedJobs(
  p: ActorProvider,
  clock: ManualClock,
  count: number,
  extra: Partial<DispatchJobRequest> = {},
): Promise<[string, JobLease[]]> {
  const hostId = await addHost(p, "10.0.0.1:7000", ["A"]);
  for (let i = 0; i < count; i++) await dispatch(p, clock, "A", `a${i}`, i, { data: utf8(`d${i}`), ...extra });
  const leases = await fetchJobs(p, hostId);
  assert.equal(leases.length, count);
  return [hostId, leases];
}

/** Asserts that every lease-checked job method rejects `lease` with `JobNotFoundError`. */
async function assertStaleJob(p: ActorProvider, lease: JobLease, context: string): Promise<void> {
  await assertRejects(p.getLeasedJob(lease), JobNotFoundError, `getLeasedJob, ${context}`);
  await assertRejects(p.completeLeasedJob(lease), JobNotFoundError, `completeLeasedJob, ${context}`);
  await assertRejects(
    p.completeLeasedJob(lease, { dueTime: 0 }),
    JobNotFoundError,
    `completeLeasedJob next, ${context}`,
  );
  await assertRejects(p.releaseLeasedJob(lease, { dueTime: 0 }), JobNotFoundError, `releaseLeasedJob, ${context}`);
  const dead = { deadJobId: lease.jobId, attempts: 1, lastError: "x", failedAt: 0 };
  await assertRejects(p.deadLetterLeasedJob(lease, dead), JobNotFoundError, `deadLetterLeasedJob, ${context}`);
}

/** A record with its data as text, for deep comparisons. */
function readable(record: JobRecord): Omit<JobRecord, "data"> & { data?: string } {
  const { data, ...rest } = record;
  return data === undefined ? rest : { ...rest, data: text(data) };
}

/** Job cases. */
export const jobCases: SuiteCase[] = [
  {
    name: "jobs dispatchJob then getJob returns every field, and omits absent ones",
    async fn({ provider: p, clock }) {
      const now = clock.now();
      const data = utf8('{"to":"a@b.c"}');
      const full: DispatchJobRequest = {
        jobId: newJobId(),
        actorType: "A",
        actorId: "a1",
        method: "send",
        data,
        dueTime: now + HOUR,
        interval: "PT1H",
        ttl: now + 24 * HOUR,
        idempotencyKey: "welcome",
        createdAt: now - 5,
      };
      assert.deepEqual(await p.dispatchJob(full), { jobId: full.jobId, created: true });
      data[0] = 0; // stored bytes are a copy
      assert.deepEqual(readable(await p.getJob(full.jobId)), {
        jobId: full.jobId,
        actorType: "A",
        actorId: "a1",
        method: "send",
        status: "pending",
        dueTime: now + HOUR,
        interval: "PT1H",
        ttl: now + 24 * HOUR,
        idempotencyKey: "welcome",
        createdAt: now - 5,
        data: '{"to":"a@b.c"}',
        attempts: 0,
      });
      const cron = await dispatch(p, clock, "A", "a1", 60_000, { cron: "CRON_TZ=Europe/Rome 0 7 * * *" });
      assert.equal((await p.getJob(cron)).cron, "CRON_TZ=Europe/Rome 0 7 * * *");
      const bare = await dispatch(p, clock, "A", "a2", 0, { data: new Uint8Array() });
      const got = await p.getJob(bare);
      assert.deepEqual(got, {
        jobId: bare,
        actorType: "A",
        actorId: "a2",
        method: "run",
        status: "pending",
        dueTime: now,
        createdAt: now,
        attempts: 0,
      });
      got.data = utf8("x");
      assert.equal((await p.getJob(bare)).data, undefined, "returned records are copies; empty data is none");
    },
  },
  {
    name: "jobs unknown IDs throw JobNotFoundError from getJob, cancelJob, retryDeadJob and deleteDeadJob",
    async fn({ provider: p, clock }) {
      await assertRejects(p.getJob(UNKNOWN), JobNotFoundError, "getJob");
      await assertRejects(p.cancelJob(UNKNOWN), JobNotFoundError, "cancelJob");
      const fresh = { jobId: newJobId(), dueTime: clock.now(), createdAt: clock.now() };
      await assertRejects(p.retryDeadJob(UNKNOWN, fresh), JobNotFoundError, "retryDeadJob");
      await assertRejects(p.deleteDeadJob(UNKNOWN), JobNotFoundError, "deleteDeadJob");
      assert.deepEqual(await p.listJobs("A", "a1"), []);
      await assertRejects(p.getJob(fresh.jobId), JobNotFoundError, "retryDeadJob created nothing");
    },
  },
  {
    name: "jobs listJobs returns an actor's live and dead jobs ordered by createdAt then jobId",
    async fn({ provider: p, clock }) {
      const hostId = await addHost(p, "10.0.0.1:7000", ["A"]);
      const t = clock.now();
      const late = await dispatch(p, clock, "A", "a1", HOUR, { createdAt: t + 10 });
      const failing = await dispatch(p, clock, "A", "a1", 0, { createdAt: t + 5 });
      const tieB = await dispatch(p, clock, "A", "a1", HOUR, { createdAt: t, jobId: "tie-b" });
      const tieA = await dispatch(p, clock, "A", "a1", HOUR, { createdAt: t, jobId: "tie-a" });
      await dispatch(p, clock, "A", "a2", HOUR, { createdAt: t });
      await dispatch(p, clock, "B", "a1", HOUR, { createdAt: t });
      const [lease] = await fetchJobs(p, hostId);
      assert.equal(lease.jobId, failing);
      await p.deadLetterLeasedJob(lease, { deadJobId: failing, attempts: 3, lastError: "boom", failedAt: clock.now() });
      const list = await p.listJobs("A", "a1");
      assert.deepEqual(list.map((j) => j.jobId), [tieA, tieB, failing, late]);
      assert.deepEqual(list.map((j) => j.status), ["pending", "pending", "dead-lettered", "pending"]);
      assert.deepEqual(list.map((j) => j.createdAt), [t, t, t + 5, t + 10]);
    },
  },
  {
    name: "jobs cancelJob deletes a pending or leased job, once, and never a dead one",
    async fn({ provider: p, clock }) {
      const [hostId, [leased, dying]] = await leasedJobs(p, clock, 2);
      const pending = await dispatch(p, clock, "A", "a9", HOUR);
      await p.cancelJob(pending);
      await assertRejects(p.getJob(pending), JobNotFoundError, "cancelled pending job");
      await assertRejects(p.cancelJob(pending), JobNotFoundError, "second cancel");
      await p.cancelJob(leased.jobId);
      await assertRejects(p.getJob(leased.jobId), JobNotFoundError, "cancelled leased job");
      await assertStaleJob(p, leased, "cancelled job");
      await p.deadLetterLeasedJob(dying, { deadJobId: dying.jobId, attempts: 1, lastError: "x", failedAt: 0 });
      await assertRejects(p.cancelJob(dying.jobId), JobNotFoundError, "dead-lettered job");
      assert.equal((await p.getJob(dying.jobId)).status, "dead-lettered");
      clock.advance(LEASE);
      assert.deepEqual(await fetchJobs(p, hostId), [], "cancelled jobs never run");
    },
  },
  {
    name: "jobs an idempotency key held by a live job returns that job and changes nothing",
    async fn({ provider: p, clock }) {
      const first = await dispatch(p, clock, "A", "a1", HOUR, { idempotencyKey: "k", data: utf8("one") });
      const before = await p.getJob(first);
      const again = await p.dispatchJob({
        jobId: newJobId(),
        actorType: "A",
        actorId: "a1",
        method: "other",
        data: utf8("two"),
        dueTime: clock.now(),
        interval: "PT1M",
        idempotencyKey: "k",
        createdAt: clock.now() + 1,
      });
      assert.deepEqual(again, { jobId: first, created: false });
      assert.deepEqual(await p.getJob(first), before);
      assert.deepEqual((await p.listJobs("A", "a1")).map((j) => j.jobId), [first]);
      const concurrent = await Promise.all(
        Array.from({ length: 8 }, () =>
          p.dispatchJob({
            jobId: newJobId(),
            actorType: "A",
            actorId: "a1",
            method: "run",
            dueTime: clock.now(),
            idempotencyKey: "race",
            createdAt: clock.now(),
          })),
      );
      assert.equal(new Set(concurrent.map((r) => r.jobId)).size, 1, "concurrent dispatches agree on one job");
      assert.equal(concurrent.filter((r) => r.created).length, 1);
      const other = await dispatch(p, clock, "A", "a2", HOUR, { idempotencyKey: "k" });
      const otherType = await dispatch(p, clock, "B", "a1", HOUR, { idempotencyKey: "k" });
      assert.equal(new Set([first, other, otherType]).size, 3, "keys are scoped to the actor");
      const plain = [await dispatch(p, clock, "A", "a1"), await dispatch(p, clock, "A", "a1")];
      assert.notEqual(plain[0], plain[1], "without a key every dispatch creates a job");
      assert.equal((await p.listJobs("A", "a1")).length, 4);
    },
  },
  {
    name: "jobs an idempotency key is free again after completion, cancellation or dead-lettering",
    async fn({ provider: p, clock }) {
      const hostId = await addHost(p, "10.0.0.1:7000", ["A"]);
      const done = await dispatch(p, clock, "A", "a1", 0, { idempotencyKey: "done" });
      const failed = await dispatch(p, clock, "A", "a1", 1, { idempotencyKey: "failed" });
      const cancelled = await dispatch(p, clock, "A", "a1", HOUR, { idempotencyKey: "cancelled" });
      const [l1, l2] = await fetchJobs(p, hostId);
      assert.deepEqual([l1.jobId, l2.jobId], [done, failed]);
      await p.completeLeasedJob(l1);
      await p.deadLetterLeasedJob(l2, { deadJobId: failed, attempts: 3, lastError: "x", failedAt: clock.now() });
      await p.cancelJob(cancelled);
      for (const [key, old] of [["done", done], ["failed", failed], ["cancelled", cancelled]]) {
        const req = { jobId: newJobId(), actorType: "A", actorId: "a1", method: "run", dueTime: clock.now() };
        const result = await p.dispatchJob({ ...req, idempotencyKey: key, createdAt: clock.now() });
        assert.deepEqual(result, { jobId: req.jobId, created: true }, `key "${key}" is free`);
        assert.notEqual(result.jobId, old);
      }
      assert.equal((await p.getJob(failed)).idempotencyKey, "failed", "the dead record keeps the key it had");
    },
  },
  {
    name: "jobs a repeating job keeps its idempotency key across occurrences",
    async fn({ provider: p, clock }) {
      const hostId = await addHost(p, "10.0.0.1:7000", ["A"]);
      const job = await dispatch(p, clock, "A", "a1", 0, { interval: "PT1M", idempotencyKey: "tick" });
      const [first] = await fetchJobs(p, hostId);
      await p.completeLeasedJob(first, { dueTime: clock.now() + 60_000 });
      assert.equal((await p.dispatchJob({ ...jobReq(clock), idempotencyKey: "tick" })).jobId, job);
      clock.advance(60_000);
      const [second] = await fetchJobs(p, hostId);
      await p.deadLetterLeasedJob(second, {
        deadJobId: newJobId(),
        attempts: 1,
        lastError: "bad occurrence",
        failedAt: clock.now(),
        next: { dueTime: clock.now() + 60_000 },
      });
      assert.deepEqual(await p.dispatchJob({ ...jobReq(clock), idempotencyKey: "tick" }), {
        jobId: job,
        created: false,
      });
    },
  },
  {
    name: "jobs dispatchJob with a jobId already in use rejects and changes nothing",
    async fn({ provider: p, clock }) {
      const [, [lease]] = await leasedJobs(p, clock, 1);
      await p.deadLetterLeasedJob(lease, { deadJobId: lease.jobId, attempts: 1, lastError: "x", failedAt: 0 });
      const live = await dispatch(p, clock, "A", "a1", HOUR, { data: utf8("kept") });
      for (const jobId of [live, lease.jobId]) {
        await assertRejects(
          p.dispatchJob({ ...jobReq(clock), jobId, actorId: "other", data: utf8("new") }),
          ProviderError,
          jobId,
        );
      }
      assert.equal(text((await p.getJob(live)).data), "kept");
      assert.equal((await p.getJob(lease.jobId)).status, "dead-lettered");
      assert.deepEqual(await p.listJobs("A", "other"), []);
    },
  },
  {
    name: "jobs fetchAndLeaseJobs leases due jobs in due order within the window and batch",
    async fn({ provider: p, clock }) {
      const h1 = await addHost(p, "10.0.0.1:7000", ["A"]);
      const ids = new Map<string, string>();
      for (const [name, inMs] of [["late", FETCH_AHEAD + 1], ["edge", FETCH_AHEAD], ["soon", 10], ["overdue", -5]]) {
        ids.set(await dispatch(p, clock, "A", `a-${name}`, inMs as number), name as string);
      }
      const first = await fetchJobs(p, h1, { batchSize: 2 });
      assert.deepEqual(first.map((l) => ids.get(l.jobId)), ["overdue", "soon"]);
      assert.deepEqual((await fetchJobs(p, h1)).map((l) => ids.get(l.jobId)), ["edge"]);
      assert.deepEqual(await fetchJobs(p, h1), [], "leased jobs are not fetched again; late is outside the window");
      clock.advance(1);
      assert.deepEqual((await fetchJobs(p, h1)).map((l) => ids.get(l.jobId)), ["late"]);
    },
  },
  {
    name: "jobs a job lease carries identity and due time; the job shows active while leased",
    async fn({ provider: p, clock }) {
      const h1 = await addHost(p, "10.0.0.1:7000", ["A"]);
      const jobId = await dispatch(p, clock, "A", "a1", 1_000, { data: utf8("in"), interval: "PT1M" });
      const [lease, ...rest] = await fetchJobs(p, h1, { leaseDurationMs: 10_000 });
      assert.deepEqual(rest, []);
      assert.deepEqual({ ...lease, leaseId: "" }, {
        jobId,
        leaseId: "",
        actorType: "A",
        actorId: "a1",
        dueTime: clock.now() + 1_000,
      });
      assert.ok(lease.leaseId.length > 0);
      const got = await p.getLeasedJob(lease);
      assert.deepEqual([got.jobId, got.status, got.method, got.interval, text(got.data)], [
        jobId,
        "active",
        "run",
        "PT1M",
        "in",
      ]);
      assert.equal((await p.getJob(jobId)).status, "active");
      assert.equal((await p.listJobs("A", "a1"))[0].status, "active");
      clock.advance(10_000);
      assert.equal((await p.getJob(jobId)).status, "pending", "an expired lease is no lease");
      await assertStaleJob(p, lease, "expired lease");
      const [again] = await fetchJobs(p, h1);
      assert.equal(again.jobId, jobId);
      assert.notEqual(again.leaseId, lease.leaseId, "each grant has a new leaseId");
      await p.getLeasedJob(again);
    },
  },
  {
    name: "jobs a stale job lease is rejected by every lease method",
    async fn({ provider: p, clock }) {
      const [, [lease]] = await leasedJobs(p, clock, 1);
      await assertStaleJob(p, { ...lease, jobId: UNKNOWN }, "unknown job");
      await assertStaleJob(p, { ...lease, leaseId: UNKNOWN }, "wrong leaseId");
      const never = await dispatch(p, clock, "A", "a5", HOUR);
      await assertStaleJob(p, { ...lease, jobId: never }, "a job that was never leased");
      await p.getLeasedJob(lease);
      assert.equal((await p.getJob(lease.jobId)).status, "active");
    },
  },
  {
    name: "jobs concurrent fetches from several hosts never lease one job twice",
    async fn({ provider: p, clock }) {
      const hosts: string[] = [];
      for (let i = 0; i < 8; i++) hosts.push(await addHost(p, `10.0.0.${i + 1}:7000`, ["A"]));
      for (let i = 0; i < 40; i++) await dispatch(p, clock, "A", `a${i}`, -5_000);
      const batches = await Promise.all(hosts.map((h) => fetchJobs(p, h, { batchSize: 10 })));
      const more = await Promise.all(hosts.map((h) => fetchJobs(p, h, { batchSize: 10 })));
      const all = [...batches, ...more].flatMap((leases, i) =>
        leases.map((l) => ({ l, host: hosts[i % hosts.length] }))
      );
      assert.equal(all.length, 40);
      assert.equal(new Set(all.map(({ l }) => l.jobId)).size, 40);
      for (const { l, host } of all) {
        assert.equal(
          (await lookup(p, "A", l.actorId, { activeOnly: true })).hostId,
          host,
          `${l.actorId} on its leaser`,
        );
      }
    },
  },
  {
    name: "jobs fetch skips types the host does not serve and actors placed on another healthy host",
    async fn({ provider: p, clock }) {
      const h1 = await addHost(p, "10.0.0.1:7000", ["X"]);
      const h2 = await addHost(p, "10.0.0.2:7000", ["X"]);
      await lookup(p, "X", "on-h2", { allowedHostIds: [h2] });
      await lookup(p, "X", "on-h1", { allowedHostIds: [h1] });
      for (const id of ["on-h2", "on-h1", "unplaced"]) await dispatch(p, clock, "X", id);
      await dispatch(p, clock, "Y", "y1");
      assert.deepEqual((await fetchJobs(p, h1)).map((l) => l.actorId).sort(), ["on-h1", "unplaced"]);
      assert.deepEqual((await fetchJobs(p, h2)).map((l) => l.actorId), ["on-h2"]);
      assert.equal((await lookup(p, "X", "unplaced", { activeOnly: true })).hostId, h1, "placed on the fetcher");
      assert.equal((await p.listJobs("Y", "y1"))[0].status, "pending", "no host serves Y: the job waits");
      const h3 = await addHost(p, "10.0.0.3:7000", ["Y"]);
      assert.deepEqual((await fetchJobs(p, h3)).map((l) => l.actorId), ["y1"]);
    },
  },
  {
    name: "jobs fetch takes over jobs of actors placed on a dead host",
    async fn({ provider: p, clock }) {
      const h1 = await addHost(p, "10.0.0.1:7000", ["X"]);
      const h2 = await addHost(p, "10.0.0.2:7000", ["X"]);
      await lookup(p, "X", "x1", { allowedHostIds: [h1] });
      await lookup(p, "X", "x2", { allowedHostIds: [h1] });
      await dispatch(p, clock, "X", "x1", 0);
      const [old] = await fetchJobs(p, h1, { leaseDurationMs: 5 * 60_000 });
      const x2 = await dispatch(p, clock, "X", "x2", 0);
      assert.deepEqual(await fetchJobs(p, h2), [], "both actors are on healthy h1");
      clock.advance(40_000);
      await p.heartbeat(h2, DEADLINE);
      clock.advance(30_000);
      assert.deepEqual(await fetchJobs(p, h1), [], "a dead host leases nothing");
      const taken = await fetchJobs(p, h2);
      assert.deepEqual(taken.map((l) => l.jobId), [x2], "x1's job is still leased");
      assert.equal((await lookup(p, "X", "x2", { activeOnly: true })).hostId, h2, "the actor moved to the fetcher");
      await lookup(p, "X", "x1", { allowedHostIds: [h2] });
      await assertStaleJob(p, old, "replacing the dead placement clears the actor's job leases");
      assert.deepEqual((await fetchJobs(p, h2)).map((l) => l.actorId), ["x1"]);
    },
  },
  {
    name: "jobs fetch places actors within the concurrencyLimit; a draining host places none",
    async fn({ provider: p, clock }) {
      const h1 = await addHost(p, "10.0.0.1:7000", [typeReg("A", 2)]);
      await lookup(p, "A", "a1");
      await dispatch(p, clock, "A", "a1", 0);
      await dispatch(p, clock, "A", "a2", 1);
      await dispatch(p, clock, "A", "a3", 2);
      await dispatch(p, clock, "A", "a1", 3);
      const leases = await fetchJobs(p, h1);
      assert.deepEqual(leases.map((l) => l.actorId), ["a1", "a2", "a1"]);
      assert.deepEqual(await fetchJobs(p, h1), [], "a3 does not fit");
      await p.completeLeasedJob(leases[1]);
      assert.equal(await p.removeActor("A", "a2"), true);
      await p.setHostDraining(h1);
      assert.deepEqual(await fetchJobs(p, h1), [], "a draining host places nothing new");
      await dispatch(p, clock, "A", "a1", 4);
      assert.deepEqual((await fetchJobs(p, h1)).map((l) => l.actorId), ["a1"], "an actor already placed there");
    },
  },
  {
    name: "jobs and alarms are separate namespaces",
    async fn({ provider: p, clock }) {
      const h1 = await addHost(p, "10.0.0.1:7000", ["A"]);
      await p.setAlarm("A", "a1", "x", { dueTime: clock.now() });
      const jobId = await dispatch(p, clock, "A", "a1", 0, { idempotencyKey: "x" });
      const jobs = await fetchJobs(p, h1);
      assert.deepEqual(jobs.map((l) => l.jobId), [jobId]);
      const alarms = await p.fetchAndLeaseAlarms({
        hostId: h1,
        healthCheckDeadlineMs: DEADLINE,
        fetchAheadMs: FETCH_AHEAD,
        batchSize: BATCH,
        leaseDurationMs: LEASE,
      });
      assert.deepEqual(alarms.map((l) => l.name), ["x"]);
      await p.completeLeasedJob(jobs[0]);
      await p.getLeasedAlarm(alarms[0]);
      await p.deleteLeasedAlarm(alarms[0]);
      assert.deepEqual(await p.listJobs("A", "a1"), []);
      await dispatch(p, clock, "A", "a1", HOUR, { idempotencyKey: "x" });
      await p.setAlarm("A", "a1", "x", { dueTime: clock.now() + HOUR });
      assert.equal((await p.listJobs("A", "a1")).length, 1);
      assert.equal((await p.getAlarm("A", "a1", "x")).dueTime, clock.now() + HOUR);
    },
  },
  {
    name: "jobs renewJobLeases extends the host's valid job leases, or only those given",
    async fn({ provider: p, clock }) {
      const [hostId, leases] = await leasedJobs(p, clock, 3);
      await p.setAlarm("A", "a0", "n", { dueTime: clock.now() });
      const alarmReq = {
        hostId,
        healthCheckDeadlineMs: DEADLINE,
        fetchAheadMs: 0,
        batchSize: 1,
        leaseDurationMs: LEASE,
      };
      assert.equal((await p.fetchAndLeaseAlarms(alarmReq)).length, 1);
      clock.advance(30_000);
      await p.heartbeat(hostId, DEADLINE);
      const some = await p.renewJobLeases({ hostId, leaseDurationMs: LEASE, leases: leases.slice(0, 1) });
      assert.deepEqual(some, leases.slice(0, 1));
      const renewed = await p.renewJobLeases({ hostId, leaseDurationMs: LEASE });
      assert.deepEqual(renewed, leases, "same leaseIds, due order, job leases only");
      clock.advance(45_000);
      for (const lease of leases) await p.getLeasedJob(lease);
      await p.renewJobLeases({ hostId, leaseDurationMs: LEASE, leases: leases.slice(1) });
      clock.advance(15_000);
      await assertRejects(p.getLeasedJob(leases[0]), JobNotFoundError, "not renewed the second time: expired");
      await p.getLeasedJob(leases[1]);
    },
  },
  {
    name: "jobs renewJobLeases skips expired, unknown and foreign leases and returns current due times",
    async fn({ provider: p, clock }) {
      const [hostId, [valid, moved]] = await leasedJobs(p, clock, 2);
      const other = await addHost(p, "10.0.0.2:7000", ["A"]);
      const fake = { ...valid, leaseId: UNKNOWN };
      assert.deepEqual(await p.renewJobLeases({ hostId: other, leaseDurationMs: LEASE }), [], "another host");
      assert.deepEqual(await p.renewJobLeases({ hostId: other, leaseDurationMs: LEASE, leases: [valid] }), []);
      assert.deepEqual(await p.renewJobLeases({ hostId: "no-such-host", leaseDurationMs: LEASE }), []);
      assert.deepEqual(await p.renewJobLeases({ hostId, leaseDurationMs: LEASE, leases: [fake, valid] }), [valid]);
      await p.releaseLeasedJob(moved, { dueTime: clock.now() - 1 });
      const [again] = await fetchJobs(p, hostId);
      const renewed = await p.renewJobLeases({ hostId, leaseDurationMs: LEASE, leases: [moved, again] });
      assert.deepEqual(renewed, [{ ...moved, leaseId: again.leaseId, dueTime: clock.now() - 1 }]);
      clock.advance(LEASE);
      assert.deepEqual(await p.renewJobLeases({ hostId, leaseDurationMs: LEASE }), [], "expired");
    },
  },
  {
    name: "jobs completeLeasedJob deletes a one-shot job",
    async fn({ provider: p, clock }) {
      const [hostId, leases] = await leasedJobs(p, clock, 2);
      await p.completeLeasedJob(leases[0]);
      await assertRejects(p.getJob(leases[0].jobId), JobNotFoundError);
      await assertStaleJob(p, leases[0], "completed job");
      await p.getLeasedJob(leases[1]);
      clock.advance(LEASE);
      assert.deepEqual((await fetchJobs(p, hostId)).map((l) => l.jobId), [leases[1].jobId]);
    },
  },
  {
    name: "jobs completeLeasedJob with next moves a repeating job and releases its lease",
    async fn({ provider: p, clock }) {
      const [hostId, [lease]] = await leasedJobs(p, clock, 1, { interval: "PT1M", idempotencyKey: "k" });
      const dueTime = clock.now() + 60_000;
      await p.completeLeasedJob(lease, { dueTime });
      await assertRejects(p.getLeasedJob(lease), JobNotFoundError, "the lease is released");
      const got = await p.getJob(lease.jobId);
      assert.deepEqual([got.status, got.dueTime, got.interval, got.idempotencyKey, text(got.data)], [
        "pending",
        dueTime,
        "PT1M",
        "k",
        "d0",
      ]);
      assert.deepEqual(await fetchJobs(p, hostId, { fetchAheadMs: 0 }), [], "not due yet");
      clock.advance(60_000);
      const [next] = await fetchJobs(p, hostId);
      assert.deepEqual([next.jobId, next.dueTime], [lease.jobId, dueTime]);
    },
  },
  {
    name: "jobs releaseLeasedJob sets the due time and frees the job for any host",
    async fn({ provider: p, clock }) {
      const [hostId, [lease, kept]] = await leasedJobs(p, clock, 2);
      const dueTime = clock.now() + 2 * FETCH_AHEAD;
      await p.releaseLeasedJob(lease, { dueTime });
      await assertStaleJob(p, lease, "released lease");
      assert.deepEqual([(await p.getJob(lease.jobId)).status, (await p.getJob(lease.jobId)).dueTime], [
        "pending",
        dueTime,
      ]);
      await p.getLeasedJob(kept);
      assert.equal(await p.removeActor("A", "a0"), true);
      const h2 = await addHost(p, "10.0.0.2:7000", ["A"]);
      assert.deepEqual(await fetchJobs(p, h2), [], "not due yet");
      clock.advance(2 * FETCH_AHEAD);
      const [again] = await fetchJobs(p, h2);
      assert.deepEqual([again.jobId, again.dueTime], [lease.jobId, dueTime]);
      assert.equal((await lookup(p, "A", "a0", { activeOnly: true })).hostId, h2);
      assert.deepEqual((await fetchJobs(p, hostId)).map((l) => l.jobId), [kept.jobId], "kept's lease expired");
    },
  },
  {
    name: "jobs deadLetterLeasedJob moves a one-shot job to the dead-letter store",
    async fn({ provider: p, clock }) {
      const [hostId, [lease]] = await leasedJobs(p, clock, 1, { idempotencyKey: "k", ttl: clock.now() + HOUR });
      const before = await p.getJob(lease.jobId);
      const failedAt = clock.now() + 7;
      await assert.rejects(
        p.deadLetterLeasedJob(lease, { deadJobId: newJobId(), attempts: 3, lastError: "boom", failedAt }),
        TypeError,
        "a one-shot job keeps its ID",
      );
      await p.deadLetterLeasedJob(lease, { deadJobId: lease.jobId, attempts: 3, lastError: "boom", failedAt });
      assert.deepEqual(await p.getJob(lease.jobId), {
        ...before,
        status: "dead-lettered",
        attempts: 3,
        lastError: "boom",
        failedAt,
      });
      await assertStaleJob(p, lease, "dead-lettered job");
      clock.advance(LEASE);
      assert.deepEqual(await fetchJobs(p, hostId), [], "a dead job is never fetched");
      assert.deepEqual(await p.renewJobLeases({ hostId, leaseDurationMs: LEASE }), []);
    },
  },
  {
    name: "jobs deadLetterLeasedJob of a repeating job records the occurrence and schedules the next",
    async fn({ provider: p, clock }) {
      const createdAt = clock.now() - 1_000;
      const [hostId, [lease]] = await leasedJobs(p, clock, 1, { cron: "*/5 * * * *", idempotencyKey: "k", createdAt });
      const deadJobId = newJobId();
      await assert.rejects(
        p.deadLetterLeasedJob(lease, {
          deadJobId: lease.jobId,
          attempts: 1,
          lastError: "x",
          failedAt: 0,
          next: { dueTime: 0 },
        }),
        TypeError,
        "a repeating job's dead record needs a new ID",
      );
      const next = { dueTime: clock.now() + 45_000 };
      await p.deadLetterLeasedJob(lease, { deadJobId, attempts: 2, lastError: "bad", failedAt: clock.now(), next });
      assert.deepEqual(readable(await p.getJob(deadJobId)), {
        jobId: deadJobId,
        actorType: "A",
        actorId: "a0",
        method: "run",
        status: "dead-lettered",
        dueTime: lease.dueTime,
        cron: "*/5 * * * *",
        createdAt,
        data: "d0",
        attempts: 2,
        lastError: "bad",
        failedAt: clock.now(),
      });
      const live = await p.getJob(lease.jobId);
      assert.deepEqual([live.status, live.dueTime, live.cron, live.idempotencyKey], [
        "pending",
        next.dueTime,
        "*/5 * * * *",
        "k",
      ]);
      await assertRejects(p.getLeasedJob(lease), JobNotFoundError, "the live job's lease is released");
      assert.deepEqual(
        (await p.listJobs("A", "a0")).map((j) => [j.jobId, j.status]),
        [
          [lease.jobId, "pending"],
          [deadJobId, "dead-lettered"],
        ].sort((a, b) => (a[0] < b[0] ? -1 : 1)),
      );
      assert.deepEqual(await fetchJobs(p, hostId), [], "the next occurrence is not due yet");
      clock.advance(45_000);
      assert.deepEqual((await fetchJobs(p, hostId)).map((l) => l.jobId), [lease.jobId], "the recurrence continues");
    },
  },
  {
    name: "jobs retryDeadJob replaces a dead record with a fresh one-shot job",
    async fn({ provider: p, clock }) {
      const [hostId, [lease]] = await leasedJobs(p, clock, 1, { idempotencyKey: "k", interval: "PT1M" });
      await p.deadLetterLeasedJob(lease, { deadJobId: lease.jobId, attempts: 3, lastError: "x", failedAt: 0 });
      const fresh = { jobId: newJobId(), dueTime: clock.now() + 10, createdAt: clock.now() + 5 };
      await assertRejects(p.retryDeadJob(fresh.jobId, fresh), JobNotFoundError, "not dead");
      const live = await dispatch(p, clock, "A", "a0", HOUR);
      await assertRejects(p.retryDeadJob(live, { ...fresh }), JobNotFoundError, "a live job is not retried");
      await p.retryDeadJob(lease.jobId, fresh);
      await assertRejects(p.getJob(lease.jobId), JobNotFoundError, "the old ID is gone");
      await assertRejects(p.retryDeadJob(lease.jobId, { ...fresh, jobId: newJobId() }), JobNotFoundError, "twice");
      assert.deepEqual(readable(await p.getJob(fresh.jobId)), {
        jobId: fresh.jobId,
        actorType: "A",
        actorId: "a0",
        method: "run",
        status: "pending",
        dueTime: fresh.dueTime,
        createdAt: fresh.createdAt,
        data: "d0",
        attempts: 0,
      });
      clock.advance(LEASE);
      assert.deepEqual((await fetchJobs(p, hostId)).map((l) => l.jobId), [fresh.jobId]);
    },
  },
  {
    name: "jobs deleteDeadJob removes only a dead record",
    async fn({ provider: p, clock }) {
      const [, [dying, leased]] = await leasedJobs(p, clock, 2);
      await p.deadLetterLeasedJob(dying, { deadJobId: dying.jobId, attempts: 1, lastError: "x", failedAt: 0 });
      await assertRejects(p.deleteDeadJob(leased.jobId), JobNotFoundError, "a live job");
      await p.getLeasedJob(leased);
      await p.deleteDeadJob(dying.jobId);
      await assertRejects(p.getJob(dying.jobId), JobNotFoundError);
      await assertRejects(p.deleteDeadJob(dying.jobId), JobNotFoundError, "second delete");
      const fresh = { jobId: newJobId(), dueTime: 0, createdAt: 0 };
      await assertRejects(p.retryDeadJob(dying.jobId, fresh), JobNotFoundError, "deleted record");
      assert.deepEqual((await p.listJobs("A", "a0")).length, 0);
    },
  },
  {
    name: "jobs removeActor, evictHost and unregisterHost clear the leases of the actors' jobs",
    async fn({ provider: p, clock }) {
      const [h1, leases] = await leasedJobs(p, clock, 3);
      const h2 = await addHost(p, "10.0.0.2:7000", ["A"]);
      assert.equal(await p.removeActor("A", "a0"), true);
      await assertStaleJob(p, leases[0], "removeActor");
      await p.getLeasedJob(leases[1]);
      assert.equal((await p.getJob(leases[0].jobId)).status, "pending", "the job stays");
      assert.deepEqual((await fetchJobs(p, h2)).map((l) => l.actorId), ["a0"]);
      assert.equal(await p.evictHost(h1), true);
      await assertStaleJob(p, leases[1], "evictHost");
      assert.deepEqual((await fetchJobs(p, h2)).map((l) => l.actorId), ["a1", "a2"]);
      const h3 = await addHost(p, "10.0.0.3:7000", ["A"]);
      const held = await p.renewJobLeases({ hostId: h2, leaseDurationMs: LEASE });
      assert.equal(held.length, 3);
      await p.unregisterHost(h2);
      for (const lease of held) await assertStaleJob(p, lease, "unregisterHost");
      assert.equal((await fetchJobs(p, h3)).length, 3);
    },
  },
  {
    name: "jobs malformed arguments reject with TypeError or RangeError and store nothing",
    async fn({ provider: p, clock }) {
      const ok = jobReq(clock);
      const bad: [Record<string, unknown>, typeof TypeError | typeof RangeError][] = [
        [{ jobId: 7 }, TypeError],
        [{ jobId: "" }, TypeError],
        [{ actorType: null }, TypeError],
        [{ method: undefined }, TypeError],
        [{ data: "bytes" }, TypeError],
        [{ dueTime: "now" }, TypeError],
        [{ dueTime: NaN }, RangeError],
        [{ interval: "PT1M", cron: "* * * * *" }, TypeError],
        [{ cron: 5 }, TypeError],
        [{ ttl: Infinity }, RangeError],
        [{ idempotencyKey: 1 }, TypeError],
        [{ createdAt: undefined }, TypeError],
      ];
      for (const [patch, expected] of bad) {
        await assert.rejects(
          p.dispatchJob({ ...ok, ...patch } as unknown as DispatchJobRequest),
          expected,
          JSON.stringify(patch),
        );
      }
      assert.deepEqual(await p.listJobs("A", "a1"), []);
      const [hostId, [lease]] = await leasedJobs(p, clock, 1);
      const fetchReq = { hostId, healthCheckDeadlineMs: DEADLINE, fetchAheadMs: 0, batchSize: 1, leaseDurationMs: 1 };
      await assert.rejects(p.fetchAndLeaseJobs({ ...fetchReq, batchSize: 0 }), RangeError);
      await assert.rejects(p.fetchAndLeaseJobs({ ...fetchReq, fetchAheadMs: -1 }), RangeError);
      await assert.rejects(p.fetchAndLeaseJobs({ ...fetchReq, hostId: 1 as unknown as string }), TypeError);
      await assert.rejects(p.renewJobLeases({ hostId, leaseDurationMs: 0 }), RangeError);
      await assert.rejects(p.completeLeasedJob(lease, { dueTime: "soon" as unknown as number }), TypeError);
      await assert.rejects(p.releaseLeasedJob(lease, { dueTime: Infinity }), RangeError);
      await assert.rejects(p.releaseLeasedJob(lease, undefined as unknown as { dueTime: number }), TypeError);
      const dead = { deadJobId: lease.jobId, attempts: 1, lastError: "x", failedAt: 0 };
      await assert.rejects(p.deadLetterLeasedJob(lease, { ...dead, attempts: -1 }), RangeError);
      await assert.rejects(p.deadLetterLeasedJob(lease, { ...dead, lastError: 3 as unknown as string }), TypeError);
      await assert.rejects(p.getLeasedJob(null as unknown as JobLease), TypeError);
      await assert.rejects(p.retryDeadJob(lease.jobId, { jobId: "", dueTime: 0, createdAt: 0 }), TypeError);
      await assert.rejects(p.getJob(1 as unknown as string), TypeError);
      const got = await p.getLeasedJob(lease);
      assert.deepEqual([got.status, got.dueTime], ["active", lease.dueTime], "nothing changed");
    },
  },
  {
    name: "jobs cleanup deletes no job or dead record",
    async fn({ provider: p, clock }) {
      const [hostId, [dying, kept]] = await leasedJobs(p, clock, 2, { ttl: clock.now() + 1 });
      await p.deadLetterLeasedJob(dying, { deadJobId: dying.jobId, attempts: 1, lastError: "x", failedAt: 0 });
      clock.advance(DEADLINE + HOUR);
      assert.deepEqual(await p.cleanup({ healthCheckDeadlineMs: DEADLINE }), { expiredStates: 0, deadHosts: 1 });
      assert.equal((await p.getJob(dying.jobId)).status, "dead-lettered");
      assert.equal((await p.getJob(kept.jobId)).status, "pending");
      await assertStaleJob(p, kept, "the dead host's placement was removed");
      assert.deepEqual(await fetchJobs(p, hostId), []);
    },
  },
];

/** A minimal valid dispatch request with a fresh ID. */
function jobReq(clock: ManualClock): DispatchJobRequest {
  return {
    jobId: newJobId(),
    actorType: "A",
    actorId: "a1",
    method: "run",
    dueTime: clock.now(),
    createdAt: clock.now(),
  };
}
