/**
 * `fetchAndLeaseAlarms` and `renewAlarmLeases` of the PostgreSQL provider.
 *
 * A fetch is one transaction:
 * 1. the fetching host must be known and healthy (else `[]`);
 * 2. its `<p>_host_types` rows are locked `FOR UPDATE` (the same lock order as
 *    placement batches), giving exact room under each `concurrencyLimit`;
 * 3. due, unleased alarms of types it serves whose actor is unplaced, placed
 *    here or placed on a dead host are read in `(due_time, alarm_id)` order,
 *    page by page, `FOR UPDATE OF al SKIP LOCKED`: an alarm another fetch
 *    holds is skipped, so no alarm is ever leased twice;
 * 4. actors not yet here are placed (a dead host's placement is deleted first,
 *    conditionally, which clears its leases); an actor whose insert loses a
 *    race to another host is skipped with its alarms;
 * 5. the taken alarms get fresh lease IDs in one `UPDATE … FROM unnest`.
 *
 * @module
 */

import { checkInteger, checkString } from "../memory/_validate.ts";
import type { AlarmLease, FetchAlarmsRequest, RenewLeasesRequest } from "../types.ts";
import { intArray, num, type PgContext, sqlFor, textArray, transaction } from "./context.ts";
import type { Queryable, Row } from "./driver.ts";

const LEASE_COLUMNS = "alarm_id, lease_id, actor_type, actor_id, name, due_time";

/** Fetch and renewal statements of one provider instance. */
export class FetchStore {
  #ctx: PgContext;
  #s: Record<string, string>;

