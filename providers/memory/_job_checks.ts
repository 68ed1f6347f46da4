/**
 * Argument checks of the job members of `ActorProvider`, shared by every
 * shipped provider so that they reject the same malformed calls the same way:
 * `TypeError` (wrong type) or `RangeError` (out of range), with a
 * `Cannot <action>: …` message, before anything is read or written.
 *
 * @module
 */

import type { DeadLetterRequest, DispatchJobRequest, FetchAlarmsRequest, JobLease } from "../types.ts";
import { checkBytes, checkInteger, checkString, checkTime, show } from "./_validate.ts";

function checkObject(action: string, name: string, value: unknown): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(`Cannot ${action}: ${name} must be an object (got ${show(value)})`);
  }
}

/** Checks that `value` is a non-empty string (a job ID). */
export function checkJobId(action: string, name: string, value: unknown): void {
  checkString(action, name, value);
  if (value === "") throw new TypeError(`Cannot ${action}: ${name} must not be empty`);
}

/**
 * Checks a `dispatchJob` request.
 *
 * @example
 * ```ts
 * import { checkDispatch } from "./_job_checks.ts";
 * checkDispatch("dispatchJob", { jobId: "j1", actorType: "A", actorId: "a1", method: "m", dueTime: 0, createdAt: 0 });
 * ```
 */
export function checkDispatch(action: string, req: DispatchJobRequest): void {
  checkObject(action, "request", req);
  checkJobId(action, "jobId", req.jobId);
  checkString(action, "actorType", req.actorType);
  checkString(action, "actorId", req.actorId);
  checkString(action, "method", req.method);
  if (req.data !== undefined) checkBytes(action, "data", req.data);
  checkTime(action, "dueTime", req.dueTime);
  if (req.interval !== undefined) checkString(action, "interval", req.interval);
  if (req.cron !== undefined) checkString(action, "cron", req.cron);
  if (req.interval !== undefined && req.cron !== undefined) {
    throw new TypeError(`Cannot ${action}: interval and cron are mutually exclusive`);
  }
  if (req.ttl !== undefined) checkTime(action, "ttl", req.ttl);
  if (req.idempotencyKey !== undefined) checkString(action, "idempotencyKey", req.idempotencyKey);
  checkTime(action, "createdAt", req.createdAt);
}

/** Checks the `fresh` argument of `retryDeadJob`. */
export function checkFresh(action: string, fresh: { jobId: string; dueTime: number; createdAt: number }): void {
  checkObject(action, "fresh", fresh);
  checkJobId(action, "fresh.jobId", fresh.jobId);
  checkTime(action, "fresh.dueTime", fresh.dueTime);
  checkTime(action, "fresh.createdAt", fresh.createdAt);
}

/** Checks a job lease's shape (not its validity). */
export function checkJobLease(action: string, lease: JobLease): void {
  checkObject(action, "lease", lease);
  checkString(action, "lease.jobId", lease.jobId);
  checkString(action, "lease.leaseId", lease.leaseId);
}

/** Checks an optional `{ dueTime }` argument (`next` or `update`). */
export function checkDue(
  action: string,
  name: string,
  value: { dueTime: number } | undefined,
  optional: boolean,
): void {
  if (value === undefined && optional) return;
  checkObject(action, name, value);
  checkTime(action, `${name}.dueTime`, value!.dueTime);
}

/** Checks `deadLetterLeasedJob` arguments, including the `deadJobId` rule for one-shot and repeating jobs. */
export function checkDeadLetter(action: string, lease: JobLease, dead: DeadLetterRequest): void {
  checkJobLease(action, lease);
  checkObject(action, "dead", dead);
  checkJobId(action, "dead.deadJobId", dead.deadJobId);
  checkInteger(action, "dead.attempts", dead.attempts, 0);
  checkString(action, "dead.lastError", dead.lastError);
  checkTime(action, "dead.failedAt", dead.failedAt);
  checkDue(action, "dead.next", dead.next, true);
  if (dead.next === undefined && dead.deadJobId !== lease.jobId) {
    throw new TypeError(`Cannot ${action}: a one-shot job keeps its ID (deadJobId must equal lease.jobId)`);
  }
  if (dead.next !== undefined && dead.deadJobId === lease.jobId) {
    throw new TypeError(`Cannot ${action}: the dead record of a repeating job needs a new ID (deadJobId)`);
  }
}

/** Checks a fetch request (the same rules as for alarms). */
export function checkFetch(action: string, req: FetchAlarmsRequest): void {
  checkObject(action, "request", req);
  checkString(action, "hostId", req.hostId);
  checkInteger(action, "healthCheckDeadlineMs", req.healthCheckDeadlineMs, 1);
  checkInteger(action, "fetchAheadMs", req.fetchAheadMs, 0);
  checkInteger(action, "batchSize", req.batchSize, 1);
  checkInteger(action, "leaseDurationMs", req.leaseDurationMs, 1);
}

/** Checks a renewal request. */
export function checkRenew(
  action: string,
  req: { hostId: string; leaseDurationMs: number; leases?: readonly JobLease[] },
): void {
  checkObject(action, "request", req);
  checkString(action, "hostId", req.hostId);
  checkInteger(action, "leaseDurationMs", req.leaseDurationMs, 1);
  if (req.leases !== undefined && !Array.isArray(req.leases)) {
    throw new TypeError(`Cannot ${action}: leases must be an array (got ${show(req.leases)})`);
  }
}
