/**
 * Durations in the runtime configuration (API.md §19.2): a Go-style string
 * (`1500ms`, `20s`, `1h30m`, `1.5h`), an ISO-8601 duration (`PT20S`, `P1D`)
 * or an integer number of milliseconds (`20000`, also as a string of digits).
 *
 * The result must be a whole, positive number of milliseconds. Zero, negative
 * and malformed values are rejected, never replaced by a default. ISO-8601
 * years and months are rejected because their length varies; weeks are 7
 * days and days are 24 hours.
 *
 * @module
 */

import { describe } from "../_internal/validate.ts";
import { parseInterval } from "../_internal/iso_duration.ts";
import { InvalidValue } from "./_checks.ts";

/** Nanoseconds per Go unit. */
const GO_UNITS: Readonly<Record<string, bigint>> = Object.freeze({
  ns: 1n,
  us: 1_000n,
  "µs": 1_000n,
  "μs": 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
});
const GO_PART = /(\d+)?(?:\.(\d+))?(ns|us|µs|μs|ms|s|m|h)/y;
const NS_PER_MS = 1_000_000n;
const DAY_MS = 86_400_000;

function malformed(value: unknown): InvalidValue {
  return new InvalidValue(
    "type",
    `must be a duration such as "1500ms", "20s", "1h30m", "PT20S" or an integer number of milliseconds (got ${
      describe(value)
    })`,
  );
}

function positive(ms: number, value: unknown): number {
  if (ms <= 0) throw new InvalidValue("range", `must be a positive duration (got ${describe(value)})`);
  if (!Number.isSafeInteger(ms)) throw new InvalidValue("range", `is too long (got ${describe(value)})`);
  return ms;
}

function parseGo(text: string): number | undefined {
  let at = 0;
  let ns = 0n;
  while (at < text.length) {
    GO_PART.lastIndex = at;
    const m = GO_PART.exec(text);
    if (m === null || (m[1] === undefined && m[2] === undefined)) return undefined;
    const unit = GO_UNITS[m[3]];
    const whole = BigInt(m[1] ?? "0");
    const frac = m[2] ?? "";
    const scale = 10n ** BigInt(frac.length);
    const fracNs = frac === "" ? 0n : (BigInt(frac) * unit) / scale;
    if (frac !== "" && (BigInt(frac) * unit) % scale !== 0n) return NaN; // finer than 1 ns
    ns += whole * unit + fracNs;
    at = GO_PART.lastIndex;
  }
  if (ns % NS_PER_MS !== 0n) return NaN;
  return Number(ns / NS_PER_MS);
}

function parseIso(text: string, value: unknown): number {
  let interval;
  try {
    interval = parseInterval(text, "parse duration", "value");
  } catch {
    throw malformed(value);
  }
  if (interval.years !== 0 || interval.months !== 0) {
    throw new InvalidValue(
      "type",
      `must not use ISO-8601 years or months, whose length varies (got ${describe(value)})`,
    );
  }
  return (interval.weeks * 7 + interval.days) * DAY_MS + interval.timeMs;
}

/**
 * Parses a configuration duration into milliseconds.
 *
 * @param value A string or number from YAML, JSON, an environment variable or a flag.
 * @returns The duration in ms: a positive safe integer.
 * @throws {InvalidValue} For a malformed value (`"type"`), or one that is not positive or too long (`"range"`).
 *
 * @example
 * ```ts
 * import { parseDuration } from "./duration.ts";
 * console.log(parseDuration("1h30m"), parseDuration("PT20S"), parseDuration(1500), parseDuration("250")); // 5400000 20000 1500 250
 * ```
 */
export function parseDuration(value: unknown): number {
  if (typeof value === "number") {
    if (!Number.isInteger(value)) {
      throw new InvalidValue("type", `must be a whole number of milliseconds (got ${describe(value)})`);
    }
    return positive(value, value);
  }
  if (typeof value !== "string") throw malformed(value);
  const text = value.trim();
  if (text === "") throw malformed(value);
  if (/^[+-]?\d+$/.test(text)) return positive(Number(text), value);
  if (text.startsWith("-")) throw new InvalidValue("range", `must be a positive duration (got ${describe(value)})`);
  if (text.startsWith("P")) return positive(parseIso(text, value), value);
  const ms = parseGo(text.startsWith("+") ? text.slice(1) : text);
  if (ms === undefined) throw malformed(value);
  if (Number.isNaN(ms)) {
    throw new InvalidValue("type", `must be a whole number of milliseconds (got ${describe(value)})`);
  }
  return positive(ms, value);
}

/**
 * Formats milliseconds the Go way, for messages and help text: `90000` → `"1m30s"`.
 *
 * @example
 * ```ts
 * import { formatDuration } from "./duration.ts";
 * console.log(formatDuration(5_400_000), formatDuration(1_500), formatDuration(20_000)); // 1h30m 1.5s 20s
 * ```
 */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1_000;
  return `${h > 0 ? `${h}h` : ""}${m > 0 ? `${m}m` : ""}${s > 0 ? `${s}s` : ""}`;
}
