/**
 * Behaviour tests of jobs (API.md §10, contracts C-47..C-61) on a
 * `JobScheduler` and a `LocalJobService` wired by hand to a real `ActorTable`,
 * `ActorRegistry` and the memory provider, with the host registered directly
 * through `provider.registerHost` (until `LocalHost` wires them itself).
 *
 * No test sleeps in place of an event: each waits on a condition with a
 * deadline (`waitFor`); "nothing more happens" is checked over a number of
 * polls counted on the provider.
 */

import assert from "node:assert/strict";
import type {
  Actor,
  ActorContext,
  ActorFactory,
  ActorService,
  JobFailure,
  Logger,
  RegisterActorOptions,
} from "../actor/types.ts";
import {
  ActorTypeReservedError,
  HostNotRunningError,
  JobNotFoundError,
  JobPermanentFailureError,
  JobRejectedError,
  MethodReservedError,
  ReadOnlyError,
} from "../errors.ts";
import { jsonCodec } from "../_internal/codec.ts";
import { runInTurn } from "../_internal/ambient.ts";
import { createMemoryProvider } from "../providers/memory/mod.ts";
import type { ActorProvider } from "../providers/types.ts";
import { waitFor } from "../testing/wait_for.ts";
import { ActorTable } from "./actor_table.ts";
import { ActorRegistry } from "./registry.ts";
import { JobScheduler } from "./job_scheduler.ts";
import { LocalJobService } from "./job_service.ts";
import type { CapacityGroup } from "./job_turns.ts";

const POLL_MS = 100;

interface TypeSpec {
  factory: (id: string) => Actor;
  options?: RegisterActorOptions;
  group?: CapacityGroup;
}

interface Harness extends AsyncDisposable {
  provider: ActorProvider;
  jobs: LocalJobService;
  table: ActorTable;
  fetches(): number;
}

let port = 1;

/** A quiet logger (failing jobs log warnings by design). */
function quietLogger(): Logger {
  const nop = () => {};
  return { debug: nop, info: nop, warn: nop, error: nop };
}

/** One "host": registry, table, scheduler and job service on `provider` (a new memory provider by default). */
async function harness(types: Record<string, TypeSpec>, shared?: ActorProvider): Promise<Harness> {
  const provider = shared ?? createMemoryProvider();
  await provider.acquire();
  let fetchCount = 0;
  const counted = new Proxy(provider, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      if (prop !== "fetchAndLeaseJobs") return value.bind(target);
      return (...args: unknown[]) =>
        (value as (...a: unknown[]) => Promise<unknown>).apply(target, args).finally(() => fetchCount++);
    },
  });
  const { hostId } = await provider.registerHost({
    address: `127.0.0.1:${port++}`,
    actorTypes: Object.keys(types).map((actorType) => ({ actorType, idleTimeoutMs: 300_000, concurrencyLimit: 0 })),
    healthCheckDeadlineMs: 60_000,
  });
  const registry = new ActorRegistry();
  for (const [type, spec] of Object.entries(types)) {
    registry.register(type, spec.factory as ActorFactory, spec.options);
  }
  const logger = quietLogger();
  const table = new ActorTable({
    service: {} as ActorService,
    logger,
    shutdownGracePeriodMs: 1_000,
    removePlacement: async (t, i) => void await provider.removeActor(t, i, hostId),
  });
  const scheduler = new JobScheduler({
    provider: counted,
    table,
    registry,
    codec: jsonCodec,
    logger,
    hostId: () => hostId,
    draining: () => false,
    pollIntervalMs: POLL_MS,
    fetchAheadMs: 1_000,
    batchSize: 10,
    leaseDurationMs: 5_000,
    healthCheckDeadlineMs: 60_000,
    capacityGroup: (t) => types[t]?.group,
  });
  let running = true;
  const jobs = new LocalJobService({
    running: () => running,
    codec: jsonCodec,
    provider,
    jobDispatched: (due) => scheduler.jobDispatched(due),
  });
  scheduler.start();
  return {
    provider,
    jobs,
    table,
    fetches: () => fetchCount,
    async [Symbol.asyncDispose]() {
      running = false;
      await scheduler.stop();
      await Promise.all(table.all().map((a) => table.halt(a)));
      await provider.unregisterHost(hostId);
      await provider.release();
    },
  };
}

