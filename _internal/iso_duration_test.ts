import assert from "node:assert/strict";
import { addInterval, type Interval, intervalToString, parseInterval } from "./iso_duration.ts";

function parse(value: number | string): Interval {
  return parseInterval(value, "set alarm", "interval");
}

function add(iso: string, start: string): string {
  return new Date(addInterval(Date.parse(start), parse(iso))).toISOString();
}

Deno.test("parseInterval() accepts the §4.3 grammar", () => {
  const accepted = [
    "P1Y",
    "P1M",
    "P1W",
    "P1D",
    "PT1H",
    "PT1M",
    "PT1S",
    "PT0.5S",
    "PT1.25S",
    "PT1.001S",
    "P1Y2M3W4DT5H6M7.89S",
    "P0Y1D",
    "PT0H0M1S",
    "P01D",
    "PT100000S",
  ];
  for (const value of accepted) assert.doesNotThrow(() => parse(value), value);
});

Deno.test("parseInterval() rejects malformed strings with TypeError", () => {
  const rejected = [
    "",
    "P",
    "PT",
    "P1DT",
    "1D",
    "P1X",
    "p1d",
    "P1d",
    "PT1.5M",
    "P1.5D",
    "PT1.S",
    "PT.5S",
    "PT1.0001S",
    "PT1,5S",
    "P1H",
    "PT1D",
    "P1M1Y",
    "PT1S1M",
    "P-1D",
    "P+1D",
    " P1D",
    "P1D ",
    "PT1",
    "P1DT1",
    "P1Y1Y",
  ];
  for (const value of rejected) {
    assert.throws(() => parse(value), {
      name: "TypeError",
      message: `Cannot set alarm: interval is not a valid ISO-8601 duration (got ${JSON.stringify(value)})`,
    }, value);
  }
});

Deno.test("parseInterval() rejects a zero total with RangeError", () => {
  for (const value of ["P0D", "PT0S", "P0Y0M0W0DT0H0M0.000S", "PT0.0S"]) {
    assert.throws(() => parse(value), {
      name: "RangeError",
      message: `Cannot set alarm: interval must be at least 1 ms (got ${JSON.stringify(value)})`,
    }, value);
  }
  assert.throws(() => parse(0), {
    name: "RangeError",
    message: "Cannot set alarm: interval must be at least 1 ms (got 0)",
  });
  assert.throws(() => parse(-5), { name: "RangeError", message: /at least 1 ms \(got -5\)$/ });
});

Deno.test("parseInterval() rejects non-integer and non-finite numbers with TypeError", () => {
  for (const value of [1.5, NaN, Infinity, -Infinity]) {
    assert.throws(() => parse(value), {
      name: "TypeError",
      message:
        `Cannot set alarm: interval must be an integer number of milliseconds or an ISO-8601 duration (got ${value})`,
    });
  }
  assert.throws(() => parseInterval(true as unknown as number, "set alarm", "interval"), {
    name: "TypeError",
    message:
      "Cannot set alarm: interval must be an integer number of milliseconds or an ISO-8601 duration (got boolean)",
  });
});

Deno.test("parseInterval() rejects intervals beyond the Date range with RangeError", () => {
  assert.throws(() => parse(1e20), RangeError);
  assert.throws(() => parse("P9999999999Y"), RangeError);
  assert.throws(() => parse(`PT${"9".repeat(400)}S`), RangeError);
});

Deno.test("parseInterval() normalises ms and ISO strings", () => {
  const table: [number | string, string][] = [
    [1, "PT0.001S"],
    [100, "PT0.1S"],
    [1500, "PT1.5S"],
    [60_000, "PT1M"],
    [90_000, "PT1M30S"],
    [3_600_000, "PT1H"],
    [3_661_001, "PT1H1M1.001S"],
    [86_400_000, "PT24H"],
    [90_061_250, "PT25H1M1.25S"],
    ["PT90S", "PT1M30S"],
    ["PT1.500S", "PT1.5S"],
    ["PT1.050S", "PT1.05S"],
    ["PT60M", "PT1H"],
    ["PT48H", "PT48H"],
    ["P1DT0S", "P1D"],
    ["P0Y2W", "P2W"],
    ["P14D", "P14D"],
    ["P12M", "P12M"],
    ["P01Y", "P1Y"],
    ["P1Y2M3W4DT5H6M7.89S", "P1Y2M3W4DT5H6M7.89S"],
    ["P1MT3600S", "P1MT1H"],
  ];
  for (const [value, iso] of table) {
    const interval = parse(value);
    assert.equal(interval.iso, iso, String(value));
    assert.equal(intervalToString(interval), iso);
    assert.equal(parse(iso).iso, iso, `${iso} is stable`);
  }
});

