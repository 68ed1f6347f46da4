/**
 * Durable jobs, their dead-letter store and job leases of the SQLite provider.
 *
 * A live job's `job_id` never changes, so a lease is valid while the row
 * exists with that `lease_id` and `lease_expiration > now`. Every write runs
 * as one savepoint of the group-commit transaction, which holds the database
 * write lock, so each method is atomic and concurrent fetchers (in any
 * process) never lease one job twice. The partial unique index on
 * `(actor_type, actor_id, idempotency_key)` makes a key unique among an
 * actor's live jobs; dead records are in `<p>_dead_jobs` and hold no key.
 * Deleting a placement clears the actor's job leases through a trigger.
 *
 * @module
 */

import { JobNotFoundError, ProviderError } from "../../errors.ts";
import {
  checkDeadLetter,
  checkDispatch,
  checkDue,
  checkFetch,
  checkFresh,
  checkJobLease,
  checkRenew,
} from "../memory/_job_checks.ts";
import type {
  DeadLetterRequest,
  DispatchJobRequest,
  FetchAlarmsRequest,
  JobLease,
  JobRecord,
  RenewJobLeasesRequest,
} from "../types.ts";
import { checkString, copyBytes, prepare, show, type SqliteContext } from "./context.ts";
import type { Row, StatementSync } from "./driver.ts";

const JOB_COLUMNS =
  "job_id, actor_type, actor_id, method, due_time, interval, cron, ttl, idempotency_key, created_at, data";
const LEASE_COLUMNS = "job_id, lease_id, actor_type, actor_id, due_time";
const VALID_LEASE = "job_id = ? AND lease_id = ? AND lease_expiration > ?";

/**
 * Jobs a host may lease, as for alarms (see `FETCH_CANDIDATES_SQL` in
 * `alarms.ts`): due within the window, lease free, actor unplaced, placed on
 * the fetching host, or placed on a dead host; the jobs table is the outer
 * loop over `{p}_jobs_due_idx`.
 * Parameters: ?1 host ID, ?2 due bound, ?3 now (lease expiry), ?4 health bound.
 */
export const FETCH_JOBS_SQL = `SELECT j.job_id, j.actor_type, j.actor_id, j.due_time, aa.host_id AS placed_host
  FROM {p}_jobs j
  CROSS JOIN {p}_host_actor_types t ON t.host_id = ?1 AND t.actor_type = j.actor_type
  LEFT JOIN {p}_active_actors aa ON aa.actor_type = j.actor_type AND aa.actor_id = j.actor_id
  LEFT JOIN {p}_hosts h ON h.host_id = aa.host_id
  WHERE j.due_time <= ?2 AND (j.lease_id IS NULL OR j.lease_expiration <= ?3)
    AND (aa.host_id IS NULL OR aa.host_id = ?1 OR h.last_health_check < ?4)
  ORDER BY j.due_time, j.job_id`;

/** Job statements of one connection. */
export class JobStore {
  #ctx: SqliteContext;
  #s: Record<string, StatementSync>;

