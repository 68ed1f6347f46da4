/**
 * The memory provider's job tables: live jobs keyed by `jobId`, by actor and
 * by `(actor, idempotencyKey)`, with a {@linkcode DueQueue} ordered by due
 * time (a {@linkcode DueRows} index, shared with alarms); and dead records
 * keyed by `jobId` and by actor.
 *
 * A live job's `jobId` never changes, so a lease is valid while the row is
 * live, holds that `leaseId` and the lease has not expired.
 *
 * @module
 */

import type { JobLease, JobRecord } from "../types.ts";
import { clearLeases, DueRows, hasValidLease, type RowEntry } from "./_due_rows.ts";
import type { LeasableTable } from "./_leasing.ts";

/** A live job. `data` is never empty (empty data is stored as none). */
export interface JobRow {
  readonly jobId: string;
  readonly actorKey: string;
  readonly actorType: string;
  readonly actorId: string;
  readonly method: string;
  dueTime: number;
  readonly interval: string | undefined;
  readonly cron: string | undefined;
  readonly ttl: number | undefined;
  readonly idempotencyKey: string | undefined;
  readonly createdAt: number;
  readonly data: Uint8Array | undefined;
  leaseId: string | undefined;
  leaseExpiresAt: number | undefined;
  entry: RowEntry<JobRow> | undefined;
}

/** A dead-letter record. */
export interface DeadJobRow {
  readonly jobId: string;
  readonly actorKey: string;
  readonly actorType: string;
  readonly actorId: string;
  readonly method: string;
  readonly dueTime: number;
  readonly interval: string | undefined;
  readonly cron: string | undefined;
  readonly ttl: number | undefined;
  readonly idempotencyKey: string | undefined;
  readonly createdAt: number;
  readonly data: Uint8Array | undefined;
  readonly attempts: number;
  readonly lastError: string;
  readonly failedAt: number;
}

function add<T>(index: Map<string, Set<T>>, key: string, value: T): void {
  let set = index.get(key);
  if (set === undefined) index.set(key, set = new Set());
  set.add(value);
}

function remove<T>(index: Map<string, Set<T>>, key: string, value: T): void {
  const set = index.get(key);
  set?.delete(value);
  if (set?.size === 0) index.delete(key);
}

function idempotencyIndexKey(actorKey: string, key: string): string {
  return JSON.stringify([actorKey, key]);
}

/**
 * Live jobs, dead records and their indexes.
 *
 * @example
 * ```ts
 * import { JobTable } from "./_jobs.ts";
 * const t = new JobTable();
 * console.log(t.live("j1"), t.dead("j1")); // undefined undefined
 * ```
 */
export class JobTable implements LeasableTable<JobRow, JobLease> {
  readonly #live = new Map<string, JobRow>();
  readonly #liveByActor = new Map<string, Set<JobRow>>();
  readonly #byKey = new Map<string, JobRow>();
  readonly #dead = new Map<string, DeadJobRow>();
  readonly #deadByActor = new Map<string, Set<DeadJobRow>>();
  readonly #due = new DueRows<JobRow>((row) => row.jobId);

  /** The live job `jobId`. */
  live(jobId: string): JobRow | undefined {
    return this.#live.get(jobId);
  }

  /** The dead record `jobId`. */
  dead(jobId: string): DeadJobRow | undefined {
    return this.#dead.get(jobId);
  }

  /** The live job of an actor holding an idempotency key. */
  withKey(actorKey: string, key: string): JobRow | undefined {
    return this.#byKey.get(idempotencyIndexKey(actorKey, key));
  }

  /** The job whose lease `lease` is, if that lease is still valid at `now`. */
  leased(lease: JobLease, now: number): JobRow | undefined {
    const row = this.#live.get(lease?.jobId);
    return row !== undefined && row.leaseId === lease.leaseId && hasValidLease(row, now) ? row : undefined;
  }

  /** The live jobs of one actor. */
  ofActor(key: string): Iterable<JobRow> {
    return this.#liveByActor.get(key) ?? [];
  }

