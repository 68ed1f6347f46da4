/**
 * The life of an alarm on a host (API.md §9.2–§9.4):
 *
 * 1. **Lease.** Every `alarmsPollIntervalMs` (and soon after a local
 *    `setAlarm` due within the fetch-ahead window) the host leases alarms due
 *    within `alarmsFetchAheadMs`, `alarmsFetchBatchSize` at a time; a full
 *    batch is followed at once by another fetch of the same size (only jobs
 *    grow theirs), up to an in-memory cap, so a burst of due alarms is not
 *    throttled by the poll interval (`lease_fetcher.ts`, shared with jobs).
 * 2. **Wait.** Each lease waits on one shared timer queue and fires at its due
 *    time. Far-future alarms stay in the store.
 * 3. **Run.** Confirm the actor is placed here, take an exclusive turn,
 *    re-read the alarm under its lease (edits and deletions win), call `alarm()`.
 * 4. **Complete** before the turn ends: delete a one-shot alarm, or move a
 *    repeating one to start + interval (kept leased and queued in memory when
 *    it is due within the fetch-ahead window, released otherwise).
 * 5. **Fail.** Retry the occurrence on this host with backoff up to
 *    `maxAttempts` runs; then delete a one-shot alarm or skip a repeating one
 *    to its next occurrence. In the remote topology a run longer than
 *    `executionTimeoutMs` fails too (its `ctx.signal` aborts with
 *    `DeadlineExceededError`); it keeps the turn until it ends, so the retry
 *    waits behind it on the turn lock.
 *
 * Leases of queued alarms are renewed in the background; if this host dies,
 * they expire and another host takes the alarms over.
 *
 * @module
 */

import type { AlarmLease, AlarmRecord } from "../providers/types.ts";
import { type Codec, decodePayload } from "../_internal/codec.ts";
import { addInterval, type Interval, parseInterval } from "../_internal/iso_duration.ts";
import { TimerQueue } from "../_internal/timer_queue.ts";
import { errorMessage } from "../_internal/logger.ts";
import { isFrancisError } from "../errors.ts";
import { actorKey } from "./actor_table.ts";
import { type JobTurnDeps, ownActivation, retryDelayMs, runTimedHandler, type TimedRun } from "./job_turns.ts";
import { alarmFetcher, type FetchSettings, type LeaseFetcher } from "./lease_fetcher.ts";

/** What the scheduler needs from its host (the fetch settings, as for jobs, plus its actors). */
export interface AlarmSchedulerDeps extends JobTurnDeps, FetchSettings {
  codec: Codec;
}

interface Pending {
  lease: AlarmLease;
  /** Runs made of the current occurrence. */
  attempts: number;
  running: boolean;
  /** The latest run: a timed-out run may still be ending while its retry has started. */
  run?: Promise<void>;
}

/**
 * Fetches, times and runs this host's alarms.
 *
 * @example
 * ```ts ignore
 * const scheduler = new AlarmScheduler(deps);
 * scheduler.start();
 * await scheduler.stop();
 * ```
 */
export class AlarmScheduler {
  readonly #d: AlarmSchedulerDeps;
  readonly #timers = new TimerQueue();
  readonly #pending = new Map<string, Pending>();
  readonly #running = new Set<Promise<void>>();
  readonly #intervals = new Map<string, Interval>();
  readonly #fetcher: LeaseFetcher<AlarmLease>;
  #stopped = false;