interface Run {
  at: number;
  actorId: string;
  method: string;
  data: unknown;
  kind: string;
  requestId: string;
  attempt: number;
}

function recorder(runs: Run[], behave?: (run: Run) => void | Promise<void>): (id: string) => Actor {
  return () => ({
    async job(method: string, data: unknown, ctx: ActorContext) {
      const run = {
        at: Date.now(),
        actorId: ctx.actorId,
        method,
        data,
        kind: ctx.kind,
        requestId: ctx.requestId,
        attempt: ctx.attempt,
      };
      runs.push(run);
      await behave?.(run);
    },
  });
}

async function gone(h: Harness, jobId: string): Promise<boolean> {
  return await h.jobs.getJob(jobId).then(() => false, (err) => {
    if (err instanceof JobNotFoundError) return true;
    throw err;
  });
}

async function polls(h: Harness, n: number): Promise<void> {
  const base = h.fetches();
  await waitFor(() => h.fetches() >= base + n, { what: `${n} more polls` });
}

// -- contracts ------------------------------------------------------------------

Deno.test("jobs: C-47 dispatch resolves with a unique ID; the job runs once with its method and input, then is gone", async () => {
  const runs: Run[] = [];
  await using h = await harness({ mailer: { factory: recorder(runs) } });
  const id = await h.jobs.dispatch("mailer", "u1", "send", { to: "a@b.c" });
  assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  await waitFor(() => runs.length === 1, { what: "the job to run" });
  assert.deepEqual(
    { ...runs[0], at: 0 },
    {
      at: 0,
      actorId: "u1",
      method: "send",
      data: { to: "a@b.c" },
      kind: "job",
      requestId: runs[0].requestId,
      attempt: 1,
    },
  );
  assert.match(runs[0].requestId, new RegExp(`^${id}\\|\\d+$`));
  await waitFor(() => gone(h, id), { what: "the job to be deleted" });
  await polls(h, 3);
  assert.equal(runs.length, 1);
});

Deno.test("jobs: C-48 a job with delayMs does not start before dispatch time + delayMs", async () => {
  const runs: Run[] = [];
  await using h = await harness({ t: { factory: recorder(runs) } });
  const before = Date.now();
  const id = await h.jobs.dispatch("t", "a", "m", undefined, { delayMs: 300 });
  assert.equal((await h.jobs.getJob(id)).status, "pending");
  await waitFor(() => runs.length === 1, { what: "the delayed job" });
  assert.ok(runs[0].at >= before + 300, `started ${runs[0].at - before} ms after dispatch`);
  assert.equal(runs[0].data, undefined);
});

Deno.test("jobs: C-49 an interval job repeats; a cron job shows cron, pending and the next UTC minute", async () => {
  const runs: Run[] = [];
  await using h = await harness({ t: { factory: recorder(runs) } });
  const rep = await h.jobs.dispatch("t", "a", "tick", 1, { interval: 50 });
  await waitFor(() => runs.length >= 4, { what: "four runs" });
  assert.equal(new Set(runs.map((r) => r.requestId)).size, runs.length, "each occurrence has its own requestId");
  const info = await h.jobs.getJob(rep);
  assert.equal(info.interval, "PT0.05S");
  const cronId = await h.jobs.dispatch("t", "b", "nightly", undefined, { cron: "* * * * *" });
  const now = Date.now();
  const c = await h.jobs.getJob(cronId);
  assert.equal(c.cron, "* * * * *");
  assert.equal(c.status, "pending");
  assert.ok(c.dueTime instanceof Date && c.createdAt instanceof Date);
  assert.equal(c.dueTime.getTime(), Math.floor(now / 60_000) * 60_000 + 60_000);
  assert.equal(c.dueTime.getUTCSeconds(), 0);
  await h.jobs.cancelJob(rep);
  await h.jobs.cancelJob(cronId);
});