  /** Prepares the statements. */
  constructor(ctx: SqliteContext) {
    this.#ctx = ctx;
    const s = (sql: string): StatementSync => prepare(ctx, sql);
    this.#s = {
      byKey: s(`SELECT job_id FROM {p}_jobs
                WHERE actor_type = ? AND actor_id = ? AND idempotency_key = ?`),
      idInUse: s(`SELECT 1 FROM {p}_jobs WHERE job_id = ?1 UNION ALL SELECT 1 FROM {p}_dead_jobs WHERE job_id = ?1`),
      insert: s(`INSERT INTO {p}_jobs (${JOB_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      get: s(`SELECT ${JOB_COLUMNS}, lease_id, lease_expiration,
                NULL AS attempts, NULL AS last_error, NULL AS failed_at, 0 AS dead
              FROM {p}_jobs WHERE job_id = ?1
              UNION ALL
              SELECT ${JOB_COLUMNS}, NULL, NULL, attempts, last_error, failed_at, 1
              FROM {p}_dead_jobs WHERE job_id = ?1`),
      list: s(`SELECT ${JOB_COLUMNS}, lease_id, lease_expiration,
                 NULL AS attempts, NULL AS last_error, NULL AS failed_at, 0 AS dead
               FROM {p}_jobs WHERE actor_type = ?1 AND actor_id = ?2
               UNION ALL
               SELECT ${JOB_COLUMNS}, NULL, NULL, attempts, last_error, failed_at, 1
               FROM {p}_dead_jobs WHERE actor_type = ?1 AND actor_id = ?2`),
      cancel: s("DELETE FROM {p}_jobs WHERE job_id = ?"),
      deleteDead: s("DELETE FROM {p}_dead_jobs WHERE job_id = ?"),
      takeDead: s(`DELETE FROM {p}_dead_jobs WHERE job_id = ? RETURNING actor_type, actor_id, method, data`),
      hostHealth: s("SELECT last_health_check, draining FROM {p}_hosts WHERE host_id = ?"),
      hostTypes: s(`SELECT t.actor_type, t.idle_timeout_ms, t.concurrency_limit, CASE WHEN t.concurrency_limit = 0
                      THEN 0 ELSE (SELECT count(*) FROM {p}_active_actors a
                                   WHERE a.host_id = t.host_id AND a.actor_type = t.actor_type) END AS active
                    FROM {p}_host_actor_types t WHERE t.host_id = ?`),
      candidates: s(FETCH_JOBS_SQL),
      unplace: s("DELETE FROM {p}_active_actors WHERE actor_type = ? AND actor_id = ?"),
      place: s(`INSERT INTO {p}_active_actors (actor_type, actor_id, host_id, idle_timeout_ms, activated_at)
                VALUES (?, ?, ?, ?, ?)`),
      lease: s(`UPDATE {p}_jobs SET lease_id = ?, lease_expiration = ?
                WHERE job_id = ? AND (lease_id IS NULL OR lease_expiration <= ?)`),
      renewAll: s(`UPDATE {p}_jobs SET lease_expiration = ?1
                   WHERE lease_id IS NOT NULL AND lease_expiration > ?2 AND EXISTS (
                     SELECT 1 FROM {p}_active_actors aa WHERE aa.actor_type = {p}_jobs.actor_type
                       AND aa.actor_id = {p}_jobs.actor_id AND aa.host_id = ?3)
                   RETURNING ${LEASE_COLUMNS}`),
      renewOne: s(`UPDATE {p}_jobs SET lease_expiration = ?1
                   WHERE job_id = ?4 AND lease_id = ?5 AND lease_expiration > ?2 AND EXISTS (
                     SELECT 1 FROM {p}_active_actors aa WHERE aa.actor_type = {p}_jobs.actor_type
                       AND aa.actor_id = {p}_jobs.actor_id AND aa.host_id = ?3)
                   RETURNING ${LEASE_COLUMNS}`),
      getLeased: s(`SELECT ${JOB_COLUMNS}, lease_id, lease_expiration FROM {p}_jobs WHERE ${VALID_LEASE}`),
      deleteLeased: s(`DELETE FROM {p}_jobs WHERE ${VALID_LEASE}`),
      moveRelease: s(`UPDATE {p}_jobs SET due_time = ?, lease_id = NULL, lease_expiration = NULL
                      WHERE ${VALID_LEASE}`),
      deadFromLive: s(`INSERT INTO {p}_dead_jobs (${JOB_COLUMNS}, attempts, last_error, failed_at)
                       SELECT ?1, actor_type, actor_id, method, due_time, interval, cron,
                         CASE WHEN ?6 THEN NULL ELSE ttl END, CASE WHEN ?6 THEN NULL ELSE idempotency_key END,
                         created_at, data, ?2, ?3, ?4
                       FROM {p}_jobs WHERE job_id = ?5`),
    };
  }

  /** See `ActorProvider.dispatchJob`. */
  dispatch(req: DispatchJobRequest): Promise<{ jobId: string; created: boolean }> {
    checkDispatch("dispatch job", req);
    // Empty data is no data. Copied now: the write runs on the next macrotask.
    const data = req.data === undefined || req.data.length === 0 ? null : req.data.slice();
    const { jobId, actorType, actorId, method, dueTime, createdAt } = req;
    const key = req.idempotencyKey ?? null;
    return this.#ctx.queue.enqueue(() => {
      if (key !== null) {
        const holder = this.#s.byKey.get(actorType, actorId, key) as Row | undefined;
        if (holder !== undefined) return { jobId: holder.job_id as string, created: false };
      }
      this.#checkIdFree("dispatch job", jobId);
      this.#s.insert.run(
        jobId,
        actorType,
        actorId,
        method,
        dueTime,
        req.interval ?? null,
        req.cron ?? null,
        req.ttl ?? null,
        key,
        createdAt,
        data,
      );
      return { jobId, created: true };
    });
  }

  /** The live job or dead record; `JobNotFoundError` if neither. */
  get(jobId: string): JobRecord {
    checkString("get job", "jobId", jobId);
    const row = this.#s.get.get(jobId) as Row | undefined;
    if (row === undefined) throw new JobNotFoundError(`Cannot get job: job ${show(jobId)} does not exist`);
    return toRecord(row, this.#ctx.clock.now());
  }

  /** An actor's live and dead jobs by `createdAt`, then `jobId`. */
  list(actorType: string, actorId: string): JobRecord[] {
    checkString("list jobs", "actorType", actorType);
    checkString("list jobs", "actorId", actorId);
    const now = this.#ctx.clock.now();
    return (this.#s.list.all(actorType, actorId) as Row[]).map((row) => toRecord(row, now)).sort(byCreation);
  }

  /** Deletes a live job; `JobNotFoundError` if there is none. */
  cancel(jobId: string): Promise<void> {
    checkString("cancel job", "jobId", jobId);
    return this.#ctx.queue.enqueue(() => {
      if (this.#s.cancel.run(jobId).changes === 0) {
        throw new JobNotFoundError(`Cannot cancel job: job ${show(jobId)} is not live`);
      }
    });
  }

  /** Replaces a dead record with a fresh one-shot live job. */
  retryDead(jobId: string, fresh: { jobId: string; dueTime: number; createdAt: number }): Promise<void> {
    checkString("retry job", "jobId", jobId);
    checkFresh("retry job", fresh);
    const { jobId: freshId, dueTime, createdAt } = fresh;
    return this.#ctx.queue.enqueue(() => {
      const dead = this.#s.takeDead.get(jobId) as Row | undefined;
      if (dead === undefined) throw new JobNotFoundError(`Cannot retry job: job ${show(jobId)} is not dead-lettered`);
      this.#checkIdFree("retry job", freshId);
      this.#s.insert.run(
        freshId,
        dead.actor_type as string,
        dead.actor_id as string,
        dead.method as string,
        dueTime,
        null,
        null,
        null,
        null,
        createdAt,
        dead.data === null ? null : copyBytes(dead.data),
      );
    });
  }

  /** Deletes a dead record; `JobNotFoundError` if there is none. */
  deleteDead(jobId: string): Promise<void> {
    checkString("delete dead job", "jobId", jobId);
    return this.#ctx.queue.enqueue(() => {
      if (this.#s.deleteDead.run(jobId).changes === 0) {
        throw new JobNotFoundError(`Cannot delete dead job: job ${show(jobId)} is not dead-lettered`);
      }
    });
  }

  /** See `ActorProvider.fetchAndLeaseJobs`. */
  fetchAndLease(req: FetchAlarmsRequest): Promise<JobLease[]> {
    checkFetch("fetch jobs", req);
    return this.#ctx.queue.enqueue(() => {
      const now = this.#ctx.clock.now();
      const deadline = now - req.healthCheckDeadlineMs;
      const host = this.#s.hostHealth.get(req.hostId) as Row | undefined;
      if (host === undefined || (host.last_health_check as number) < deadline) return [];

      // Remaining capacity per type this host serves (Infinity when unlimited; none while draining).
      const capacity = new Map<string, { remaining: number; idle: number | null }>();
      for (const t of this.#s.hostTypes.all(req.hostId) as Row[]) {
        const limit = t.concurrency_limit as number;
        capacity.set(t.actor_type as string, {
          remaining: host.draining !== 0 ? 0 : limit === 0 ? Infinity : limit - (t.active as number),
          idle: t.idle_timeout_ms as number | null,
        });
      }

      // Pick jobs in due order; decide placements in memory, write after the scan.
      const picked: Row[] = [];
      const placing = new Map<string, { row: Row; activatedAt: number }>();
      const rows = this.#s.candidates.iterate(req.hostId, now + req.fetchAheadMs, now, deadline) as Iterable<Row>;
      for (const row of rows) {
        const key = `${row.actor_type as string}\u0000${row.actor_id as string}`;
        if (row.placed_host !== req.hostId && !placing.has(key)) {
          const cap = capacity.get(row.actor_type as string);
          if (cap === undefined || cap.remaining <= 0) continue;
          cap.remaining--;
          placing.set(key, { row, activatedAt: Math.max(now, row.due_time as number) });
        }
        picked.push(row);
        if (picked.length >= req.batchSize) break;
      }

      // Place unplaced actors (or actors of dead hosts) here; the delete trigger clears their leases.
      for (const { row, activatedAt } of placing.values()) {
        const type = row.actor_type as string;
        this.#s.unplace.run(type, row.actor_id as string);
        this.#s.place.run(type, row.actor_id as string, req.hostId, capacity.get(type)!.idle, activatedAt);
      }

      // Lease; the condition re-checks that the lease is still free.
      const expiration = now + req.leaseDurationMs;
      const leases: JobLease[] = [];
      for (const row of picked) {
        const leaseId = crypto.randomUUID();
        if (this.#s.lease.run(leaseId, expiration, row.job_id as string, now).changes === 0) continue;
        leases.push(toLease({ ...row, lease_id: leaseId }));
      }
      return leases;
    });
  }

  /** See `ActorProvider.renewJobLeases`. */
  renew(req: RenewJobLeasesRequest): Promise<JobLease[]> {
    checkRenew("renew job leases", req);
    const leases = req.leases?.map((l) => ({ jobId: String(l?.jobId), leaseId: String(l?.leaseId) }));
    return this.#ctx.queue.enqueue(() => {
      const now = this.#ctx.clock.now();
      const expiration = now + req.leaseDurationMs;
      if (leases === undefined) {
        return (this.#s.renewAll.all(expiration, now, req.hostId) as Row[]).map(toLease).sort(byDue);
      }
      const renewed = new Map<string, JobLease>();
      for (const lease of leases) {
        const row = this.#s.renewOne.get(expiration, now, req.hostId, lease.jobId, lease.leaseId) as Row | undefined;
        if (row !== undefined) renewed.set(row.job_id as string, toLease(row));
      }
      return [...renewed.values()].sort(byDue);
    });
  }

  /** The job if `lease` is valid; `JobNotFoundError` otherwise. */
  getLeased(lease: JobLease): JobRecord {
    checkJobLease("get leased job", lease);
    const now = this.#ctx.clock.now();
    const row = this.#s.getLeased.get(lease.jobId, lease.leaseId, now) as Row | undefined;
    if (row === undefined) throw leaseLost("get", lease);
    return toRecord({ ...row, dead: 0 }, now);
  }

  /** Deletes a completed one-shot job, or moves a repeating one and releases its lease. */
  complete(lease: JobLease, next?: { dueTime: number }): Promise<void> {
    checkJobLease("complete leased job", lease);
    checkDue("complete leased job", "next", next, true);
    const dueTime = next?.dueTime;
    return this.#ctx.queue.enqueue(() => {
      const now = this.#ctx.clock.now();
      const { changes } = dueTime === undefined
        ? this.#s.deleteLeased.run(lease.jobId, lease.leaseId, now)
        : this.#s.moveRelease.run(dueTime, lease.jobId, lease.leaseId, now);
      if (changes === 0) throw leaseLost("complete", lease);
    });
  }

  /** Releases a lease and sets the due time. */
  release(lease: JobLease, update: { dueTime: number }): Promise<void> {
    checkJobLease("release leased job", lease);
    checkDue("release leased job", "update", update, false);
    const dueTime = update.dueTime;
    return this.#ctx.queue.enqueue(() => {
      const now = this.#ctx.clock.now();
      if (this.#s.moveRelease.run(dueTime, lease.jobId, lease.leaseId, now).changes === 0) {
        throw leaseLost("release", lease);
      }
    });
  }

  /** Moves a one-shot job to the dead-letter store, or records a repeating job's failed occurrence. */
  deadLetter(lease: JobLease, dead: DeadLetterRequest): Promise<void> {
    checkDeadLetter("dead-letter job", lease, dead);
    const { deadJobId, attempts, lastError, failedAt } = dead;
    const nextDue = dead.next?.dueTime;
    return this.#ctx.queue.enqueue(() => {
      const now = this.#ctx.clock.now();
      if (this.#s.getLeased.get(lease.jobId, lease.leaseId, now) === undefined) throw leaseLost("dead-letter", lease);
      if (nextDue !== undefined) this.#checkIdFree("dead-letter job", deadJobId);
      const repeating = nextDue === undefined ? 0 : 1;
      this.#s.deadFromLive.run(deadJobId, attempts, lastError, failedAt, lease.jobId, repeating);
      if (nextDue === undefined) this.#s.deleteLeased.run(lease.jobId, lease.leaseId, now);
      else this.#s.moveRelease.run(nextDue, lease.jobId, lease.leaseId, now);
    });
  }

  /** Inside a write: rejects a job ID that a live job or dead record already uses. */
  #checkIdFree(action: string, jobId: string): void {
    if (this.#s.idInUse.get(jobId) !== undefined) {
      throw new ProviderError(`Cannot ${action}: job ID ${show(jobId)} is already in use`);
    }
  }
}

function toRecord(row: Row, now: number): JobRecord {
  const dead = row.dead === 1;
  const leased = row.lease_id !== null && row.lease_id !== undefined && (row.lease_expiration as number) > now;
  const record: JobRecord = {
    jobId: row.job_id as string,
    actorType: row.actor_type as string,
    actorId: row.actor_id as string,
    method: row.method as string,
    status: dead ? "dead-lettered" : leased ? "active" : "pending",
    dueTime: row.due_time as number,
    createdAt: row.created_at as number,
    attempts: dead ? row.attempts as number : 0,
  };
  if (row.interval !== null) record.interval = row.interval as string;
  if (row.cron !== null) record.cron = row.cron as string;
  if (row.ttl !== null) record.ttl = row.ttl as number;
  if (row.idempotency_key !== null) record.idempotencyKey = row.idempotency_key as string;
  if (row.data !== null) record.data = copyBytes(row.data);
  if (dead) {
    record.lastError = row.last_error as string;
    record.failedAt = row.failed_at as number;
  }
  return record;
}

function toLease(row: Row): JobLease {
  return {
    jobId: row.job_id as string,
    leaseId: row.lease_id as string,
    actorType: row.actor_type as string,
    actorId: row.actor_id as string,
    dueTime: row.due_time as number,
  };
}

function byDue(a: JobLease, b: JobLease): number {
  return a.dueTime - b.dueTime || (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0);
}

function byCreation(a: JobRecord, b: JobRecord): number {
  return a.createdAt - b.createdAt || (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0);
}

function leaseLost(action: string, lease: JobLease): JobNotFoundError {
  return new JobNotFoundError(
    `Cannot ${action} leased job: job ${show(lease.jobId)} is gone or its lease ${
      show(lease.leaseId)
    } is no longer valid`,
  );
}