Deno.test("parseInterval() exposes components", () => {
  assert.deepEqual({ ...parse("P1Y2M3W4DT25H61M1.5S") }, {
    iso: "P1Y2M3W4DT26H1M1.5S",
    years: 1,
    months: 2,
    weeks: 3,
    days: 4,
    hours: 26,
    minutes: 1,
    seconds: 1.5,
    timeMs: 93_661_500,
  });
  assert.deepEqual({ ...parse(90_000) }, {
    iso: "PT1M30S",
    years: 0,
    months: 0,
    weeks: 0,
    days: 0,
    hours: 0,
    minutes: 1,
    seconds: 30,
    timeMs: 90_000,
  });
});

Deno.test("addInterval() adds exact time in ms", () => {
  assert.equal(addInterval(1000, parse(90_000)), 91_000);
  assert.equal(addInterval(0, parse("PT1.5S")), 1500);
  assert.equal(add("PT24H", "2024-03-30T12:00:00.000Z"), "2024-03-31T12:00:00.000Z");
});

Deno.test("addInterval() adds calendar units in UTC", () => {
  assert.equal(add("P1D", "2024-03-30T23:30:00.000Z"), "2024-03-31T23:30:00.000Z");
  assert.equal(add("P1W", "2024-12-28T08:00:00.000Z"), "2025-01-04T08:00:00.000Z");
  assert.equal(add("P1M", "2024-01-15T10:00:00.000Z"), "2024-02-15T10:00:00.000Z");
  assert.equal(add("P1M", "2024-12-15T10:00:00.000Z"), "2025-01-15T10:00:00.000Z");
  assert.equal(add("P1Y", "2023-06-01T00:00:00.000Z"), "2024-06-01T00:00:00.000Z");
  assert.equal(add("P1DT1H", "2024-02-28T23:30:00.000Z"), "2024-03-01T00:30:00.000Z");
  assert.equal(add("P1Y2M3W4DT5H6M7.89S", "2020-01-01T00:00:00.000Z"), "2021-03-26T05:06:07.890Z");
});

Deno.test("addInterval() rolls a missing day of month over like Date", () => {
  // Jan 31 + 1 month = "Feb 31", which rolls over into March.
  assert.equal(add("P1M", "2023-01-31T09:00:00.000Z"), "2023-03-03T09:00:00.000Z");
  assert.equal(add("P1M", "2024-01-31T09:00:00.000Z"), "2024-03-02T09:00:00.000Z");
  assert.equal(add("P1M", "2024-03-31T09:00:00.000Z"), "2024-05-01T09:00:00.000Z");
  assert.equal(add("P1M", "2024-01-30T09:00:00.000Z"), "2024-03-01T09:00:00.000Z");
  assert.equal(add("P1M", "2024-01-29T09:00:00.000Z"), "2024-02-29T09:00:00.000Z");
});

Deno.test("addInterval() handles leap years", () => {
  assert.equal(add("P1Y", "2024-02-29T00:00:00.000Z"), "2025-03-01T00:00:00.000Z");
  assert.equal(add("P4Y", "2024-02-29T00:00:00.000Z"), "2028-02-29T00:00:00.000Z");
  assert.equal(add("P1D", "2024-02-28T00:00:00.000Z"), "2024-02-29T00:00:00.000Z");
  assert.equal(add("P1D", "2023-02-28T00:00:00.000Z"), "2023-03-01T00:00:00.000Z");
  assert.equal(add("P1D", "2100-02-28T00:00:00.000Z"), "2100-03-01T00:00:00.000Z");
  assert.equal(add("P1D", "2000-02-28T00:00:00.000Z"), "2000-02-29T00:00:00.000Z");
  assert.equal(add("P12M", "2024-02-29T00:00:00.000Z"), "2025-03-01T00:00:00.000Z");
});

Deno.test("addInterval() does not map two-digit years to the 1900s", () => {
  assert.equal(add("P1Y", "0049-05-01T00:00:00.000Z"), "0050-05-01T00:00:00.000Z");
});

Deno.test("addInterval() rejects results outside the Date range", () => {
  assert.throws(() => addInterval(8.64e15, parse("P1D")), RangeError);
  assert.throws(() => addInterval(8.64e15, parse(1)), RangeError);
});
