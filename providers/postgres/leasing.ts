/**
 * Fetching and renewing leases in the PostgreSQL provider, shared by alarms
 * (`fetch.ts`) and jobs (`jobs.ts`). One {@linkcode Leasing} serves one
 * table, described by a {@linkcode LeaseTable}.
 *
 * A fetch first runs one statement, the table's `<p>_lease_due_*` function,
 * that walks the candidates and, if every row it takes is of an actor already
 * placed on the (healthy) host, leases them at once: placement and room do
 * not matter then. An idle poll, or a busy host working on its own actors,
 * costs one statement. Otherwise one transaction:
 * 1. the host's health and its `<p>_host_types` rows, locked `FOR UPDATE`
 *    (the same lock order as placement batches), give exact room under each
 *    `concurrencyLimit`;
 * 2. candidates come page by page from the table's `<p>_*_candidates`
 *    function, `FOR UPDATE SKIP LOCKED` in `(due_time, id)` order, so no row
 *    is ever leased twice;
 * 3. actors not yet here are placed (a dead host's placement is deleted first,
 *    conditionally, which clears its leases); an actor whose insert loses a
 *    race to another host is skipped with its rows;
 * 4. the taken rows get fresh lease IDs in one `UPDATE … FROM unnest`.
 *
 * The candidate functions read two partial indexes, unleased rows by
 * `(due_time, id)` and leased ones by `lease_expiration`, merged in order, so
 * the leases of rows being run are never scanned, with a plan that does not
 * depend on the (for a queue, routinely stale) table statistics: migration v3
 * for jobs, v4 for alarms.
 *
 * @module
 */

import type { FetchAlarmsRequest } from "../types.ts";
import { intArray, num, type PgContext, sqlFor, textArray, transaction } from "./context.ts";
import type { Queryable, Row } from "./driver.ts";

/** One leasable table. */
export interface LeaseTable<L> {
  /** Table name without prefix: `alarms` or `jobs`. */
  readonly table: string;
  /** The ID column, the tiebreak of due-time order: `alarm_id` or `job_id`. */
  readonly id: string;
  /** Columns of a lease besides the ID and `lease_id` (with `actor_type`, `actor_id`, `due_time`). */
  readonly columns: readonly string[];
  /** The candidate walk, e.g. `job_candidates` (see migration v3). */
  readonly candidates: string;
  /** The one-statement lease, e.g. `lease_due_jobs` (see migration v3). */
  readonly leaseDue: string;
  /** A lease from a row of the ID, `lease_id` and `columns`. */
  toLease(row: Row): L;
}

/** A lease as the caller names it: the row's ID and the lease ID. */
export interface LeaseRef {
  id: string;
  leaseId: string;
}

/** Below every stored due time: the cursor of a first page. */
const MIN_BIGINT = "-9223372036854775808";

/**
 * The fetch and renewal statements of one table.
 *
 * @example
 * ```ts ignore
 * const leasing = new Leasing(ctx, JOB_LEASES);
 * const leases = await leasing.fetch({ hostId, healthCheckDeadlineMs, fetchAheadMs, batchSize, leaseDurationMs });
 * ```
 */
export class Leasing<L> {
  #ctx: PgContext;
  #t: LeaseTable<L>;
  #s: Record<string, string>;

