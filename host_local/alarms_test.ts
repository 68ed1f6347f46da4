/**
 * Behaviour tests of alarms on a `LocalHost` (API.md §9, contracts C-21 (alarm
 * part), C-33..C-43, C-45, C-46 and the alarm validation rules of §1.4, §6.2
 * and §9.1).
 *
 * No test sleeps for a fixed time in place of an event: each waits on a
 * condition with a deadline (`waitFor`) or on a promise resolved by the actor.
 * "Nothing more happens" is checked by letting the host complete a number of
 * alarm polls (counted on an instrumented provider) after the event.
 */

import assert from "node:assert/strict";
import type { ActorContext, ActorService, Logger } from "../actor/types.ts";
import { ActorTypeReservedError, AlarmNotFoundError, HostNotRunningError, ReadOnlyError } from "../errors.ts";
import { createMemoryProvider } from "../providers/memory/mod.ts";
import { createSqliteProvider } from "../providers/sqlite/mod.ts";
import type { ActorProvider } from "../providers/types.ts";
import { createTestHost } from "../testing/test_host.ts";
import { waitFor } from "../testing/wait_for.ts";

/** The poll interval `createTestHost` uses. */
const POLL_MS = 250;

// -- helpers -----------------------------------------------------------------

/** A provider wrapper that counts calls (started and settled) per method and can fail the next call of a method. */
interface Instrumented {
  provider: ActorProvider;
  started(method: string): number;
  settled(method: string): number;
  /** Results of every settled `fetchAndLeaseAlarms` call, as lease counts. */
  fetchSizes: number[];
}

function instrument(inner: ActorProvider): Instrumented {
  const started = new Map<string, number>();
  const settled = new Map<string, number>();
  const fetchSizes: number[] = [];
  const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  const provider = new Proxy(inner, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function" || typeof prop !== "string") return value;
      return (...args: unknown[]) => {
        bump(started, prop);
        const p = Promise.resolve(value.apply(target, args));
        return p.then((v) => {
          if (prop === "fetchAndLeaseAlarms") fetchSizes.push((v as unknown[]).length);
          bump(settled, prop);
          return v;
        }, (err) => {
          bump(settled, prop);
          throw err;
        });
      };
    },
  });
  return {
    provider,
    started: (m) => started.get(m) ?? 0,
    settled: (m) => settled.get(m) ?? 0,
    fetchSizes,
  };
}

