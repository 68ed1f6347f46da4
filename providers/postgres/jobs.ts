/**
 * Durable jobs and their dead-letter store of the PostgreSQL provider: the
 * facade `ActorProvider`'s job members call. Dispatch is group-committed
 * (`job_dispatch.ts`), fetching and renewal are `leasing.ts` (shared with
 * alarms), the other lease operations are `job_leases.ts`; management (get,
 * list, cancel, retry, delete) is here.
 *
 * The partial unique index on `(actor_type, actor_id, idempotency_key)` makes
 * a key unique among an actor's live jobs: dispatch inserts with
 * `ON CONFLICT … DO NOTHING` and, when it lost to a concurrent dispatch,
 * reads the winner in a new statement (READ COMMITTED sees its commit).
 * Deleting a placement clears the actor's job leases in the trigger function.
 *
 * @module
 */

import { JobNotFoundError } from "../../errors.ts";
import { checkDispatch, checkFetch, checkFresh, checkRenew } from "../memory/_job_checks.ts";
import { checkString, show } from "../memory/_validate.ts";
import type {
  DeadLetterRequest,
  DispatchJobRequest,
  FetchAlarmsRequest,
  JobLease,
  JobRecord,
  RenewJobLeasesRequest,
} from "../types.ts";
import { type PgContext, sqlFor, transaction } from "./context.ts";
import { type DispatchResult, JobDispatcher } from "./job_dispatch.ts";
import { JobLeaseStore } from "./job_leases.ts";
import { byCreation, idInUse, JOB_COLUMNS, toLease, toRecord } from "./job_rows.ts";
import { type LeaseTable, Leasing } from "./leasing.ts";

export { jobChannel } from "./job_rows.ts";

/** The jobs table as {@linkcode Leasing} sees it (migration v3 has its candidate walk). */
const JOB_LEASES: LeaseTable<JobLease> = {
  table: "jobs",
  id: "job_id",
  columns: ["actor_type", "actor_id", "due_time"],
  candidates: "job_candidates",
  leaseDue: "lease_due_jobs",
  toLease,
};

/** Job statements of one provider instance. */
export class JobStore {
  #ctx: PgContext;
  #s: Record<string, string>;
  #dispatcher: JobDispatcher;
  #leasing: Leasing<JobLease>;
  #leases: JobLeaseStore;

