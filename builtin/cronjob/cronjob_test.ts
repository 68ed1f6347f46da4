/**
 * Cron job built-in (API.md §21.1): validation, C-88 on three in-process
 * hosts, C-89 (trigger, unregister during a run), trigger collapsing,
 * retries, `immediate`, schedule reconciliation, jitter, and a RemoteHost
 * worker used from a client-only host.
 */

import assert from "node:assert/strict";
import { SINGLETON_ACTOR_ID } from "../../actor/types.ts";
import type { JobInfo, Logger } from "../../actor/types.ts";
import { ActorTypeReservedError } from "../../errors.ts";
import { createMemoryProvider } from "../../providers/memory/mod.ts";
import type { ActorProvider } from "../../providers/types.ts";
import { builtInAccess } from "../../host_local/builtin.ts";
import type { LocalHost } from "../../host_local/host.ts";
import { createTestWorker, startTestRuntime } from "../../testing/_remote.ts";
import { createTestHost } from "../../testing/test_host.ts";
import { waitFor } from "../../testing/wait_for.ts";
import { createCronJob, type CronJobOptions, type CronJobRunContext } from "./mod.ts";

const QUIET = { debug() {}, info() {}, warn() {}, error() {} };
const SCHEDULER = (name: string) => `francis.builtin.cronjob.${name}`;
const RUNNER = (name: string) => `francis.builtin.cronjob.${name}.runner`;

/** Starts `n` hosts on one provider, each registering what `register` does. */
async function cluster(
  n: number,
  register: (host: LocalHost) => void,
  provider: ActorProvider = createMemoryProvider(),
  logger: Logger = QUIET,
): Promise<LocalHost[] & AsyncDisposable> {
  const hosts = Array.from({ length: n }, () => createTestHost({ provider, logger }));
  hosts.forEach(register);
  await Promise.all(hosts.map((h) => h.start()));
  return Object.assign(hosts, {
    async [Symbol.asyncDispose]() {
      await Promise.all(hosts.map((h) => h.stop()));
    },
  });
}

/** The live and dead jobs of a cron job's scheduler and runner. */
async function jobsOf(host: LocalHost, name: string): Promise<{ ticks: JobInfo[]; runs: JobInfo[] }> {
  const access = builtInAccess(host.service, "test");
  return {
    ticks: await access.listJobs(SCHEDULER(name), SINGLETON_ACTOR_ID),
    runs: await access.listJobs(RUNNER(name), "runner"),
  };
}

/** A gate a run can wait on. */
function gate(): { wait: Promise<void>; open(): void } {
  const { promise, resolve } = Promise.withResolvers<void>();
  return { wait: promise, open: () => resolve() };
}

Deno.test("cron job: createCronJob validates synchronously", () => {
  const run = () => {};
  assert.throws(
    () => createCronJob("c", { run } as CronJobOptions),
    { name: "TypeError", message: "Cannot create cron job: exactly one of interval or cron is required" },
  );
  assert.throws(
    () => createCronJob("c", { run, interval: 1_000, cron: "@hourly" }),
    { name: "TypeError", message: "Cannot create cron job: exactly one of interval or cron is required" },
  );
  assert.throws(
    () => createCronJob("c", { interval: 1_000 } as CronJobOptions),
    { name: "TypeError", message: "Cannot create cron job: run is required" },
  );
  assert.throws(() => createCronJob("c", { run, interval: 1_000, jitterMs: -1 }), RangeError);
  assert.throws(() => createCronJob("c", { run, interval: 1_000, jitterMs: 500 }), RangeError);
  assert.throws(() => createCronJob("c", { run, interval: "PT1S", jitterMs: 500 }), RangeError);
  assert.throws(() => createCronJob("c", { run, interval: 1_000, jitterMs: 1.5 }), TypeError);
  assert.throws(() => createCronJob("c", { run, cron: "not a cron" }), /Cannot create cron job: cron/);
  assert.throws(() => createCronJob("c", { run, interval: 0 }), RangeError);
  assert.throws(() => createCronJob("a/b", { run, interval: 1_000 }), TypeError);
  assert.throws(() => createCronJob("c", { run, interval: 1_000, bogus: 1 } as CronJobOptions), /unknown option/);
  assert.throws(() => createCronJob("c", { run, interval: 1_000, immediate: "yes" as unknown as boolean }), TypeError);
  const ok = createCronJob("c", { run, interval: 1_000, jitterMs: 499 });
  assert.equal(ok.kind, "cronjob");
  assert.equal(ok.name, "c");
  createCronJob("d", { run, cron: "@hourly", jitterMs: 3_600_000 }); // cron: no interval bound
});