  constructor(ctx: PgContext) {
    this.#ctx = ctx;
    const s = (text: string): string => sqlFor(ctx, text);
    this.#s = {
      host: s("SELECT last_health_check, draining FROM {p}_hosts WHERE host_id = $1"),
      lockTypes: s(`SELECT actor_type, idle_timeout_ms, concurrency_limit, actor_count FROM {p}_host_types
                    WHERE host_id = $1 ORDER BY actor_type FOR UPDATE`),
      candidates: s(`SELECT al.alarm_id, al.actor_type, al.actor_id, al.name, al.due_time, aa.host_id AS placed_host
                     FROM {p}_alarms al
                     JOIN {p}_host_types t ON t.host_id = $1 AND t.actor_type = al.actor_type
                     LEFT JOIN {p}_active_actors aa ON aa.actor_type = al.actor_type AND aa.actor_id = al.actor_id
                     LEFT JOIN {p}_hosts h ON h.host_id = aa.host_id
                     WHERE al.due_time <= $2 AND (al.lease_id IS NULL OR al.lease_expiration <= $3)
                       AND (aa.host_id IS NULL OR aa.host_id = $1 OR h.last_health_check < $4)
                       AND ($5::bigint IS NULL OR (al.due_time, al.alarm_id) > ($5::bigint, $6::text))
                     ORDER BY al.due_time, al.alarm_id
                     LIMIT $7
                     FOR UPDATE OF al SKIP LOCKED`),
      // The candidates' joins and conditions without locks: most polls find nothing due and end here.
      probe: s(`SELECT 1 FROM {p}_alarms al
                JOIN {p}_host_types t ON t.host_id = $1 AND t.actor_type = al.actor_type
                LEFT JOIN {p}_active_actors aa ON aa.actor_type = al.actor_type AND aa.actor_id = al.actor_id
                LEFT JOIN {p}_hosts h ON h.host_id = aa.host_id
                WHERE al.due_time <= $2 AND (al.lease_id IS NULL OR al.lease_expiration <= $3)
                  AND (aa.host_id IS NULL OR aa.host_id = $1 OR h.last_health_check < $4)
                LIMIT 1`),
      unplace: s(`DELETE FROM {p}_active_actors a USING unnest($1::text[], $2::text[], $3::text[]) AS d(t, i, h)
                  WHERE a.actor_type = d.t AND a.actor_id = d.i AND a.host_id = d.h`),
      place: s(`INSERT INTO {p}_active_actors (actor_type, actor_id, host_id, idle_timeout_ms, activated_at)
                SELECT t, i, $3, x, at FROM unnest($1::text[], $2::text[], $4::int8[], $5::int8[]) AS n(t, i, x, at)
                ON CONFLICT DO NOTHING RETURNING actor_type, actor_id`),
      lease: s(`UPDATE {p}_alarms al SET lease_id = u.lease_id, lease_expiration = $3
                FROM unnest($1::text[], $2::text[]) AS u(alarm_id, lease_id)
                WHERE al.alarm_id = u.alarm_id RETURNING al.${LEASE_COLUMNS.replaceAll(", ", ", al.")}`),
      renewAll: s(`UPDATE {p}_alarms al SET lease_expiration = $1
                   WHERE al.lease_id IS NOT NULL AND al.lease_expiration > $2 AND EXISTS (
                     SELECT 1 FROM {p}_active_actors aa WHERE aa.actor_type = al.actor_type
                       AND aa.actor_id = al.actor_id AND aa.host_id = $3)
                   RETURNING ${LEASE_COLUMNS}`),
      renewSome: s(`UPDATE {p}_alarms al SET lease_expiration = $1
                    FROM unnest($4::text[], $5::text[]) AS l(alarm_id, lease_id)
                    WHERE al.alarm_id = l.alarm_id AND al.lease_id = l.lease_id AND al.lease_expiration > $2
                      AND EXISTS (SELECT 1 FROM {p}_active_actors aa WHERE aa.actor_type = al.actor_type
                        AND aa.actor_id = al.actor_id AND aa.host_id = $3)
                    RETURNING al.${LEASE_COLUMNS.replaceAll(", ", ", al.")}`),
    };
  }

  /** See `ActorProvider.fetchAndLeaseAlarms`. */
  fetchAndLease(req: FetchAlarmsRequest): Promise<AlarmLease[]> {
    const action = "fetch alarms";
    checkString(action, "hostId", req.hostId);
    checkInteger(action, "healthCheckDeadlineMs", req.healthCheckDeadlineMs, 1);
    checkInteger(action, "fetchAheadMs", req.fetchAheadMs, 0);
    checkInteger(action, "batchSize", req.batchSize, 1);
    checkInteger(action, "leaseDurationMs", req.leaseDurationMs, 1);
    return this.#fetchIfAny(req);
  }

  /**
   * An idle poll is one lock-free statement; the locking transaction runs only
   * when something looks due (it re-reads everything under its locks, so the
   * probe only decides whether to look). An alarm written just after the probe
   * waits for the next poll, as it would if it had been written after the fetch.
   */
  async #fetchIfAny(req: FetchAlarmsRequest): Promise<AlarmLease[]> {
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

  async #fetch(tx: Queryable, req: FetchAlarmsRequest): Promise<AlarmLease[]> {
    const now = this.#ctx.clock.now();
    const deadline = now - req.healthCheckDeadlineMs;
    const [host] = await tx.query(this.#s.host, [req.hostId]);
    if (host === undefined || num(host.last_health_check) < deadline) return [];

    // Remaining room per type (a draining host takes only alarms of actors already placed on it).
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
        cursor === undefined ? null : cursor.alarm_id,
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
      textArray(taken.map((r) => r.alarm_id as string)),
      textArray(taken.map(() => crypto.randomUUID())),
      now + req.leaseDurationMs,
    ]);
    return rows.map(toLease).sort(byDue);
  }

  /** See `ActorProvider.renewAlarmLeases`. */
  async renew(req: RenewLeasesRequest): Promise<AlarmLease[]> {
    checkString("renew alarm leases", "hostId", req.hostId);
    checkInteger("renew alarm leases", "leaseDurationMs", req.leaseDurationMs, 1);
    if (req.leases !== undefined && !Array.isArray(req.leases)) {
      throw new TypeError("Cannot renew alarm leases: leases must be an array");
    }
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
      textArray(req.leases.map((l) => String(l.alarmId))),
      textArray(req.leases.map((l) => String(l.leaseId))),
    ]);
    return rows.map(toLease).sort(byDue);
  }
}

function toLease(row: Row): AlarmLease {
  return {
    alarmId: row.alarm_id as string,
    leaseId: row.lease_id as string,
    actorType: row.actor_type as string,
    actorId: row.actor_id as string,
    name: row.name as string,
    dueTime: num(row.due_time),
  };
}

function byDue(a: AlarmLease, b: AlarmLease): number {
  return a.dueTime - b.dueTime || (a.alarmId < b.alarmId ? -1 : a.alarmId > b.alarmId ? 1 : 0);
}
