/**
 * The memory provider's alarm table: rows keyed by `(type, id, name)`, by
 * `alarmId` and by actor, plus a {@linkcode DueRows} index ordered by due time
 * (shared with jobs).
 *
 * @module
 */

import type { AlarmLease, AlarmProperties, AlarmRecord } from "../types.ts";
import { clearLeases, DueRows, hasValidLease, type RowEntry } from "./_due_rows.ts";
import { actorKey as keyOfActor } from "./_hosts.ts";
import type { LeasableTable } from "./_leasing.ts";

/** A stored alarm. `data` is never empty (empty data is stored as none). */
export interface AlarmRow {
  alarmId: string;
  actorKey: string;
  actorType: string;
  actorId: string;
  name: string;
  dueTime: number;
  interval: string | undefined;
  ttl: number | undefined;
  data: Uint8Array | undefined;
  leaseId: string | undefined;
  leaseExpiresAt: number | undefined;
  entry: RowEntry<AlarmRow> | undefined;
}

/**
 * Alarm rows and their indexes.
 *
 * @example
 * ```ts
 * import { AlarmTable } from "./_alarms.ts";
 * const t = new AlarmTable();
 * console.log(t.get("t", "a", "n")); // undefined
 * ```
 */
export class AlarmTable implements LeasableTable<AlarmRow, AlarmLease> {
  readonly #byKey = new Map<string, AlarmRow>();
  readonly #byId = new Map<string, AlarmRow>();
  readonly #byActor = new Map<string, Set<AlarmRow>>();
  readonly #due = new DueRows<AlarmRow>((row) => row.alarmId);

  /** The alarm named `name` of an actor. */
  get(actorType: string, actorId: string, name: string): AlarmRow | undefined {
    return this.#byKey.get(JSON.stringify([actorType, actorId, name]));
  }

  /** The alarm whose lease `lease` is, if that lease is still valid at `now`. */
  leased(lease: AlarmLease, now: number): AlarmRow | undefined {
    const row = this.#byId.get(lease?.alarmId);
    return row !== undefined && row.leaseId === lease.leaseId && hasValidLease(row, now) ? row : undefined;
  }

  /** The row's ID, the tiebreak of due-time order. */
  idOf(row: AlarmRow): string {
    return row.alarmId;
  }

  /** The alarms of one actor. */
  ofActor(key: string): Iterable<AlarmRow> {
    return this.#byActor.get(key) ?? [];
  }

  /** A detached row for a new alarm; {@linkcode AlarmTable.put} stores it. */
  newRow(actorType: string, actorId: string, name: string): AlarmRow {
    return {
      alarmId: "",
      actorKey: keyOfActor(actorType, actorId),
      actorType,
      actorId,
      name,
      dueTime: 0,
      interval: undefined,
      ttl: undefined,
      data: undefined,
      leaseId: undefined,
      leaseExpiresAt: undefined,
      entry: undefined,
    };
  }

  /** Inserts a new row, or replaces `row`'s properties and identity (clearing its lease). */
  put(row: AlarmRow, props: AlarmProperties, alarmId: string): void {
    if (this.#byId.get(row.alarmId) === row) this.#byId.delete(row.alarmId);
    row.alarmId = alarmId;
    row.dueTime = props.dueTime;
    row.interval = props.interval;
    row.ttl = props.ttl;
    row.data = props.data;
    row.leaseId = undefined;
    row.leaseExpiresAt = undefined;
    this.#byKey.set(JSON.stringify([row.actorType, row.actorId, row.name]), row);
    this.#byId.set(alarmId, row);
    let set = this.#byActor.get(row.actorKey);
    if (set === undefined) this.#byActor.set(row.actorKey, set = new Set());
    set.add(row);
    this.#due.put(row);
  }

  /** Moves a row to a new due time, keeping its identity. */
  reschedule(row: AlarmRow, dueTime: number): void {
    row.dueTime = dueTime;
    this.#due.put(row);
  }

  /** Deletes a row. */
  delete(row: AlarmRow): void {
    this.#byKey.delete(JSON.stringify([row.actorType, row.actorId, row.name]));
    this.#byId.delete(row.alarmId);
    const set = this.#byActor.get(row.actorKey);
    set?.delete(row);
    if (set?.size === 0) this.#byActor.delete(row.actorKey);
    this.#due.remove(row);
  }

  /** Clears the lease of every alarm of an actor. */
  clearLeases(key: string): void {
    clearLeases(this.ofActor(key));
  }

  /** Visits live rows due by `horizon` in `(dueTime, alarmId)` order (see `DueRows.scanDue`). */
  scanDue(horizon: number, visit: (row: AlarmRow) => boolean): void {
    this.#due.scanDue(horizon, visit);
  }
}

/** The lease view of a leased row. */
export function toLease(row: AlarmRow): AlarmLease {
  const { alarmId, actorType, actorId, name, dueTime } = row;
  return { alarmId, leaseId: row.leaseId!, actorType, actorId, name, dueTime };
}

/** The public record of a row, with its data copied. */
export function toRecord(row: AlarmRow): AlarmRecord {
  const record: AlarmRecord = { actorType: row.actorType, actorId: row.actorId, name: row.name, dueTime: row.dueTime };
  if (row.interval !== undefined) record.interval = row.interval;
  if (row.ttl !== undefined) record.ttl = row.ttl;
  if (row.data !== undefined) record.data = row.data.slice();
  return record;
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Whether `props` equal the row's stored properties. */
export function sameProps(row: AlarmRow, props: AlarmProperties): boolean {
  return row.dueTime === props.dueTime && row.interval === props.interval && row.ttl === props.ttl &&
    sameBytes(row.data, props.data);
}
