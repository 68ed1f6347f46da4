/**
 * The life of a job on a host (API.md §10), mirroring `alarm_scheduler.ts`:
 *
 * 1. **Lease.** Every `pollIntervalMs` (and soon after a local dispatch due
 *    within the fetch-ahead window) the host leases jobs due within
 *    `fetchAheadMs`, `batchSize` at a time, a full batch being followed at once
 *    by another fetch.
 * 2. **Wait.** Each lease waits on one timer queue until its due time.
 * 3. **Admit.** Take a slot of the type's capacity group; a full group declines
 *    the job (step 6).
 * 4. **Run.** Activate the actor here, take an exclusive turn, re-read the job
 *    under its lease (cancellation wins) and call `job(method, data, ctx)`.
 * 5. **Settle** before the turn ends: complete (a repeating job moves to its
 *    next occurrence); on a throw, retry on this host with the §9.4 backoff up
 *    to `maxAttempts` runs, then dead-letter; `JobPermanentFailureError`, or an
 *    actor without `job`, dead-letters at once. After a dead letter,
 *    `jobFailed` runs best-effort in a separate exclusive turn. In the remote
 *    topology a run longer than `executionTimeoutMs` fails too (its
 *    `ctx.signal` aborts with `DeadlineExceededError`); it keeps the turn
 *    until it ends, so the retry waits behind it on the turn lock.
 * 6. **Decline** (`JobRejectedError` or a full group): release the lease with
 *    due = now + `pollIntervalMs × U[1, 2)`, count no attempt, halt the actor here.
 *
 * @module
 */

import type { Actor, JobFailure } from "../actor/types.ts";
import type { JobLease, JobRecord } from "../providers/types.ts";
import { type Codec, decodePayload } from "../_internal/codec.ts";
import { TimerQueue } from "../_internal/timer_queue.ts";
import { errorMessage } from "../_internal/logger.ts";
import { isFrancisError } from "../errors.ts";
import { type Activation, actorKey } from "./actor_table.ts";
import { nextOccurrence, uuidv7 } from "./job_options.ts";
import {
  type CapacityGroup,
  CapacityGroups,
  type JobTurnDeps,
  liveActivation,
  notifyJobFailed,
  ownActivation,
  registryCapacityGroup,
  retryDelayMs,
  runTimedHandler,
  type TimedRun,
} from "./job_turns.ts";
import { type FetchSettings, jobFetcher, type LeaseFetcher } from "./lease_fetcher.ts";

/** What the scheduler needs from its host (as `AlarmSchedulerDeps`, plus capacity groups). */
export interface JobSchedulerDeps extends JobTurnDeps, FetchSettings {
  codec: Codec;
  /** The capacity group of a type; defaults to the registry entries' `options.capacityGroup`. */
  capacityGroup?(actorType: string): CapacityGroup | undefined;
}

interface Pending {
  lease: JobLease;
  /** Runs made of the current occurrence. */
  attempts: number;
  running: boolean;
  /** The latest run: a timed-out run may still be ending while its retry has started. */
  run?: Promise<void>;
}

/** What happens after the turn: halt the actor (declined) and/or call `jobFailed`. */
interface After {
  halt?: Activation;
  failure?: JobFailure;
}

/**
 * Fetches, times and runs this host's jobs.
 *
 * @example
 * ```ts ignore
 * const jobs = new JobScheduler(deps);
 * jobs.start();
 * jobs.jobDispatched(Date.now());
 * await jobs.stop();
 * ```
 */
export class JobScheduler {
  readonly #d: JobSchedulerDeps;
  readonly #timers = new TimerQueue();
  readonly #pending = new Map<string, Pending>();
  readonly #running = new Set<Promise<void>>();
  readonly #groups: CapacityGroups;
  readonly #fetcher: LeaseFetcher<JobLease>;
  #stopped = false;