  /** The dead records of one actor. */
  deadOfActor(key: string): Iterable<DeadJobRow> {
    return this.#deadByActor.get(key) ?? [];
  }

  /** The row's ID, the tiebreak of due-time order. */
  idOf(row: JobRow): string {
    return row.jobId;
  }

  /** Stores a new live job; the caller has checked that its ID and key are free. */
  insert(row: JobRow): void {
    this.#live.set(row.jobId, row);
    add(this.#liveByActor, row.actorKey, row);
    if (row.idempotencyKey !== undefined) this.#byKey.set(idempotencyIndexKey(row.actorKey, row.idempotencyKey), row);
    this.#due.put(row);
  }

  /** Deletes a live job (its key becomes free). */
  delete(row: JobRow): void {
    this.#live.delete(row.jobId);
    remove(this.#liveByActor, row.actorKey, row);
    if (row.idempotencyKey !== undefined) this.#byKey.delete(idempotencyIndexKey(row.actorKey, row.idempotencyKey));
    this.#due.remove(row);
  }

  /** Moves a live job to a new due time and releases its lease. */
  reschedule(row: JobRow, dueTime: number): void {
    row.dueTime = dueTime;
    row.leaseId = undefined;
    row.leaseExpiresAt = undefined;
    this.#due.put(row);
  }

  /** Stores a dead record; the caller has checked that its ID is free. */
  insertDead(row: DeadJobRow): void {
    this.#dead.set(row.jobId, row);
    add(this.#deadByActor, row.actorKey, row);
  }

  /** Deletes a dead record. */
  deleteDead(row: DeadJobRow): void {
    this.#dead.delete(row.jobId);
    remove(this.#deadByActor, row.actorKey, row);
  }

  /** Clears the lease of every live job of an actor. */
  clearLeases(key: string): void {
    clearLeases(this.ofActor(key));
  }

  /** Visits live rows due by `horizon` in `(dueTime, jobId)` order (see `DueRows.scanDue`). */
  scanDue(horizon: number, visit: (row: JobRow) => boolean): void {
    this.#due.scanDue(horizon, visit);
  }
}

/** The lease view of a leased row. */
export function toJobLease(row: JobRow): JobLease {
  const { jobId, actorType, actorId, dueTime } = row;
  return { jobId, leaseId: row.leaseId!, actorType, actorId, dueTime };
}

/** The public record of a live job at `now`, with its data copied. */
export function liveJobRecord(row: JobRow, now: number): JobRecord {
  const record: JobRecord = {
    jobId: row.jobId,
    actorType: row.actorType,
    actorId: row.actorId,
    method: row.method,
    status: hasValidLease(row, now) ? "active" : "pending",
    dueTime: row.dueTime,
    createdAt: row.createdAt,
    attempts: 0,
  };
  if (row.interval !== undefined) record.interval = row.interval;
  if (row.cron !== undefined) record.cron = row.cron;
  if (row.ttl !== undefined) record.ttl = row.ttl;
  if (row.idempotencyKey !== undefined) record.idempotencyKey = row.idempotencyKey;
  if (row.data !== undefined) record.data = row.data.slice();
  return record;
}

/** The public record of a dead job, with its data copied. */
export function deadJobRecord(row: DeadJobRow): JobRecord {
  const record: JobRecord = {
    jobId: row.jobId,
    actorType: row.actorType,
    actorId: row.actorId,
    method: row.method,
    status: "dead-lettered",
    dueTime: row.dueTime,
    createdAt: row.createdAt,
    attempts: row.attempts,
    lastError: row.lastError,
    failedAt: row.failedAt,
  };
  if (row.interval !== undefined) record.interval = row.interval;
  if (row.cron !== undefined) record.cron = row.cron;
  if (row.ttl !== undefined) record.ttl = row.ttl;
  if (row.idempotencyKey !== undefined) record.idempotencyKey = row.idempotencyKey;
  if (row.data !== undefined) record.data = row.data.slice();
  return record;
}

/** Orders job records by `createdAt`, then `jobId` in UTF-16 code-unit order. */
export function byCreation(a: JobRecord, b: JobRecord): number {
  return a.createdAt - b.createdAt || (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0);
}
