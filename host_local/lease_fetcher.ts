/**
 * Fetching and renewing leases, for alarms (`AlarmScheduler`) and jobs
 * (`JobScheduler`) alike: a poll every `pollIntervalMs` (plus an early first
 * poll when that is slow), a fetch soon after a local write due within the
 * fetch-ahead window, back-to-back fetches while batches come back full, and
 * background lease renewal.
 *
 * For jobs (`growBatch`), while fetches keep coming back full (a backlog),
 * each asks for twice as many leases as the last, up to {@linkcode MAX_BATCH};
 * the first fetch that comes back short resets the size to `batchSize`. A
 * burst then costs a few large fetches instead of one per `batchSize` leases,
 * and a quiet host still leases `batchSize` at a time. Alarms always fetch
 * `batchSize`. Fetching ahead stops for this round once {@linkcode MAX_QUEUED}
 * leases wait in memory.
 *
 * @module
 */

import type { Logger } from "../actor/types.ts";
import type { ActorProvider, AlarmLease, FetchAlarmsRequest, JobLease } from "../providers/types.ts";
import { errorMessage } from "../_internal/logger.ts";

/** A poll interval above this gets an extra early first fetch. */
const SLOW_POLL_MS = 5_000;
const EARLY_FETCH_MS = 250;
/** Stop fetching ahead once this many leases wait in memory. */
const MAX_QUEUED = 20_000;
/** The largest batch a fetch grows to while batches come back full (the top of `alarmsFetchBatchSize`). */
const MAX_BATCH = 1_000;

/** How a host fetches leases: the host's `alarms*` options and its identity. */
export interface FetchSettings {
  logger: Logger;
  hostId(): string;
  draining(): boolean;
  pollIntervalMs: number;
  fetchAheadMs: number;
  batchSize: number;
  leaseDurationMs: number;
  healthCheckDeadlineMs: number;
}

/** What a {@linkcode LeaseFetcher} fetches, and what it needs from its scheduler. */
export interface LeaseFetcherOptions<L> extends FetchSettings {
  /** What is leased, for log messages: `"alarm"` or `"job"`. */
  noun: string;
  /**
   * Whether fetches grow while they come back full (jobs: throughput). Alarms
   * keep `batchSize`: on a synchronous store (SQLite) one large fetch holds the
   * event loop and delays the timers of alarms already due.
   */
  growBatch: boolean;
  /** `fetchAndLeaseAlarms` or `fetchAndLeaseJobs`. */
  fetch(req: FetchAlarmsRequest): Promise<L[]>;
  /** `renewAlarmLeases` or `renewJobLeases`, for every lease of the host. */
  renew(req: { hostId: string; leaseDurationMs: number }): Promise<L[]>;
  /** The lease's alarm or job ID. */
  idOf(lease: L): string;
  /** Takes a fetched lease, or a renewed one the scheduler does not know. */
  enqueue(lease: L): void;
  /** Whether the scheduler holds the alarm or job `id`. */
  known(id: string): boolean;
  /** Leases waiting in memory. */
  queued(): number;
}

/**
 * The lease side of a scheduler.
 *
 * @example
 * ```ts ignore
 * const fetcher = new LeaseFetcher({
 *   ...deps,
 *   noun: "job",
 *   fetch: (req) => provider.fetchAndLeaseJobs(req),
 *   renew: (req) => provider.renewJobLeases(req),
 *   idOf: (lease) => lease.jobId,
 *   enqueue: (lease) => queue(lease),
 *   known: (jobId) => pending.has(jobId),
 * });
 * fetcher.start();
 * fetcher.soon(Date.now());
 * await fetcher.stop();
 * ```
 */
export class LeaseFetcher<L> {
  readonly #o: LeaseFetcherOptions<L>;
  #pollTimer: ReturnType<typeof setTimeout> | undefined;
  #renewTimer: ReturnType<typeof setInterval> | undefined;
  #soonTimer: ReturnType<typeof setTimeout> | undefined;
  /** Whether a fetch since the last renewal leased something, or may have (it failed). */
  #leasedSinceRenew = true;
  #soonQueued = false;
  #fetching: Promise<void> | undefined;
  #fetchAgain = false;
  #stopped = false;
  /** The size of the next fetch (0: `batchSize`). */
  #batch = 0;