  /** @param t The table. */
  constructor(ctx: PgContext, t: LeaseTable<L>) {
    this.#ctx = ctx;
    this.#t = t;
    const s = (text: string): string => sqlFor(ctx, text);
    const leaseCols = [t.id, "lease_id", ...t.columns];
    const x = (cols: readonly string[]) => cols.map((c) => `x.${c}`).join(", ");
    const renew = `UPDATE {p}_${t.table} x SET lease_expiration = $1`;
    const placedHere = `EXISTS (SELECT 1 FROM {p}_active_actors aa WHERE aa.actor_type = x.actor_type
                          AND aa.actor_id = x.actor_id AND aa.host_id = $3)`;
    this.#s = {
      fast: s(`SELECT healthy, must_place, ${leaseCols.join(", ")} FROM {p}_${t.leaseDue}($1, $2, $3, $4, $5, $6)`),
      hostTypes: s(`SELECT h.last_health_check, h.draining, t.actor_type, t.idle_timeout_ms, t.concurrency_limit,
                      t.actor_count
                    FROM {p}_hosts h JOIN {p}_host_types t ON t.host_id = h.host_id
                    WHERE h.host_id = $1 ORDER BY t.actor_type FOR UPDATE OF t`),
      candidates: s(`SELECT src, ${t.id}, actor_type, actor_id, due_time, placed_host
                     FROM {p}_${t.candidates}($1, $2, $3, $4, $5, $6, $7)`),
      unplace: s(`DELETE FROM {p}_active_actors a USING unnest($1::text[], $2::text[], $3::text[]) AS d(t, i, h)
                  WHERE a.actor_type = d.t AND a.actor_id = d.i AND a.host_id = d.h`),
      place: s(`INSERT INTO {p}_active_actors (actor_type, actor_id, host_id, idle_timeout_ms, activated_at)
                SELECT t, i, $3, x, at FROM unnest($1::text[], $2::text[], $4::int8[], $5::int8[]) AS n(t, i, x, at)
                ON CONFLICT DO NOTHING RETURNING actor_type, actor_id`),
      lease: s(`UPDATE {p}_${t.table} x SET lease_id = u.lease_id, lease_expiration = $3
                FROM unnest($1::text[], $2::text[]) AS u(id, lease_id)
                WHERE x.${t.id} = u.id RETURNING ${x(leaseCols)}`),
      renewAll: s(`${renew} WHERE x.lease_id IS NOT NULL AND x.lease_expiration > $2 AND ${placedHere}
                   RETURNING ${x(leaseCols)}`),
      renewSome: s(`${renew} FROM unnest($4::text[], $5::text[]) AS l(id, lease_id)
                    WHERE x.${t.id} = l.id AND x.lease_id = l.lease_id AND x.lease_expiration > $2 AND ${placedHere}
                    RETURNING ${x(leaseCols)}`),
    };
  }

  /**
   * Leases due rows for `req.hostId` (validated by the caller). The single
   * statement first; the placing transaction runs only when the rows due
   * include some of actors not placed here (it re-reads everything under its
   * locks, so the first statement only decides whether to look).
   */
  async fetch(req: FetchAlarmsRequest): Promise<L[]> {
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
    if (rows[0].must_place !== true) return this.#leases(rows.filter((r) => r[this.#t.id] !== null));
    return await transaction(this.#ctx, (tx) => this.#place(tx, req));
  }

  /** Extends the valid leases of actors placed on `hostId` (only `leases`, if given); by due time. */
  async renew(hostId: string, leaseDurationMs: number, leases?: readonly LeaseRef[]): Promise<L[]> {
    const now = this.#ctx.clock.now();
    const expiration = now + leaseDurationMs;
    if (leases === undefined) {
      return this.#leases(await this.#ctx.db.query(this.#s.renewAll, [expiration, now, hostId]));
    }
    if (leases.length === 0) return [];
    return this.#leases(
      await this.#ctx.db.query(this.#s.renewSome, [
        expiration,
        now,
        hostId,
        textArray(leases.map((l) => l.id)),
        textArray(leases.map((l) => l.leaseId)),
      ]),
    );
  }

  /** Leases of rows, in `(due_time, id)` order. */
  #leases(rows: Row[]): L[] {
    return rows.sort((a, b) => this.#byRow(a, b)).map((row) => this.#t.toLease(row));
  }

  /** Candidate order: due time, then ID (code units). */
  #byRow(a: Row, b: Row): number {
    const d = num(a.due_time) - num(b.due_time);
    if (d !== 0) return d;
    const x = a[this.#t.id] as string, y = b[this.#t.id] as string;
    return x < y ? -1 : x > y ? 1 : 0;
  }

  async #place(tx: Queryable, req: FetchAlarmsRequest): Promise<L[]> {
    const id = this.#t.id;
    const now = this.#ctx.clock.now();
    const deadline = now - req.healthCheckDeadlineMs;
    const types = await tx.query(this.#s.hostTypes, [req.hostId]);
    // Unknown, dead, or serving no type: nothing to fetch.
    if (types.length === 0 || num(types[0].last_health_check) < deadline) return [];

    // Remaining room per type (a draining host takes only rows of actors already placed on it).
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
    let cursor: Row = { due_time: MIN_BIGINT, [id]: "" };
    for (;;) {
      const page = await tx.query(this.#s.candidates, [
        req.hostId,
        now + req.fetchAheadMs,
        now,
        deadline,
        cursor.due_time,
        cursor[id],
        req.batchSize,
      ]);
      // Merge the two branches. A full branch may hold more rows beyond its last one, so rows past the
      // smallest such last row wait for the next page (which starts there; our own locks do not skip).
      const full = [0, 1].map((src) => page.filter((r) => r.src === src)).filter((b) => b.length >= req.batchSize);
      const bound = full.map((b) => b[b.length - 1]).sort((a, b) => this.#byRow(a, b))[0];
      const rows = page.sort((a, b) => this.#byRow(a, b)).filter((r) =>
        bound === undefined || this.#byRow(r, bound) <= 0
      );
      for (const row of rows) {
        if (seen.has(row[id] as string)) continue; // a row of the previous page, or of both branches
        seen.add(row[id] as string);
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
      textArray(taken.map((r) => r[id] as string)),
      textArray(taken.map(() => crypto.randomUUID())),
      now + req.leaseDurationMs,
    ]);
    return this.#leases(rows);
  }
}
