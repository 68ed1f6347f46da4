/**
 * Alarms and alarm leases of the SQLite provider; fetching, renewal and the
 * conditional lease writes are `leasing.ts`, shared with jobs.
 *
 * A lease is valid while `lease_id` matches and `lease_expiration > now`.
 * Changing an alarm's properties gives it a new `alarm_id`, which invalidates
 * every outstanding lease token.
 *
 * @module
 */

import { AlarmNotFoundError } from "../../errors.ts";
import type { AlarmLease, AlarmProperties, AlarmRecord, FetchAlarmsRequest, RenewLeasesRequest } from "../types.ts";
import type { Row, StatementSync } from "./driver.ts";
import { fetchSql, type LeaseRef, type LeaseTable, Leasing } from "./leasing.ts";
import {
  checkBytes,
  checkDeadline,
  checkInteger,
  checkString,
  checkTime,
  copyBytes,
  prepare,
  sameBytes,
  type SqliteContext,
} from "./context.ts";

/** The alarms table as {@linkcode Leasing} sees it. */
const ALARM_LEASES: LeaseTable<AlarmLease> = {
  table: "alarms",
  alias: "al",
  id: "alarm_id",
  columns: ["actor_type", "actor_id", "name", "due_time"],
  toLease,
};

/** Alarms a host may lease (see `fetchSql` in `leasing.ts`); it walks `{p}_alarms_due_idx` over the due range. */
export const FETCH_CANDIDATES_SQL: string = fetchSql(ALARM_LEASES);

/** Alarm statements of one connection. */
export class AlarmStore {
  #ctx: SqliteContext;
  #s: Record<string, StatementSync>;
  #leasing: Leasing<AlarmLease>;