Deno.test("cron job: registered on 3 hosts, exactly one live recurring job and runs on schedule (C-88)", async () => {
  const runs: { trigger: string; attempt: number; at: number }[] = [];
  const tick = createCronJob("tick", {
    interval: 300,
    run: ({ trigger, attempt }) => void runs.push({ trigger, attempt, at: Date.now() }),
  });
  await using hosts = await cluster(3, (h) => h.registerBuiltInActor(tick));
  await waitFor(() => runs.length >= 3, { what: "3 scheduled runs", timeoutMs: 30_000 });
  const { ticks } = await jobsOf(hosts[0], "tick");
  const live = ticks.filter((j) => j.status !== "dead-lettered");
  assert.equal(live.length, 1, "exactly one live recurring job");
  assert.equal(live[0].interval, "PT0.3S");
  assert.equal(live[0].idempotencyKey, "schedule");
  assert.ok(runs.every((r) => r.trigger === "schedule" && r.attempt === 1));
  await assert.rejects(
    hosts[1].service.listJobs(SCHEDULER("tick"), SINGLETON_ACTOR_ID),
    ActorTypeReservedError,
  );
});

Deno.test("cron job: trigger runs at once with an hourly schedule; unregister during a run resolves promptly, no later runs (C-89)", async () => {
  const runs: CronJobRunContext[] = [];
  const release = gate();
  const hourly = createCronJob("hourly", {
    cron: "@hourly",
    run: async (ctx) => {
      runs.push(ctx);
      await release.wait;
    },
  });
  // Each host logs the outcome of its singleton bootstrap loop: the event the test waits for.
  const bootstraps: string[] = [];
  const logger: Logger = {
    ...QUIET,
    debug: (msg, attrs) => {
      if (msg === "Singleton bootstrapped" && attrs?.actorType === SCHEDULER("hourly")) bootstraps.push("ok");
    },
    error: (msg, attrs) => {
      if (msg === "Singleton bootstrap failed" && attrs?.actorType === SCHEDULER("hourly")) bootstraps.push("failed");
    },
  };
  await using hosts = await cluster(2, (h) => h.registerBuiltInActor(hourly), createMemoryProvider(), logger);
  using _open = { [Symbol.dispose]: () => release.open() }; // never leave the run hanging
  // Let both bootstraps finish: a bootstrap after unregister would register the schedule again.
  await waitFor(() => bootstraps.length === 2, { what: "both hosts' bootstraps to finish", timeoutMs: 15_000 });
  assert.deepEqual(bootstraps, ["ok", "ok"], "both bootstraps succeeded");
  assert.equal((await jobsOf(hosts[0], "hourly")).ticks.length, 1, "one schedule");
  const svc = hourly.service(hosts[1].service);
  assert.equal(hourly.service(hosts[1].service), svc, "memoised per service");
  const t0 = Date.now();
  await svc.trigger();
  assert.ok(Date.now() - t0 < 5_000, "trigger resolves promptly");
  await waitFor(() => runs.length === 1, { what: "the manual run to start", timeoutMs: 30_000 });
  assert.equal(runs[0].trigger, "manual");
  assert.equal(runs[0].attempt, 1);

  const u0 = Date.now();
  await svc.unregister();
  assert.ok(Date.now() - u0 < 10_000, "unregister resolves within 10 s while a run executes");
  const after = await jobsOf(hosts[0], "hourly");
  assert.deepEqual(after, { ticks: [], runs: [] }, "schedule and runs deleted");
  release.open();
  await new Promise((r) => setTimeout(r, 1_500));
  assert.equal(runs.length, 1, "no later runs");
  assert.deepEqual(await jobsOf(hosts[0], "hourly"), { ticks: [], runs: [] });
});

Deno.test("cron job: triggers piling up while one is pending collapse into one", async () => {
  const runs: string[] = [];
  const first = gate();
  const job = createCronJob("pile", {
    interval: "PT1H",
    run: async ({ trigger }) => {
      runs.push(trigger);
      if (runs.length === 1) await first.wait;
    },
  });
  await using hosts = await cluster(1, (h) => h.registerBuiltInActor(job));
  using _open = { [Symbol.dispose]: () => first.open() }; // never leave the run hanging
  const svc = job.service(hosts[0].service);
  await svc.trigger();
  await waitFor(() => runs.length === 1, { what: "the first run", timeoutMs: 10_000 });
  // The first run is executing: these three queue one more run, not three.
  await Promise.all([svc.trigger(), svc.trigger(), svc.trigger()]);
  const { runs: queued } = await jobsOf(hosts[0], "pile");
  const manual = queued.filter((j) => j.idempotencyKey?.startsWith("manual"));
  assert.equal(manual.length, 2, "the running one and one pending");
  first.open();
  await waitFor(() => runs.length === 2, { what: "the collapsed run", timeoutMs: 10_000 });
  await new Promise((r) => setTimeout(r, 700));
  assert.deepEqual(runs, ["manual", "manual"]);
  await svc.unregister();
});