/** A logger that keeps entries instead of printing them (failing alarms log warnings by design). */
function quietLogger(): Logger & { entries: { level: string; msg: string }[] } {
  const entries: { level: string; msg: string }[] = [];
  const at = (level: string) => (msg: string) => void entries.push({ level, msg });
  return { entries, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** Waits until the host has completed `n` more alarm polls (fetches) than now. */
async function waitPolls(inst: Instrumented, n: number, pollMs = POLL_MS): Promise<void> {
  const base = inst.settled("fetchAndLeaseAlarms");
  await waitFor(() => inst.settled("fetchAndLeaseAlarms") >= base + n, {
    timeoutMs: n * pollMs * 2 + 2_000,
    what: `${n} more alarm polls`,
  });
}

/** True when `getAlarm` rejects with `AlarmNotFoundError`; rethrows any other error. */
function alarmGone(svc: ActorService, type: string, id: string, name: string): Promise<boolean> {
  return svc.getAlarm(type, id, name).then(() => false, (err) => {
    if (err instanceof AlarmNotFoundError) return true;
    throw err;
  });
}

/** Resolves with `p`, or rejects after `ms` naming `what`; never leaves a timer behind. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Splits an alarm `requestId` (`"<alarmId>|<dueTimeMs>"`). */
function parseRequestId(requestId: string): { alarmId: string; due: number } {
  const m = /^(.+)\|(\d+)$/.exec(requestId);
  assert.ok(m, `requestId ${JSON.stringify(requestId)} is not "<alarmId>|<dueTimeMs>"`);
  return { alarmId: m[1], due: Number(m[2]) };
}

interface Fire {
  at: number;
  name: string;
  data: unknown;
  actorId: string;
  kind: string;
  requestId: string;
  attempt: number;
}

function record(fires: Fire[], name: string, data: unknown, ctx: ActorContext): void {
  fires.push({
    at: Date.now(),
    name,
    data,
    actorId: ctx.actorId,
    kind: ctx.kind,
    requestId: ctx.requestId,
    attempt: ctx.attempt,
  });
}

// -- delivery ----------------------------------------------------------------

Deno.test("alarms: C-33 a one-shot alarm due now fires exactly once within poll + 1000 ms, activating the inactive actor", async () => {
  const inst = instrument(createMemoryProvider());
  await using host = createTestHost({ provider: inst.provider, logger: quietLogger() });
  let factoryCalls = 0;
  const fires: Fire[] = [];
  host.registerActor("c33", () => {
    factoryCalls++;
    return { alarm: (name: string, data: unknown, ctx: ActorContext) => record(fires, name, data, ctx) };
  });
  await host.start();
  const due = Date.now();
  await host.service.setAlarm("c33", "idle-actor", "once", {});
  assert.equal(factoryCalls, 0, "the actor must not be active before the alarm fires");
  await waitFor(() => fires.length >= 1, { timeoutMs: POLL_MS + 1_500, what: "the alarm to fire" });
  const elapsed = fires[0].at - due;
  assert.ok(elapsed <= POLL_MS + 1_000, `fired ${elapsed} ms after its due time (bound ${POLL_MS + 1_000} ms)`);
  assert.equal(factoryCalls, 1, "the alarm activates the actor once");
  assert.equal(fires[0].name, "once");
  assert.equal(fires[0].actorId, "idle-actor");
  assert.equal(fires[0].kind, "alarm");
  assert.equal(fires[0].data, undefined);
  await waitFor(() => alarmGone(host.service, "c33", "idle-actor", "once"), {
    what: "the one-shot alarm to be deleted",
  });
  await waitPolls(inst, 3);
  assert.equal(fires.length, 1, "a one-shot alarm fires exactly once");
});

Deno.test("alarms: an alarm set on its owning host fires about its delay later, without waiting for the next poll", async () => {
  const inst = instrument(createMemoryProvider());
  const pollMs = 1_500;
  await using host = createTestHost({ provider: inst.provider, alarmsPollIntervalMs: pollMs, logger: quietLogger() });
  const fired = Promise.withResolvers<number>();
  host.registerActor("prompt", () => ({ invoke: () => "ok", alarm: () => fired.resolve(Date.now()) }));
  await host.start();
  // Let the first (immediate) poll finish, so the next regular poll is ~1500 ms away.
  await waitFor(() => inst.settled("fetchAndLeaseAlarms") >= 1, { what: "the first alarm poll" });
  await host.service.invoke("prompt", "p1", "activate"); // placed and active here: this host owns it
  await host.service.setAlarm("prompt", "p1", "soon", { delayMs: 100 });
  const setResolved = Date.now();
  const firedAt = await within(fired.promise, pollMs, "the alarm to fire");
  const elapsed = firedAt - setResolved;
  assert.ok(elapsed >= 90 && elapsed <= 100 + 150, `fired ${elapsed} ms after setAlarm resolved (want 90..250 ms)`);
});

Deno.test("alarms: C-34 alarm() receives name and data; getAlarm normalises the interval and returns Dates", async () => {
  await using host = createTestHost({ logger: quietLogger() });
  const fires: Fire[] = [];
  host.registerActor("c34", () => ({
    alarm: (name: string, data: unknown, ctx: ActorContext) => record(fires, name, data, ctx),
  }));
  await host.start();
  const svc = host.service;

  const due = Date.now() + 3_600_000;
  const ttl = due + 7_200_000;
  const data = { note: "hello", list: [1, "two", null], nested: { ok: true } };
  await svc.setAlarm("c34", "a1", "tick", { dueTime: due, interval: 60_000, ttl, data });
  const info = await svc.getAlarm("c34", "a1", "tick");
  assert.equal(info.actorType, "c34");
  assert.equal(info.actorId, "a1");
  assert.equal(info.name, "tick");
  assert.equal(info.interval, "PT1M");
  assert.ok(info.dueTime instanceof Date, "dueTime is a Date");
  assert.equal(info.dueTime.getTime(), due);
  assert.ok(info.ttl instanceof Date, "ttl is a Date");
  assert.equal(info.ttl.getTime(), ttl);
  assert.deepEqual(info.data, data);

  await svc.setAlarm("c34", "a1", "mixed", { delayMs: 3_600_000, interval: 90_000 });
  assert.equal((await svc.getAlarm("c34", "a1", "mixed")).interval, "PT1M30S");
  await svc.setAlarm("c34", "a1", "iso", { delayMs: 3_600_000, interval: "P1DT0S" });
  assert.equal((await svc.getAlarm("c34", "a1", "iso")).interval, "P1D");
  await svc.setAlarm("c34", "a1", "one", { delayMs: 3_600_000 });
  const oneShot = await svc.getAlarm("c34", "a1", "one");
  assert.equal(oneShot.interval, undefined, "a one-shot alarm has no interval");
  assert.equal(oneShot.ttl, undefined);
  assert.equal(oneShot.data, undefined);

  await svc.setAlarm("c34", "a2", "fire-me", { data: { v: [1, 2, 3], s: "x" } });
  await waitFor(() => fires.some((f) => f.name === "fire-me"), { what: "the alarm to fire" });
  const f = fires.find((f) => f.name === "fire-me")!;
  assert.equal(f.actorId, "a2");
  assert.deepEqual(f.data, { v: [1, 2, 3], s: "x" });
});

Deno.test("alarms: C-35 re-setting an alarm with new data before it fires means every firing sees the new data", async () => {
  const inst = instrument(createMemoryProvider());
  await using host = createTestHost({ provider: inst.provider, logger: quietLogger() });
  const fires: Fire[] = [];
  host.registerActor("c35", () => ({
    alarm: (name: string, data: unknown, ctx: ActorContext) => record(fires, name, data, ctx),
  }));
  await host.start();
  const fetched = inst.settled("fetchAndLeaseAlarms");
  await host.service.setAlarm("c35", "x", "tick", { delayMs: 600, interval: 150, data: { v: 1 } });
  // The first version is within the fetch-ahead window: let a fetch lease it, so the edit lands after a fetch.
  await waitFor(() => inst.settled("fetchAndLeaseAlarms") > fetched, { what: "a fetch after the first setAlarm" });
  await host.service.setAlarm("c35", "x", "tick", { delayMs: 600, interval: 150, data: { v: 2 } });
  assert.equal(fires.length, 0, "nothing fired before the re-set");
  await waitFor(() => fires.length >= 3, { timeoutMs: 5_000, what: "three firings" });
  await host.service.deleteAlarm("c35", "x", "tick");
  for (const f of fires) assert.deepEqual(f.data, { v: 2 }, "every firing sees the new data");
});

Deno.test("alarms: C-36 deleteAlarm before the due time means it never fires; unknown alarms reject with AlarmNotFoundError", async () => {
  const inst = instrument(createMemoryProvider());
  await using host = createTestHost({ provider: inst.provider, logger: quietLogger() });
  const fires: Fire[] = [];
  host.registerActor("c36", () => ({
    alarm: (name: string, data: unknown, ctx: ActorContext) => record(fires, name, data, ctx),
  }));
  await host.start();
  const svc = host.service;
  const fetched = inst.settled("fetchAndLeaseAlarms");
  const due = Date.now() + 500;
  await svc.setAlarm("c36", "x", "doomed", { dueTime: due });
  await waitFor(() => inst.settled("fetchAndLeaseAlarms") > fetched, { what: "a fetch that leases the alarm" });
  await svc.deleteAlarm("c36", "x", "doomed");
  await assert.rejects(() => svc.getAlarm("c36", "x", "doomed"), AlarmNotFoundError);
  await waitFor(() => Date.now() > due, { what: "the former due time to pass" });
  await waitPolls(inst, 3);
  assert.equal(fires.length, 0, "a deleted alarm never fires");

  await assert.rejects(() => svc.getAlarm("c36", "x", "never-set"), AlarmNotFoundError);
  await assert.rejects(() => svc.deleteAlarm("c36", "x", "never-set"), AlarmNotFoundError);
  await assert.rejects(() => svc.deleteAlarm("c36", "x", "doomed"), AlarmNotFoundError, "a second delete");
});

Deno.test("alarms: C-37 a repeating alarm with interval 100 and poll 250 fires at least 8 times in 7 s", async () => {
  await using host = createTestHost({ alarmsPollIntervalMs: 250, logger: quietLogger() });
  const fires: Fire[] = [];
  host.registerActor("c37", () => ({
    alarm: (name: string, data: unknown, ctx: ActorContext) => record(fires, name, data, ctx),
  }));
  await host.start();
  const start = Date.now();
  await host.service.setAlarm("c37", "x", "rep", { interval: 100 });
  await waitFor(() => fires.length >= 8, { timeoutMs: 7_000, what: "8 firings" });
  const elapsed = Date.now() - start;
  await host.service.deleteAlarm("c37", "x", "rep");
  assert.ok(elapsed <= 7_000, `8 firings took ${elapsed} ms`);
  assert.ok(fires.every((f) => f.name === "rep"));
});

Deno.test("alarms: C-38 a repeating alarm fires nothing after ttl and then disappears", async () => {
  const inst = instrument(createMemoryProvider());
  await using host = createTestHost({ provider: inst.provider, logger: quietLogger() });
  const fires: Fire[] = [];
  host.registerActor("c38", () => ({
    alarm: (name: string, data: unknown, ctx: ActorContext) => record(fires, name, data, ctx),
  }));
  await host.start();
  const ttl = Date.now() + 700;
  await host.service.setAlarm("c38", "x", "bounded", { interval: 100, ttl });
  await waitFor(() => alarmGone(host.service, "c38", "x", "bounded"), {
    timeoutMs: 700 + POLL_MS + 2_000,
    what: "the alarm to disappear after its ttl",
  });
  const count = fires.length;
  await waitPolls(inst, 3);
  assert.equal(fires.length, count, "no firing after the alarm disappeared");
  assert.ok(count >= 2, `the alarm repeated before its ttl (fired ${count} times)`);
  for (const f of fires) {
    const { due } = parseRequestId(f.requestId);
    assert.ok(due <= ttl, `an occurrence due ${due - ttl} ms after ttl fired`);
  }
});

// -- failures and retries ----------------------------------------------------

Deno.test("alarms: C-39 an always-throwing one-shot alarm runs maxAttempts times with backoff, then is deleted", async () => {
  const inst = instrument(createMemoryProvider());
  await using host = createTestHost({ provider: inst.provider, logger: quietLogger() });
  const fires: Fire[] = [];
  const initialRetryDelayMs = 200;
  const maxAttempts = 3;
  host.registerActor("c39", () => ({
    alarm(name: string, data: unknown, ctx: ActorContext) {
      record(fires, name, data, ctx);
      throw new Error("always fails");
    },
  }), { maxAttempts, initialRetryDelayMs });
  await host.start();
  await host.service.setAlarm("c39", "x", "bad", {});
  await waitFor(() => fires.length >= maxAttempts, { timeoutMs: 5_000, what: `${maxAttempts} attempts` });
  await waitFor(() => alarmGone(host.service, "c39", "x", "bad"), { what: "the one-shot alarm to be deleted" });
  await waitPolls(inst, 3);
  assert.equal(fires.length, maxAttempts, "runs exactly maxAttempts times");
  assert.deepEqual(fires.map((f) => f.attempt), [1, 2, 3], "ctx.attempt counts the runs");
  const ids = new Set(fires.map((f) => f.requestId));
  assert.equal(ids.size, 1, "requestId is the same across retries of one occurrence");
  for (let k = 1; k < maxAttempts; k++) {
    const gap = fires[k].at - fires[k - 1].at;
    const base = initialRetryDelayMs * Math.min(1.5 ** (k - 1), 10);
    const lo = base * 0.9;
    const hi = base * 1.1 + 250;
    assert.ok(gap >= lo && gap <= hi, `gap before retry ${k} was ${gap} ms (want ${lo}..${hi} ms)`);
  }
});

Deno.test("alarms: C-39 an always-throwing repeating alarm skips to its next occurrence after maxAttempts runs", async () => {
  await using host = createTestHost({ logger: quietLogger() });
  const fires: Fire[] = [];
  host.registerActor("c39r", () => ({
    alarm(name: string, data: unknown, ctx: ActorContext) {
      record(fires, name, data, ctx);
      throw new Error("always fails");
    },
  }), { maxAttempts: 3, initialRetryDelayMs: 200 });
  await host.start();
  const interval = 1_000;
  await host.service.setAlarm("c39r", "x", "rep", { interval });
  await waitFor(() => fires.length >= 4, { timeoutMs: 8_000, what: "the second occurrence to start" });
  await host.service.deleteAlarm("c39r", "x", "rep");
  const first = fires.slice(0, 3);
  const second = fires[3];
  assert.deepEqual(first.map((f) => f.attempt), [1, 2, 3]);
  assert.equal(new Set(first.map((f) => f.requestId)).size, 1, "one requestId for the first occurrence");
  assert.equal(second.attempt, 1, "the next occurrence starts again at attempt 1");
  assert.notEqual(second.requestId, first[0].requestId, "requestId differs between occurrences");
  const d1 = parseRequestId(first[0].requestId).due;
  const d2 = parseRequestId(second.requestId).due;
  assert.ok(d2 >= d1 + interval, `the next occurrence (due +${d2 - d1} ms) is at least one interval later`);
});

Deno.test("alarms: C-40 a handler that fails once and then succeeds runs twice in total", async () => {
  const inst = instrument(createMemoryProvider());
  await using host = createTestHost({ provider: inst.provider, logger: quietLogger() });
  const fires: Fire[] = [];
  host.registerActor("c40", () => ({
    alarm(name: string, data: unknown, ctx: ActorContext) {
      record(fires, name, data, ctx);
      if (ctx.attempt === 1) throw new Error("first run fails");
    },
  }), { maxAttempts: 3, initialRetryDelayMs: 100 });
  await host.start();
  await host.service.setAlarm("c40", "x", "flaky", { data: { k: 1 } });
  await waitFor(() => fires.length >= 2, { what: "the retry" });
  await waitFor(() => alarmGone(host.service, "c40", "x", "flaky"), { what: "the alarm to be deleted after success" });
  await waitPolls(inst, 3);
  assert.equal(fires.length, 2, "two runs in total");
  assert.deepEqual(fires.map((f) => f.attempt), [1, 2]);
  assert.deepEqual(fires[1].data, { k: 1 }, "the retry gets the same data");
});

Deno.test("alarms: C-21 alarm requestId is <alarmId>|<dueMs>, stable across retries and distinct between occurrences", async () => {
  await using host = createTestHost({ logger: quietLogger() });
  const fires: Fire[] = [];
  host.registerActor("c21", () => ({
    alarm(name: string, data: unknown, ctx: ActorContext) {
      record(fires, name, data, ctx);
      if (name === "retry" && ctx.attempt < 2) throw new Error("retry me");
    },
  }), { maxAttempts: 2, initialRetryDelayMs: 50 });
  await host.start();
  const due = Date.now() - 10;
  await host.service.setAlarm("c21", "x", "one", { dueTime: due });
  await host.service.setAlarm("c21", "x", "retry", { dueTime: due });
  await host.service.setAlarm("c21", "x", "rep", { interval: 150 });
  await waitFor(() => fires.filter((f) => f.name === "one").length === 1, { what: "the one-shot alarm" });
  await waitFor(() => fires.filter((f) => f.name === "retry").length === 2, { what: "the retried alarm" });
  await waitFor(() => fires.filter((f) => f.name === "rep").length >= 3, { what: "three repeats" });
  await host.service.deleteAlarm("c21", "x", "rep");

  const one = fires.find((f) => f.name === "one")!;
  assert.equal(parseRequestId(one.requestId).due, due, "the due part is the occurrence's due time in ms");
  const retry = fires.filter((f) => f.name === "retry");
  assert.equal(retry[0].requestId, retry[1].requestId);
  assert.equal(parseRequestId(retry[0].requestId).due, due);
  assert.notEqual(parseRequestId(retry[0].requestId).alarmId, parseRequestId(one.requestId).alarmId);
  const rep = fires.filter((f) => f.name === "rep").slice(0, 3);
  assert.equal(new Set(rep.map((f) => f.requestId)).size, 3, "each occurrence has its own requestId");
  assert.ok(rep.every((f) => f.attempt === 1));
});

Deno.test("alarms: C-45 an alarm for an actor without alarm() is deleted after its first delivery, with no retries", async () => {
  await using host = createTestHost({ logger: quietLogger() });
  let factoryCalls = 0;
  host.registerActor("c45", () => {
    factoryCalls++;
    return { invoke: () => "no alarm() here" };
  }, { maxAttempts: 3, initialRetryDelayMs: 5_000 });
  await host.start();
  const due = Date.now();
  await host.service.setAlarm("c45", "x", "lost", { interval: 60_000 });
  // With retries the alarm would linger for at least 2 × 4500 ms; a repeating alarm would be rescheduled.
  await waitFor(() => alarmGone(host.service, "c45", "x", "lost"), {
    timeoutMs: POLL_MS + 1_000,
    what: "the alarm to be deleted after its first delivery",
  });
  assert.ok(Date.now() - due <= POLL_MS + 1_000);
  assert.equal(factoryCalls, 1, "the alarm was delivered (the actor was activated) once");
});

// -- turns -------------------------------------------------------------------

Deno.test("alarms: C-41 alarm handlers never overlap invoke (or peek) turns of the same actor", async () => {
  await using host = createTestHost({ logger: quietLogger() });
  const state = { busy: false, peeking: 0, overlaps: 0, alarms: 0, invokes: 0, peeks: 0 };
  const work = () => new Promise<void>((r) => setTimeout(r, 5)); // the turn's own work, to widen it
  const exclusive = async (done: () => void) => {
    if (state.busy || state.peeking > 0) state.overlaps++;
    state.busy = true;
    await work();
    state.busy = false;
    done();
  };
  host.registerActor("c41", () => ({
    invoke: () => exclusive(() => state.invokes++),
    alarm: () => exclusive(() => state.alarms++),
    async peek() {
      if (state.busy) state.overlaps++;
      state.peeking++;
      await work();
      state.peeking--;
      state.peeks++;
    },
  }));
  await host.start();
  await host.service.setAlarm("c41", "x", "tick", { interval: 20 });
  let stop = false;
  const callers = [
    ...Array.from({ length: 3 }, async () => {
      while (!stop) await host.service.invoke("c41", "x", "work");
    }),
    ...Array.from({ length: 2 }, async () => {
      while (!stop) await host.service.peek("c41", "x", "look");
    }),
  ];
  try {
    await waitFor(() => state.alarms >= 15, { timeoutMs: 10_000, what: "15 alarm runs amid invokes and peeks" });
  } finally {
    stop = true;
    await Promise.all(callers);
    await host.service.deleteAlarm("c41", "x", "tick");
  }
  assert.ok(state.invokes > 0 && state.peeks > 0);
  assert.equal(state.overlaps, 0, "an alarm turn overlapped another turn");
});

// -- scale ---------------------------------------------------------------------

Deno.test("alarms: C-43 30 alarms due now on 30 actors all fire within 20 s with the default batch size", async () => {
  const inner = createMemoryProvider();
  const inst = instrument(inner);
  // Seed the store before the host starts, so the host meets all 30 at once (more than one batch of 25).
  await inner.acquire();
  try {
    const now = Date.now();
    for (let i = 0; i < 30; i++) await inner.setAlarm("c43", `actor-${i}`, "go", { dueTime: now });
    const host = createTestHost({ provider: inst.provider, logger: quietLogger() });
    try {
      const fires: Fire[] = [];
      host.registerActor("c43", () => ({
        alarm: (name: string, data: unknown, ctx: ActorContext) => record(fires, name, data, ctx),
      }));
      const start = Date.now();
      await host.start();
      await waitFor(() => new Set(fires.map((f) => f.actorId)).size === 30, {
        timeoutMs: 20_000,
        what: "all 30 alarms to fire",
      });
      assert.ok(Date.now() - start <= 20_000);
      await waitPolls(inst, 3);
      assert.equal(fires.length, 30, "each alarm fired exactly once");
      assert.equal(Math.max(...inst.fetchSizes), 25, "fetches are capped at the default batch size of 25");
    } finally {
      await host.stop();
    }
  } finally {
    await inner.release();
  }
});

// -- validation ----------------------------------------------------------------

Deno.test("alarms: C-46 ttl at or before the first due time, or both dueTime and delayMs, reject and store nothing", async () => {
  const inst = instrument(createMemoryProvider());
  await using host = createTestHost({ provider: inst.provider, logger: quietLogger() });
  host.registerActor("c46", () => ({ alarm() {} }));
  await host.start();
  const svc = host.service;
  const due = Date.now() + 60_000;
  await assert.rejects(() => svc.setAlarm("c46", "x", "a", { dueTime: due, ttl: due }), RangeError);
  await assert.rejects(() => svc.setAlarm("c46", "x", "a", { dueTime: due, ttl: due - 1 }), RangeError);
  await assert.rejects(() => svc.setAlarm("c46", "x", "a", { delayMs: 60_000, ttl: Date.now() }), RangeError);
  await assert.rejects(() => svc.setAlarm("c46", "x", "a", { ttl: Date.now() - 1 }), RangeError);
  await assert.rejects(() => svc.setAlarm("c46", "x", "a", { dueTime: due, delayMs: 10 }), TypeError);
  assert.equal(inst.started("setAlarm"), 0, "no store write was attempted");
  await assert.rejects(() => svc.getAlarm("c46", "x", "a"), AlarmNotFoundError);
});

Deno.test("alarms: invalid names reject with TypeError before any I/O", async () => {
  const inst = instrument(createMemoryProvider());
  await using host = createTestHost({ provider: inst.provider, logger: quietLogger() });
  host.registerActor("val", () => ({ alarm() {} }));
  await host.start();
  const svc = host.service;
  for (const bad of ["", "a/b"]) {
    await assert.rejects(() => svc.setAlarm("val", "x", bad, {}), TypeError, `setAlarm name ${JSON.stringify(bad)}`);
    await assert.rejects(() => svc.getAlarm("val", "x", bad), TypeError, `getAlarm name ${JSON.stringify(bad)}`);
    await assert.rejects(() => svc.deleteAlarm("val", "x", bad), TypeError, `deleteAlarm name ${JSON.stringify(bad)}`);
    await assert.rejects(() => svc.setAlarm("val", bad, "n", {}), TypeError, `setAlarm actorId ${JSON.stringify(bad)}`);
    await assert.rejects(() => svc.setAlarm(bad, "x", "n", {}), TypeError, `setAlarm actorType ${JSON.stringify(bad)}`);
    await assert.rejects(() => svc.getAlarm("val", bad, "n"), TypeError);
    await assert.rejects(() => svc.deleteAlarm(bad, "x", "n"), TypeError);
  }
  await assert.rejects(
    () => svc.setAlarm("val", "x", "a/b", {}),
    (err: Error) => err instanceof TypeError && err.message.startsWith("Cannot ") && err.message.includes('"a/b"'),
  );
  const client = svc.client("val", "x");
  await assert.rejects(() => client.setAlarm("", {}), TypeError);
  await assert.rejects(() => client.getAlarm("a/b"), TypeError);
  await assert.rejects(() => client.deleteAlarm("a/b"), TypeError);
  for (const m of ["setAlarm", "getAlarm", "deleteAlarm"]) assert.equal(inst.started(m), 0, `${m} reached the store`);
});

Deno.test("alarms: invalid options reject before any I/O (zero interval, malformed ISO, negative delay)", async () => {
  const inst = instrument(createMemoryProvider());
  await using host = createTestHost({ provider: inst.provider, logger: quietLogger() });
  host.registerActor("opt", () => ({ alarm() {} }));
  await host.start();
  const svc = host.service;
  await assert.rejects(() => svc.setAlarm("opt", "x", "a", { interval: 0 }), RangeError, "interval 0");
  await assert.rejects(() => svc.setAlarm("opt", "x", "a", { interval: "PT0S" }), RangeError, "interval PT0S");
  await assert.rejects(() => svc.setAlarm("opt", "x", "a", { interval: "P1X" }), TypeError, 'interval "P1X"');
  await assert.rejects(() => svc.setAlarm("opt", "x", "a", { interval: "" }), TypeError, 'interval ""');
  await assert.rejects(() => svc.setAlarm("opt", "x", "a", { delayMs: -1 }), RangeError, "delayMs -1");
  await assert.rejects(() => svc.setAlarm("opt", "x", "a", { delayMs: 1.5 }), TypeError, "delayMs 1.5");
  await assert.rejects(
    () => svc.setAlarm("opt", "x", "a", { delayMs: Number.MAX_SAFE_INTEGER }),
    RangeError,
    "a delayMs past the range of a Date",
  );
  await assert.rejects(() => svc.setAlarm("opt", "x", "a", { dueTime: 8.64e15 + 1 }), RangeError, "dueTime past Date");
  await assert.rejects(() => svc.setAlarm("opt", "x", "a", { dueTime: new Date(NaN) }), TypeError, "Invalid Date");
  await assert.rejects(() => svc.setAlarm("opt", "x", "a", { data: { big: 1n } }), TypeError, "bigint data");
  await assert.rejects(() => svc.client("opt", "x").setAlarm("a", { interval: 0 }), RangeError, "client interval 0");
  assert.equal(inst.started("setAlarm"), 0, "no store write was attempted");
  await assert.rejects(() => svc.getAlarm("opt", "x", "a"), AlarmNotFoundError);
});

Deno.test("alarms: a francis.builtin.* type is rejected with ActorTypeReservedError", async () => {
  const inst = instrument(createMemoryProvider());
  await using host = createTestHost({ provider: inst.provider, logger: quietLogger() });
  await host.start();
  const svc = host.service;
  const type = "francis.builtin.x";
  await assert.rejects(() => svc.setAlarm(type, "x", "a", {}), ActorTypeReservedError);
  await assert.rejects(() => svc.getAlarm(type, "x", "a"), ActorTypeReservedError);
  await assert.rejects(() => svc.deleteAlarm(type, "x", "a"), ActorTypeReservedError);
  assert.throws(() => svc.client(type, "x"), ActorTypeReservedError);
  for (const m of ["setAlarm", "getAlarm", "deleteAlarm"]) assert.equal(inst.started(m), 0, `${m} reached the store`);
});

Deno.test("alarms: setAlarm and deleteAlarm inside peek reject with ReadOnlyError, on any target", async () => {
  await using host = createTestHost({ logger: quietLogger() });
  host.registerActor("ro", (id, service) => {
    const self = service.client("ro", id);
    const attempt = (p: () => Promise<unknown>) =>
      p().then(() => "resolved", (err) => (err instanceof ReadOnlyError ? "ReadOnlyError" : String(err)));
    return {
      async invoke(method: string) {
        if (method === "arm") await self.setAlarm("kept", { delayMs: 3_600_000 });
      },
      async peek(_method: string, _data: unknown, ctx: ActorContext) {
        return {
          readOnly: ctx.readOnly,
          serviceSelf: await attempt(() => service.setAlarm("ro", id, "n", { delayMs: 60_000 })),
          serviceOther: await attempt(() => service.setAlarm("ro", "other", "n", { delayMs: 60_000 })),
          clientSet: await attempt(() => self.setAlarm("n", { delayMs: 60_000 })),
          clientDelete: await attempt(() => self.deleteAlarm("kept")),
          serviceDelete: await attempt(() => service.deleteAlarm("ro", id, "kept")),
          read: await attempt(() => self.getAlarm("kept")),
        };
      },
    };
  });
  await host.start();
  await host.service.invoke("ro", "x", "arm");
  const r = await host.service.peek("ro", "x", "check");
  assert.deepEqual(r, {
    readOnly: true,
    serviceSelf: "ReadOnlyError",
    serviceOther: "ReadOnlyError",
    clientSet: "ReadOnlyError",
    clientDelete: "ReadOnlyError",
    serviceDelete: "ReadOnlyError",
    read: "resolved",
  });
  await assert.rejects(() => host.service.getAlarm("ro", "x", "n"), AlarmNotFoundError);
  await assert.rejects(() => host.service.getAlarm("ro", "other", "n"), AlarmNotFoundError);
  await host.service.getAlarm("ro", "x", "kept"); // still there
});

// -- durability (SQLite) -------------------------------------------------------

Deno.test("alarms: C-42 an alarm set before a full restart fires after the restart (SQLite)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "francis-alarms-" });
  const path = `${dir}/alarms.db`;
  try {
    const before: Fire[] = [];
    const due = Date.now() + 1_500;
    {
      const a = createTestHost({ provider: createSqliteProvider({ path }), logger: quietLogger() });
      a.registerActor("durable", () => ({
        alarm: (name: string, data: unknown, ctx: ActorContext) => record(before, name, data, ctx),
      }));
      await a.start();
      try {
        await a.service.setAlarm("durable", "d1", "later", { dueTime: due, data: { survive: true } });
      } finally {
        await a.stop();
      }
      assert.ok(Date.now() < due, "the first host stopped before the alarm was due");
    }
    const after: Fire[] = [];
    const inst = instrument(createSqliteProvider({ path }));
    await using b = createTestHost({ provider: inst.provider, logger: quietLogger() });
    b.registerActor("durable", () => ({
      alarm: (name: string, data: unknown, ctx: ActorContext) => record(after, name, data, ctx),
    }));
    await b.start();
    await waitFor(() => after.length >= 1, {
      timeoutMs: Math.max(0, due - Date.now()) + POLL_MS + 2_000,
      what: "the alarm to fire on the new host",
    });
    assert.equal(before.length, 0, "the stopped host never ran the alarm");
    assert.equal(after[0].name, "later");
    assert.deepEqual(after[0].data, { survive: true });
    assert.ok(after[0].at >= due - 5, `fired ${due - after[0].at} ms before its due time`);
    await waitFor(() => alarmGone(b.service, "durable", "d1", "later"), { what: "the one-shot alarm to be deleted" });
    await waitPolls(inst, 3);
    assert.equal(after.length, 1, "fired exactly once");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// -- alarms and the actor lifecycle ---------------------------------------------

Deno.test("alarms: a repeating alarm keeps firing after its actor is halted, re-activating it", async () => {
  await using host = createTestHost({ logger: quietLogger() });
  let factoryCalls = 0;
  const fires: Fire[] = [];
  host.registerActor("life", () => {
    factoryCalls++;
    return { alarm: (name: string, data: unknown, ctx: ActorContext) => record(fires, name, data, ctx) };
  });
  await host.start();
  await host.service.setAlarm("life", "x", "rep", { interval: 100 });
  await waitFor(() => fires.length >= 2, { what: "two firings" });
  await host.service.halt("life", "x");
  const firedBefore = fires.length;
  assert.equal(factoryCalls, 1);
  await waitFor(() => fires.length >= firedBefore + 2, {
    timeoutMs: 2 * POLL_MS + 2_000,
    what: "two firings after the halt",
  });
  await host.service.deleteAlarm("life", "x", "rep");
  assert.equal(factoryCalls, 2, "the alarm re-activated the halted actor once");
});

Deno.test("alarms: a one-shot alarm that re-arms itself in its handler fires again", async () => {
  const inst = instrument(createMemoryProvider());
  await using host = createTestHost({ provider: inst.provider, logger: quietLogger() });
  const fires: Fire[] = [];
  host.registerActor("rearm", (id, service) => {
    const self = service.client("rearm", id);
    return {
      async alarm(name: string, data: unknown, ctx: ActorContext) {
        record(fires, name, data, ctx);
        const n = data as number;
        if (n < 3) await self.setAlarm(name, { delayMs: 50, data: n + 1 });
      },
    };
  });
  await host.start();
  await host.service.setAlarm("rearm", "x", "again", { data: 1 });
  await waitFor(() => fires.length >= 3, { timeoutMs: 3 * (POLL_MS + 1_000), what: "three firings" });
  await waitFor(() => alarmGone(host.service, "rearm", "x", "again"), {
    what: "the last one-shot alarm to be deleted",
  });
  await waitPolls(inst, 3);
  assert.deepEqual(fires.map((f) => f.data), [1, 2, 3]);
});

Deno.test("alarms: a repeating alarm that deletes itself in its handler stops", async () => {
  const inst = instrument(createMemoryProvider());
  await using host = createTestHost({ provider: inst.provider, logger: quietLogger() });
  const fires: Fire[] = [];
  host.registerActor("selfdel", (id, service) => {
    const self = service.client("selfdel", id);
    return {
      async alarm(name: string, data: unknown, ctx: ActorContext) {
        record(fires, name, data, ctx);
        if (fires.length === 2) await self.deleteAlarm(name);
      },
    };
  });
  await host.start();
  await host.service.setAlarm("selfdel", "x", "rep", { interval: 100 });
  await waitFor(() => fires.length >= 2, { what: "two firings" });
  await waitFor(() => alarmGone(host.service, "selfdel", "x", "rep"), { what: "the alarm to be gone" });
  await waitPolls(inst, 3);
  assert.equal(fires.length, 2, "no firing after the handler deleted the alarm");
});

Deno.test("alarms: an alarm set inside the actor's own invoke turn runs after that turn ends", async () => {
  const inst = instrument(createMemoryProvider());
  await using host = createTestHost({ provider: inst.provider, logger: quietLogger() });
  const events: string[] = [];
  const release = Promise.withResolvers<void>();
  const armed = Promise.withResolvers<void>();
  host.registerActor("own", (id, service) => {
    const self = service.client("own", id);
    return {
      async invoke() {
        events.push("invoke-start");
        await self.setAlarm("now", {});
        armed.resolve();
        await release.promise;
        events.push("invoke-end");
      },
      alarm() {
        events.push("alarm");
      },
    };
  });
  await host.start();
  const call = host.service.invoke("own", "x", "hold");
  await armed.promise;
  // Let the alarm be leased and become due while the turn is still held.
  await waitFor(() => inst.fetchSizes.some((n) => n > 0), { what: "the alarm to be leased" });
  await waitPolls(inst, 1);
  release.resolve();
  await call;
  await waitFor(() => events.includes("alarm"), { timeoutMs: POLL_MS + 1_500, what: "the alarm" });
  assert.deepEqual(events, ["invoke-start", "invoke-end", "alarm"]);
});

Deno.test("alarms: a retry keeps its schedule and attempt count when the actor is halted during the backoff", async () => {
  await using host = createTestHost({ logger: quietLogger() });
  const fires: Fire[] = [];
  const initialRetryDelayMs = 1_000;
  host.registerActor("halt-backoff", () => ({
    alarm(name: string, data: unknown, ctx: ActorContext) {
      record(fires, name, data, ctx);
      if (ctx.attempt === 1) throw new Error("first run fails");
    },
  }), { maxAttempts: 3, initialRetryDelayMs });
  await host.start();
  await host.service.setAlarm("halt-backoff", "x", "flaky", {});
  await waitFor(() => fires.length >= 1, { what: "the first run" });
  // Deactivating the actor removes its placement (and its alarm leases) while the retry waits.
  await host.service.halt("halt-backoff", "x");
  const bound = initialRetryDelayMs * 1.1 + 250;
  await waitFor(() => fires.length >= 2, { timeoutMs: bound + POLL_MS + 1_000, what: "the retry" });
  const gap = fires[1].at - fires[0].at;
  assert.ok(gap <= bound, `the retry ran ${gap} ms after the first run (bound ${bound} ms)`);
  assert.equal(fires[1].attempt, 2, "the retry counts as attempt 2");
  assert.equal(fires[1].requestId, fires[0].requestId, "same occurrence");
  await waitFor(() => alarmGone(host.service, "halt-backoff", "x", "flaky"), { what: "the alarm to be deleted" });
});

Deno.test("alarms: alarm methods reject with HostNotRunningError before start() and after stop()", async () => {
  const host = createTestHost({ logger: quietLogger() });
  host.registerActor("hnr", () => ({ alarm() {} }));
  const check = async (when: string) => {
    const svc = host.service;
    await assert.rejects(() => svc.setAlarm("hnr", "x", "a", {}), HostNotRunningError, `setAlarm ${when}`);
    await assert.rejects(() => svc.getAlarm("hnr", "x", "a"), HostNotRunningError, `getAlarm ${when}`);
    await assert.rejects(() => svc.deleteAlarm("hnr", "x", "a"), HostNotRunningError, `deleteAlarm ${when}`);
    await assert.rejects(() => svc.client("hnr", "x").setAlarm("a", {}), HostNotRunningError, `client ${when}`);
  };
  try {
    await check("before start()");
    await host.start();
    await host.service.setAlarm("hnr", "x", "a", { delayMs: 60_000 });
  } finally {
    await host.stop();
  }
  await check("after stop()");
});
