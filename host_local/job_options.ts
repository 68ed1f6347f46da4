/**
 * Validation of `DispatchOptions` (API.md §10.1), the schedule of repeating
 * jobs (§10.1, §10.2), UUIDv7 job IDs and the public `JobInfo`.
 *
 * @module
 */

import type { DispatchOptions, JobInfo } from "../actor/types.ts";
import type { DispatchJobRequest, JobRecord } from "../providers/types.ts";
import { addInterval, type Interval, parseInterval } from "../_internal/iso_duration.ts";
import { checkInt, checkName, checkTime } from "../_internal/validate.ts";
import { parseCron } from "./cron.ts";

/** The schedule part of a {@linkcode DispatchJobRequest}. */
export type DispatchSchedule = Pick<DispatchJobRequest, "dueTime" | "interval" | "cron" | "ttl" | "idempotencyKey">;

const ACTION = "dispatch job";
const KNOWN = new Set(["dueTime", "delayMs", "interval", "cron", "ttl", "idempotencyKey", "signal"]);
const MAX_TIME_MS = 8.64e15;

/**
 * Validates dispatch options and computes the stored schedule. The first due
 * time is now + `delayMs`; else `dueTime`; else the next cron tick after now;
 * else now. Throws `TypeError` (both `dueTime` and `delayMs`, both `interval`
 * and `cron`, malformed values, unknown options) or `RangeError` (negative
 * delay, zero interval, `ttl` at or before the first due time).
 *
 * @example
 * ```ts
 * import { resolveDispatch } from "./job_options.ts";
 * const s = resolveDispatch({ cron: "@hourly", idempotencyKey: "k" }, Date.UTC(2026, 0, 1, 10, 30));
 * console.log(new Date(s.dueTime).toISOString(), s.cron); // 2026-01-01T11:00:00.000Z @hourly
 * ```
 */
export function resolveDispatch(options: DispatchOptions | undefined, now: number): DispatchSchedule {
  if (options === undefined) return { dueTime: now };
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TypeError(`Cannot ${ACTION}: options must be an object`);
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new TypeError(`Cannot ${ACTION}: unknown option ${JSON.stringify(key)}`);
  }
  if (options.dueTime !== undefined && options.delayMs !== undefined) {
    throw new TypeError(`Cannot ${ACTION}: dueTime and delayMs are mutually exclusive`);
  }
  if (options.interval !== undefined && options.cron !== undefined) {
    throw new TypeError(`Cannot ${ACTION}: interval and cron are mutually exclusive`);
  }
  const s: Partial<DispatchSchedule> = {};
  if (options.interval !== undefined) s.interval = parseInterval(options.interval, ACTION, "interval").iso;
  const cron = options.cron === undefined ? undefined : parseCron(options.cron);
  if (cron !== undefined) s.cron = cron.expr;
  if (options.delayMs !== undefined) {
    s.dueTime = now + checkInt(options.delayMs, ACTION, "delayMs", 0, MAX_TIME_MS - now);
  } else if (options.dueTime !== undefined) s.dueTime = checkTime(options.dueTime, ACTION, "dueTime");
  else if (cron !== undefined) s.dueTime = cron.next(now);
  else s.dueTime = now;
  if (options.ttl !== undefined) {
    const ttl = checkTime(options.ttl, ACTION, "ttl");
    if (ttl <= s.dueTime) {
      const [t, d] = [new Date(ttl).toISOString(), new Date(s.dueTime).toISOString()];
      throw new RangeError(`Cannot ${ACTION}: ttl must be after the first due time (got ${t}, due ${d})`);
    }
    s.ttl = ttl;
  }
  if (options.idempotencyKey !== undefined) {
    s.idempotencyKey = checkName(options.idempotencyKey, ACTION, "idempotencyKey");
  }
  return s as DispatchSchedule;
}

const intervals = new Map<string, Interval>();