  constructor(deps: JobSchedulerDeps) {
    this.#d = deps;
    this.#groups = new CapacityGroups(deps.capacityGroup ?? registryCapacityGroup(deps.registry));
    this.#fetcher = jobFetcher(deps, {
      enqueue: (lease) => this.#enqueue(lease),
      known: (id) => this.#pending.has(id),
      queued: () => this.#pending.size,
    });
  }

  /** Starts polling and lease renewal. */
  start(): void {
    this.#fetcher.start();
  }

  /** Stops fetching and waits for running jobs (and their `jobFailed`); unstarted leases are released. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#timers.clear();
    await this.#fetcher.stop();
    const idle = [...this.#pending.values()].filter((p) => !p.running);
    await Promise.allSettled(
      idle.map((p) => this.#d.provider.releaseLeasedJob(p.lease, { dueTime: p.lease.dueTime })),
    );
    for (const p of idle) this.#pending.delete(p.lease.jobId);
    await Promise.allSettled([...this.#running]);
  }

  /** Called after a local dispatch (or a reschedule): fetch soon if the job is due within the window. */
  jobDispatched(dueTime: number): void {
    if (!this.#stopped) this.#fetcher.soon(dueTime);
  }

  #enqueue(lease: JobLease): void {
    if (this.#stopped) return;
    const existing = this.#pending.get(lease.jobId);
    if (existing !== undefined && (existing.running || existing.attempts > 0)) {
      existing.lease = lease; // re-leased during a run or a retry: keep its schedule and attempts
      return;
    }
    const p: Pending = { lease, attempts: 0, running: false };
    this.#pending.set(lease.jobId, p);
    // Due already: start now rather than through a setTimeout(0) hop of the timer queue (2–5 ms here).
    if (lease.dueTime <= Date.now()) this.#launch(p);
    else this.#timers.schedule(lease.jobId, lease.dueTime, () => this.#launch(p));
  }

  #launch(p: Pending): void {
    if (this.#stopped) return;
    p.running = true;
    const run = this.#execute(p).catch((err) => {
      this.#d.logger.error("Job execution failed unexpectedly", { jobId: p.lease.jobId, err: errorMessage(err) });
      this.#forget(p);
    }).finally(() => {
      if (p.run === run) p.running = false;
      this.#running.delete(run);
    });
    p.run = run;
    this.#running.add(run);
  }

  #forget(p: Pending): void {
    if (this.#pending.get(p.lease.jobId) === p) this.#pending.delete(p.lease.jobId);
  }

  async #execute(p: Pending): Promise<void> {
    const { actorType, actorId } = p.lease;
    const release = this.#groups.tryAcquire(actorType);
    let after: After;
    if (release === undefined) after = await this.#decline(p, undefined, "its capacity group is full");
    else {
      try {
        after = await this.#run(p);
      } finally {
        release();
      }
    }
    if (after.halt !== undefined && liveActivation(this.#d.table, after.halt) !== undefined) {
      await this.#d.table.halt(after.halt).catch((err) =>
        this.#d.logger.warn("Cannot halt actor after declining a job", { err: errorMessage(err) })
      );
    }
    if (after.failure !== undefined) {
      await notifyJobFailed(this.#d, actorType, actorId, after.failure, () => this.#stopped);
    }
  }

  async #run(p: Pending): Promise<After> {
    const d = this.#d;
    const { lease } = p;
    const stopped = () => this.#stopped;
    const act = await ownActivation(d, lease.actorType, lease.actorId, stopped);
    if (act === undefined) {
      this.#forget(p);
      await d.provider.releaseLeasedJob(p.lease, { dueTime: p.lease.dueTime }).catch(() => {});
      return {};
    }
    let instance: Actor;
    try {
      instance = act.instance ?? await act.ready;
      await act.lock.acquire(false);
    } catch (err) {
      if (isFrancisError(err, "actor_halted")) {
        // Halted under us: not an attempt. Run again once the halt completes.
        await act.haltDone;
        if (!this.#stopped) this.#timers.schedule(lease.jobId, Date.now(), () => this.#launch(p));
        return {};
      }
      p.attempts++; // the activation failed: counts as a run
      const rec = await d.provider.getLeasedJob(p.lease).catch(() => undefined);
      if (rec !== undefined) return await this.#failed(p, rec, err, Date.now());
      this.#forget(p);
      return {};
    }
    const ctx = d.table.beginTurn(act, {
      kind: "job",
      requestId: `${lease.jobId}|${lease.dueTime}`,
      readOnly: false,
      attempt: p.attempts + 1,
      chain: [act.key],
    });
    const start = Date.now();
    let run: TimedRun | undefined;
    try {
      let rec: JobRecord;
      try {
        rec = await d.provider.getLeasedJob(p.lease); // the latest lease (see #enqueue)
      } catch (err) {
        // Cancelled, or lease lost: abandoned here.
        if (!isFrancisError(err, "job_not_found")) d.logger.warn("Cannot read leased job", { err: errorMessage(err) });
        this.#forget(p);
        return {};
      }
      if (typeof instance.job !== "function") {
        return { failure: await this.#deadLetter(p, rec, `Actor type "${rec.actorType}" has no job() method`, 1) };
      }
      p.attempts++;
      run = runTimedHandler(ctx, d.executionTimeoutMs, `job ${rec.jobId}`, () => {
        const data = rec.data === undefined ? undefined : decodePayload(d.codec, rec.data);
        return instance.job!(rec.method, data, ctx);
      });
      try {
        await run.outcome;
      } catch (err) {
        if (isFrancisError(err, "job_rejected")) {
          p.attempts--;
          return await this.#decline(p, act, errorMessage(err));
        }
        return await this.#failed(p, rec, err, start);
      }
      await this.#complete(p, rec, start);
      return {};
    } finally {
      await run?.done; // a run past its deadline holds the turn until it ends: the retry queues behind it
      d.table.endTurn(act, ctx, false);
    }
  }

  async #complete(p: Pending, rec: JobRecord, start: number): Promise<void> {
    const next = nextOccurrence(rec, start);
    try {
      await this.#d.provider.completeLeasedJob(p.lease, next === undefined ? undefined : { dueTime: next });
    } catch (err) {
      if (!isFrancisError(err, "job_not_found")) this.#d.logger.warn("Cannot complete job", { err: errorMessage(err) });
    }
    this.#forget(p);
    if (next !== undefined) this.jobDispatched(next);
  }

  async #failed(p: Pending, rec: JobRecord, err: unknown, start: number): Promise<After> {
    const d = this.#d;
    const { options } = d.registry.get(p.lease.actorType)!;
    const permanent = isFrancisError(err, "job_permanent_failure");
    d.logger.warn("Job handler failed", {
      actor: actorKey(p.lease.actorType, p.lease.actorId),
      jobId: p.lease.jobId,
      attempt: p.attempts,
      err: errorMessage(err),
    });
    if (!permanent && this.#stopped) {
      // Stopping is not the job's fault: give the occurrence back instead of spending it.
      this.#forget(p);
      await d.provider.releaseLeasedJob(p.lease, { dueTime: p.lease.dueTime }).catch(() => {});
      return {};
    }
    if (!permanent && p.attempts < options.maxAttempts) {
      const due = Date.now() + retryDelayMs(p.attempts, options.initialRetryDelayMs);
      this.#timers.schedule(p.lease.jobId, due, () => this.#launch(p));
      return {};
    }
    return { failure: await this.#deadLetter(p, rec, errorMessage(err), p.attempts, start) };
  }

  /** Moves the occurrence to the dead-letter store; the failure for `jobFailed`, if written. */
  async #deadLetter(
    p: Pending,
    rec: JobRecord,
    lastError: string,
    attempts: number,
    start: number = Date.now(),
  ): Promise<JobFailure | undefined> {
    const d = this.#d;
    const next = nextOccurrence(rec, start);
    const deadJobId = next === undefined ? p.lease.jobId : uuidv7();
    this.#forget(p);
    try {
      await d.provider.deadLetterLeasedJob(p.lease, {
        deadJobId,
        attempts,
        lastError,
        failedAt: Date.now(),
        ...(next === undefined ? {} : { next: { dueTime: next } }),
      });
    } catch (err) {
      if (!isFrancisError(err, "job_not_found")) d.logger.warn("Cannot dead-letter job", { err: errorMessage(err) });
      return undefined;
    }
    if (next !== undefined) this.jobDispatched(next);
    const data = rec.data === undefined ? undefined : decodePayload(d.codec, rec.data);
    return { jobId: deadJobId, method: rec.method, data, error: new Error(lastError), attempts };
  }

  /** Declines the job: no attempt, due again after about a poll, the actor halted (or unplaced) here. */
  async #decline(p: Pending, act: Activation | undefined, reason: string): Promise<After> {
    const d = this.#d;
    const { actorType, actorId } = p.lease;
    d.logger.info("Job declined", { actor: actorKey(actorType, actorId), jobId: p.lease.jobId, reason });
    this.#forget(p);
    const due = Date.now() + d.pollIntervalMs * (1 + Math.random());
    await d.provider.releaseLeasedJob(p.lease, { dueTime: Math.floor(due) }).catch((err) => {
      if (!isFrancisError(err, "job_not_found")) d.logger.warn("Cannot release job", { err: errorMessage(err) });
    });
    const active = act ?? d.table.get(actorKey(actorType, actorId));
    if (active !== undefined) return { halt: active };
    await d.provider.removeActor(actorType, actorId, d.hostId()).catch(() => {});
    return {};
  }
}
