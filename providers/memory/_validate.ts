/**
 * Argument checks shared by the memory provider's methods. Each throws the
 * built-in `TypeError` (wrong type) or `RangeError` (out of range) with a
 * `Cannot <method>: …` message, before any state is touched.
 *
 * @module
 */

/** Largest delay `setInterval` accepts without overflowing. */
export const MAX_TIMER_MS = 2_147_483_647;

/** Formats a value for an error message: strings quoted, others as text. */
export function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "symbol" || typeof value === "function") return typeof value;
  if (value !== null && typeof value === "object") return Array.isArray(value) ? "array" : "object";
  return String(value);
}

/**
 * Checks that `value` is an integer in `[min, max]`.
 *
 * @example
 * ```ts
 * import { checkInteger } from "./_validate.ts";
 * checkInteger("listStates", "limit", 10, 1, 1000);
 * ```
 */
export function checkInteger(method: string, name: string, value: unknown, min: number, max?: number): void {
  if (typeof value !== "number") {
    throw new TypeError(`Cannot ${method}: ${name} must be a number (got ${show(value)})`);
  }
  if (!Number.isSafeInteger(value) || value < min || (max !== undefined && value > max)) {
    const range = max === undefined ? `>= ${min}` : `between ${min} and ${max}`;
    throw new RangeError(`Cannot ${method}: ${name} must be an integer ${range} (got ${show(value)})`);
  }
}

/** Checks that `value` is a finite number (an epoch-ms instant). */
export function checkTime(method: string, name: string, value: unknown): void {
  if (typeof value !== "number") {
    throw new TypeError(`Cannot ${method}: ${name} must be a number (got ${show(value)})`);
  }
  if (!Number.isFinite(value)) {
    throw new RangeError(`Cannot ${method}: ${name} must be a finite epoch-ms time (got ${show(value)})`);
  }
}

/** Checks that `value` is a string. */
export function checkString(method: string, name: string, value: unknown): void {
  if (typeof value !== "string") {
    throw new TypeError(`Cannot ${method}: ${name} must be a string (got ${show(value)})`);
  }
}

/** Checks that `value` is a `Uint8Array`. */
export function checkBytes(method: string, name: string, value: unknown): void {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(`Cannot ${method}: ${name} must be a Uint8Array (got ${show(value)})`);
  }
}

const HOST_ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * Checks a caller-chosen host ID: 1–128 characters of `[A-Za-z0-9_-]`.
 *
 * @example
 * ```ts
 * import { checkHostId } from "./_validate.ts";
 * checkHostId("registerHost", "hostId", "0b6f4c1e-5d2a-4f7e-9c3b-2a1d0e9f8c7b");
 * ```
 */
export function checkHostId(method: string, name: string, value: unknown): void {
  checkString(method, name, value);
  if (!HOST_ID.test(value as string)) {
    throw new TypeError(`Cannot ${method}: ${name} must be 1-128 characters of [A-Za-z0-9_-] (got ${show(value)})`);
  }
}
