import assert from "node:assert/strict";
import { MANUAL_CLOCK_START_MS, ManualClock } from "./manual_clock.ts";

Deno.test("ManualClock starts at 2026-01-01T00:00:00Z and moves only when told", () => {
  const clock = new ManualClock();
  assert.equal(clock.now(), MANUAL_CLOCK_START_MS);
  assert.equal(new Date(clock.now()).toISOString(), "2026-01-01T00:00:00.000Z");
  clock.advance(1_500);
  assert.equal(clock.now(), MANUAL_CLOCK_START_MS + 1_500);
  clock.advance(0);
  clock.set(42);
  assert.equal(clock.now(), 42);
  assert.equal(new ManualClock(7).now(), 7);
});

Deno.test("ManualClock rejects non-finite times and negative steps", () => {
  assert.throws(() => new ManualClock(NaN), RangeError);
  assert.throws(() => new ManualClock("1" as unknown as number), TypeError);
  const clock = new ManualClock();
  assert.throws(() => clock.advance(-1), RangeError);
  assert.throws(() => clock.advance(Infinity), RangeError);
  assert.throws(() => clock.set(Infinity), RangeError);
  assert.equal(clock.now(), MANUAL_CLOCK_START_MS);
});
