/**
 * Cron schedules of repeating jobs (API.md §10.2), evaluated with `croner`:
 *
 * - 5 fields `min hour dom month dow` with `*`, `?` (same as `*`), lists,
 *   ranges, steps and the English 3-letter month and day names; a restricted
 *   day-of-month and day-of-week match either (Vixie cron, like Go);
 * - the descriptors `@yearly`/`@annually`, `@monthly`, `@weekly`,
 *   `@daily`/`@midnight` and `@hourly`;
 * - `@every <go-duration>` (e.g. `1h30m`): the next time is the given instant
 *   plus the duration;
 * - an optional `CRON_TZ=<IANA zone> ` prefix; without it, **UTC**.
 *
 * Quartz extensions that `croner` knows (`L`, `W`, `#`, 6 or 7 fields) are refused.
 *
 * @module
 */

import { Cron } from "croner";
import { describe, typeName } from "../_internal/validate.ts";

/** A parsed schedule. */
export interface CronSchedule {
  /** The expression as given. */
  readonly expr: string;
  /** The IANA zone the fields are read in (`"UTC"` by default). */
  readonly timezone: string;
  /** The first matching instant strictly after `afterMs` (epoch ms), or `Infinity` if none. */
  next(afterMs: number): number;
}

const ACTION = "dispatch job";
const DESCRIPTORS: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};
const MONTHS = new Set(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]);
const DAYS = new Set(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]);
const FIELD = /^[0-9A-Za-z*?,/-]+$/;
const GO_DURATION = /^(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h)/;
const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  "μs": 1e-3,
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};
const MAX_EVERY_MS = 8.64e15;
const cache = new Map<string, CronSchedule>();

function invalid(expr: string, reason: string): TypeError {
  return new TypeError(`Cannot ${ACTION}: cron ${describe(expr)} is invalid (${reason})`);
}

/** Parses a Go duration (`"1h30m"`, `"90s"`, `"1.5h"`) into whole ms ≥ 1. */
function parseGoDuration(expr: string, text: string): number {
  let rest = text;
  let total = 0;
  if (rest === "") throw invalid(expr, "@every needs a duration such as 1h30m");
  while (rest !== "") {
    const m = GO_DURATION.exec(rest);
    if (m === null) throw invalid(expr, `malformed duration ${describe(text)}`);
    const unit = /[a-zµμ]+$/.exec(m[0])![0];
    total += Number(m[0].slice(0, -unit.length)) * UNIT_MS[unit];
    rest = rest.slice(m[0].length);
  }
  const ms = Math.round(total * 1e6) / 1e6;
  if (!Number.isInteger(ms)) throw invalid(expr, "@every duration must be a whole number of milliseconds");
  if (ms < 1 || ms > MAX_EVERY_MS) throw invalid(expr, "@every duration must be between 1ms and 8.64e15ms");
  return ms;
}

function checkFields(expr: string, pattern: string): string {
  const fields = pattern.split(/\s+/);
  if (fields.length !== 5) throw invalid(expr, `expected 5 fields, got ${fields.length}`);
  return fields.map((field, i) => {
    if (!FIELD.test(field)) throw invalid(expr, `field ${i + 1} contains illegal characters`);
    for (const word of field.match(/[A-Za-z]+/g) ?? []) {
      const names = i === 3 ? MONTHS : i === 4 ? DAYS : undefined;
      if (names === undefined || !names.has(word.toUpperCase())) {
        throw invalid(expr, `field ${i + 1} has an unknown name ${describe(word)}`);
      }
    }
    if (field.includes("?") && (i < 2 || i === 3 || field !== "?")) {
      throw invalid(expr, `"?" is allowed only alone, as day of month or day of week`);
    }
    return field === "?" ? "*" : field;
  }).join(" ");
}

function checkZone(expr: string, zone: string): void {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
  } catch {
    throw invalid(expr, `unknown time zone ${describe(zone)}`);
  }
}

function build(expr: string): CronSchedule {
  let body = expr.trim();
  let timezone = "UTC";
  const tz = /^CRON_TZ=(\S+)\s+/.exec(body);
  if (tz !== null) {
    timezone = tz[1];
    checkZone(expr, timezone);
    body = body.slice(tz[0].length);
  }
  if (body.startsWith("@every ") || body === "@every") {
    const everyMs = parseGoDuration(expr, body.slice("@every".length).trim());
    return { expr, timezone, next: (afterMs) => afterMs + everyMs };
  }
  const pattern = body.startsWith("@") ? DESCRIPTORS[body] : checkFields(expr, body);
  if (pattern === undefined) throw invalid(expr, `unknown descriptor ${describe(body)}`);
  let cron: Cron;
  try {
    cron = new Cron(pattern, { timezone, mode: "5-part", sloppyRanges: true, domAndDow: false });
  } catch (err) {
    throw invalid(expr, err instanceof Error ? err.message.replace(/^CronPattern: /, "") : String(err));
  }
  const next = (afterMs: number): number => cron.nextRun(new Date(afterMs))?.getTime() ?? Infinity;
  if (next(Date.now()) === Infinity) throw invalid(expr, "it never matches");
  return { expr, timezone, next };
}

/**
 * Parses and validates a cron expression (results are cached).
 *
 * @param expr The expression, e.g. `"CRON_TZ=Europe/Rome 0 7 * * *"`.
 * @returns The schedule.
 * @throws {TypeError} `Cannot dispatch job: cron "…" is invalid (…)` for anything malformed.
 *
 * @example
 * ```ts
 * import { parseCron } from "./cron.ts";
 * const s = parseCron("@every 1h30m");
 * console.log(s.next(0)); // 5400000
 * ```
 */
export function parseCron(expr: unknown): CronSchedule {
  if (typeof expr !== "string") throw new TypeError(`Cannot ${ACTION}: cron must be a string (got ${typeName(expr)})`);
  let s = cache.get(expr);
  if (s === undefined) {
    s = build(expr);
    if (cache.size >= 1_000) cache.clear();
    cache.set(expr, s);
  }
  return s;
}

/**
 * The first instant strictly after `afterMs` that `expr` matches.
 *
 * @param expr A cron expression (§10.2).
 * @param afterMs Epoch ms.
 * @returns Epoch ms, or `Infinity` if the schedule never matches again.
 * @throws {TypeError} If `expr` is invalid.
 *
 * @example
 * ```ts
 * import { nextCronTime } from "./cron.ts";
 * const t = nextCronTime("*\/15 * * * *", Date.UTC(2026, 0, 1, 10, 7));
 * console.log(new Date(t).toISOString()); // 2026-01-01T10:15:00.000Z
 * ```
 */
export function nextCronTime(expr: string, afterMs: number): number {
  return parseCron(expr).next(afterMs);
}
