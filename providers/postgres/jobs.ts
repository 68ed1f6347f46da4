/**
 * Durable jobs, their dead-letter store and job leases of the PostgreSQL provider.
 *
 * A live job's `job_id` never changes, so a lease is valid while the row
 * exists with that `lease_id` and `lease_expiration > now`; single-job lease
 * operations are one conditional statement each. Fetching follows the alarm
 * fetch of `fetch.ts` step by step (host check, `FOR UPDATE` on the host's
 * type rows, candidates `FOR UPDATE OF j SKIP LOCKED` in `(due_time, job_id)`
 * order, placements, then leases), so concurrent fetches never lease one job
 * twice and placements keep `concurrencyLimit`.
 *
 * The partial unique index on `(actor_type, actor_id, idempotency_key)` makes
 * a key unique among an actor's live jobs: `dispatchJob` inserts with
 * `ON CONFLICT … DO NOTHING` and, when it lost to a concurrent dispatch,
 * reads the winner in a new statement (READ COMMITTED sees its commit).
 * Deleting a placement clears the actor's job leases in the trigger function.
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
import { checkString, show } from "../memory/_validate.ts";
import type {
  DeadLetterRequest,
  DispatchJobRequest,
  FetchAlarmsRequest,
  JobLease,
  JobRecord,
  RenewJobLeasesRequest,
} from "../types.ts";
import { copyBytes, intArray, num, type PgContext, sqlFor, textArray, transaction } from "./context.ts";
import type { Queryable, Row } from "./driver.ts";

const JOB_COLUMNS =
  "job_id, actor_type, actor_id, method, due_time, interval, cron, ttl, idempotency_key, created_at, data";
const LEASE_COLUMNS = "job_id, lease_id, actor_type, actor_id, due_time";
const VALID_LEASE = "job_id = $1 AND lease_id = $2 AND lease_expiration > $3";

/** Job statements of one provider instance. */
export class JobStore {
  #ctx: PgContext;
  #s: Record<string, string>;

