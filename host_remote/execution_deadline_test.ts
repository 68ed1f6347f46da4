/**
 * API.md §9.4 in the remote topology: the runtime's `alarmExecutionTimeoutMs`
 * reaches the workers in their session grant; an alarm run longer than it
 * fails its attempt (its `ctx.signal` aborts with `DeadlineExceededError`),
 * is retried or given up by the normal rules, and the retry waits behind the
 * old run on the turn lock. The same holds for job runs (dead-lettered when
 * the attempts run out). In-process runtime (`startRuntime` on a memory
 * provider) and a real TLS worker.
 */

import assert from "node:assert/strict";
import type { ActorContext, Logger } from "../actor/types.ts";
import { isFrancisError } from "../errors.ts";
import { createMemoryProvider } from "../providers/memory/mod.ts";
import { type Runtime, startRuntime } from "../runtime/runtime.ts";
import { generatePsk } from "../_internal/psk.ts";
import { createTestWorker, QUIET_LOGGER, TEST_HOST_PSK } from "../testing/_remote.ts";
import { waitFor } from "../testing/wait_for.ts";
import type { RemoteHost } from "./host.ts";

const TIMEOUT_MS = 300;

interface Logged {
  msg: string;
  attrs: Record<string, unknown> | undefined;
}

async function setup(): Promise<
  { runtime: Runtime; worker: RemoteHost; logs: Logged[] } & AsyncDisposable
> {
  const runtime = await startRuntime({
    bind: "127.0.0.1:0",
    runtimePsks: [generatePsk()],
    bootstrap: { method: "psk", hostPsk: TEST_HOST_PSK },
    provider: createMemoryProvider(),
    alarmsPollIntervalMs: 100,
    alarmExecutionTimeoutMs: TIMEOUT_MS,
    logger: QUIET_LOGGER,
  });
  const logs: Logged[] = [];
  const logger: Logger = {
    ...QUIET_LOGGER,
    warn: (msg, attrs) => void logs.push({ msg, attrs }),
  };
  const worker = createTestWorker(runtime, { logger, shutdownGracePeriodMs: 1_000 });
  return {
    runtime,
    worker,
    logs,
    async [Symbol.asyncDispose]() {
      await worker.stop();
      await runtime.stop();
    },
  };
}

function alarmGone(
  worker: RemoteHost,
  type: string,
  id: string,
  name: string,
): Promise<boolean> {
  return worker.service.getAlarm(type, id, name).then(() => false, (err) => {
    if (isFrancisError(err, "alarm_not_found")) return true;
    throw err;
  });
}

/**
 * A handler body whose first attempt ignores its signal and runs on past its
 * deadline until `release`; later attempts end at once. Each attempt records
 * `start <attempt>` and `end <attempt>` in `events`; a run named `sentinel`
 * records only `sentinel`.
 */
function overrunOnce() {
  const events: string[] = [];
  const release = Promise.withResolvers<void>();
  const run = {
    events,
    release,
    /** Why attempt 1's `ctx.signal` aborted. */
    reason: undefined as unknown,
    async handle(name: string, ctx: ActorContext): Promise<void> {
      if (name === "sentinel") return void events.push("sentinel");
      events.push(`start ${ctx.attempt}`);
      if (ctx.attempt === 1) {
        ctx.signal.addEventListener(
          "abort",
          () => (run.reason = ctx.signal.reason),
          { once: true },
        );
        await release.promise; // ignores its signal: the old run goes on after the deadline
      }
      events.push(`end ${ctx.attempt}`);
    },
    /** `events` without the sentinel. */
    attempts: () => events.filter((e) => e !== "sentinel"),
  };
  return run;
}

/** Attempt 1 of `run` failed at its deadline: its signal's reason, and the failure `failed` logged. */
function assertFailedAtDeadline(run: ReturnType<typeof overrunOnce>, failed: Logged): void {
  assert.ok(
    isFrancisError(run.reason, "deadline_exceeded"),
    `ctx.signal reason: ${run.reason}`,
  );
  assert.match(
    String(failed.attrs!.err),
    /alarmExecutionTimeoutMs \(300 ms\)/,
  );
}

/** Once the sentinel ran, the retry has been launched: it must not have started while attempt 1 holds the turn. */
async function assertRetryWaitsBehind(run: ReturnType<typeof overrunOnce>, what: string): Promise<void> {
  await waitFor(() => run.events.includes("sentinel"), { what });
  assert.deepEqual(
    run.attempts(),
    ["start 1"],
    "the retry has not started: the old run holds the turn",
  );
  run.release.resolve();
}

/** A handler body that records its attempt and honours its signal: it ends as soon as the deadline aborts it. */
function untilAborted(attempts: number[]) {
  return (ctx: ActorContext): Promise<void> => {
    attempts.push(ctx.attempt);
    return new Promise<void>((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)));
  };
}