Deno.test("jobs: C-50 one idempotencyKey while live gives one ID and one run; after completion the key is free", async () => {
  const runs: Run[] = [];
  await using h = await harness({ t: { factory: recorder(runs) } });
  const a = await h.jobs.dispatch("t", "x", "m", 1, { idempotencyKey: "k", delayMs: 200 });
  const b = await h.jobs.dispatch("t", "x", "other", 2, { idempotencyKey: "k" });
  assert.equal(a, b);
  await waitFor(() => runs.length === 1, { what: "the job" });
  assert.deepEqual([runs[0].method, runs[0].data], ["m", 1]);
  await waitFor(() => gone(h, a), { what: "the job to complete" });
  const c = await h.jobs.dispatch("t", "x", "m", 3, { idempotencyKey: "k" });
  assert.notEqual(c, a);
  await waitFor(() => runs.length === 2, { what: "the second job" });
  await polls(h, 2);
  assert.equal(runs.length, 2);
});

Deno.test("jobs: C-51 dispatches without a key create distinct jobs that each run", async () => {
  const runs: Run[] = [];
  await using h = await harness({ t: { factory: recorder(runs) } });
  const ids = await Promise.all([1, 2, 3].map((n) => h.jobs.dispatch("t", "x", "m", n)));
  assert.equal(new Set(ids).size, 3);
  await waitFor(() => runs.length === 3, { what: "three runs" });
  assert.deepEqual(runs.map((r) => r.data).sort(), [1, 2, 3]);
});

function failing(runs: Run[], failures: { f: JobFailure; ctx: ActorContext }[], err: () => Error) {
  return () => ({
    job(method: string, data: unknown, ctx: ActorContext) {
      runs.push({
        at: Date.now(),
        actorId: ctx.actorId,
        method,
        data,
        kind: ctx.kind,
        requestId: ctx.requestId,
        attempt: ctx.attempt,
      });
      throw err();
    },
    jobFailed(f: JobFailure, ctx: ActorContext) {
      failures.push({ f, ctx });
    },
  });
}

Deno.test("jobs: C-52 an always-throwing job runs maxAttempts times with the §9.4 backoff, is dead-lettered, jobFailed once", async () => {
  const runs: Run[] = [];
  const failures: { f: JobFailure; ctx: ActorContext }[] = [];
  const base = 100;
  await using h = await harness({
    t: {
      factory: failing(runs, failures, () => new Error("smtp down")),
      options: { maxAttempts: 4, initialRetryDelayMs: base },
    },
  });
  const id = await h.jobs.dispatch("t", "x", "send", { n: 1 });
  await waitFor(() => failures.length === 1, { what: "jobFailed" });
  assert.equal(runs.length, 4);
  assert.deepEqual(runs.map((r) => r.attempt), [1, 2, 3, 4]);
  assert.equal(new Set(runs.map((r) => r.requestId)).size, 1, "one occurrence, one requestId");
  for (let k = 1; k < runs.length; k++) {
    const gap = runs[k].at - runs[k - 1].at;
    const nominal = base * Math.min(1.5 ** (k - 1), 10);
    assert.ok(gap >= nominal * 0.9 - 2 && gap <= nominal * 1.1 + 150, `retry ${k}: ${gap} ms, nominal ${nominal}`);
  }
  const info = await h.jobs.getJob(id);
  assert.equal(info.status, "dead-lettered");
  assert.equal(info.attempts, 4);
  assert.match(info.lastError!, /smtp down/);
  assert.ok(info.failedAt instanceof Date);
  const { f, ctx } = failures[0];
  assert.deepEqual([f.jobId, f.method, f.data, f.error.message, f.attempts], [id, "send", { n: 1 }, "smtp down", 4]);
  assert.ok(f.error instanceof Error);
  assert.deepEqual([ctx.kind, ctx.requestId], ["jobFailed", id]);
  await polls(h, 3);
  assert.equal(runs.length, 4);
  assert.equal(failures.length, 1);
});