Deno.test("cron job: a failing run is retried as a job; immediate runs on the first registration only", async () => {
  const attempts: number[] = [];
  const job = createCronJob("flaky", {
    interval: "PT1H",
    immediate: true,
    run: ({ attempt }) => {
      attempts.push(attempt);
      if (attempt === 1) throw new Error("first attempt fails");
    },
  });
  const provider = createMemoryProvider();
  {
    await using _hosts = await cluster(1, (h) => h.registerBuiltInActor(job), provider);
    await waitFor(() => attempts.length === 2, { what: "the retried immediate run", timeoutMs: 15_000 });
    assert.deepEqual(attempts, [1, 2]);
  }
  // A second cluster start on the same store: the schedule exists, so no immediate run.
  await using hosts = await cluster(1, (h) => h.registerBuiltInActor(job), provider);
  await waitFor(async () => (await jobsOf(hosts[0], "flaky")).ticks.length === 1, { what: "the schedule" });
  await new Promise((r) => setTimeout(r, 1_000));
  assert.deepEqual(attempts, [1, 2]);
  await job.service(hosts[0].service).unregister();
});

Deno.test("cron job: a changed schedule replaces the job and keeps its next due time", async () => {
  const provider = createMemoryProvider();
  const run = () => {};
  let due: number;
  {
    await using hosts = await cluster(
      1,
      (h) => h.registerBuiltInActor(createCronJob("r", { interval: "PT1H", run })),
      provider,
    );
    const ticks = await waitFor(async () => {
      const { ticks } = await jobsOf(hosts[0], "r");
      return ticks.length === 1 ? ticks : undefined;
    }, { what: "the schedule" });
    assert.equal(ticks[0].interval, "PT1H");
    due = ticks[0].dueTime.getTime();
  }
  await using hosts = await cluster(
    1,
    (h) => h.registerBuiltInActor(createCronJob("r", { cron: "0 3 * * *", run })),
    provider,
  );
  const ticks = await waitFor(async () => {
    const { ticks } = await jobsOf(hosts[0], "r");
    return ticks.length === 1 && ticks[0].cron !== undefined ? ticks : undefined;
  }, { what: "the replaced schedule" });
  assert.equal(ticks[0].cron, "0 3 * * *");
  assert.equal(ticks[0].interval, undefined);
  assert.equal(ticks[0].dueTime.getTime(), due);
  const { runs } = await jobsOf(hosts[0], "r");
  assert.equal(runs.length, 1, "the run of the next occurrence, dispatched once");
});

Deno.test("cron job: jittered runs stay within nominal ± jitter", async () => {
  const at: number[] = [];
  const job = createCronJob("jitter", { interval: 600, jitterMs: 200, run: () => void at.push(Date.now()) });
  await using hosts = await cluster(1, (h) => h.registerBuiltInActor(job));
  await waitFor(() => at.length >= 4, { what: "4 jittered runs", timeoutMs: 30_000 });
  await job.service(hosts[0].service).unregister();
  const gaps = at.slice(1).map((t, i) => t - at[i]);
  // Consecutive runs are one interval apart ± twice the jitter (plus scheduling latency).
  assert.ok(gaps.every((g) => g > 150 && g < 1_500), `gaps ${gaps}`);
});

Deno.test("cron job: served by a RemoteHost worker, triggered and unregistered from a client-only host", async () => {
  const core = await startTestRuntime();
  const worker = createTestWorker(core);
  const client = createTestWorker(core, { clientOnly: true });
  const runs: string[] = [];
  const job = createCronJob("remote", { cron: "@daily", run: ({ trigger }) => void runs.push(trigger) });
  worker.registerBuiltInActor(job);
  try {
    await Promise.all([worker.start(), client.start()]);
    const svc = job.service(client.service);
    await svc.trigger();
    await waitFor(() => runs.length === 1, { what: "the manual run", timeoutMs: 30_000 });
    assert.deepEqual(runs, ["manual"]);
    await svc.unregister();
    const access = builtInAccess(client.service, "test");
    assert.deepEqual(await access.listJobs(SCHEDULER("remote"), SINGLETON_ACTOR_ID), []);
    assert.deepEqual(await access.listJobs(RUNNER("remote"), "runner"), []);
  } finally {
    await client.stop();
    await worker.stop();
    await core.stop();
  }
});
