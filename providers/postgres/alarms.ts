/**
 * Alarms and single-alarm lease operations of the PostgreSQL provider
 * (fetching and renewal are in `fetch.ts`).
 *
 * A lease is valid while `lease_id` matches and `lease_expiration > now`.
 * Changing an alarm's properties gives it a new `alarm_id`, which invalidates
 * every outstanding lease. Each method is one statement; `setAlarm` compares
 * and writes in one upsert and, when it changed the alarm, sends
 * `pg_notify(<prefix>_alarm_set, dueTime)` in the same statement, which the
 * server delivers only after the commit.
 *
 * @module
 */

import { AlarmNotFoundError } from "../../errors.ts";
import { checkBytes, checkInteger, checkString, checkTime, show } from "../memory/_validate.ts";
import type { AlarmLease, AlarmProperties, AlarmRecord } from "../types.ts";
import { copyBytes, num, type PgContext, sqlFor } from "./context.ts";
import type { Row } from "./driver.ts";

const VALID_LEASE = "alarm_id = $1 AND lease_id = $2 AND lease_expiration > $3";

/** The NOTIFY channel of a table prefix. */
export function alarmChannel(prefix: string): string {
  return `${prefix}_alarm_set`;
}

/** Alarm statements of one provider instance. */
export class AlarmStore {
  #ctx: PgContext;
  #s: Record<string, string>;

  constructor(ctx: PgContext) {
    this.#ctx = ctx;
    const s = (text: string): string => sqlFor(ctx, text);
    this.#s = {
      get: s(`SELECT due_time, interval, ttl, data FROM {p}_alarms
              WHERE actor_type = $1 AND actor_id = $2 AND name = $3`),
      set: s(`WITH changed AS (
                INSERT INTO {p}_alarms AS al (alarm_id, actor_type, actor_id, name, due_time, interval, ttl, data)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                ON CONFLICT (actor_type, actor_id, name) DO UPDATE SET alarm_id = excluded.alarm_id,
                  due_time = excluded.due_time, interval = excluded.interval, ttl = excluded.ttl,
                  data = excluded.data, lease_id = NULL, lease_expiration = NULL
                WHERE (al.due_time, al.interval, al.ttl, al.data)
                  IS DISTINCT FROM (excluded.due_time, excluded.interval, excluded.ttl, excluded.data)
                RETURNING due_time)
              SELECT pg_notify($9, due_time::text) FROM changed`),
      delete: s("DELETE FROM {p}_alarms WHERE actor_type = $1 AND actor_id = $2 AND name = $3"),
      getLeased: s(`SELECT actor_type, actor_id, name, due_time, interval, ttl, data FROM {p}_alarms
                    WHERE ${VALID_LEASE}`),
      moveKeep: s(`UPDATE {p}_alarms SET due_time = $4, lease_expiration = $5 WHERE ${VALID_LEASE}`),
      moveRelease: s(`UPDATE {p}_alarms SET due_time = $4, lease_id = NULL, lease_expiration = NULL
                      WHERE ${VALID_LEASE}`),
      deleteLeased: s(`DELETE FROM {p}_alarms WHERE ${VALID_LEASE}`),
      release: s(`UPDATE {p}_alarms SET lease_id = NULL, lease_expiration = NULL WHERE ${VALID_LEASE}`),
    };
  }

  /** The alarm; `AlarmNotFoundError` if absent. */
  async get(actorType: string, actorId: string, name: string): Promise<AlarmRecord> {
    checkRef("get alarm", actorType, actorId, name);
    const rows = await this.#ctx.db.query(this.#s.get, [actorType, actorId, name]);
    if (rows.length === 0) throw notFound("get", actorType, actorId, name);
    return toRecord(actorType, actorId, name, rows[0]);
  }

  /** Creates or replaces an alarm; identical properties are a no-op. */
  async set(actorType: string, actorId: string, name: string, props: AlarmProperties): Promise<void> {
    const action = "set alarm";
    checkRef(action, actorType, actorId, name);
    if (typeof props !== "object" || props === null) {
      throw new TypeError(`Cannot ${action}: props must be an object (got ${show(props)})`);
    }
    checkTime(action, "dueTime", props.dueTime);
    if (props.interval !== undefined) checkString(action, "interval", props.interval);
    if (props.ttl !== undefined) checkTime(action, "ttl", props.ttl);
    if (props.data !== undefined) checkBytes(action, "data", props.data);
    // Empty data is no data; a non-empty value is copied by the driver as it serialises the call.
    const data = props.data === undefined || props.data.length === 0 ? null : props.data.slice();
    await this.#ctx.db.query(this.#s.set, [
      crypto.randomUUID(),
      actorType,
      actorId,
      name,
      props.dueTime,
      props.interval ?? null,
      props.ttl ?? null,
      data,
      alarmChannel(this.#ctx.prefix),
    ]);
  }

  /** Deletes an alarm; `AlarmNotFoundError` if absent. */
  async delete(actorType: string, actorId: string, name: string): Promise<void> {
    checkRef("delete alarm", actorType, actorId, name);
    const { count } = await this.#ctx.db.query(this.#s.delete, [actorType, actorId, name]);
    if (count === 0) throw notFound("delete", actorType, actorId, name);
  }

  /** The alarm if `lease` is valid; `AlarmNotFoundError` otherwise. */
  async getLeased(lease: AlarmLease): Promise<AlarmRecord> {
    checkLease("get leased alarm", lease);
    const rows = await this.#ctx.db.query(this.#s.getLeased, [lease.alarmId, lease.leaseId, this.#ctx.clock.now()]);
    if (rows.length === 0) throw leaseLost("get", lease);
    const row = rows[0];
    return toRecord(row.actor_type as string, row.actor_id as string, row.name as string, row);
  }

  /** Moves a leased alarm, keeping or releasing the lease. */
  async updateLeased(
    lease: AlarmLease,
    update: { dueTime: number; keepLease: boolean; leaseDurationMs: number },
  ): Promise<void> {
    checkLease("update leased alarm", lease);
    checkTime("update leased alarm", "dueTime", update.dueTime);
    checkInteger("update leased alarm", "leaseDurationMs", update.leaseDurationMs, 1);
    const now = this.#ctx.clock.now();
    const { count } = update.keepLease
      ? await this.#ctx.db.query(this.#s.moveKeep, [
        lease.alarmId,
        lease.leaseId,
        now,
        update.dueTime,
        now + update.leaseDurationMs,
      ])
      : await this.#ctx.db.query(this.#s.moveRelease, [lease.alarmId, lease.leaseId, now, update.dueTime]);
    if (count === 0) throw leaseLost("update", lease);
  }

  /** Deletes a leased alarm. */
  async deleteLeased(lease: AlarmLease): Promise<void> {
    checkLease("delete leased alarm", lease);
    const { count } = await this.#ctx.db.query(this.#s.deleteLeased, [
      lease.alarmId,
      lease.leaseId,
      this.#ctx.clock.now(),
    ]);
    if (count === 0) throw leaseLost("delete", lease);
  }

  /** Releases a lease. */
  async releaseLease(lease: AlarmLease): Promise<void> {
    checkLease("release alarm lease", lease);
    const { count } = await this.#ctx.db.query(this.#s.release, [lease.alarmId, lease.leaseId, this.#ctx.clock.now()]);
    if (count === 0) throw leaseLost("release", lease);
  }
}