/**
 * The due time of the occurrence after a run that started at `startedAtMs`:
 * start + interval, or the next cron tick after the start (and after the run's
 * due time). `undefined` for a one-shot job, or when that time is past `ttl`.
 *
 * @example
 * ```ts
 * import { nextOccurrence } from "./job_options.ts";
 * console.log(nextOccurrence({ dueTime: 0, interval: "PT1M" }, 500)); // 60500
 * console.log(nextOccurrence({ dueTime: 0, interval: "PT1M", ttl: 60_000 }, 500)); // undefined
 * ```
 */
export function nextOccurrence(
  job: Pick<JobRecord, "dueTime" | "interval" | "cron" | "ttl">,
  startedAtMs: number,
): number | undefined {
  let next: number;
  if (job.interval !== undefined) {
    let i = intervals.get(job.interval);
    if (i === undefined) {
      i = parseInterval(job.interval, "schedule job", "interval");
      if (intervals.size >= 1_000) intervals.clear();
      intervals.set(job.interval, i);
    }
    next = addInterval(startedAtMs, i);
  } else if (job.cron !== undefined) {
    next = parseCron(job.cron).next(Math.max(startedAtMs, job.dueTime));
  } else return undefined;
  if (!Number.isFinite(next) || (job.ttl !== undefined && next > job.ttl)) return undefined;
  return next;
}

let lastMs = -1;
let counter = 0;

/**
 * A new UUIDv7 (RFC 9562): 48-bit epoch ms, then a 12-bit counter that keeps
 * IDs made in one process strictly increasing, then random bits.
 *
 * @example
 * ```ts
 * import { createdAtFromUuidv7, uuidv7 } from "./job_options.ts";
 * const id = uuidv7();
 * console.log(id.length, Math.abs(createdAtFromUuidv7(id) - Date.now()) < 1_000); // 36 true
 * ```
 */
export function uuidv7(now: number = Date.now()): string {
  let ms = now;
  if (ms <= lastMs) {
    ms = lastMs;
    counter++;
    if (counter > 0xfff) {
      ms++;
      counter = 0;
    }
  } else counter = Math.floor(Math.random() * 0x400); // leave room to count up within the ms
  lastMs = ms;
  const b = crypto.getRandomValues(new Uint8Array(16));
  for (let i = 0; i < 6; i++) b[i] = Math.floor(ms / 2 ** (8 * (5 - i))) & 0xff;
  b[6] = 0x70 | (counter >> 8);
  b[7] = counter & 0xff;
  b[8] = 0x80 | (b[8] & 0x3f);
  const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The epoch ms encoded in a UUIDv7.
 *
 * @example
 * ```ts
 * import { createdAtFromUuidv7 } from "./job_options.ts";
 * console.log(createdAtFromUuidv7("019b7718-0000-7000-8000-000000000000")); // 1767229620224
 * ```
 */
export function createdAtFromUuidv7(id: string): number {
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

/**
 * Converts a stored job to the public `JobInfo` (times as `Date`).
 *
 * @example
 * ```ts
 * import { jobInfoFromRecord } from "./job_options.ts";
 * const info = jobInfoFromRecord({
 *   jobId: "j", actorType: "t", actorId: "a", method: "m", status: "pending", dueTime: 0, createdAt: 0, attempts: 0,
 * });
 * console.log(info.dueTime.toISOString()); // 1970-01-01T00:00:00.000Z
 * ```
 */
export function jobInfoFromRecord(rec: JobRecord): JobInfo {
  const info: JobInfo = {
    jobId: rec.jobId,
    actorType: rec.actorType,
    actorId: rec.actorId,
    method: rec.method,
    status: rec.status,
    dueTime: new Date(rec.dueTime),
    createdAt: new Date(rec.createdAt),
    attempts: rec.attempts,
  };
  if (rec.interval !== undefined) info.interval = rec.interval;
  if (rec.cron !== undefined) info.cron = rec.cron;
  if (rec.ttl !== undefined) info.ttl = new Date(rec.ttl);
  if (rec.idempotencyKey !== undefined) info.idempotencyKey = rec.idempotencyKey;
  if (rec.lastError !== undefined) info.lastError = rec.lastError;
  if (rec.failedAt !== undefined) info.failedAt = new Date(rec.failedAt);
  return info;
}