  constructor(ctx: PgContext) {
    this.#ctx = ctx;
    const s = (text: string): string => sqlFor(ctx, text);
    const qualified = (cols: string) => cols.split(", ").map((c) => `j.${c}`).join(", ");
    this.#s = {
      byKey: s(`SELECT job_id FROM {p}_jobs WHERE actor_type = $1 AND actor_id = $2 AND idempotency_key = $3`),
      idInUse: s(`SELECT 1 FROM {p}_jobs WHERE job_id = $1 UNION ALL SELECT 1 FROM {p}_dead_jobs WHERE job_id = $1`),
      deadIdInUse: s(`SELECT 1 FROM {p}_dead_jobs WHERE job_id = $1`),
      // Hosts hear of a new job at commit (LISTEN/NOTIFY) instead of at their next poll.
      insert: s(`WITH ins AS (
                   INSERT INTO {p}_jobs (${JOB_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                   ON CONFLICT (actor_type, actor_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
                   RETURNING job_id, due_time)
                 SELECT job_id, pg_notify($12, due_time::text) FROM ins`),
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
      host: s("SELECT last_health_check, draining FROM {p}_hosts WHERE host_id = $1"),
      lockTypes: s(`SELECT actor_type, idle_timeout_ms, concurrency_limit, actor_count FROM {p}_host_types
                    WHERE host_id = $1 ORDER BY actor_type FOR UPDATE`),
      candidates: s(`SELECT j.job_id, j.actor_type, j.actor_id, j.due_time, aa.host_id AS placed_host
                     FROM {p}_jobs j
                     JOIN {p}_host_types t ON t.host_id = $1 AND t.actor_type = j.actor_type
                     LEFT JOIN {p}_active_actors aa ON aa.actor_type = j.actor_type AND aa.actor_id = j.actor_id
                     LEFT JOIN {p}_hosts h ON h.host_id = aa.host_id
                     WHERE j.due_time <= $2 AND (j.lease_id IS NULL OR j.lease_expiration <= $3)
                       AND (aa.host_id IS NULL OR aa.host_id = $1 OR h.last_health_check < $4)
                       AND ($5::bigint IS NULL OR (j.due_time, j.job_id) > ($5::bigint, $6::text))
                     ORDER BY j.due_time, j.job_id
                     LIMIT $7
                     FOR UPDATE OF j SKIP LOCKED`),
      // The candidates' joins and conditions without locks: most polls find nothing due and end here.
      probe: s(`SELECT 1 FROM {p}_jobs j
                JOIN {p}_host_types t ON t.host_id = $1 AND t.actor_type = j.actor_type
                LEFT JOIN {p}_active_actors aa ON aa.actor_type = j.actor_type AND aa.actor_id = j.actor_id
                LEFT JOIN {p}_hosts h ON h.host_id = aa.host_id
                WHERE j.due_time <= $2 AND (j.lease_id IS NULL OR j.lease_expiration <= $3)
                  AND (aa.host_id IS NULL OR aa.host_id = $1 OR h.last_health_check < $4)
                LIMIT 1`),
      unplace: s(`DELETE FROM {p}_active_actors a USING unnest($1::text[], $2::text[], $3::text[]) AS d(t, i, h)
                  WHERE a.actor_type = d.t AND a.actor_id = d.i AND a.host_id = d.h`),
      place: s(`INSERT INTO {p}_active_actors (actor_type, actor_id, host_id, idle_timeout_ms, activated_at)
                SELECT t, i, $3, x, at FROM unnest($1::text[], $2::text[], $4::int8[], $5::int8[]) AS n(t, i, x, at)
                ON CONFLICT DO NOTHING RETURNING actor_type, actor_id`),
      lease: s(`UPDATE {p}_jobs j SET lease_id = u.lease_id, lease_expiration = $3
                FROM unnest($1::text[], $2::text[]) AS u(job_id, lease_id)
                WHERE j.job_id = u.job_id RETURNING ${qualified(LEASE_COLUMNS)}`),
      renewAll: s(`UPDATE {p}_jobs j SET lease_expiration = $1
                   WHERE j.lease_id IS NOT NULL AND j.lease_expiration > $2 AND EXISTS (
                     SELECT 1 FROM {p}_active_actors aa WHERE aa.actor_type = j.actor_type
                       AND aa.actor_id = j.actor_id AND aa.host_id = $3)
                   RETURNING ${LEASE_COLUMNS}`),
      renewSome: s(`UPDATE {p}_jobs j SET lease_expiration = $1
                    FROM unnest($4::text[], $5::text[]) AS l(job_id, lease_id)
                    WHERE j.job_id = l.job_id AND j.lease_id = l.lease_id AND j.lease_expiration > $2
                      AND EXISTS (SELECT 1 FROM {p}_active_actors aa WHERE aa.actor_type = j.actor_type
                        AND aa.actor_id = j.actor_id AND aa.host_id = $3)
                    RETURNING ${qualified(LEASE_COLUMNS)}`),
      getLeased: s(`SELECT ${JOB_COLUMNS}, lease_id, lease_expiration FROM {p}_jobs WHERE ${VALID_LEASE}`),
      lockLeased: s(`SELECT job_id FROM {p}_jobs WHERE ${VALID_LEASE} FOR UPDATE`),
      deleteLeased: s(`DELETE FROM {p}_jobs WHERE ${VALID_LEASE}`),
      moveRelease: s(`UPDATE {p}_jobs SET due_time = $4, lease_id = NULL, lease_expiration = NULL
                      WHERE ${VALID_LEASE}`),
      deadFromLive: s(`INSERT INTO {p}_dead_jobs (${JOB_COLUMNS}, attempts, last_error, failed_at)
                       SELECT $1, actor_type, actor_id, method, due_time, interval, cron,
                         CASE WHEN $6 THEN NULL ELSE ttl END, CASE WHEN $6 THEN NULL ELSE idempotency_key END,
                         created_at, data, $2, $3, $4
                       FROM {p}_jobs WHERE job_id = $5`),
      deleteLive: s("DELETE FROM {p}_jobs WHERE job_id = $1"),
      moveLive: s("UPDATE {p}_jobs SET due_time = $2, lease_id = NULL, lease_expiration = NULL WHERE job_id = $1"),
    };
  }

  /** See `ActorProvider.dispatchJob`. */
  dispatch(req: DispatchJobRequest): Promise<{ jobId: string; created: boolean }> {
    checkDispatch("dispatch job", req);
    const data = req.data === undefined || req.data.length === 0 ? null : req.data.slice();
    const key = req.idempotencyKey ?? null;
    const params = [
      req.jobId,
      req.actorType,
      req.actorId,
      req.method,
      req.dueTime,
      req.interval ?? null,
      req.cron ?? null,
      req.ttl ?? null,
      key,
      req.createdAt,
      data,
      jobChannel(this.#ctx.prefix),
    ];
    return transaction(this.#ctx, async (tx) => {
      // A concurrent dispatch may hold the key and then finish; a few rounds settle every race.
      for (let round = 0; round < 4; round++) {
        if (key !== null) {
          const [holder] = await tx.query(this.#s.byKey, [req.actorType, req.actorId, key]);
          if (holder !== undefined) return { jobId: holder.job_id as string, created: false };
        }
        if ((await tx.query(this.#s.idInUse, [req.jobId])).length > 0) throw idInUse("dispatch job", req.jobId);
        const inserted = await tx.query(this.#s.insert, params);
        if (inserted.length > 0) return { jobId: req.jobId, created: true };
      }
      throw new ProviderError(`Cannot dispatch job: idempotency key ${show(key)} kept changing hands`);
    });
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
    return this.#fetchIfAny(req);
  }

  /** As for alarms: an idle poll is one lock-free statement, and the locking transaction runs only when something looks due. */
  async #fetchIfAny(req: FetchAlarmsRequest): Promise<JobLease[]> {
    const now = this.#ctx.clock.now();
    const probe = await this.#ctx.db.query(this.#s.probe, [
      req.hostId,
      now + req.fetchAheadMs,
      now,
      now - req.healthCheckDeadlineMs,
    ]);
    if (probe.length === 0) return [];
    return await transaction(this.#ctx, (tx) => this.#fetch(tx, req));
  }

  async #fetch(tx: Queryable, req: FetchAlarmsRequest): Promise<JobLease[]> {
    const now = this.#ctx.clock.now();
    const deadline = now - req.healthCheckDeadlineMs;
    const [host] = await tx.query(this.#s.host, [req.hostId]);
    if (host === undefined || num(host.last_health_check) < deadline) return [];

    // Remaining room per type (a draining host takes only jobs of actors already placed on it).
    const room = new Map<string, { remaining: number; idle: number | null }>();
    for (const t of await tx.query(this.#s.lockTypes, [req.hostId])) {
      const limit = Number(t.concurrency_limit);
      room.set(t.actor_type as string, {
        remaining: host.draining === true ? 0 : limit === 0 ? Infinity : limit - Number(t.actor_count),
        idle: t.idle_timeout_ms === null ? null : num(t.idle_timeout_ms),
      });
    }

    const picked: Row[] = [];
    const placing = new Map<string, { row: Row; activatedAt: number }>();
    let cursor: Row | undefined;
    for (;;) {
      const page = await tx.query(this.#s.candidates, [
        req.hostId,
        now + req.fetchAheadMs,
        now,
        deadline,
        cursor === undefined ? null : cursor.due_time,
        cursor === undefined ? null : cursor.job_id,
        req.batchSize,
      ]);
      for (const row of page) {
        const key = `${row.actor_type}\u0000${row.actor_id}`;
        if (row.placed_host !== req.hostId && !placing.has(key)) {
          const r = room.get(row.actor_type as string);
          if (r === undefined || r.remaining <= 0) continue;
          r.remaining--;
          placing.set(key, { row, activatedAt: Math.max(now, num(row.due_time)) });
        }
        picked.push(row);
        if (picked.length >= req.batchSize) break;
      }
      if (picked.length >= req.batchSize || page.length < req.batchSize) break;
      cursor = page[page.length - 1];
    }

    let lost = new Set<string>();
    if (placing.size > 0) {
      const moves = [...placing.values()];
      const dead = moves.filter((m) => m.row.placed_host !== null);
      if (dead.length > 0) {
        await tx.query(this.#s.unplace, [
          textArray(dead.map((m) => m.row.actor_type as string)),
          textArray(dead.map((m) => m.row.actor_id as string)),
          textArray(dead.map((m) => m.row.placed_host as string)),
        ]);
      }
      const inserted = await tx.query(this.#s.place, [
        textArray(moves.map((m) => m.row.actor_type as string)),
        textArray(moves.map((m) => m.row.actor_id as string)),
        req.hostId,
        intArray(moves.map((m) => room.get(m.row.actor_type as string)!.idle)),
        intArray(moves.map((m) => m.activatedAt)),
      ]);
      const won = new Set(inserted.map((r) => `${r.actor_type}\u0000${r.actor_id}`));
      lost = new Set([...placing.keys()].filter((k) => !won.has(k)));
    }
    const taken = picked.filter((row) => !lost.has(`${row.actor_type}\u0000${row.actor_id}`));
    if (taken.length === 0) return [];
    const rows = await tx.query(this.#s.lease, [
      textArray(taken.map((r) => r.job_id as string)),
      textArray(taken.map(() => crypto.randomUUID())),
      now + req.leaseDurationMs,
    ]);
    return rows.map(toLease).sort(byDue);
  }

  /** See `ActorProvider.renewJobLeases`. */
  async renew(req: RenewJobLeasesRequest): Promise<JobLease[]> {
    checkRenew("renew job leases", req);
    const now = this.#ctx.clock.now();
    const expiration = now + req.leaseDurationMs;
    if (req.leases === undefined) {
      const rows = await this.#ctx.db.query(this.#s.renewAll, [expiration, now, req.hostId]);
      return rows.map(toLease).sort(byDue);
    }
    if (req.leases.length === 0) return [];
    const rows = await this.#ctx.db.query(this.#s.renewSome, [
      expiration,
      now,
      req.hostId,
      textArray(req.leases.map((l) => String(l?.jobId))),
      textArray(req.leases.map((l) => String(l?.leaseId))),
    ]);
    return rows.map(toLease).sort(byDue);
  }

  /** The job if `lease` is valid; `JobNotFoundError` otherwise. */
  async getLeased(lease: JobLease): Promise<JobRecord> {
    checkJobLease("get leased job", lease);
    const now = this.#ctx.clock.now();
    const [row] = await this.#ctx.db.query(this.#s.getLeased, [lease.jobId, lease.leaseId, now]);
    if (row === undefined) throw leaseLost("get", lease);
    return toRecord({ ...row, dead: false }, now);
  }

  /** Deletes a completed one-shot job, or moves a repeating one and releases its lease. */
  async complete(lease: JobLease, next?: { dueTime: number }): Promise<void> {
    checkJobLease("complete leased job", lease);
    checkDue("complete leased job", "next", next, true);
    const now = this.#ctx.clock.now();
    const { count } = next === undefined
      ? await this.#ctx.db.query(this.#s.deleteLeased, [lease.jobId, lease.leaseId, now])
      : await this.#ctx.db.query(this.#s.moveRelease, [lease.jobId, lease.leaseId, now, next.dueTime]);
    if (count === 0) throw leaseLost("complete", lease);
  }

  /** Releases a lease and sets the due time. */
  async release(lease: JobLease, update: { dueTime: number }): Promise<void> {
    checkJobLease("release leased job", lease);
    checkDue("release leased job", "update", update, false);
    const now = this.#ctx.clock.now();
    const { count } = await this.#ctx.db.query(this.#s.moveRelease, [
      lease.jobId,
      lease.leaseId,
      now,
      update.dueTime,
    ]);
    if (count === 0) throw leaseLost("release", lease);
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
}

