/**
 * A {@linkcode Clock} that only moves when a test moves it.
 *
 * @module
 */

import type { Clock } from "../providers/types.ts";

/** 2026-01-01T00:00:00Z in epoch ms: the default start, so tests are deterministic. */
export const MANUAL_CLOCK_START_MS: number = Date.UTC(2026, 0, 1);

function checkTime(action: string, name: string, value: unknown): asserts value is number {
  if (typeof value !== "number") {
    throw new TypeError(`Cannot ${action}: ${name} must be a number (got ${typeof value})`);
  }
  if (!Number.isFinite(value)) throw new RangeError(`Cannot ${action}: ${name} must be finite (got ${value})`);
}

/**
 * A manually driven clock for providers and hosts under test. Time never
 * passes on its own: call {@linkcode ManualClock.advance} or
 * {@linkcode ManualClock.set}.
 *
 * @example Expire a TTL without sleeping
 * ```ts
 * import { ManualClock } from "./manual_clock.ts";
 *
 * const clock = new ManualClock();
 * const expiresAt = clock.now() + 1_000;
 * clock.advance(1_000);
 * console.log(clock.now() >= expiresAt); // true
 * console.log(new Date(new ManualClock().now()).toISOString()); // 2026-01-01T00:00:00.000Z
 * ```
 */
export class ManualClock implements Clock {
  #now: number;

  /**
   * Creates a clock standing still at `startMs`.
   *
   * @param startMs The initial time in epoch ms.
   * @default {MANUAL_CLOCK_START_MS} (2026-01-01T00:00:00Z)
   * @throws {TypeError} When `startMs` is not a number.
   * @throws {RangeError} When `startMs` is not finite.
   */
  constructor(startMs: number = MANUAL_CLOCK_START_MS) {
    checkTime("create ManualClock", "startMs", startMs);
    this.#now = startMs;
  }

  /**
   * The current time.
   *
   * @returns Epoch ms.
   */
  now(): number {
    return this.#now;
  }

  /**
   * Jumps to an absolute time (backwards too).
   *
   * @param ms The new time in epoch ms.
   * @throws {TypeError} When `ms` is not a number.
   * @throws {RangeError} When `ms` is not finite.
   */
  set(ms: number): void {
    checkTime("set clock", "ms", ms);
    this.#now = ms;
  }

  /**
   * Moves time forward.
   *
   * @param ms How far, in ms (≥ 0).
   * @throws {TypeError} When `ms` is not a number.
   * @throws {RangeError} When `ms` is negative or not finite.
   */
  advance(ms: number): void {
    checkTime("advance clock", "ms", ms);
    if (ms < 0) throw new RangeError(`Cannot advance clock: ms must not be negative (got ${ms})`);
    this.#now += ms;
  }
}
