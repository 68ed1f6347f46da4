/**
 * `fetchAndLeaseAlarms` and `renewAlarmLeases` of the PostgreSQL provider:
 * argument checks, then the leasing core shared with jobs (`leasing.ts`) on
 * the alarms table, whose plan-stable candidate walk is migration v4.
 *
 * @module
 */

import { checkInteger, checkString } from "../memory/_validate.ts";
import type { AlarmLease, FetchAlarmsRequest, RenewLeasesRequest } from "../types.ts";
import { num, type PgContext } from "./context.ts";
import type { Row } from "./driver.ts";
import { type LeaseTable, Leasing } from "./leasing.ts";

/** The alarms table as {@linkcode Leasing} sees it. */
const ALARM_LEASES: LeaseTable<AlarmLease> = {
  table: "alarms",
  id: "alarm_id",
  columns: ["actor_type", "actor_id", "name", "due_time"],
  candidates: "alarm_candidates",
  leaseDue: "lease_due_alarms",
  toLease: (row: Row): AlarmLease => ({
    alarmId: row.alarm_id as string,
    leaseId: row.lease_id as string,
    actorType: row.actor_type as string,
    actorId: row.actor_id as string,
    name: row.name as string,
    dueTime: num(row.due_time),
  }),
};

/**
 * Alarm fetch and renewal of one provider instance.
 *
 * @example
 * ```ts ignore
 * const store = new FetchStore(ctx);
 * const leases = await store.fetchAndLease({ hostId, healthCheckDeadlineMs, fetchAheadMs, batchSize, leaseDurationMs });
 * ```
 */
export class FetchStore {
  #leasing: Leasing<AlarmLease>;

  constructor(ctx: PgContext) {
    this.#leasing = new Leasing(ctx, ALARM_LEASES);
  }

  /** See `ActorProvider.fetchAndLeaseAlarms`. */
  fetchAndLease(req: FetchAlarmsRequest): Promise<AlarmLease[]> {
    const action = "fetch alarms";
    checkString(action, "hostId", req.hostId);
    checkInteger(action, "healthCheckDeadlineMs", req.healthCheckDeadlineMs, 1);
    checkInteger(action, "fetchAheadMs", req.fetchAheadMs, 0);
    checkInteger(action, "batchSize", req.batchSize, 1);
    checkInteger(action, "leaseDurationMs", req.leaseDurationMs, 1);
    return this.#leasing.fetch(req);
  }

  /** See `ActorProvider.renewAlarmLeases`. */
  renew(req: RenewLeasesRequest): Promise<AlarmLease[]> {
    checkString("renew alarm leases", "hostId", req.hostId);
    checkInteger("renew alarm leases", "leaseDurationMs", req.leaseDurationMs, 1);
    if (req.leases !== undefined && !Array.isArray(req.leases)) {
      throw new TypeError("Cannot renew alarm leases: leases must be an array");
    }
    const leases = req.leases?.map((l) => ({ id: String(l.alarmId), leaseId: String(l.leaseId) }));
    return this.#leasing.renew(req.hostId, req.leaseDurationMs, leases);
  }
}
