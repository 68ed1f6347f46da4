/** Unit tests of cron schedules (API.md §10.2). */

import assert from "node:assert/strict";
import { nextCronTime, parseCron } from "./cron.ts";

const T0 = Date.UTC(2026, 0, 1, 10, 7, 30); // a Thursday

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

Deno.test("cron: 5 fields are evaluated in UTC by default, strictly after the given instant", () => {
  assert.equal(iso(nextCronTime("* * * * *", T0)), "2026-01-01T10:08:00.000Z");
  assert.equal(iso(nextCronTime("*/15 * * * *", T0)), "2026-01-01T10:15:00.000Z");
  assert.equal(iso(nextCronTime("0 7 * * *", T0)), "2026-01-02T07:00:00.000Z");
  assert.equal(iso(nextCronTime("0 7 * * *", Date.UTC(2026, 0, 2, 7))), "2026-01-03T07:00:00.000Z");
  assert.equal(iso(nextCronTime("30 9 1-5 JAN,feb *", T0)), "2026-01-02T09:30:00.000Z");
  assert.equal(iso(nextCronTime("0 0 * * MON-FRI", T0)), "2026-01-02T00:00:00.000Z");
  assert.equal(iso(nextCronTime("0 0 ? * 1", T0)), "2026-01-05T00:00:00.000Z");
  assert.equal(parseCron("* * * * *").timezone, "UTC");
});

Deno.test("cron: descriptors", () => {
  const cases: [string, string][] = [
    ["@yearly", "2027-01-01T00:00:00.000Z"],
    ["@annually", "2027-01-01T00:00:00.000Z"],
    ["@monthly", "2026-02-01T00:00:00.000Z"],
    ["@weekly", "2026-01-04T00:00:00.000Z"],
    ["@daily", "2026-01-02T00:00:00.000Z"],
    ["@midnight", "2026-01-02T00:00:00.000Z"],
    ["@hourly", "2026-01-01T11:00:00.000Z"],
  ];
  for (const [expr, want] of cases) assert.equal(iso(nextCronTime(expr, T0)), want, expr);
});

Deno.test("cron: @every takes a Go duration added to the instant", () => {
  assert.equal(nextCronTime("@every 1h30m", T0), T0 + 5_400_000);
  assert.equal(nextCronTime("@every 1.5s", T0), T0 + 1_500);
  assert.equal(nextCronTime("@every 250ms", T0), T0 + 250);
  assert.equal(nextCronTime("@every 2h0m5s", T0), T0 + 7_205_000);
});

Deno.test("cron: CRON_TZ= sets the zone", () => {
  const s = parseCron("CRON_TZ=Europe/Rome 0 7 * * *");
  assert.equal(s.timezone, "Europe/Rome");
  assert.equal(iso(s.next(T0)), "2026-01-02T06:00:00.000Z"); // 07:00 CET
  assert.equal(iso(nextCronTime("CRON_TZ=America/New_York @daily", T0)), "2026-01-02T05:00:00.000Z");
});

Deno.test("cron: malformed expressions are a TypeError naming the cron", () => {
  const bad = [
    "",
    "* * * *",
    "* * * * * *",
    "61 * * * *",
    "* * 32 * *",
    "a b c d e",
    "*/0 * * * *",
    "0 0 L * *",
    "0 0 * * 1#2",
    "0 0 ? * ?x",
    "? * * * *",
    "@reboot",
    "@every",
    "@every 10",
    "@every 1x",
    "@every 0s",
    "@every 1us",
    "CRON_TZ=Nowhere/Atlantis * * * * *",
    "0 0 30 2 *",
    "0 0 * JAN MON-FOO",
  ];
  for (const expr of bad) {
    assert.throws(() => parseCron(expr), (err: Error) => {
      assert.ok(err instanceof TypeError, expr);
      assert.match(err.message, /^Cannot dispatch job: cron ".*" is invalid \(.+\)$/, expr);
      return true;
    });
  }
  assert.throws(() => parseCron(5), /Cannot dispatch job: cron must be a string \(got number\)/);
});