Deno.test("jobs: C-53 JobPermanentFailureError dead-letters after one run; jobFailed once", async () => {
  const runs: Run[] = [];
  const failures: { f: JobFailure; ctx: ActorContext }[] = [];
  await using h = await harness({
    t: {
      factory: failing(runs, failures, () => new JobPermanentFailureError("bad input")),
      options: { maxAttempts: 5 },
    },
  });
  const id = await h.jobs.dispatch("t", "x", "m");
  await waitFor(() => failures.length === 1, { what: "jobFailed" });
  const info = await h.jobs.getJob(id);
  assert.deepEqual([info.status, info.attempts, info.lastError], ["dead-lettered", 1, "bad input"]);
  await polls(h, 3);
  assert.equal(runs.length, 1);
  assert.equal(failures.length, 1);
});

Deno.test("jobs: C-54 a repeating job with a permanently failing occurrence keeps running, and both records are listed", async () => {
  let n = 0;
  const failures: JobFailure[] = [];
  await using h = await harness({
    t: {
      factory: () => ({
        job() {
          if (++n === 2) throw new JobPermanentFailureError("once");
        },
        jobFailed: (f: JobFailure) => void failures.push(f),
      }),
    },
  });
  const id = await h.jobs.dispatch("t", "x", "m", undefined, { interval: 50 });
  await waitFor(() => n >= 5, { what: "runs after the failure" });
  const list = await h.jobs.listJobs("t", "x");
  const dead = list.filter((j) => j.status === "dead-lettered");
  assert.equal(dead.length, 1);
  assert.ok(list.some((j) => j.jobId === id && j.status !== "dead-lettered"));
  assert.notEqual(dead[0].jobId, id);
  assert.equal(dead[0].interval, "PT0.05S");
  await waitFor(() => failures.length === 1, { what: "jobFailed" });
  assert.equal(failures[0].jobId, dead[0].jobId);
  await h.jobs.cancelJob(id);
});

Deno.test("jobs: C-55 JobRejectedError counts no attempt, deactivates the actor, and the job runs later", async () => {
  const events: string[] = [];
  let rejected = false;
  await using h = await harness({
    t: {
      factory: () => ({
        job(_m: string, _d: unknown, ctx: ActorContext) {
          events.push(`job#${ctx.attempt}`);
          if (!rejected) {
            rejected = true;
            throw new JobRejectedError("busy");
          }
        },
        deactivate: () => void events.push("deactivate"),
      }),
      options: { maxAttempts: 1 },
    },
  });
  const id = await h.jobs.dispatch("t", "x", "m");
  await waitFor(() => events.length >= 3, { timeoutMs: 5_000, what: "the later run" });
  assert.deepEqual(events, ["job#1", "deactivate", "job#1"]);
  await waitFor(() => gone(h, id), { what: "the job to complete" });
  assert.equal((await h.jobs.listJobs("t", "x")).length, 0, "never dead-lettered");
});

Deno.test("jobs: C-56 a cancelled pending job never runs; a second cancel rejects with JobNotFoundError", async () => {
  const runs: Run[] = [];
  await using h = await harness({ t: { factory: recorder(runs) } });
  const id = await h.jobs.dispatch("t", "x", "m", undefined, { delayMs: 300 });
  await h.jobs.cancelJob(id);
  await assert.rejects(h.jobs.cancelJob(id), JobNotFoundError);
  await polls(h, 6);
  assert.equal(runs.length, 0);
});

