/**
 * Durable jobs, their dead-letter store and job leases of the SQLite provider.
 *
 * A live job's `job_id` never changes, so a lease is valid while the row
 * exists with that `lease_id` and `lease_expiration > now`. Every write runs
 * as one savepoint of the group-commit transaction, which holds the database
 * write lock, so each method is atomic and concurrent fetchers (in any
 * process) never lease one job twice. Fetching, renewal and the conditional
 * lease writes are `leasing.ts`, shared with alarms. The partial unique index on
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
import { byCreation } from "../memory/_jobs.ts";
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
import { fetchSql, type LeaseRef, type LeaseTable, Leasing } from "./leasing.ts";

const JOB_COLUMNS =
  "job_id, actor_type, actor_id, method, due_time, interval, cron, ttl, idempotency_key, created_at, data";

/** Live jobs and dead records matching `where`, as `toRecord` reads them. */
function recordsSql(where: string): string {
  return `SELECT ${JOB_COLUMNS}, lease_id, lease_expiration, NULL AS attempts, NULL AS last_error, NULL AS failed_at,
      0 AS dead FROM {p}_jobs WHERE ${where}
    UNION ALL SELECT ${JOB_COLUMNS}, NULL, NULL, attempts, last_error, failed_at, 1 FROM {p}_dead_jobs WHERE ${where}`;
}

/** The jobs table as {@linkcode Leasing} sees it. */
const JOB_LEASES: LeaseTable<JobLease> = {
  table: "jobs",
  alias: "j",
  id: "job_id",
  columns: ["actor_type", "actor_id", "due_time"],
  toLease,
};

/** Jobs a host may lease, as for alarms (see `fetchSql` in `leasing.ts`): the outer loop is `{p}_jobs_due_idx`. */
export const FETCH_JOBS_SQL: string = fetchSql(JOB_LEASES);

/** Job statements of one connection. */
export class JobStore {
  #ctx: SqliteContext;
  #s: Record<string, StatementSync>;
  #leasing: Leasing<JobLease>;

  /** Prepares the statements. */
  constructor(ctx: SqliteContext) {
    this.#ctx = ctx;
    this.#leasing = new Leasing(ctx, JOB_LEASES);
    const s = (sql: string): StatementSync => prepare(ctx, sql);
    this.#s = {
      byKey: s(`SELECT job_id FROM {p}_jobs
                WHERE actor_type = ? AND actor_id = ? AND idempotency_key = ?`),
      idInUse: s(`SELECT 1 FROM {p}_jobs WHERE job_id = ?1 UNION ALL SELECT 1 FROM {p}_dead_jobs WHERE job_id = ?1`),
      insert: s(`INSERT INTO {p}_jobs (${JOB_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      get: s(recordsSql("job_id = ?1")),
      list: s(recordsSql("actor_type = ?1 AND actor_id = ?2")),
      cancel: s("DELETE FROM {p}_jobs WHERE job_id = ?"),
      deleteDead: s("DELETE FROM {p}_dead_jobs WHERE job_id = ?"),
      takeDead: s(`DELETE FROM {p}_dead_jobs WHERE job_id = ? RETURNING actor_type, actor_id, method, data`),
      getLeased: s(`SELECT ${JOB_COLUMNS}, lease_id, lease_expiration FROM {p}_jobs
                    WHERE job_id = ? AND lease_id = ? AND lease_expiration > ?`),
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
    return this.#leasing.fetch(req);
  }

  /** See `ActorProvider.renewJobLeases`. */
  renew(req: RenewJobLeasesRequest): Promise<JobLease[]> {
    checkRenew("renew job leases", req);
    const leases = req.leases?.map((l) => ({ id: String(l?.jobId), leaseId: String(l?.leaseId) }));
    return this.#leasing.renew(req.hostId, req.leaseDurationMs, leases);
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
      const changes = dueTime === undefined
        ? this.#leasing.deleteLeased(ref(lease), now)
        : this.#leasing.move(ref(lease), now, dueTime);
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
      if (this.#leasing.move(ref(lease), now, dueTime) === 0) throw leaseLost("release", lease);
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
      if (nextDue === undefined) this.#leasing.deleteLeased(ref(lease), now);
      else this.#leasing.move(ref(lease), now, nextDue);
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

function ref(lease: JobLease): LeaseRef {
  return { id: lease.jobId, leaseId: lease.leaseId };
}

function leaseLost(action: string, lease: JobLease): JobNotFoundError {
  return new JobNotFoundError(
    `Cannot ${action} leased job: job ${show(lease.jobId)} is gone or its lease ${
      show(lease.leaseId)
    } is no longer valid`,
  );
}
