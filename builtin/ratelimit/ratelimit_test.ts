/**
 * Rate limit built-in (API.md §21.2, C-90) and the reserved built-in types
 * (C-91), on in-process clusters sharing a memory provider.
 */

import assert from "node:assert/strict";
import { ActorTypeReservedError } from "../../errors.ts";
import { createMemoryProvider } from "../../providers/memory/mod.ts";
import { createTestHost } from "../../testing/test_host.ts";
import type { LocalHost } from "../../host_local/host.ts";
import { createRateLimit } from "./mod.ts";

const QUIET = { debug() {}, info() {}, warn() {}, error() {} };

async function cluster(n: number, register: (h: LocalHost) => void): Promise<LocalHost[] & AsyncDisposable> {
  const provider = createMemoryProvider();
  const hosts = Array.from({ length: n }, () => createTestHost({ provider, logger: QUIET }));
  hosts.forEach(register);
  await Promise.all(hosts.map((h) => h.start()));
  return Object.assign(hosts, {
    async [Symbol.asyncDispose]() {
      await Promise.all(hosts.map((h) => h.stop()));
    },
  });
}

Deno.test("ratelimit: C-90 first call allowed, second refused with 0 < retryAfterMs <= 1000, keys independent, refusals do not delay recovery", async () => {
  const limit = createRateLimit("api", { rate: 1, perMs: 1_000 });
  await using hosts = await cluster(2, (h) => h.registerBuiltInActor(limit));
  const a = limit.service(hosts[0].service);
  const b = limit.service(hosts[1].service);
  assert.strictEqual(limit.service(hosts[0].service), a, "memoised per service");
  assert.deepEqual(await a.allow("k"), { allowed: true, retryAfterMs: 0 });
  const refused = await b.allow("k");
  assert.equal(refused.allowed, false);
  assert.ok(Number.isInteger(refused.retryAfterMs) && refused.retryAfterMs > 0 && refused.retryAfterMs <= 1_000);
  assert.deepEqual(await b.allow("other"), { allowed: true, retryAfterMs: 0 }, "other keys unaffected");
  assert.deepEqual(await a.allow("a/b"), { allowed: true, retryAfterMs: 0 }, "any non-empty key");
  // Hammer the key while it refills: refused calls take no token, so it is allowed again on time.
  const started = Date.now();
  let last = refused;
  while (!last.allowed) {
    assert.ok(Date.now() - started < 1_300, "allowed again within its retryAfterMs");
    last = await a.allow("k");
    if (!last.allowed) await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(Date.now() - started <= refused.retryAfterMs + 150);
});

Deno.test("ratelimit: concurrent callers on three hosts never exceed burst + refill", async () => {
  const limit = createRateLimit("burst", { rate: 5, perMs: 60_000, burst: 10 });
  await using hosts = await cluster(3, (h) => h.registerBuiltInActor(limit));
  const calls = hosts.flatMap((h) => Array.from({ length: 20 }, () => limit.service(h.service).allow("shared")));
  const results = await Promise.all(calls);
  assert.equal(results.filter((r) => r.allowed).length, 10, "exactly burst allowed");
  for (const r of results.filter((r) => !r.allowed)) assert.ok(r.retryAfterMs > 0 && r.retryAfterMs <= 12_000);
});

Deno.test("ratelimit: an aborted signal rejects and takes no token; bad keys reject", async () => {
  const limit = createRateLimit("abort", { rate: 1, perMs: 60_000 });
  await using host = createTestHost({ logger: QUIET });
  host.registerBuiltInActor(limit);
  await host.start();
  const svc = limit.service(host.service);
  const aborted = AbortSignal.abort();
  await assert.rejects(svc.allow("k", { signal: aborted }), (e) => e === aborted.reason);
  assert.equal((await svc.allow("k")).allowed, true, "the aborted call took no token");
  await assert.rejects(svc.allow(""), TypeError);
  await assert.rejects(svc.allow(5 as unknown as string), TypeError);
});

Deno.test("ratelimit: options are validated synchronously with 'Cannot create rate limit' messages", () => {
  const bad: [unknown, unknown, RegExp][] = [
    ["", { rate: 1 }, /^Cannot create rate limit: name must not be empty/],
    ["a/b", { rate: 1 }, /name/],
    ["x", undefined, /^Cannot create rate limit: rate is required$/],
    ["x", {}, /^Cannot create rate limit: rate is required$/],
    ["x", { rate: 0 }, /rate must be at least 1/],
    ["x", { rate: 1.5 }, /rate must be an integer/],
    ["x", { rate: 1, perMs: 0 }, /perMs/],
    ["x", { rate: 1, burst: 0 }, /burst/],
    ["x", { rate: 1, idleTimeoutMs: 0 }, /idleTimeoutMs/],
    ["x", { rate: 1, idleTimeoutMs: Infinity }, /idleTimeoutMs must be an integer/],
    ["x", { rate: 1, burts: 2 }, /unknown option "burts"/],
  ];
  for (const [name, options, message] of bad) {
    assert.throws(() => createRateLimit(name as string, options as never), { message });
  }
  assert.throws(() => createRateLimit("x", { rate: 0 }), RangeError);
  assert.throws(() => createRateLimit("x", { rate: "1" as unknown as number }), TypeError);
  const ok = createRateLimit("ok", { rate: 3 });
  assert.equal(ok.kind, "ratelimit");
  assert.equal(ok.name, "ok");
});

Deno.test("built-ins: registering the same kind and name twice is a TypeError; C-91 public methods reject built-in types", async () => {
  const limit = createRateLimit("api", { rate: 1 });
  await using host = createTestHost({ logger: QUIET });
  host.registerBuiltInActor(limit);
  assert.throws(() => host.registerBuiltInActor(createRateLimit("api", { rate: 2 })), /already registered/);
  host.registerBuiltInActor(createRateLimit("other", { rate: 2 }));
  assert.throws(() => host.registerBuiltInActor({ kind: "ratelimit", name: "fake" }), /not a built-in actor/);
  await host.start();
  assert.throws(() => host.registerBuiltInActor(createRateLimit("late", { rate: 1 })), /already started/);
  await limit.service(host.service).allow("k"); // the actor is active now
  const s = host.service;
  const t = "francis.builtin.ratelimit.api";
  const id = "k";
  const calls: (() => Promise<unknown>)[] = [
    () => s.invoke(t, id, "allow"),
    () => s.peek(t, id, "allow"),
    () => s.getState(t, id),
    () => s.setState(t, id, 1),
    () => s.deleteState(t, id),
    () => s.listStates(t),
    () => s.listAllStates(t).next(),
    () => s.getAlarm(t, id, "a"),
    () => s.setAlarm(t, id, "a", {}),
    () => s.deleteAlarm(t, id, "a"),
    () => s.halt(t, id),
  ];
  for (const call of calls) await assert.rejects(call(), ActorTypeReservedError);
  assert.throws(() => s.client(t, id), ActorTypeReservedError);
  assert.throws(() => limit.service({} as never), /not the service of a Francis host/);
});