  constructor(deps: AlarmSchedulerDeps) {
    this.#d = deps;
    this.#fetcher = alarmFetcher(deps, {
      enqueue: (lease) => this.#enqueue(lease),
      known: (alarmId) => this.#pending.has(alarmId),
      queued: () => this.#pending.size,
    });
  }

  /** Starts polling and lease renewal. */
  start(): void {
    this.#fetcher.start();
  }

  /** Stops fetching and waits for running alarms; unstarted leases are released. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#timers.clear();
    await this.#fetcher.stop();
    const idle = [...this.#pending.values()].filter((p) => !p.running);
    await Promise.allSettled(idle.map((p) => this.#d.provider.releaseAlarmLease(p.lease)));
    for (const p of idle) this.#pending.delete(p.lease.alarmId);
    await Promise.allSettled([...this.#running]);
  }

  /** Called after a local `setAlarm`: fetch soon if the alarm is due within the window. */
  alarmSet(dueTime: number): void {
    if (!this.#stopped) this.#fetcher.soon(dueTime);
  }

  #enqueue(lease: AlarmLease): void {
    if (this.#stopped) return;
    const existing = this.#pending.get(lease.alarmId);
    if (existing !== undefined && (existing.running || existing.attempts > 0)) {
      // Leased again while a run or a retry is in progress (the actor's placement was removed, which
      // cleared the old lease): carry on with the new lease, keeping the retry's schedule and attempts.
      existing.lease = lease;
      return;
    }
    const p: Pending = { lease, attempts: 0, running: false };
    this.#pending.set(lease.alarmId, p);
    this.#timers.schedule(lease.alarmId, lease.dueTime, () => this.#launch(p));
  }

  #launch(p: Pending): void {
    if (this.#stopped) return;
    p.running = true;
    const run = this.#execute(p).catch((err) => {
      this.#d.logger.error("Alarm execution failed unexpectedly", { alarm: p.lease.name, err: errorMessage(err) });
      this.#pending.delete(p.lease.alarmId);
    }).finally(() => {
      if (p.run === run) p.running = false;
      this.#running.delete(run);
    });
    p.run = run;
    this.#running.add(run);
  }

  /** Drops an alarm from memory; its lease lapses or was already settled. */
  #forget(p: Pending): void {
    if (this.#pending.get(p.lease.alarmId) === p) this.#pending.delete(p.lease.alarmId);
  }

  async #execute(p: Pending): Promise<void> {
    const d = this.#d;
    const { lease } = p;
    const act = await ownActivation(d, lease.actorType, lease.actorId, () => this.#stopped, "alarm");
    if (act === undefined) {
      this.#forget(p);
      await d.provider.releaseAlarmLease(p.lease).catch(() => {});
      return;
    }
    let instance;
    try {
      instance = act.instance ?? await act.ready;
      await act.lock.acquire(false);
    } catch (err) {
      if (isFrancisError(err, "actor_halted")) {
        // Halted under us: not an attempt. Run again once the halt completes.
        await act.haltDone;
        if (!this.#stopped) this.#timers.schedule(lease.alarmId, Date.now(), () => this.#launch(p));
        return;
      }
      p.attempts++;
      return this.#failed(p, undefined, err, Date.now());
    }
    const ctx = d.table.beginTurn(act, {
      kind: "alarm",
      requestId: `${lease.alarmId}|${lease.dueTime}`,
      readOnly: false,
      attempt: p.attempts + 1,
      chain: [act.key],
    });
    let rec: AlarmRecord | undefined;
    let run: TimedRun | undefined;
    const start = Date.now();
    try {
      try {
        rec = await d.provider.getLeasedAlarm(p.lease); // the latest lease (see #enqueue)
      } catch (err) {
        // Edited, deleted or lease lost: abandoned here.
        if (!isFrancisError(err, "alarm_not_found")) {
          d.logger.warn("Cannot read leased alarm", { err: errorMessage(err) });
        }
        this.#forget(p);
        return;
      }
      if (typeof instance.alarm !== "function") {
        this.#forget(p);
        await d.provider.deleteLeasedAlarm(lease).catch(() => {});
        return;
      }
      p.attempts++;
      const { name, data } = rec;
      run = runTimedHandler(ctx, d.executionTimeoutMs, `alarm "${name}"`, () => {
        const decoded = data === undefined || data.length === 0 ? undefined : decodePayload(d.codec, data);
        return instance.alarm!(name, decoded, ctx);
      });
      try {
        await run.outcome;
      } catch (err) {
        return await this.#failed(p, rec, err, start);
      }
      await this.#advance(p, rec, start);
    } finally {
      await run?.done; // a run past its deadline holds the turn until it ends: the retry queues behind it
      d.table.endTurn(act, ctx, false);
    }
  }

  /** Success, or attempts exhausted on a repeating alarm: move to the next occurrence or delete. */
  async #advance(p: Pending, rec: AlarmRecord, start: number): Promise<void> {
    const d = this.#d;
    const next = rec.interval === undefined ? undefined : addInterval(start, this.#interval(rec.interval));
    if (next === undefined || (rec.ttl !== undefined && next > rec.ttl)) {
      this.#forget(p);
      await d.provider.deleteLeasedAlarm(p.lease).catch((err) => {
        if (!isFrancisError(err, "alarm_not_found")) d.logger.warn("Cannot delete alarm", { err: errorMessage(err) });
      });
      return;
    }
    const keepLease = next - Date.now() <= d.fetchAheadMs;
    try {
      await d.provider.updateLeasedAlarm(p.lease, { dueTime: next, keepLease, leaseDurationMs: d.leaseDurationMs });
    } catch (err) {
      if (!isFrancisError(err, "alarm_not_found")) d.logger.warn("Cannot reschedule alarm", { err: errorMessage(err) });
      this.#forget(p);
      return;
    }
    if (!keepLease || this.#stopped) return this.#forget(p);
    p.attempts = 0;
    p.lease = { ...p.lease, dueTime: next };
    this.#timers.schedule(p.lease.alarmId, next, () => this.#launch(p));
  }

  async #failed(p: Pending, rec: AlarmRecord | undefined, err: unknown, start: number): Promise<void> {
    const d = this.#d;
    const { options } = d.registry.get(p.lease.actorType)!;
    d.logger.warn("Alarm handler failed", {
      actor: actorKey(p.lease.actorType, p.lease.actorId),
      alarm: p.lease.name,
      attempt: p.attempts,
      err: errorMessage(err),
    });
    if (this.#stopped) {
      // Stopping is not the alarm's fault: give the occurrence back instead of spending or skipping it.
      this.#forget(p);
      await d.provider.releaseAlarmLease(p.lease).catch(() => {});
      return;
    }
    if (p.attempts < options.maxAttempts) {
      const due = Date.now() + retryDelayMs(p.attempts, options.initialRetryDelayMs);
      this.#timers.schedule(p.lease.alarmId, due, () => this.#launch(p));
      return;
    }
    if (rec === undefined) {
      this.#forget(p);
      return;
    }
    await this.#advance(p, rec, start);
  }

  #interval(iso: string): Interval {
    let i = this.#intervals.get(iso);
    if (i === undefined) {
      i = parseInterval(iso, "schedule alarm", "interval");
      if (this.#intervals.size > 1_000) this.#intervals.clear();
      this.#intervals.set(iso, i);
    }
    return i;
  }
}
