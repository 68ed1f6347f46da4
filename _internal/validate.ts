/**
 * Argument checks shared by every public entry point (API.md §1.3, §1.4, C-7).
 * Each check returns the accepted value or throws a `TypeError` (wrong type or
 * malformed value) or a `RangeError` (number out of range), with a message of
 * the form `Cannot <action>: <field> <reason> (got <value>)`.
 *
 * @module
 */

/** The largest distance from the epoch that a `Date` can hold, in ms. */
const MAX_TIME_MS = 8.64e15;

/** Strings longer than this are shortened in messages. */
const MAX_DESCRIBED_CHARS = 64;

/**
 * The type of a value as messages name it: `null`, `array`, the class name of
 * an instance (`Date`, `Map`), `object` for a plain object, else its `typeof`.
 *
 * @param value Any value.
 * @returns A short type name.
 *
 * @example
 * ```ts
 * import { typeName } from "./validate.ts";
 * console.log(typeName(1), typeName(null), typeName([]), typeName(new Map())); // number null array Map
 * ```
 */
export function typeName(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return typeof value;
  if (Array.isArray(value)) return "array";
  const proto = Object.getPrototypeOf(value);
  if (proto === null || proto === Object.prototype) return "object";
  const name = (proto as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === "string" && name !== "" ? name : "object";
}

/**
 * Describes a value for the `(got …)` part of a message: strings are quoted
 * (and shortened past 64 characters), numbers appear as they print, and every
 * other value is named by {@linkcode typeName}.
 *
 * @param value Any value.
 * @returns The description.
 *
 * @example
 * ```ts
 * import { describe } from "./validate.ts";
 * console.log(describe("a/b"), describe(1.5), describe(undefined), describe(new Date())); // "a/b" 1.5 undefined Date
 * ```
 */
export function describe(value: unknown): string {
  if (typeof value === "string") {
    return JSON.stringify(value.length > MAX_DESCRIBED_CHARS ? `${value.slice(0, MAX_DESCRIBED_CHARS - 3)}...` : value);
  }
  if (typeof value === "number") return String(value);
  return typeName(value);
}

/**
 * Checks a name (§1.4): a non-empty string without `/`. Used for actor types
 * and IDs, alarm names, idempotency keys and the other names of §1.4.
 *
 * @param value The argument.
 * @param action What the caller was doing, e.g. `"invoke actor"`.
 * @param field The argument's name, e.g. `"actorId"`.
 * @returns `value`.
 * @throws {TypeError} When `value` is not a string, is empty or contains `/`.
 *
 * @example
 * ```ts
 * import { checkName } from "./validate.ts";
 * try {
 *   checkName("a/b", "invoke actor", "actorId");
 * } catch (err) {
 *   console.log((err as Error).message); // Cannot invoke actor: actorId must not be empty or contain "/" (got "a/b")
 * }
 * ```
 */
export function checkName(value: unknown, action: string, field: string): string {
  if (typeof value !== "string") {
    throw new TypeError(`Cannot ${action}: ${field} must be a string (got ${typeName(value)})`);
  }
  if (value === "" || value.includes("/")) {
    throw new TypeError(`Cannot ${action}: ${field} must not be empty or contain "/" (got ${describe(value)})`);
  }
  return value;
}

/** Options of {@linkcode checkInt}. */
export interface CheckIntOptions {
  /**
   * Also accept `Infinity` (meaning "never"), which skips the range check.
   * @default {false}
   */
  allowInfinity?: boolean;
}

/**
 * Checks an integer option such as a duration in ms or a count.
 *
 * @param value The argument.
 * @param action What the caller was doing, e.g. `"create LocalHost"`.
 * @param field The option's name, e.g. `"idleTimeoutMs"`.
 * @param min The smallest accepted value.
 * @param max The largest accepted value.
 * @param opts `allowInfinity` to also accept `Infinity`.
 * @returns `value`.
 * @throws {TypeError} When `value` is not an integer (or `Infinity`, when allowed).
 * @throws {RangeError} When `value` is outside `[min, max]`.
 *
 * @example
 * ```ts
 * import { checkInt } from "./validate.ts";
 * try {
 *   checkInt(0, "create LocalHost", "idleTimeoutMs", 1);
 * } catch (err) {
 *   console.log((err as Error).message); // Cannot create LocalHost: idleTimeoutMs must be at least 1 (got 0)
 * }
 * console.log(checkInt(Infinity, "create provider", "cleanupIntervalMs", 1, undefined, { allowInfinity: true }));
 * ```
 */
export function checkInt(
  value: unknown,
  action: string,
  field: string,
  min: number,
  max: number = Number.MAX_SAFE_INTEGER,
  opts?: CheckIntOptions,
): number {
  const allowInfinity = opts?.allowInfinity === true;
  if (allowInfinity && value === Infinity) return value;
  if (typeof value !== "number" || !Number.isInteger(value)) {
    const expected = allowInfinity ? "an integer or Infinity" : "an integer";
    throw new TypeError(`Cannot ${action}: ${field} must be ${expected} (got ${describe(value)})`);
  }
  if (value < min || value > max) {
    let range: string;
    if (max === Number.MAX_SAFE_INTEGER) {
      range = value < min ? `at least ${min}` : `at most ${max}`;
    } else {
      range = `between ${min} and ${max}`;
    }
    throw new RangeError(`Cannot ${action}: ${field} must be ${range} (got ${value})`);
  }
  return value;
}

/**
 * Checks an absolute time (§1.1): a valid `Date` or an integer number of epoch ms.
 *
 * @param value The argument.
 * @param action What the caller was doing, e.g. `"set alarm"`.
 * @param field The option's name, e.g. `"dueTime"`.
 * @returns The time in epoch ms.
 * @throws {TypeError} When `value` is neither a valid `Date` nor an integer.
 * @throws {RangeError} When the integer is outside the range a `Date` can hold.
 *
 * @example
 * ```ts
 * import { checkTime } from "./validate.ts";
 * console.log(checkTime(new Date(0), "set alarm", "dueTime")); // 0
 * console.log(checkTime(1_700_000_000_000, "set alarm", "dueTime")); // 1700000000000
 * ```
 */
export function checkTime(value: unknown, action: string, field: string): number {
  if (value instanceof Date) {
    const ms = value.getTime();
    if (!Number.isNaN(ms)) return ms;
    throw new TypeError(`Cannot ${action}: ${field} must be a valid Date or integer epoch ms (got Invalid Date)`);
  }
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new TypeError(`Cannot ${action}: ${field} must be a valid Date or integer epoch ms (got ${describe(value)})`);
  }
  if (Math.abs(value) > MAX_TIME_MS) {
    throw new RangeError(
      `Cannot ${action}: ${field} must be between -${MAX_TIME_MS} and ${MAX_TIME_MS} (got ${value})`,
    );
  }
  return value;
}

