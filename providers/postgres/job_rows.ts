/**
 * Row conversions and error builders shared by the job modules of the
 * PostgreSQL provider (`jobs.ts`, `job_dispatch.ts`, `job_leases.ts`).
 *
 * @module
 */

import { JobNotFoundError, ProviderError } from "../../errors.ts";
import { show } from "../memory/_validate.ts";
import type { JobLease, JobRecord } from "../types.ts";
import { copyBytes, num } from "./context.ts";
import type { Row } from "./driver.ts";

/** Columns of a job record, live or dead. */
export const JOB_COLUMNS =
  "job_id, actor_type, actor_id, method, due_time, interval, cron, ttl, idempotency_key, created_at, data";

/** `cols` (comma-separated) qualified with the table alias `j`. */
export function qualified(cols: string): string {
  return cols.split(", ").map((c) => `j.${c}`).join(", ");
}

/** A `JobRecord` from a row of `JOB_COLUMNS` (plus `lease_id`, `lease_expiration` and the dead columns). */
export function toRecord(row: Row, now: number): JobRecord {
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

/** A `JobLease` from a row of `LEASE_COLUMNS`. */
export function toLease(row: Row): JobLease {
  return {
    jobId: row.job_id as string,
    leaseId: row.lease_id as string,
    actorType: row.actor_type as string,
    actorId: row.actor_id as string,
    dueTime: num(row.due_time),
  };
}

/** Record order: creation time, then job ID (code units). */
export function byCreation(a: JobRecord, b: JobRecord): number {
  return a.createdAt - b.createdAt || (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0);
}

/** The error for a job ID already used by a live job or a dead record. */
export function idInUse(action: string, jobId: string): ProviderError {
  return new ProviderError(`Cannot ${action}: job ID ${show(jobId)} is already in use`);
}

/** The error for an invalid job lease. */
export function leaseLost(action: string, lease: JobLease): JobNotFoundError {
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
