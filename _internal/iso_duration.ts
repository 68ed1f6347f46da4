/**
 * Intervals (API.md §1.1, §4.3): an integer number of ms or an ISO-8601
 * duration, parsed into a normalised {@linkcode Interval} and added to epoch ms
 * in UTC.
 *
 * **Normalisation.** The time part (`H`, `M`, `S`) is exact, so it is reduced
 * to its total in ms and written back as whole hours, then minutes below 60,
 * then seconds below 60 with up to 3 decimals and no trailing zeros. Hours are
 * never carried into days, because a day is a calendar unit. Zero components
 * are dropped. Calendar components (`Y`, `M`, `W`, `D`) are kept as given (a
 * week is not turned into 7 days, 12 months are not a year), minus zeros and
 * leading zeros. A number of ms has no calendar part. Examples: `90000` →
 * `"PT1M30S"`, `86400000` → `"PT24H"`, `"PT90S"` → `"PT1M30S"`,
 * `"P1DT0S"` → `"P1D"`, `"PT1.500S"` → `"PT1.5S"`, `"P0Y2W"` → `"P2W"`.
 *
 * @module
 */

import { describe } from "./validate.ts";

/** The largest interval accepted, in ms (the span of a `Date`). */
const MAX_INTERVAL_MS = 8.64e15;
/** Rough lengths, only to bound calendar components. */
const APPROX_YEAR_MS = 31_556_952_000;
const APPROX_MONTH_MS = 2_629_746_000;
const WEEK_MS = 604_800_000;
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

const ISO_DURATION =
  /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:\.(\d{1,3}))?S)?)?$/;

/**
 * A parsed, normalised interval. Calendar components are added in UTC by
 * {@linkcode addInterval}; `hours`, `minutes` and `seconds` are the normalised
 * time part (`hours` may exceed 23; `seconds` is below 60 and may have up to
 * 3 decimals) and `timeMs` is their exact total.
 *
 * @example
 * ```ts
 * import { parseInterval } from "./iso_duration.ts";
 * const i = parseInterval("P1MT90S", "set alarm", "interval");
 * console.log(i.iso, i.months, i.minutes, i.seconds, i.timeMs); // P1MT1M30S 1 1 30 90000
 * ```
 */
export interface Interval {
  /** The normalised ISO-8601 form, e.g. `"PT1M30S"`. */
  readonly iso: string;
  /** Calendar years. */
  readonly years: number;
  /** Calendar months. */
  readonly months: number;
  /** Calendar weeks (7 days each). */
  readonly weeks: number;
  /** Calendar days. */
  readonly days: number;
  /** Whole hours of the time part. */
  readonly hours: number;
  /** Minutes of the time part, below 60. */
  readonly minutes: number;
  /** Seconds of the time part, below 60, with up to 3 decimals. */
  readonly seconds: number;
  /** The exact time part in ms: `hours`, `minutes` and `seconds` together. */
  readonly timeMs: number;
}

function build(years: number, months: number, weeks: number, days: number, timeMs: number): Interval {
  const hours = Math.floor(timeMs / HOUR_MS);
  const minutes = Math.floor((timeMs % HOUR_MS) / MINUTE_MS);
  const secondsMs = timeMs % MINUTE_MS;
  const seconds = secondsMs / 1000;
  let iso = "P";
  if (years > 0) iso += `${years}Y`;
  if (months > 0) iso += `${months}M`;
  if (weeks > 0) iso += `${weeks}W`;
  if (days > 0) iso += `${days}D`;
  if (timeMs > 0) {
    iso += "T";
    if (hours > 0) iso += `${hours}H`;
    if (minutes > 0) iso += `${minutes}M`;
    // ms below 1000 make at most 3 decimals; String() drops trailing zeros.
    if (secondsMs > 0) iso += `${seconds}S`;
  }
  return { iso, years, months, weeks, days, hours, minutes, seconds, timeMs };
}

/**
 * Parses an `interval` option: an integer number of ms (≥ 1) or an ISO-8601
 * duration `P[nY][nM][nW][nD][T[nH][nM][n[.f]S]]` (integers, except seconds
 * with 1–3 decimals). See the module doc for the normalised form.
 *
 * @param value The option value.
 * @param action What the caller was doing, e.g. `"set alarm"`.
 * @param option The option's name, e.g. `"interval"`.
 * @returns The normalised interval.
 * @throws {TypeError} For a non-integer number, a malformed string or another type.
 * @throws {RangeError} For a total of zero (or less), or more than 8.64e15 ms.
 *
 * @example
 * ```ts
 * import { parseInterval } from "./iso_duration.ts";
 * console.log(parseInterval(90_000, "set alarm", "interval").iso); // PT1M30S
 * console.log(parseInterval("P1DT0S", "set alarm", "interval").iso); // P1D
 * ```
 */