  constructor(ctx: PgContext) {
    this.#ctx = ctx;
    this.#dispatcher = new JobDispatcher(ctx);
    this.#leasing = new Leasing(ctx, JOB_LEASES);
    this.#leases = new JobLeaseStore(ctx);
    const s = (text: string): string => sqlFor(ctx, text);
    this.#s = {
      deadIdInUse: s(`SELECT 1 FROM {p}_dead_jobs WHERE job_id = $1`),
      get: s(`SELECT ${JOB_COLUMNS}, lease_id, lease_expiration,
                NULL::integer AS attempts, NULL::text AS last_error, NULL::bigint AS failed_at, false AS dead
              FROM {p}_jobs WHERE job_id = $1
              UNION ALL
              SELECT ${JOB_COLUMNS}, NULL, NULL, attempts, last_error, failed_at, true
              FROM {p}_dead_jobs WHERE job_id = $1`),
      list: s(`SELECT ${JOB_COLUMNS}, lease_id, lease_expiration,
                 NULL::integer AS attempts, NULL::text AS last_error, NULL::bigint AS failed_at, false AS dead
               FROM {p}_jobs WHERE actor_type = $1 AND actor_id = $2
               UNION ALL
               SELECT ${JOB_COLUMNS}, NULL, NULL, attempts, last_error, failed_at, true
               FROM {p}_dead_jobs WHERE actor_type = $1 AND actor_id = $2`),
      cancel: s("DELETE FROM {p}_jobs WHERE job_id = $1"),
      deleteDead: s("DELETE FROM {p}_dead_jobs WHERE job_id = $1"),
      retry: s(`WITH d AS (DELETE FROM {p}_dead_jobs WHERE job_id = $1 RETURNING actor_type, actor_id, method, data)
                INSERT INTO {p}_jobs (job_id, actor_type, actor_id, method, due_time, created_at, data)
                SELECT $2, actor_type, actor_id, method, $3, $4, data FROM d
                RETURNING job_id`),
    };
  }

  /** Resolves once every queued dispatch and lease operation ran (before the pool closes). */
  async flush(): Promise<void> {
    await Promise.all([this.#dispatcher.flush(), this.#leases.flush()]);
  }

  /** See `ActorProvider.dispatchJob` (group-committed). */
  dispatch(req: DispatchJobRequest): Promise<DispatchResult> {
    checkDispatch("dispatch job", req);
    return this.#dispatcher.dispatch(req);
  }

  /** The live job or dead record; `JobNotFoundError` if neither. */
  async get(jobId: string): Promise<JobRecord> {
    checkString("get job", "jobId", jobId);
    const [row] = await this.#ctx.db.query(this.#s.get, [jobId]);
    if (row === undefined) throw new JobNotFoundError(`Cannot get job: job ${show(jobId)} does not exist`);
    return toRecord(row, this.#ctx.clock.now());
  }

  /** An actor's live and dead jobs by `createdAt`, then `jobId`. */
  async list(actorType: string, actorId: string): Promise<JobRecord[]> {
    checkString("list jobs", "actorType", actorType);
    checkString("list jobs", "actorId", actorId);
    const rows = await this.#ctx.db.query(this.#s.list, [actorType, actorId]);
    const now = this.#ctx.clock.now();
    return rows.map((row) => toRecord(row, now)).sort(byCreation);
  }

  /** Deletes a live job; `JobNotFoundError` if there is none. */
  async cancel(jobId: string): Promise<void> {
    checkString("cancel job", "jobId", jobId);
    const { count } = await this.#ctx.db.query(this.#s.cancel, [jobId]);
    if (count === 0) throw new JobNotFoundError(`Cannot cancel job: job ${show(jobId)} is not live`);
  }

  /** Replaces a dead record with a fresh one-shot live job, in one transaction. */
  retryDead(jobId: string, fresh: { jobId: string; dueTime: number; createdAt: number }): Promise<void> {
    checkString("retry job", "jobId", jobId);
    checkFresh("retry job", fresh);
    return transaction(this.#ctx, async (tx) => {
      const inserted = await tx.query(this.#s.retry, [jobId, fresh.jobId, fresh.dueTime, fresh.createdAt]);
      if (inserted.length === 0) {
        throw new JobNotFoundError(`Cannot retry job: job ${show(jobId)} is not dead-lettered`);
      }
      // The old record is gone in this transaction, so reusing its ID is allowed.
      if ((await tx.query(this.#s.deadIdInUse, [fresh.jobId])).length > 0) throw idInUse("retry job", fresh.jobId);
    });
  }

  /** Deletes a dead record; `JobNotFoundError` if there is none. */
  async deleteDead(jobId: string): Promise<void> {
    checkString("delete dead job", "jobId", jobId);
    const { count } = await this.#ctx.db.query(this.#s.deleteDead, [jobId]);
    if (count === 0) throw new JobNotFoundError(`Cannot delete dead job: job ${show(jobId)} is not dead-lettered`);
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

  /** The job if `lease` is valid; `JobNotFoundError` otherwise (batched read). */
  getLeased(lease: JobLease): Promise<JobRecord> {
    return this.#leases.getLeased(lease);
  }

  /** Deletes a completed one-shot job, or moves a repeating one and releases its lease (group-committed). */
  complete(lease: JobLease, next?: { dueTime: number }): Promise<void> {
    return this.#leases.complete(lease, next);
  }

  /** Releases a lease and sets the due time (group-committed). */
  release(lease: JobLease, update: { dueTime: number }): Promise<void> {
    return this.#leases.release(lease, update);
  }

  /** Moves a one-shot job to the dead-letter store, or records a repeating job's failed occurrence. */
  deadLetter(lease: JobLease, dead: DeadLetterRequest): Promise<void> {
    return this.#leases.deadLetter(lease, dead);
  }
}
