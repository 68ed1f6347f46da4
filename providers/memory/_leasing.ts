/**
 * Lease grants and renewals of the memory provider, shared by alarms and
 * jobs. Each computes first and mutates last, so a call either fully applies
 * or leaves the tables as they were.
 *
 * @module
 */

import type { FetchAlarmsRequest } from "../types.ts";
import { hasValidLease } from "./_due_rows.ts";
import type { HostTable } from "./_hosts.ts";

/** A row that can be leased: an alarm or a job. */
export interface LeasableRow {
  readonly actorKey: string;
  readonly actorType: string;
  readonly actorId: string;
  dueTime: number;
  leaseId: string | undefined;
  leaseExpiresAt: number | undefined;
}

/** What leasing needs of a table of leasable rows. */
export interface LeasableTable<R extends LeasableRow, L> {
  /** Visits live rows due at or before `horizon` in due order until `visit` returns `false`. */
  scanDue(horizon: number, visit: (row: R) => boolean): void;
  /** The row `lease` is for, if the lease is still valid at `now`. */
  leased(lease: L, now: number): R | undefined;
  /** The rows of one actor. */
  ofActor(key: string): Iterable<R>;
  /** The row's ID, the tiebreak of due-time order. */
  idOf(row: R): string;
}

interface Pick<R> {
  row: R;
  /** Whether the actor must be placed on the fetching host first. */
  place: boolean;
}

/**
 * Leases up to `batchSize` alarms (or jobs) due by `now + fetchAheadMs` for `hostId`.
 *
 * A row qualifies when its lease is free or expired, the host serves its
 * type, and its actor is unplaced, placed on the host, or placed on a dead
 * host. Actors not yet on the host are placed there while the host has room
 * for their type; a row whose actor does not fit is skipped.
 *
 * @param hosts The host and placement tables.
 * @param table The alarm or job table.
 * @param req The validated request.
 * @param now The current time in epoch ms.
 * @param clearLeases Clears every lease (alarms and jobs) of an actor whose dead placement is replaced.
 * @returns The leased rows in `(dueTime, id)` order.
 *
 * @example
 * ```ts
 * import { fetchAndLease } from "./_leasing.ts";
 * import { AlarmTable } from "./_alarms.ts";
 * import { HostTable } from "./_hosts.ts";
 * const req = { hostId: "h", healthCheckDeadlineMs: 1, fetchAheadMs: 0, batchSize: 1, leaseDurationMs: 1 };
 * console.log(fetchAndLease(new HostTable(), new AlarmTable(), req, 0, () => {})); // []
 * ```
 */
export function fetchAndLease<R extends LeasableRow, L>(
  hosts: HostTable,
  table: LeasableTable<R, L>,
  req: FetchAlarmsRequest,
  now: number,
  clearLeases: (actorKey: string) => void,
): R[] {
  const host = hosts.hosts.get(req.hostId);
  if (host === undefined || !hosts.isHealthy(host.hostId, now, req.healthCheckDeadlineMs)) return [];

  // Plan: walk the due-ordered index, reserving capacity as actors are claimed.
  const room = new Map<string, number>();
  const claimed = new Set<string>();
  const picks: Pick<R>[] = [];
  table.scanDue(now + req.fetchAheadMs, (row) => {
    if (!host.types.has(row.actorType) || hasValidLease(row, now)) return true;
    let place = false;
    if (!claimed.has(row.actorKey)) {
      const placement = hosts.placement(row.actorKey);
      if (placement === undefined || placement.hostId !== host.hostId) {
        if (placement !== undefined && hosts.isHealthy(placement.hostId, now, req.healthCheckDeadlineMs)) return true;
        const left = room.get(row.actorType) ?? hosts.capacity(host, row.actorType);
        if (left <= 0) return true;
        room.set(row.actorType, left - 1);
        place = true;
      }
      claimed.add(row.actorKey);
    }
    picks.push({ row, place });
    return picks.length < req.batchSize;
  });

  // Apply: placements first (replacing a dead host's row clears that actor's leases), then leases.
  for (const { row, place } of picks) {
    if (!place) continue;
    if (hosts.placement(row.actorKey) !== undefined) clearLeases(row.actorKey);
    const idleTimeoutMs = host.types.get(row.actorType)!.idleTimeoutMs;
    hosts.place({
      actorKey: row.actorKey,
      actorType: row.actorType,
      actorId: row.actorId,
      hostId: host.hostId,
      idleTimeoutMs,
    });
  }
  for (const { row } of picks) {
    row.leaseId = crypto.randomUUID();
    row.leaseExpiresAt = now + req.leaseDurationMs;
  }
  return picks.map((p) => p.row);
}

/**
 * Extends valid leases (alarms or jobs) of actors placed on `req.hostId`: the given ones, or
 * every such lease when `req.leases` is omitted.
 *
 * @returns The renewed rows in `(dueTime, id)` order.
 *
 * @example
 * ```ts
 * import { renewLeases } from "./_leasing.ts";
 * import { AlarmTable } from "./_alarms.ts";
 * import { HostTable } from "./_hosts.ts";
 * console.log(renewLeases(new HostTable(), new AlarmTable(), { hostId: "h", leaseDurationMs: 1 }, 0)); // []
 * ```
 */
export function renewLeases<R extends LeasableRow, L>(
  hosts: HostTable,
  table: LeasableTable<R, L>,
  req: { hostId: string; leaseDurationMs: number; leases?: readonly L[] },
  now: number,
): R[] {
  const rows = new Set<R>();
  if (req.leases !== undefined) {
    for (const lease of req.leases) {
      const row = table.leased(lease, now);
      if (row !== undefined && hosts.placement(row.actorKey)?.hostId === req.hostId) rows.add(row);
    }
  } else {
    for (const key of hosts.actorsOn(req.hostId)) {
      for (const row of table.ofActor(key)) if (hasValidLease(row, now)) rows.add(row);
    }
  }
  const renewed = [...rows].sort((a, b) => a.dueTime - b.dueTime || (table.idOf(a) < table.idOf(b) ? -1 : 1));
  for (const row of renewed) row.leaseExpiresAt = now + req.leaseDurationMs;
  return renewed;
}