Deno.test("jobs: C-57 retryJob replaces a dead job with a new one that runs; live jobs and old IDs reject", async () => {
  let fail = true;
  const runs: number[] = [];
  await using h = await harness({
    t: {
      factory: () => ({
        job() {
          runs.push(Date.now());
          if (fail) throw new JobPermanentFailureError("no");
        },
      }),
    },
  });
  const id = await h.jobs.dispatch("t", "x", "m", "in");
  await waitFor(async () => (await h.jobs.getJob(id)).status === "dead-lettered", { what: "the dead letter" });
  fail = false;
  const fresh = await h.jobs.retryJob(id);
  assert.notEqual(fresh, id);
  await assert.rejects(h.jobs.getJob(id), JobNotFoundError);
  await waitFor(() => runs.length === 2, { what: "the retried job" });
  await waitFor(() => gone(h, fresh), { what: "the retried job to complete" });
  const live = await h.jobs.dispatch("t", "x", "m", undefined, { delayMs: 60_000 });
  await assert.rejects(h.jobs.retryJob(live), JobNotFoundError);
  await assert.rejects(h.jobs.retryJob(id), JobNotFoundError);
  await h.jobs.cancelJob(live);
});

Deno.test("jobs: C-58 deleteDeadJob removes the dead record; live or unknown IDs reject", async () => {
  await using h = await harness({
    t: { factory: () => ({ job: () => Promise.reject(new JobPermanentFailureError()) }) },
  });
  const id = await h.jobs.dispatch("t", "x", "m");
  await waitFor(async () => (await h.jobs.getJob(id)).status === "dead-lettered", { what: "the dead letter" });
  await h.jobs.deleteDeadJob(id);
  await assert.rejects(h.jobs.getJob(id), JobNotFoundError);
  await assert.rejects(h.jobs.deleteDeadJob(id), JobNotFoundError);
  const live = await h.jobs.dispatch("t", "x", "m", undefined, { delayMs: 60_000 });
  await assert.rejects(h.jobs.deleteDeadJob(live), JobNotFoundError);
  await h.jobs.cancelJob(live);
});

Deno.test("jobs: C-59 invalid DispatchOptions and targets reject before any I/O and create no job", async () => {
  await using h = await harness({ t: { factory: () => ({ job() {} }) } });
  const bad: [unknown, ErrorConstructor][] = [
    [{ dueTime: Date.now(), delayMs: 1 }, TypeError],
    [{ interval: 10, cron: "@daily" }, TypeError],
    [{ cron: "61 * * * *" }, TypeError],
    [{ interval: "PT" }, TypeError],
    [{ idempotencyKey: "a/b" }, TypeError],
    [{ signal: "nope" }, TypeError],
    [{ delayMs: -1 }, RangeError],
    [{ interval: 0 }, RangeError],
    [{ ttl: Date.now() - 1 }, RangeError],
  ];
  for (const [options, type] of bad) {
    await assert.rejects(h.jobs.dispatch("t", "x", "m", undefined, options as never), type, JSON.stringify(options));
  }
  await assert.rejects(h.jobs.dispatch("t", "a/b", "m"), TypeError);
  await assert.rejects(h.jobs.dispatch("francis.builtin.x", "a", "m"), ActorTypeReservedError);
  await assert.rejects(h.jobs.dispatch("t", "a", "francis.builtin.m"), MethodReservedError);
  await assert.rejects(h.jobs.dispatch("t", "a", "m", () => {}), TypeError);
  await assert.rejects(h.jobs.getJob(""), TypeError);
  await assert.rejects(h.jobs.listJobs("francis.builtin.x", "a"), ActorTypeReservedError);
  assert.deepEqual(await h.jobs.listJobs("t", "x"), []);
  assert.deepEqual(await h.jobs.listJobs("t", "a"), []);
});

Deno.test("jobs: C-60 a capacity group of limit 1 shared by two types never overlaps, and every job runs", async () => {
  let concurrent = 0;
  let maxConcurrent = 0;
  const done: string[] = [];
  const factory = () => ({
    async job(method: string) {
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      await new Promise((r) => setTimeout(r, 30));
      concurrent--;
      done.push(method);
    },
  });
  const group = { name: "g", limit: 1 };
  await using h = await harness({ a: { factory, group }, b: { factory, group } });
  for (let i = 0; i < 3; i++) {
    await h.jobs.dispatch("a", `a${i}`, `a${i}`);
    await h.jobs.dispatch("b", `b${i}`, `b${i}`);
  }
  await waitFor(() => done.length === 6, { timeoutMs: 15_000, what: "all six jobs" });
  assert.equal(maxConcurrent, 1);
  assert.deepEqual(done.sort(), ["a0", "a1", "a2", "b0", "b1", "b2"]);
});

