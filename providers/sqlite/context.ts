/**
 * What every concern module of the SQLite provider shares: the open
 * connection, the write queue, the clock and small conversion helpers.
 *
 * @module
 */

import { isFrancisError, ProviderError } from "../../errors.ts";
import type { Clock } from "../types.ts";
import type { WriteQueue } from "./batch.ts";
import type { DatabaseSync, StatementSync } from "./driver.ts";

/** An open provider connection, handed to each concern module. */
export interface SqliteContext {
  /** The connection. Reads use it directly; writes go through {@linkcode queue}. */
  readonly db: DatabaseSync;
  /** Group-commit queue for every write. */
  readonly queue: WriteQueue;
  /** The provider's clock: the only source of time. */
  readonly clock: Clock;
  /** The validated table prefix. */
  readonly prefix: string;
}

/**
 * Prepares a statement with `{p}` replaced by the table prefix. Concern modules
 * call this once per statement when the connection opens, then reuse it.
 */
export function prepare(ctx: SqliteContext, sql: string): StatementSync {
  return ctx.db.prepare(sql.replaceAll("{p}", ctx.prefix));
}

/**
 * Maps an error to the provider's error contract: Francis errors and misuse
 * (`TypeError`, `RangeError`) pass through, anything else becomes
 * `ProviderError` with the original as `cause`.
 */
export function toProviderError(err: unknown, action: string): unknown {
  if (isFrancisError(err) || err instanceof TypeError || err instanceof RangeError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new ProviderError(`Cannot ${action}: ${message}`, { cause: err });
}

/** Idle timeout as stored: integer ms, or `NULL` for never. */
export function toStoredTimeout(ms: number): number | null {
  return ms === Infinity ? null : ms;
}

/** Idle timeout as returned: `NULL` becomes `Infinity`. */
export function fromStoredTimeout(value: unknown): number {
  return value === null || value === undefined ? Infinity : Number(value);
}

/** A plain `Uint8Array` copy of a BLOB as the driver returned it. */
export function copyBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (value instanceof ArrayBuffer) return new Uint8Array(value.slice(0));
  throw new ProviderError(`Cannot read value: expected a BLOB (got ${typeof value})`);
}

/** Whether two byte arrays (or both absent) are equal. */
export function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * An actor ID encoded as UTF-16BE bytes. Under SQLite's `BINARY` collation
 * these sort in UTF-16 code-unit order, the order JavaScript strings compare in.
 */
export function utf16Key(id: string): Uint8Array {
  const out = new Uint8Array(id.length * 2);
  for (let i = 0; i < id.length; i++) {
    const unit = id.charCodeAt(i);
    out[2 * i] = unit >> 8;
    out[2 * i + 1] = unit & 0xff;
  }
  return out;
}

/** Formats a value for an error message: strings quoted, others by type or value. */
export function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (value !== null && typeof value === "object") return Array.isArray(value) ? "array" : "object";
  if (typeof value === "symbol" || typeof value === "function" || typeof value === "bigint") return typeof value;
  return String(value);
}

/**
 * Throws unless `value` is a safe integer in `[min, max]` (`TypeError` for a
 * non-number, `RangeError` otherwise). `Infinity` passes when `allowInfinity`.
 */
export function checkInteger(
  action: string,
  name: string,
  value: unknown,
  range: { min: number; max?: number; allowInfinity?: boolean },
): void {
  if (typeof value !== "number") throw new TypeError(`Cannot ${action}: ${name} must be a number (got ${show(value)})`);
  if (range.allowInfinity && value === Infinity) return;
  if (!Number.isSafeInteger(value) || value < range.min || (range.max !== undefined && value > range.max)) {
    const bounds = range.max === undefined ? `>= ${range.min}` : `from ${range.min} to ${range.max}`;
    const inf = range.allowInfinity ? ", or Infinity" : "";
    throw new RangeError(`Cannot ${action}: ${name} must be an integer ${bounds}${inf} (got ${show(value)})`);
  }
}

/** Throws unless `value` is a finite number (an epoch-ms instant). */
export function checkTime(action: string, name: string, value: unknown): void {
  if (typeof value !== "number") throw new TypeError(`Cannot ${action}: ${name} must be a number (got ${show(value)})`);
  if (!Number.isFinite(value)) {
    throw new RangeError(`Cannot ${action}: ${name} must be a finite epoch-ms time (got ${show(value)})`);
  }
}

/** Throws `TypeError` unless `value` is a string. */
export function checkString(action: string, name: string, value: unknown): void {
  if (typeof value !== "string") throw new TypeError(`Cannot ${action}: ${name} must be a string (got ${show(value)})`);
}

/** Throws `TypeError` unless `value` is a `Uint8Array`. */
export function checkBytes(action: string, name: string, value: unknown): void {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(`Cannot ${action}: ${name} must be a Uint8Array (got ${show(value)})`);
  }
}

/** Throws unless `value` is a health-check deadline (integer ms >= 1). */
export function checkDeadline(action: string, value: unknown): void {
  checkInteger(action, "healthCheckDeadlineMs", value, { min: 1 });
}