/**
 * Checks the optional `signal` option (§1.2).
 *
 * @param value The argument.
 * @param action What the caller was doing, e.g. `"invoke actor"`.
 * @returns The signal, or `undefined` when none was given.
 * @throws {TypeError} When `value` is neither `undefined` nor an `AbortSignal`.
 *
 * @example
 * ```ts
 * import { checkSignal } from "./validate.ts";
 * const signal = checkSignal(AbortSignal.timeout(1_000), "invoke actor");
 * console.log(signal?.aborted); // false
 * ```
 */
export function checkSignal(value: unknown, action: string): AbortSignal | undefined {
  if (value === undefined || value instanceof AbortSignal) return value;
  throw new TypeError(`Cannot ${action}: signal must be an AbortSignal (got ${typeName(value)})`);
}

/**
 * Checks an optional options bag: `undefined` or a non-array object.
 *
 * @param value The argument.
 * @param action What the caller was doing, e.g. `"create LocalHost"`.
 * @returns `value`, or an empty object when `undefined`.
 * @throws {TypeError} When `value` is something else.
 *
 * @example
 * ```ts
 * import { checkOptions } from "./validate.ts";
 * console.log(checkOptions(undefined, "invoke actor")); // {}
 * ```
 */
export function checkOptions<T extends object>(value: T | undefined, action: string): Partial<T> {
  if (value === undefined) return {};
  if (typeof value === "object" && value !== null && !Array.isArray(value)) return value;
  throw new TypeError(`Cannot ${action}: options must be an object (got ${typeName(value)})`);
}