export function parseInterval(value: number | string, action: string, option: string): Interval {
  if (typeof value === "number") {
    if (!Number.isInteger(value)) {
      throw new TypeError(
        `Cannot ${action}: ${option} must be an integer number of milliseconds or an ISO-8601 duration (got ${value})`,
      );
    }
    if (value < 1) throw new RangeError(`Cannot ${action}: ${option} must be at least 1 ms (got ${value})`);
    if (value > MAX_INTERVAL_MS) {
      throw new RangeError(`Cannot ${action}: ${option} must be at most ${MAX_INTERVAL_MS} ms (got ${value})`);
    }
    return build(0, 0, 0, 0, value);
  }
  if (typeof value !== "string") {
    throw new TypeError(
      `Cannot ${action}: ${option} must be an integer number of milliseconds or an ISO-8601 duration (got ${
        describe(value)
      })`,
    );
  }
  const m = ISO_DURATION.exec(value);
  if (m === null || value === "P") {
    throw new TypeError(`Cannot ${action}: ${option} is not a valid ISO-8601 duration (got ${describe(value)})`);
  }
  const [, y, mo, w, d, h, mi, s, frac] = m;
  const years = Number(y ?? 0);
  const months = Number(mo ?? 0);
  const weeks = Number(w ?? 0);
  const days = Number(d ?? 0);
  const fracMs = frac === undefined ? 0 : Number(frac.padEnd(3, "0"));
  const timeMs = Number(h ?? 0) * HOUR_MS + Number(mi ?? 0) * MINUTE_MS + Number(s ?? 0) * 1000 + fracMs;
  const approxMs = years * APPROX_YEAR_MS + months * APPROX_MONTH_MS + weeks * WEEK_MS + days * DAY_MS + timeMs;
  if (approxMs === 0) {
    throw new RangeError(`Cannot ${action}: ${option} must be at least 1 ms (got ${describe(value)})`);
  }
  if (!(approxMs <= MAX_INTERVAL_MS)) {
    throw new RangeError(`Cannot ${action}: ${option} must be at most ${MAX_INTERVAL_MS} ms (got ${describe(value)})`);
  }
  return build(years, months, weeks, days, timeMs);
}

/**
 * Adds an interval to an instant. Calendar units go first, in UTC, through
 * `Date.prototype.setUTCFullYear(year + Y, month + M, date + 7W + D)`; then the
 * exact time part is added in ms.
 *
 * A day-of-month that does not exist in the target month rolls over into the
 * next month, as JS `Date` and Go's `time.AddDate` do: Jan 31 + `P1M` is
 * Mar 3 (Mar 2 in a leap year), and Feb 29 + `P1Y` is Mar 1. The time of day
 * is kept, and UTC has no daylight-saving shifts.
 *
 * @param epochMs The start instant, in epoch ms.
 * @param interval A parsed interval.
 * @returns The resulting instant, in epoch ms.
 * @throws {RangeError} When the result is outside the range of a `Date`.
 *
 * @example
 * ```ts
 * import { addInterval, parseInterval } from "./iso_duration.ts";
 * const start = Date.UTC(2024, 0, 31, 9, 0);
 * const next = addInterval(start, parseInterval("P1MT1H", "set alarm", "interval"));
 * console.log(new Date(next).toISOString()); // 2024-03-02T10:00:00.000Z
 * ```
 */
export function addInterval(epochMs: number, interval: Interval): number {
  let ms = epochMs;
  if (interval.years !== 0 || interval.months !== 0 || interval.weeks !== 0 || interval.days !== 0) {
    const date = new Date(epochMs);
    ms = date.setUTCFullYear(
      date.getUTCFullYear() + interval.years,
      date.getUTCMonth() + interval.months,
      date.getUTCDate() + interval.weeks * 7 + interval.days,
    );
  }
  ms += interval.timeMs;
  if (!(Math.abs(ms) <= MAX_INTERVAL_MS)) {
    throw new RangeError(`Cannot add interval: ${interval.iso} after ${epochMs} is outside the range of a Date`);
  }
  return ms;
}

/**
 * The normalised ISO-8601 form of an interval.
 *
 * @param interval A parsed interval.
 * @returns Its `iso` string.
 *
 * @example
 * ```ts
 * import { intervalToString, parseInterval } from "./iso_duration.ts";
 * console.log(intervalToString(parseInterval(60_000, "set alarm", "interval"))); // PT1M
 * ```
 */
export function intervalToString(interval: Interval): string {
  return interval.iso;
}
