/**
 * `fetchAndLeaseJobs` of the PostgreSQL provider. It follows the alarm fetch
 * of `fetch.ts` step by step in one transaction: the host check, `FOR UPDATE`
 * on the host's type rows, candidates `FOR UPDATE OF j SKIP LOCKED` in
 * `(due_time, job_id)` order, placements, then leases. Concurrent fetches
 * never lease one job twice and placements keep `concurrencyLimit`.
 *
 * That transaction is needed only to place actors. So a fetch first runs one
 * statement that walks the same candidates and, if every job it takes is of
 * an actor already placed on the host, leases them at once (placement and
 * room do not matter then). An idle poll, or a busy host working on its own
 * actors, costs one statement; the transaction runs only when the jobs due
 * include some of unplaced actors or of actors on a dead host.
 *
 * Candidates come from two partial indexes, unleased jobs by
 * `(due_time, job_id)` and leased ones by `lease_expiration`, merged in
 * order, so the leases of jobs being run are never scanned. The walk and the
 * one-statement lease are the functions `<p>_job_candidates` and
 * `<p>_lease_due_jobs` of migration v3, which pin a plan that does not depend
 * on the (for a queue, routinely stale) table statistics.
 *
 * @module
 */

import { checkFetch } from "../memory/_job_checks.ts";
import type { FetchAlarmsRequest, JobLease } from "../types.ts";
import { intArray, num, type PgContext, sqlFor, textArray, transaction } from "./context.ts";
import type { Queryable, Row } from "./driver.ts";
import { byDue, LEASE_COLUMNS, qualified, toLease } from "./job_rows.ts";

/** Below every stored due time: the cursor of a first page. */
const MIN_BIGINT = "-9223372036854775808";

/** Candidate order: due time, then job ID (code units). */
function byRow(a: Row, b: Row): number {
  const d = num(a.due_time) - num(b.due_time);
  if (d !== 0) return d;
  const x = a.job_id as string, y = b.job_id as string;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Job fetch statements of one provider instance. */
export class JobFetchStore {
  #ctx: PgContext;
  #s: Record<string, string>;

  constructor(ctx: PgContext) {
    this.#ctx = ctx;
    const s = (text: string): string => sqlFor(ctx, text);
    this.#s = {
      // The walk and, if every job taken is of an actor already placed here, the leases: one statement
      // (see migration v3). Most polls find nothing due and end here without writing anything.
      fast: s(`SELECT healthy, must_place, job_id, lease_id, actor_type, actor_id, due_time
               FROM {p}_lease_due_jobs($1, $2, $3, $4, $5, $6)`),
      // The host's health and its type rows, locked (the same lock order as placement batches).
      hostTypes: s(`SELECT h.last_health_check, h.draining, t.actor_type, t.idle_timeout_ms, t.concurrency_limit,
                      t.actor_count
                    FROM {p}_hosts h JOIN {p}_host_types t ON t.host_id = h.host_id
                    WHERE h.host_id = $1 ORDER BY t.actor_type FOR UPDATE OF t`),
      candidates: s(`SELECT src, job_id, actor_type, actor_id, due_time, placed_host
                     FROM {p}_job_candidates($1, $2, $3, $4, $5, $6, $7)`),
      unplace: s(`DELETE FROM {p}_active_actors a USING unnest($1::text[], $2::text[], $3::text[]) AS d(t, i, h)
                  WHERE a.actor_type = d.t AND a.actor_id = d.i AND a.host_id = d.h`),
      place: s(`INSERT INTO {p}_active_actors (actor_type, actor_id, host_id, idle_timeout_ms, activated_at)
                SELECT t, i, $3, x, at FROM unnest($1::text[], $2::text[], $4::int8[], $5::int8[]) AS n(t, i, x, at)
                ON CONFLICT DO NOTHING RETURNING actor_type, actor_id`),
      lease: s(`UPDATE {p}_jobs j SET lease_id = u.lease_id, lease_expiration = $3
                FROM unnest($1::text[], $2::text[]) AS u(job_id, lease_id)
                WHERE j.job_id = u.job_id RETURNING ${qualified(LEASE_COLUMNS)}`),
    };
  }

  /** See `ActorProvider.fetchAndLeaseJobs`. */
  fetchAndLease(req: FetchAlarmsRequest): Promise<JobLease[]> {
    checkFetch("fetch jobs", req);
    return this.#fetchIfAny(req);
  }

  /**
   * The single statement first; the placing transaction runs only when the
   * jobs due include some of actors not placed here (it re-reads everything
   * under its locks, so the first statement only decides whether to look).
   */
  async #fetchIfAny(req: FetchAlarmsRequest): Promise<JobLease[]> {
    const now = this.#ctx.clock.now();
    const rows = await this.#ctx.db.query(this.#s.fast, [
      req.hostId,
      now + req.fetchAheadMs,
      now,
      now - req.healthCheckDeadlineMs,
      req.batchSize,
      now + req.leaseDurationMs,
    ]);
    if (rows[0]?.healthy !== true) return [];
    if (rows[0].must_place !== true) return rows.filter((r) => r.job_id !== null).map(toLease).sort(byDue);
    return await transaction(this.#ctx, (tx) => this.#fetch(tx, req));
  }

  async #fetch(tx: Queryable, req: FetchAlarmsRequest): Promise<JobLease[]> {
    const now = this.#ctx.clock.now();
    const deadline = now - req.healthCheckDeadlineMs;
    const types = await tx.query(this.#s.hostTypes, [req.hostId]);
    // Unknown, dead, or serving no type: nothing to fetch.
    if (types.length === 0 || num(types[0].last_health_check) < deadline) return [];

    // Remaining room per type (a draining host takes only jobs of actors already placed on it).
    const room = new Map<string, { remaining: number; idle: number | null }>();
    for (const t of types) {
      const limit = Number(t.concurrency_limit);
      room.set(t.actor_type as string, {
        remaining: t.draining === true ? 0 : limit === 0 ? Infinity : limit - Number(t.actor_count),
        idle: t.idle_timeout_ms === null ? null : num(t.idle_timeout_ms),
      });
    }

    const picked: Row[] = [];
    const placing = new Map<string, { row: Row; activatedAt: number }>();
    const seen = new Set<string>();
    let cursor: Row = { due_time: MIN_BIGINT, job_id: "" };
    for (;;) {
      const page = await tx.query(this.#s.candidates, [
        req.hostId,
        now + req.fetchAheadMs,
        now,
        deadline,
        cursor.due_time,
        cursor.job_id,
        req.batchSize,
      ]);
      // Merge the two branches. A full branch may hold more rows beyond its last one, so rows past the
      // smallest such last row wait for the next page (which starts there; our own locks do not skip).
      const full = [0, 1].map((src) => page.filter((r) => r.src === src)).filter((b) => b.length >= req.batchSize);
      const bound = full.map((b) => b[b.length - 1]).sort(byRow)[0];
      const rows = page.sort(byRow).filter((r) => bound === undefined || byRow(r, bound) <= 0);
      for (const row of rows) {
        if (seen.has(row.job_id as string)) continue; // a row of the previous page, or of both branches
        seen.add(row.job_id as string);
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
      if (picked.length >= req.batchSize || bound === undefined) break;
      cursor = bound;
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
}