function toRecord(row: Row, now: number): JobRecord {
  const dead = row.dead === true;
  const leased = row.lease_id !== null && row.lease_id !== undefined && num(row.lease_expiration) > now;
  const record: JobRecord = {
    jobId: row.job_id as string,
    actorType: row.actor_type as string,
    actorId: row.actor_id as string,
    method: row.method as string,
    status: dead ? "dead-lettered" : leased ? "active" : "pending",
    dueTime: num(row.due_time),
    createdAt: num(row.created_at),
    attempts: dead ? Number(row.attempts) : 0,
  };
  if (row.interval !== null) record.interval = row.interval as string;
  if (row.cron !== null) record.cron = row.cron as string;
  if (row.ttl !== null) record.ttl = num(row.ttl);
  if (row.idempotency_key !== null) record.idempotencyKey = row.idempotency_key as string;
  if (row.data !== null) record.data = copyBytes(row.data);
  if (dead) {
    record.lastError = row.last_error as string;
    record.failedAt = num(row.failed_at);
  }
  return record;
}

function toLease(row: Row): JobLease {
  return {
    jobId: row.job_id as string,
    leaseId: row.lease_id as string,
    actorType: row.actor_type as string,
    actorId: row.actor_id as string,
    dueTime: num(row.due_time),
  };
}

function byDue(a: JobLease, b: JobLease): number {
  return a.dueTime - b.dueTime || (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0);
}

function byCreation(a: JobRecord, b: JobRecord): number {
  return a.createdAt - b.createdAt || (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0);
}

function idInUse(action: string, jobId: string): ProviderError {
  return new ProviderError(`Cannot ${action}: job ID ${show(jobId)} is already in use`);
}

function leaseLost(action: string, lease: JobLease): JobNotFoundError {
  return new JobNotFoundError(
    `Cannot ${action} leased job: job ${show(lease.jobId)} is gone or its lease ${
      show(lease.leaseId)
    } is no longer valid`,
  );
}

/** The NOTIFY channel of new jobs for a table prefix. */
export function jobChannel(prefix: string): string {
  return `${prefix}_job_set`;
}