Deno.test("remote: an alarm run past alarmExecutionTimeoutMs fails its attempt; the retry waits behind it on the turn lock", async () => {
  await using c = await setup();
  const run = overrunOnce();
  c.worker.registerActor("slow", () => ({
    alarm: (name: string, _data: unknown, ctx: ActorContext) => run.handle(name, ctx),
  }), { maxAttempts: 3, initialRetryDelayMs: 10 });
  await c.worker.start();
  await c.worker.service.setAlarm("slow", "a1", "tick", {});
  const failed = () => c.logs.find((l) => l.msg === "Alarm handler failed" && l.attrs?.alarm === "tick");
  await waitFor(failed, { what: "attempt 1 to fail at its deadline" });
  assertFailedAtDeadline(run, failed()!);
  assert.equal(failed()!.attrs!.attempt, 1);
  // The retry is due 9–11 ms after the failure. An alarm of another actor due 100 ms after it fires from the
  // same timer queue, later: once it has run, the retry has been launched and is waiting for the turn.
  await c.worker.service.setAlarm("slow", "a2", "sentinel", {
    dueTime: Date.now() + 100,
  });
  await assertRetryWaitsBehind(run, "the sentinel alarm");
  await waitFor(() => run.events.includes("end 2"), { what: "the retry to run" });
  assert.deepEqual(run.attempts(), [
    "start 1",
    "end 1",
    "start 2",
    "end 2",
  ]);
  await waitFor(() => alarmGone(c.worker, "slow", "a1", "tick"), {
    what: "the one-shot alarm to be deleted",
  });
});

Deno.test("remote: alarm runs that keep overrunning use up maxAttempts, then the one-shot alarm is deleted", async () => {
  await using c = await setup();
  const attempts: number[] = [];
  const handle = untilAborted(attempts);
  c.worker.registerActor("stuck", () => ({
    alarm: (_name: string, _data: unknown, ctx: ActorContext) => handle(ctx),
  }), { maxAttempts: 2, initialRetryDelayMs: 10 });
  await c.worker.start();
  const started = Date.now();
  await c.worker.service.setAlarm("stuck", "s1", "tick", {});
  await waitFor(() => alarmGone(c.worker, "stuck", "s1", "tick"), {
    what: "the alarm to be given up",
  });
  assert.deepEqual(attempts, [1, 2]);
  assert.ok(
    Date.now() - started >= 2 * TIMEOUT_MS,
    "each attempt ran until its deadline",
  );
  const failures = c.logs.filter((l) => l.msg === "Alarm handler failed");
  assert.deepEqual(failures.map((l) => l.attrs?.attempt), [1, 2]);
  assert.ok(
    failures.every((l) => /alarmExecutionTimeoutMs/.test(String(l.attrs?.err))),
  );
});

Deno.test("remote: a job run past alarmExecutionTimeoutMs fails its attempt; the retry waits behind it on the turn lock", async () => {
  await using c = await setup();
  const run = overrunOnce();
  c.worker.registerActor("slowjob", () => ({
    job: (method: string, _data: unknown, ctx: ActorContext) => run.handle(method, ctx),
  }), { maxAttempts: 3, initialRetryDelayMs: 10 });
  await c.worker.start();
  const jobId = await c.worker.service.dispatch(
    "slowjob",
    "j1",
    "work",
    undefined,
  );
  const failed = () => c.logs.find((l) => l.msg === "Job handler failed" && l.attrs?.jobId === jobId);
  await waitFor(failed, { what: "attempt 1 to fail at its deadline" });
  assertFailedAtDeadline(run, failed()!);
  // As for alarms: a job of another actor due 100 ms later fires from the same timer queue after the retry.
  await c.worker.service.dispatch("slowjob", "j2", "sentinel", undefined, {
    delayMs: 100,
  });
  await assertRetryWaitsBehind(run, "the sentinel job");
  await waitFor(
    () =>
      c.worker.service.getJob(jobId).then(
        () => false,
        (err) => isFrancisError(err, "job_not_found"),
      ),
    { what: "the job to complete" },
  );
  assert.deepEqual(run.attempts(), [
    "start 1",
    "end 1",
    "start 2",
    "end 2",
  ]);
});

Deno.test("remote: job runs that keep overrunning are dead-lettered after maxAttempts, and jobFailed is told", async () => {
  await using c = await setup();
  const attempts: number[] = [];
  const handle = untilAborted(attempts);
  const told = Promise.withResolvers<{ attempts: number; error: Error }>();
  c.worker.registerActor("stuckjob", () => ({
    job: (_method: string, _data: unknown, ctx: ActorContext) => handle(ctx),
    jobFailed(failure: { attempts: number; error: Error }) {
      told.resolve(failure);
    },
  }), { maxAttempts: 2, initialRetryDelayMs: 10 });
  await c.worker.start();
  const jobId = await c.worker.service.dispatch(
    "stuckjob",
    "s1",
    "work",
    undefined,
  );
  const failure = await told.promise;
  assert.deepEqual(attempts, [1, 2]);
  assert.equal(failure.attempts, 2);
  assert.match(failure.error.message, /alarmExecutionTimeoutMs/);
  const dead = await c.worker.service.getJob(jobId);
  assert.equal(dead.status, "dead-lettered");
  assert.equal(dead.attempts, 2);
});
