/**
 * Operations on one job lease of the PostgreSQL provider: read, complete,
 * release and dead-letter (fetching and renewal are `leasing.ts`).
 *
 * A lease is valid while the row exists with that `lease_id` and
 * `lease_expiration > now`; every operation repeats that check in its `WHERE`,
 * zero rows meaning `JobNotFoundError`. `getLeasedJob`, `completeLeasedJob`
 * and `releaseLeasedJob` are group-committed ({@linkcode Batcher}): the calls
 * of one macrotask become one `unnest` statement, and each call still gets
 * its own outcome (its row matched or not). A statement that fails rejects
 * its whole batch and changes nothing. Two writes of one job never share a
 * batch. Dead-lettering (a move between tables) is its own transaction.
 *
 * @module
 */

import { checkDeadLetter, checkDue, checkJobLease } from "../memory/_job_checks.ts";
import type { DeadLetterRequest, JobLease, JobRecord } from "../types.ts";
import { Batcher, type Outcome } from "./batcher.ts";
import { intArray, type PgContext, sqlFor, textArray, transaction } from "./context.ts";
import { sqlState } from "./driver.ts";
import { idInUse, JOB_COLUMNS, leaseLost, qualified, toRecord } from "./job_rows.ts";

const MAX_BATCH = 1000;
const VALID_LEASE = "job_id = $1 AND lease_id = $2 AND lease_expiration > $3";

/** A queued completion (`dueTime` null: delete the job) or release. */
interface LeaseWrite {
  lease: JobLease;
  dueTime: number | null;
  action: "complete" | "release";
}

/** Job-lease statements of one provider instance. */
export class JobLeaseStore {
  #ctx: PgContext;
  #s: Record<string, string>;
  #reads: Batcher<JobLease, JobRecord>;
  #writes: Batcher<LeaseWrite, void>;