Deno.test("jobs: C-61 a job for a type no host serves stays pending until a host serving it starts", async () => {
  const provider = createMemoryProvider();
  await provider.acquire();
  try {
    const runs: Run[] = [];
    await using first = await harness({ other: { factory: recorder(runs) } }, provider);
    const id = await first.jobs.dispatch("late", "x", "m", 7);
    await polls(first, 3);
    assert.equal((await first.jobs.getJob(id)).status, "pending");
    await using _second = await harness({ late: { factory: recorder(runs) } }, provider);
    await waitFor(() => runs.length === 1, { what: "the job on the new host" });
    assert.equal(runs[0].data, 7);
  } finally {
    await provider.release();
  }
});

// -- other rules -------------------------------------------------------------------

Deno.test("jobs: a job for an actor without job() is dead-lettered at once", async () => {
  await using h = await harness({ t: { factory: () => ({}) } });
  const id = await h.jobs.dispatch("t", "x", "m");
  await waitFor(async () => (await h.jobs.getJob(id)).status === "dead-lettered", { what: "the dead letter" });
  const info = await h.jobs.getJob(id);
  assert.equal(info.attempts, 1);
  assert.match(info.lastError!, /no job\(\) method/);
});

Deno.test("jobs: dispatch, cancelJob, retryJob and deleteDeadJob reject with ReadOnlyError in a read-only turn", async () => {
  await using h = await harness({ t: { factory: () => ({ job() {} }) } });
  const id = await h.jobs.dispatch("t", "x", "m", undefined, { delayMs: 60_000 });
  const turn = { actorKey: "t/y", chain: ["t/y"], readOnly: true, signal: undefined, settled: false };
  await runInTurn(turn, async () => {
    await assert.rejects(h.jobs.dispatch("t", "x", "m"), ReadOnlyError);
    await assert.rejects(h.jobs.cancelJob(id), ReadOnlyError);
    await assert.rejects(h.jobs.retryJob(id), ReadOnlyError);
    await assert.rejects(h.jobs.deleteDeadJob(id), ReadOnlyError);
    assert.equal((await h.jobs.getJob(id)).status, "pending");
    assert.equal((await h.jobs.listJobs("t", "x")).length, 1);
  });
  await h.jobs.cancelJob(id);
});

Deno.test("jobs: a job dispatched from inside the actor's own turn runs after that turn", async () => {
  const events: string[] = [];
  const ref: { jobs?: LocalJobService } = {};
  await using h = await harness({
    t: {
      factory: () => ({
        async job(method: string, _d: unknown, ctx: ActorContext) {
          events.push(method);
          if (method === "first") {
            assert.equal(ctx.kind, "job");
            await ref.jobs!.dispatch("t", "x", "second"); // attributed to this turn through the ambient context
            events.push("first-end");
          }
        },
      }),
    },
  });
  ref.jobs = h.jobs;
  await h.jobs.dispatch("t", "x", "first");
  await waitFor(() => events.length === 3, { what: "both jobs" });
  assert.deepEqual(events, ["first", "first-end", "second"]);
});

Deno.test("jobs: methods reject with HostNotRunningError when the host is not running", async () => {
  const provider = createMemoryProvider();
  const jobs = new LocalJobService({ running: () => false, codec: jsonCodec, provider, jobDispatched: () => {} });
  await assert.rejects(jobs.dispatch("t", "x", "m"), HostNotRunningError);
  await assert.rejects(jobs.getJob("j"), HostNotRunningError);
  await assert.rejects(jobs.listJobs("t", "x"), HostNotRunningError);
  await assert.rejects(jobs.cancelJob("j"), HostNotRunningError);
  await assert.rejects(jobs.retryJob("j"), HostNotRunningError);
  await assert.rejects(jobs.deleteDeadJob("j"), HostNotRunningError);
});
