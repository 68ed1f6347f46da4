/**
 * Fetching and renewing job leases for `JobScheduler`: a poll every
 * `pollIntervalMs` (plus an early first poll when that is slow), a fetch soon
 * after a local dispatch due within the fetch-ahead window, back-to-back
 * fetches while batches come back full, and background lease renewal.
 *
 * While fetches keep coming back full (a backlog), each asks for twice as
 * many jobs as the last, up to {@linkcode MAX_BATCH}; the first fetch that
 * comes back short resets the size to `batchSize`. A burst then costs a few
 * large fetches instead of one per `batchSize` jobs, and a quiet host still
 * leases `batchSize` at a time.
 *
 * @module
 */

import type { JobLease } from "../providers/types.ts";
import { errorMessage } from "../_internal/logger.ts";
import type { JobSchedulerDeps } from "./job_scheduler.ts";

/** A poll interval above this gets an extra early first fetch. */
const SLOW_POLL_MS = 5_000;
const EARLY_FETCH_MS = 250;
/** Stop fetching ahead once this many jobs wait in memory. */
const MAX_QUEUED = 20_000;
/** The largest batch a fetch grows to while batches come back full (the top of `alarmsFetchBatchSize`). */
export const MAX_BATCH = 1_000;

/**
 * The lease side of the job scheduler.
 *
 * @example
 * ```ts ignore
 * const fetcher = new JobFetcher(deps, (lease) => queue(lease), (jobId) => pending.has(jobId));
 * fetcher.start();
 * await fetcher.stop();
 * ```
 */
export class JobFetcher {
  readonly #d: JobSchedulerDeps;
  readonly #enqueue: (lease: JobLease) => void;
  readonly #known: (jobId: string) => boolean;
  #pollTimer: ReturnType<typeof setTimeout> | undefined;
  #renewTimer: ReturnType<typeof setInterval> | undefined;
  #soonTimer: ReturnType<typeof setTimeout> | undefined;
  #soonQueued = false;
  #fetching: Promise<void> | undefined;
  #fetchAgain = false;
  #stopped = false;
  /** The size of the next fetch (0: `batchSize`). */
  #batch = 0;

  constructor(deps: JobSchedulerDeps, enqueue: (lease: JobLease) => void, known: (jobId: string) => boolean) {
    this.#d = deps;
    this.#enqueue = enqueue;
    this.#known = known;
  }

  /** Starts polling and lease renewal. */
  start(): void {
    const { pollIntervalMs, leaseDurationMs } = this.#d;
    this.#schedulePoll(pollIntervalMs > SLOW_POLL_MS ? EARLY_FETCH_MS : 0);
    const renewEvery = leaseDurationMs < 20_000 ? leaseDurationMs / 2 : leaseDurationMs - 10_000;
    this.#renewTimer = setInterval(() => this.#renew(), renewEvery);
  }

  /** Stops every timer and waits for a fetch in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#pollTimer);
    clearTimeout(this.#soonTimer);
    clearInterval(this.#renewTimer);
    await this.#fetching;
  }

  /** Fetches soon if `dueTime` is within the fetch-ahead window. */
  soon(dueTime: number): void {
    if (this.#stopped || dueTime > Date.now() + this.#d.fetchAheadMs) return;
    if (this.#fetching !== undefined) {
      this.#fetchAgain = true;
      return;
    }
    if (dueTime <= Date.now()) {
      // Due now: a microtask, not setTimeout(0), since a timer hop costs 2–5 ms here and sits on the start latency.
      // Dispatches acknowledged in the same tick still share one fetch (the others set #fetchAgain).
      if (!this.#soonQueued) {
        this.#soonQueued = true;
        queueMicrotask(() => {
          this.#soonQueued = false;
          this.#fetch();
        });
      }
    } else if (this.#soonTimer === undefined) {
      this.#soonTimer = setTimeout(() => {
        this.#soonTimer = undefined;
        this.#fetch();
      }, 0);
    }
  }

  #schedulePoll(ms: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#pollTimer);
    this.#pollTimer = setTimeout(() => {
      this.#fetch();
      this.#schedulePoll(this.#d.pollIntervalMs);
    }, ms);
  }

  #fetch(): void {
    if (this.#stopped) return;
    if (this.#fetching !== undefined) {
      this.#fetchAgain = true;
      return;
    }
    this.#fetching = this.#fetchLoop().finally(() => {
      this.#fetching = undefined;
      if (this.#fetchAgain) {
        this.#fetchAgain = false;
        this.#fetch();
      }
    });
  }

  async #fetchLoop(): Promise<void> {
    const d = this.#d;
    try {
      for (let fetched = 0;;) {
        if (this.#stopped || d.draining()) return;
        this.#fetchAgain = false;
        const batchSize = Math.max(this.#batch, d.batchSize);
        const leases = await d.provider.fetchAndLeaseJobs({
          hostId: d.hostId(),
          healthCheckDeadlineMs: d.healthCheckDeadlineMs,
          fetchAheadMs: d.fetchAheadMs,
          batchSize,
          leaseDurationMs: d.leaseDurationMs,
        });
        for (const lease of leases) this.#enqueue(lease);
        fetched += leases.length;
        const full = leases.length >= batchSize;
        this.#batch = full ? Math.min(MAX_BATCH, Math.max(batchSize * 2, d.batchSize)) : 0;
        if (!full || fetched >= MAX_QUEUED) return;
      }
    } catch (err) {
      d.logger.warn("Cannot fetch jobs", { err: errorMessage(err) });
    }
  }

  async #renew(): Promise<void> {
    if (this.#stopped) return;
    try {
      const leases = await this.#d.provider.renewJobLeases({
        hostId: this.#d.hostId(),
        leaseDurationMs: this.#d.leaseDurationMs,
      });
      for (const lease of leases) if (!this.#known(lease.jobId)) this.#enqueue(lease);
    } catch (err) {
      this.#d.logger.warn("Cannot renew job leases", { err: errorMessage(err) });
    }
  }
}