  constructor(ctx: PgContext) {
    this.#ctx = ctx;
    const s = (text: string): string => sqlFor(ctx, text);
    this.#s = {
      getLeased: s(`SELECT l.ord, ${qualified(JOB_COLUMNS)}, j.lease_id, j.lease_expiration
                    FROM unnest($1::text[], $2::text[], $3::int4[]) AS l(job_id, lease_id, ord)
                    JOIN {p}_jobs j ON j.job_id = l.job_id AND j.lease_id = l.lease_id
                    WHERE j.lease_expiration > $4`),
      settle: s(`WITH input AS (
                   SELECT * FROM unnest($1::text[], $2::text[], $3::int8[], $4::int4[]) AS t(job_id, lease_id, due, ord)
                 ), del AS (
                   DELETE FROM {p}_jobs j USING input i
                   WHERE i.due IS NULL AND j.job_id = i.job_id AND j.lease_id = i.lease_id AND j.lease_expiration > $5
                   RETURNING i.ord
                 ), mv AS (
                   UPDATE {p}_jobs j SET due_time = i.due, lease_id = NULL, lease_expiration = NULL FROM input i
                   WHERE i.due IS NOT NULL AND j.job_id = i.job_id AND j.lease_id = i.lease_id
                     AND j.lease_expiration > $5
                   RETURNING i.ord
                 )
                 SELECT ord FROM del UNION ALL SELECT ord FROM mv`),
      lockLeased: s(`SELECT job_id FROM {p}_jobs WHERE ${VALID_LEASE} FOR UPDATE`),
      idInUse: s(`SELECT 1 FROM {p}_jobs WHERE job_id = $1 UNION ALL SELECT 1 FROM {p}_dead_jobs WHERE job_id = $1`),
      deadFromLive: s(`INSERT INTO {p}_dead_jobs (${JOB_COLUMNS}, attempts, last_error, failed_at)
                       SELECT $1, actor_type, actor_id, method, due_time, interval, cron,
                         CASE WHEN $6 THEN NULL ELSE ttl END, CASE WHEN $6 THEN NULL ELSE idempotency_key END,
                         created_at, data, $2, $3, $4
                       FROM {p}_jobs WHERE job_id = $5`),
      deleteLive: s("DELETE FROM {p}_jobs WHERE job_id = $1"),
      moveLive: s("UPDATE {p}_jobs SET due_time = $2, lease_id = NULL, lease_expiration = NULL WHERE job_id = $1"),
    };
    this.#reads = new Batcher({ run: (leases) => this.#read(leases), maxBatch: MAX_BATCH, maxInFlight: 1 });
    this.#writes = new Batcher({
      run: (writes) => this.#settle(writes),
      keys: (w) => [w.lease.jobId],
      maxBatch: MAX_BATCH,
      maxInFlight: 1,
    });
  }

  /** Resolves once every queued lease operation ran. */
  async flush(): Promise<void> {
    await Promise.all([this.#reads.flush(), this.#writes.flush()]);
  }

  /** The job if `lease` is valid; `JobNotFoundError` otherwise. */
  getLeased(lease: JobLease): Promise<JobRecord> {
    checkJobLease("get leased job", lease);
    return this.#reads.submit({ ...lease });
  }

  /** Deletes a completed one-shot job, or moves a repeating one and releases its lease. */
  complete(lease: JobLease, next?: { dueTime: number }): Promise<void> {
    checkJobLease("complete leased job", lease);
    checkDue("complete leased job", "next", next, true);
    return this.#writes.submit({ lease: { ...lease }, dueTime: next?.dueTime ?? null, action: "complete" });
  }

  /** Releases a lease and sets the due time. */
  release(lease: JobLease, update: { dueTime: number }): Promise<void> {
    checkJobLease("release leased job", lease);
    checkDue("release leased job", "update", update, false);
    return this.#writes.submit({ lease: { ...lease }, dueTime: update.dueTime, action: "release" });
  }

  /** Moves a one-shot job to the dead-letter store, or records a repeating job's failed occurrence. */
  deadLetter(lease: JobLease, dead: DeadLetterRequest): Promise<void> {
    checkDeadLetter("dead-letter job", lease, dead);
    const repeating = dead.next !== undefined;
    return transaction(this.#ctx, async (tx) => {
      const now = this.#ctx.clock.now();
      const locked = await tx.query(this.#s.lockLeased, [lease.jobId, lease.leaseId, now]);
      if (locked.length === 0) throw leaseLost("dead-letter", lease);
      if (repeating && (await tx.query(this.#s.idInUse, [dead.deadJobId])).length > 0) {
        throw idInUse("dead-letter job", dead.deadJobId);
      }
      await tx.query(this.#s.deadFromLive, [
        dead.deadJobId,
        dead.attempts,
        dead.lastError,
        dead.failedAt,
        lease.jobId,
        repeating,
      ]);
      if (dead.next === undefined) await tx.query(this.#s.deleteLive, [lease.jobId]);
      else await tx.query(this.#s.moveLive, [lease.jobId, dead.next.dueTime]);
    });
  }

  async #read(leases: readonly JobLease[]): Promise<Outcome<JobRecord>[]> {
    const now = this.#ctx.clock.now();
    const rows = await this.#ctx.db.query(this.#s.getLeased, [
      textArray(leases.map((l) => String(l.jobId))),
      textArray(leases.map((l) => String(l.leaseId))),
      intArray(leases.map((_, i) => i)),
      now,
    ]);
    const out: Outcome<JobRecord>[] = leases.map((l) => ({ error: leaseLost("get", l) }));
    for (const row of rows) out[Number(row.ord)] = { value: toRecord({ ...row, dead: false }, now) };
    return out;
  }

  async #settle(writes: readonly LeaseWrite[]): Promise<Outcome<void>[]> {
    const params = [
      textArray(writes.map((w) => w.lease.jobId)),
      textArray(writes.map((w) => w.lease.leaseId)),
      intArray(writes.map((w) => w.dueTime)),
      intArray(writes.map((_, i) => i)),
    ];
    for (let attempt = 1;; attempt++) {
      try {
        const rows = await this.#ctx.db.query(this.#s.settle, [...params, this.#ctx.clock.now()]);
        const done = new Set(rows.map((r) => Number(r.ord)));
        return writes.map((w, i) => (done.has(i) ? { value: undefined } : { error: leaseLost(w.action, w.lease) }));
      } catch (err) {
        // Sent alone, a write that fails on its data fails on its own.
        if (writes.length > 1 && ["22", "23", "54"].includes(sqlState(err)?.slice(0, 2) ?? "")) {
          return await Promise.all(writes.map(async (w) => (await this.#settle([w]))[0]));
        }
        if (attempt >= 4 || sqlState(err) !== "40P01") throw err;
      }
    }
  }
}