  /** @param options What to fetch and where the leases go. */
  constructor(options: LeaseFetcherOptions<L>) {
    this.#o = options;
  }

  /** Starts polling and lease renewal. */
  start(): void {
    const { pollIntervalMs, leaseDurationMs } = this.#o;
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
    if (this.#stopped || dueTime > Date.now() + this.#o.fetchAheadMs) return;
    if (this.#fetching !== undefined) {
      this.#fetchAgain = true;
      return;
    }
    if (dueTime <= Date.now()) {
      // Due now: a microtask, not setTimeout(0), since a timer hop costs 2–5 ms here and sits on the start latency.
      // Writes acknowledged in the same tick still share one fetch (the others set #fetchAgain).
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
      this.#schedulePoll(this.#o.pollIntervalMs);
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
    const o = this.#o;
    try {
      for (;;) {
        if (this.#stopped || o.draining()) return;
        this.#fetchAgain = false;
        const batchSize = Math.max(this.#batch, o.batchSize);
        this.#leasedSinceRenew = true; // until the answer shows otherwise
        const leases = await o.fetch({
          hostId: o.hostId(),
          healthCheckDeadlineMs: o.healthCheckDeadlineMs,
          fetchAheadMs: o.fetchAheadMs,
          batchSize,
          leaseDurationMs: o.leaseDurationMs,
        });
        if (leases.length === 0) this.#leasedSinceRenew = false;
        for (const lease of leases) o.enqueue(lease);
        const full = leases.length >= batchSize;
        this.#batch = full && o.growBatch ? Math.min(MAX_BATCH, Math.max(batchSize * 2, o.batchSize)) : 0;
        if (!full || o.queued() >= MAX_QUEUED) return;
      }
    } catch (err) {
      o.logger.warn(`Cannot fetch ${o.noun}s`, { err: errorMessage(err) });
    }
  }

  async #renew(): Promise<void> {
    if (this.#stopped) return;
    const o = this.#o;
    // Nothing held, and no fetch since the last renewal that could have leased something unseen (a fetch that
    // failed may have leased rows whose answer was lost): an idle host skips the round trip.
    if (o.queued() === 0 && !this.#leasedSinceRenew) return;
    this.#leasedSinceRenew = false;
    try {
      const leases = await o.renew({ hostId: o.hostId(), leaseDurationMs: o.leaseDurationMs });
      for (const lease of leases) if (!o.known(o.idOf(lease))) o.enqueue(lease);
    } catch (err) {
      this.#leasedSinceRenew = true;
      o.logger.warn(`Cannot renew ${o.noun} leases`, { err: errorMessage(err) });
    }
  }
}

/** The scheduler side of a fetcher: where leases go. */
type FetcherHooks<L> = Pick<LeaseFetcherOptions<L>, "enqueue" | "known" | "queued">;

/**
 * The fetcher of alarm leases.
 *
 * @example
 * ```ts ignore
 * const fetcher = alarmFetcher(deps, { enqueue, known: (alarmId) => pending.has(alarmId) });
 * ```
 */
export function alarmFetcher(
  deps: FetchSettings & { provider: ActorProvider },
  hooks: FetcherHooks<AlarmLease>,
): LeaseFetcher<AlarmLease> {
  const { provider } = deps;
  return new LeaseFetcher({
    ...deps,
    ...hooks,
    noun: "alarm",
    growBatch: false,
    fetch: (req) => provider.fetchAndLeaseAlarms(req),
    renew: (req) => provider.renewAlarmLeases(req),
    idOf: (lease) => lease.alarmId,
  });
}

/**
 * The fetcher of job leases.
 *
 * @example
 * ```ts ignore
 * const fetcher = jobFetcher(deps, { enqueue, known: (jobId) => pending.has(jobId) });
 * ```
 */
export function jobFetcher(
  deps: FetchSettings & { provider: ActorProvider },
  hooks: FetcherHooks<JobLease>,
): LeaseFetcher<JobLease> {
  const { provider } = deps;
  return new LeaseFetcher({
    ...deps,
    ...hooks,
    noun: "job",
    growBatch: true,
    fetch: (req) => provider.fetchAndLeaseJobs(req),
    renew: (req) => provider.renewJobLeases(req),
    idOf: (lease) => lease.jobId,
  });
}
