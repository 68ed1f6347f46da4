/**
 * Options of the memory provider: the documented interface, its defaults and
 * the one place they are resolved and validated.
 *
 * @module
 */

import type { Clock } from "../types.ts";
import { MAX_TIMER_MS, show } from "./_validate.ts";

/** Options of `createMemoryProvider`. */
export interface MemoryProviderOptions {
  /**
   * How often expired state and dead hosts are purged while acquired, in ms:
   * an integer from 1 to 2147483647, or `Infinity` to never purge on a timer.
   *
   * @default {300000}
   */
  cleanupIntervalMs?: number;
  /**
   * The source of "now" for health deadlines, TTLs and leases. A test seam:
   * pass a `ManualClock` from `./testing` to control time.
   *
   * @default {{ now: () => Date.now() }}
   */
  clock?: Clock;
}

/** {@linkcode MemoryProviderOptions} after defaults. */
export interface ResolvedMemoryProviderOptions {
  /** Cleanup period in ms, or `Infinity` for none. */
  cleanupIntervalMs: number;
  /** The clock every method reads. */
  clock: Clock;
}

/** Defaults of {@linkcode MemoryProviderOptions}. */
export const MEMORY_PROVIDER_DEFAULTS: Readonly<{ cleanupIntervalMs: number }> = Object.freeze({
  cleanupIntervalMs: 300_000,
});

/**
 * Applies defaults and validates {@linkcode MemoryProviderOptions}.
 *
 * @param options The caller's options.
 * @returns Options with every field set.
 * @throws {TypeError} When an option has the wrong type.
 * @throws {RangeError} When `cleanupIntervalMs` is out of range.
 *
 * @example
 * ```ts
 * import { resolveMemoryProviderOptions } from "./options.ts";
 * console.log(resolveMemoryProviderOptions({}).cleanupIntervalMs); // 300000
 * ```
 */
export function resolveMemoryProviderOptions(options: MemoryProviderOptions = {}): ResolvedMemoryProviderOptions {
  const cleanupIntervalMs = options.cleanupIntervalMs ?? MEMORY_PROVIDER_DEFAULTS.cleanupIntervalMs;
  const must = "must be an integer from 1 to 2147483647, or Infinity";
  if (typeof cleanupIntervalMs !== "number") {
    throw new TypeError(`Cannot create memory provider: cleanupIntervalMs ${must} (got ${show(cleanupIntervalMs)})`);
  }
  if (
    cleanupIntervalMs !== Infinity &&
    (!Number.isInteger(cleanupIntervalMs) || cleanupIntervalMs < 1 || cleanupIntervalMs > MAX_TIMER_MS)
  ) {
    throw new RangeError(`Cannot create memory provider: cleanupIntervalMs ${must} (got ${show(cleanupIntervalMs)})`);
  }
  const clock = options.clock ?? { now: () => Date.now() };
  if (typeof clock !== "object" || clock === null || typeof clock.now !== "function") {
    throw new TypeError(`Cannot create memory provider: clock must be an object with a now() method`);
  }
  return { cleanupIntervalMs, clock };
}