  /** Prepares the statements. */
  constructor(ctx: SqliteContext) {
    this.#ctx = ctx;
    this.#leasing = new Leasing(ctx, ALARM_LEASES);
    const s = (sql: string): StatementSync => prepare(ctx, sql);
    this.#s = {
      get: s(`SELECT alarm_id, due_time, interval, ttl, data FROM {p}_alarms
              WHERE actor_type = ? AND actor_id = ? AND name = ?`),
      insert: s(`INSERT INTO {p}_alarms (alarm_id, actor_type, actor_id, name, due_time, interval, ttl, data)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
      replace: s(`UPDATE {p}_alarms SET alarm_id = ?, due_time = ?, interval = ?, ttl = ?, data = ?,
                    lease_id = NULL, lease_expiration = NULL WHERE alarm_id = ?`),
      delete: s("DELETE FROM {p}_alarms WHERE actor_type = ? AND actor_id = ? AND name = ?"),
      getLeased: s(`SELECT actor_type, actor_id, name, due_time, interval, ttl, data FROM {p}_alarms
                    WHERE alarm_id = ? AND lease_id = ? AND lease_expiration > ?`),
    };
  }

  /** The alarm; `AlarmNotFoundError` if absent. */
  get(actorType: string, actorId: string, name: string): AlarmRecord {
    const row = this.#s.get.get(actorType, actorId, name) as Row | undefined;
    if (row === undefined) throw notFound("get", actorType, actorId, name);
    return toRecord(actorType, actorId, name, row);
  }

  /** Creates or replaces an alarm; identical properties are a no-op. */
  set(actorType: string, actorId: string, name: string, props: AlarmProperties): Promise<void> {
    checkTime("set alarm", "dueTime", props.dueTime);
    if (props.interval !== undefined) checkString("set alarm", "interval", props.interval);
    if (props.ttl !== undefined) checkTime("set alarm", "ttl", props.ttl);
    if (props.data !== undefined) checkBytes("set alarm", "data", props.data);
    const dueTime = props.dueTime;
    const interval = props.interval ?? null;
    const ttl = props.ttl ?? null;
    // Empty data is no data. Copied now: the write runs on the next macrotask.
    const data = props.data === undefined || props.data.length === 0 ? null : props.data.slice();
    return this.#ctx.queue.enqueue(() => {
      const row = this.#s.get.get(actorType, actorId, name) as Row | undefined;
      if (
        row !== undefined && row.due_time === dueTime && row.interval === interval && row.ttl === ttl &&
        sameBytes(row.data === null ? undefined : row.data as Uint8Array, data ?? undefined)
      ) return;
      const alarmId = crypto.randomUUID();
      if (row === undefined) this.#s.insert.run(alarmId, actorType, actorId, name, dueTime, interval, ttl, data);
      else this.#s.replace.run(alarmId, dueTime, interval, ttl, data, row.alarm_id as string);
    });
  }

  /** Deletes an alarm; `AlarmNotFoundError` if absent. */
  delete(actorType: string, actorId: string, name: string): Promise<void> {
    return this.#ctx.queue.enqueue(() => {
      if (this.#s.delete.run(actorType, actorId, name).changes === 0) {
        throw notFound("delete", actorType, actorId, name);
      }
    });
  }

  /** See `ActorProvider.fetchAndLeaseAlarms`. */
  fetchAndLease(req: FetchAlarmsRequest): Promise<AlarmLease[]> {
    const action = "fetch alarms";
    checkString(action, "hostId", req.hostId);
    checkDeadline(action, req.healthCheckDeadlineMs);
    checkInteger(action, "fetchAheadMs", req.fetchAheadMs, { min: 0 });
    checkInteger(action, "batchSize", req.batchSize, { min: 1 });
    checkInteger(action, "leaseDurationMs", req.leaseDurationMs, { min: 1 });
    return this.#leasing.fetch(req);
  }

  /** See `ActorProvider.renewAlarmLeases`. */
  renew(req: RenewLeasesRequest): Promise<AlarmLease[]> {
    checkInteger("renew alarm leases", "leaseDurationMs", req.leaseDurationMs, { min: 1 });
    const leases = req.leases?.map((l) => ({ id: String(l?.alarmId), leaseId: String(l?.leaseId) }));
    return this.#leasing.renew(req.hostId, req.leaseDurationMs, leases);
  }

  /** The alarm if `lease` is valid; `AlarmNotFoundError` otherwise. */
  getLeased(lease: AlarmLease): AlarmRecord {
    const row = this.#s.getLeased.get(lease.alarmId, lease.leaseId, this.#ctx.clock.now()) as Row | undefined;
    if (row === undefined) throw leaseLost("get", lease);
    return toRecord(row.actor_type as string, row.actor_id as string, row.name as string, row);
  }

  /** Moves a leased alarm, keeping or releasing the lease. */
  updateLeased(
    lease: AlarmLease,
    update: { dueTime: number; keepLease: boolean; leaseDurationMs: number },
  ): Promise<void> {
    checkTime("update leased alarm", "dueTime", update.dueTime);
    checkInteger("update leased alarm", "leaseDurationMs", update.leaseDurationMs, { min: 1 });
    return this.#ctx.queue.enqueue(() => {
      const now = this.#ctx.clock.now();
      const expiration = update.keepLease ? now + update.leaseDurationMs : undefined;
      if (this.#leasing.move(ref(lease), now, update.dueTime, expiration) === 0) throw leaseLost("update", lease);
    });
  }

  /** Deletes a leased alarm. */
  deleteLeased(lease: AlarmLease): Promise<void> {
    return this.#ctx.queue.enqueue(() => {
      if (this.#leasing.deleteLeased(ref(lease), this.#ctx.clock.now()) === 0) throw leaseLost("delete", lease);
    });
  }

  /** Releases a lease. */
  releaseLease(lease: AlarmLease): Promise<void> {
    return this.#ctx.queue.enqueue(() => {
      if (this.#leasing.release(ref(lease), this.#ctx.clock.now()) === 0) throw leaseLost("release", lease);
    });
  }
}

function toRecord(actorType: string, actorId: string, name: string, row: Row): AlarmRecord {
  const record: AlarmRecord = { actorType, actorId, name, dueTime: row.due_time as number };
  if (row.interval !== null) record.interval = row.interval as string;
  if (row.ttl !== null) record.ttl = row.ttl as number;
  if (row.data !== null) record.data = copyBytes(row.data);
  return record;
}

function toLease(row: Row): AlarmLease {
  return {
    alarmId: row.alarm_id as string,
    leaseId: row.lease_id as string,
    actorType: row.actor_type as string,
    actorId: row.actor_id as string,
    name: row.name as string,
    dueTime: row.due_time as number,
  };
}

function ref(lease: AlarmLease): LeaseRef {
  return { id: lease.alarmId, leaseId: lease.leaseId };
}

function notFound(action: string, actorType: string, actorId: string, name: string): AlarmNotFoundError {
  return new AlarmNotFoundError(`Cannot ${action} alarm: alarm "${name}" of "${actorType}/${actorId}" not found`);
}

function leaseLost(action: string, lease: AlarmLease): AlarmNotFoundError {
  return new AlarmNotFoundError(
    `Cannot ${action} leased alarm: alarm "${lease.name}" of "${lease.actorType}/${lease.actorId}" is gone or its lease "${lease.leaseId}" is no longer valid`,
  );
}
