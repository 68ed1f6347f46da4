/** Unit tests of dispatch options, next occurrences, UUIDv7 and JobInfo (API.md §10.1). */

import assert from "node:assert/strict";
import { createdAtFromUuidv7, jobInfoFromRecord, nextOccurrence, resolveDispatch, uuidv7 } from "./job_options.ts";

const NOW = Date.UTC(2026, 0, 1, 10, 7, 30);

Deno.test("job options: first due time: delayMs, else dueTime, else the next cron tick, else now", () => {
  assert.deepEqual(resolveDispatch(undefined, NOW), { dueTime: NOW });
  assert.deepEqual(resolveDispatch({}, NOW), { dueTime: NOW });
  assert.equal(resolveDispatch({ delayMs: 500 }, NOW).dueTime, NOW + 500);
  assert.equal(resolveDispatch({ delayMs: 0 }, NOW).dueTime, NOW);
  assert.equal(resolveDispatch({ dueTime: new Date(NOW + 9) }, NOW).dueTime, NOW + 9);
  assert.equal(resolveDispatch({ dueTime: NOW - 5 }, NOW).dueTime, NOW - 5);
  assert.equal(resolveDispatch({ cron: "* * * * *" }, NOW).dueTime, Date.UTC(2026, 0, 1, 10, 8));
  assert.equal(resolveDispatch({ cron: "* * * * *", delayMs: 5 }, NOW).dueTime, NOW + 5);
  assert.equal(resolveDispatch({ cron: "* * * * *", dueTime: NOW + 7 }, NOW).dueTime, NOW + 7);
});

Deno.test("job options: interval is normalised, cron kept as given, ttl and key stored", () => {
  const s = resolveDispatch({ interval: 90_000, ttl: NOW + 1, idempotencyKey: "k" }, NOW);
  assert.deepEqual(s, { dueTime: NOW, interval: "PT1M30S", ttl: NOW + 1, idempotencyKey: "k" });
  assert.equal(resolveDispatch({ interval: "PT90S" }, NOW).interval, "PT1M30S");
  assert.equal(resolveDispatch({ cron: "CRON_TZ=UTC @hourly" }, NOW).cron, "CRON_TZ=UTC @hourly");
  assert.equal(resolveDispatch({ ttl: new Date(NOW + 10) }, NOW).ttl, NOW + 10);
});

Deno.test("job options: C-59 invalid options are TypeError or RangeError", () => {
  const typeErrors: unknown[] = [
    { dueTime: NOW, delayMs: 1 },
    { interval: 1_000, cron: "* * * * *" },
    { cron: "nope" },
    { interval: "P1X" },
    { interval: 1.5 },
    { dueTime: "tomorrow" },
    { dueTime: new Date(NaN) },
    { ttl: "x" },
    { delayMs: "1" },
    { idempotencyKey: "" },
    { idempotencyKey: "a/b" },
    { idempotencyKey: 5 },
    { bogus: 1 },
    [],
    null,
  ];
  for (const o of typeErrors) {
    assert.throws(() => resolveDispatch(o as never, NOW), TypeError, JSON.stringify(o));
  }
  const rangeErrors: unknown[] = [
    { delayMs: -1 },
    { interval: 0 },
    { ttl: NOW },
    { ttl: NOW - 1 },
    { delayMs: 100, ttl: NOW + 100 },
    { cron: "* * * * *", ttl: NOW + 1_000 },
  ];
  for (const o of rangeErrors) {
    assert.throws(() => resolveDispatch(o as never, NOW), RangeError, JSON.stringify(o));
  }
  assert.throws(
    () => resolveDispatch({ dueTime: 1, delayMs: 1 }, NOW),
    { message: "Cannot dispatch job: dueTime and delayMs are mutually exclusive" },
  );
  assert.throws(
    () => resolveDispatch({ interval: 1, cron: "@daily" }, NOW),
    { message: "Cannot dispatch job: interval and cron are mutually exclusive" },
  );
});

Deno.test("job options: nextOccurrence from the start of the run, undefined past ttl or for one-shot jobs", () => {
  assert.equal(nextOccurrence({ dueTime: NOW }, NOW), undefined);
  assert.equal(nextOccurrence({ dueTime: NOW, interval: "PT1M" }, NOW + 20), NOW + 60_020);
  assert.equal(nextOccurrence({ dueTime: NOW, interval: "P1M" }, Date.UTC(2026, 0, 31)), Date.UTC(2026, 2, 3));
  assert.equal(nextOccurrence({ dueTime: NOW, interval: "PT1M", ttl: NOW + 60_020 }, NOW + 20), NOW + 60_020);
  assert.equal(nextOccurrence({ dueTime: NOW, interval: "PT1M", ttl: NOW + 60_019 }, NOW + 20), undefined);
  const due = Date.UTC(2026, 0, 1, 11);
  assert.equal(nextOccurrence({ dueTime: due, cron: "@hourly" }, due + 3), Date.UTC(2026, 0, 1, 12));
  // A timer that fired a little early still moves to the following tick.
  assert.equal(nextOccurrence({ dueTime: due, cron: "@hourly" }, due - 2), Date.UTC(2026, 0, 1, 12));
  assert.equal(nextOccurrence({ dueTime: due, cron: "@hourly", ttl: due + 1_000 }, due), undefined);
  assert.equal(nextOccurrence({ dueTime: due, cron: "@every 1m" }, due + 5), due + 60_005);
});

Deno.test("job options: uuidv7 is a version-7 UUID, strictly increasing, and carries its creation time", () => {
  const ids = Array.from({ length: 5_000 }, () => uuidv7());
  for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1] < ids[i], "strictly increasing");
  assert.ok(Math.abs(createdAtFromUuidv7(ids[0]) - Date.now()) < 1_000);
  const t = Date.UTC(2030, 5, 1);
  assert.equal(createdAtFromUuidv7(uuidv7(t)), t);
  assert.equal(new Set(ids).size, ids.length);
});

Deno.test("job options: jobInfoFromRecord converts times to Dates and keeps only present fields", () => {
  const info = jobInfoFromRecord({
    jobId: "j",
    actorType: "t",
    actorId: "a",
    method: "m",
    status: "dead-lettered",
    dueTime: 1,
    cron: "@daily",
    ttl: 3,
    createdAt: 0,
    attempts: 3,
    lastError: "boom",
    failedAt: 2,
    data: new Uint8Array([1]),
  });
  assert.deepEqual(info, {
    jobId: "j",
    actorType: "t",
    actorId: "a",
    method: "m",
    status: "dead-lettered",
    dueTime: new Date(1),
    cron: "@daily",
    ttl: new Date(3),
    createdAt: new Date(0),
    attempts: 3,
    lastError: "boom",
    failedAt: new Date(2),
  });
});