function checkRef(action: string, actorType: unknown, actorId: unknown, name: unknown): void {
  checkString(action, "actorType", actorType);
  checkString(action, "actorId", actorId);
  checkString(action, "name", name);
}

function checkLease(action: string, lease: AlarmLease): void {
  if (typeof lease !== "object" || lease === null) {
    throw new TypeError(`Cannot ${action}: lease must be an object (got ${show(lease)})`);
  }
  checkString(action, "lease.alarmId", lease.alarmId);
  checkString(action, "lease.leaseId", lease.leaseId);
}

function toRecord(actorType: string, actorId: string, name: string, row: Row): AlarmRecord {
  const record: AlarmRecord = { actorType, actorId, name, dueTime: num(row.due_time) };
  if (row.interval !== null) record.interval = row.interval as string;
  if (row.ttl !== null) record.ttl = num(row.ttl);
  if (row.data !== null) record.data = copyBytes(row.data);
  return record;
}

function notFound(action: string, actorType: string, actorId: string, name: string): AlarmNotFoundError {
  return new AlarmNotFoundError(
    `Cannot ${action} alarm: alarm ${show(name)} of ${show(`${actorType}/${actorId}`)} not found`,
  );
}

function leaseLost(action: string, lease: AlarmLease): AlarmNotFoundError {
  return new AlarmNotFoundError(
    `Cannot ${action} leased alarm: alarm ${show(lease.name)} of ${
      show(`${lease.actorType}/${lease.actorId}`)
    } is gone or its lease ${show(lease.leaseId)} is no longer valid`,
  );
}
