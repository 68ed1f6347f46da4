/**
 * Behaviour tests of actor state on a `LocalHost`: the service state methods
 * (API.md §6, §8), the typed client and its cache (§7), the value domain and
 * size limit (§4), and contracts C-1..C-5 (state part) and C-24..C-31.
 *
 * Provider-sensitive contracts run on the memory and the SQLite provider. No
 * test sleeps for a fixed time in place of an event: expiry is awaited with
 * `waitFor` and a deadline, or observed through a "canary" entry with a shorter
 * TTL.
 */

import assert from "node:assert/strict";
import type { ActorClient, ActorContext, ActorService, Logger } from "../actor/types.ts";
import {
  ActorTypeReservedError,
  HostNotRunningError,
  ProviderError,
  ReadOnlyError,
  StateNotFoundError,
} from "../errors.ts";
import type { LocalHost } from "./host.ts";
import { createMemoryProvider } from "../providers/memory/mod.ts";
import { createSqliteProvider } from "../providers/sqlite/mod.ts";
import type { ActorProvider } from "../providers/types.ts";
import { createTestHost } from "../testing/test_host.ts";
import { waitFor } from "../testing/wait_for.ts";

/** The largest encoded payload (API.md §4.2). */
const MAX_PAYLOAD_BYTES = 16_711_680;

// -- helpers -----------------------------------------------------------------

/** A provider wrapper that logs calls and can hold or fail the next call of a method. */
interface Instrumented {
  provider: ActorProvider;
  calls: { method: string; args: unknown[] }[];
  count(method: string, actorType?: string, actorId?: string): number;
  /** The next call of `method` rejects with `err` (without reaching the store). */
  failNext(method: string, err: Error): void;
  /** Calls of `method` wait until `release()` is called before reaching the store. */
  hold(method: string): { release(): void };
  /** Calls of `method` reach the store at once, but their result is delivered only after `release()`. */
  holdResponse(method: string): { release(): void };
}

function instrument(inner: ActorProvider): Instrumented {
  const calls: { method: string; args: unknown[] }[] = [];
  const failures = new Map<string, Error>();
  const gates = new Map<string, Promise<void>>();
  const responseGates = new Map<string, Promise<void>>();
  const provider = new Proxy(inner, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function" || typeof prop !== "string") return value;
      return async (...args: unknown[]) => {
        calls.push({ method: prop, args });
        const failure = failures.get(prop);
        if (failure !== undefined) {
          failures.delete(prop);
          throw failure;
        }
        const gate = gates.get(prop);
        if (gate !== undefined) await gate;
        const result = value.apply(target, args);
        const responseGate = responseGates.get(prop);
        if (responseGate !== undefined) await responseGate;
        return await result;
      };
    },
  });
  return {
    provider,
    calls,
    count(method, actorType, actorId) {
      return calls.filter((c) => {
        if (c.method !== method) return false;
        const first = c.args[0] as { actorType?: string; actorId?: string } | string | undefined;
        const [type, id] = typeof first === "object" && first !== null
          ? [first.actorType, first.actorId]
          : [first, c.args[1]];
        return (actorType === undefined || type === actorType) && (actorId === undefined || id === actorId);
      }).length;
    },
    failNext(method, err) {
      failures.set(method, err);
    },
    hold(method) {
      return gate(gates, method);
    },
    holdResponse(method) {
      return gate(responseGates, method);
    },
  };
}

function gate(gates: Map<string, Promise<void>>, method: string): { release(): void } {
  const { promise, resolve } = Promise.withResolvers<void>();
  gates.set(method, promise);
  return {
    release() {
      gates.delete(method);
      resolve();
    },
  };
}

/** A logger that drops everything (tests assert behaviour, not log lines). */
function quietLogger(): Logger {
  const noop = () => {};
  return { debug: noop, info: noop, warn: noop, error: noop };
}

type Kind = "memory" | "sqlite";
const KINDS: readonly Kind[] = ["memory", "sqlite"];

/**
 * Runs `fn` with an unstarted test host on a fresh provider of `kind`
 * (instrumented), then stops the host and removes any temp files.
 */
async function withHost(
  kind: Kind,
  fn: (host: LocalHost, inst: Instrumented) => Promise<void>,
): Promise<void> {
  const dir = kind === "sqlite" ? await Deno.makeTempDir({ prefix: "francis-state-" }) : undefined;
  const inner = dir === undefined ? createMemoryProvider() : createSqliteProvider({ path: `${dir}/state.db` });
  const inst = instrument(inner);
  const host = createTestHost({ provider: inst.provider, logger: quietLogger() });
  try {
    await fn(host, inst);
  } finally {
    await host.stop();
    if (dir !== undefined) await Deno.remove(dir, { recursive: true });
  }
}

/** True when `getState` rejects with `StateNotFoundError`; rethrows any other error. */
function stateGone(svc: ActorService, type: string, id: string): Promise<boolean> {
  return svc.getState(type, id).then(() => false, (err) => {
    if (err instanceof StateNotFoundError) return true;
    throw err;
  });
}

/** IDs of every entry of one type, through `listStates` pages of 1000. */
async function listedIds(svc: ActorService, type: string): Promise<string[]> {
  const ids: string[] = [];
  let after: string | undefined;
  do {
    const page = await svc.listStates(type, { limit: 1_000, after });
    ids.push(...page.states.map((s) => s.actorId));
    after = page.nextAfter;
  } while (after !== undefined);
  return ids;
}

/**
 * Registers `type` with an actor that owns a cached client (created in its
 * factory) and exposes it through `invoke(method)`: `get`, `set` (data), `delete`,
 * and `run` with a callback stored in `ops`.
 */
function registerClientActor<T>(
  host: LocalHost,
  type: string,
  options: { initialState?: () => T; cache?: boolean } = {},
): { factoryCalls: () => number; ops: Map<string, (c: ActorClient<T>, ctx: ActorContext) => unknown> } {
  let factoryCalls = 0;
  const ops = new Map<string, (c: ActorClient<T>, ctx: ActorContext) => unknown>();
  host.registerActor(type, (id, service) => {
    factoryCalls++;
    const client = service.client<T>(type, id, options);
    return {
      invoke(method: string, data: unknown, ctx: ActorContext) {
        if (method === "get") return client.getState();
        if (method === "set") return client.setState(data as T);
        if (method === "delete") return client.deleteState();
        const op = ops.get(method);
        if (op === undefined) throw new Error(`Unknown method "${method}"`);
        return op(client, ctx);
      },
    };
  });
  return { factoryCalls: () => factoryCalls, ops };
}

// -- C-24, C-25: absent state and durability ------------------------------------

for (const kind of KINDS) {
  Deno.test(`state (${kind}): C-24 getState and deleteState on absent state reject with StateNotFoundError`, () =>
    withHost(kind, async (host) => {
      host.registerActor("c24", () => ({ invoke: () => undefined }));
      await host.start();
      const svc = host.service;
      await assert.rejects(() => svc.getState("c24", "nobody"), StateNotFoundError);
      await assert.rejects(() => svc.deleteState("c24", "nobody"), StateNotFoundError);
      await svc.setState("c24", "x", { v: 1 });
      assert.deepEqual(await svc.getState("c24", "x"), { v: 1 });
      await svc.deleteState("c24", "x");
      await assert.rejects(() => svc.getState("c24", "x"), StateNotFoundError);
      await assert.rejects(() => svc.deleteState("c24", "x"), StateNotFoundError, "a second delete");
      await assert.rejects(() => svc.client("c24", "x").deleteState(), StateNotFoundError, "client delete");
      await assert.rejects(() => svc.getState("other-type", "x"), StateNotFoundError, "state is per type");
    }));
}

Deno.test("state (memory): C-25 state survives deactivation (halt) and re-activation", async () => {
  await using host = createTestHost({ logger: quietLogger() });
  const { factoryCalls, ops } = registerClientActor<{ n: number }>(host, "c25", { initialState: () => ({ n: 0 }) });
  ops.set("increment", async (c) => {
    const s = (await c.getState())!;
    s.n++;
    await c.setState(s);
    return s.n;
  });
  await host.start();
  assert.equal(await host.service.invoke("c25", "k", "increment"), 1);
  assert.equal(await host.service.invoke("c25", "k", "increment"), 2);
  await host.service.halt("c25", "k");
  assert.equal(await host.service.invoke("c25", "k", "increment"), 3, "the new activation reads the stored state");
  assert.equal(factoryCalls(), 2, "the actor was re-activated");
  assert.deepEqual(await host.service.getState("c25", "k"), { n: 3 });
});

Deno.test("state (sqlite): C-25 state survives a full host restart on the same file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "francis-state-" });
  const path = `${dir}/restart.db`;
  const start = async () => {
    const host = createTestHost({ provider: createSqliteProvider({ path }), logger: quietLogger() });
    const { ops } = registerClientActor<{ n: number }>(host, "c25", { initialState: () => ({ n: 0 }) });
    ops.set("increment", async (c) => {
      const s = (await c.getState())!;
      s.n++;
      await c.setState(s);
      return s.n;
    });
    await host.start();
    return host;
  };
  try {
    const a = await start();
    try {
      assert.equal(await a.service.invoke("c25", "k", "increment"), 1);
      assert.equal(await a.service.invoke("c25", "k", "increment"), 2);
      await a.service.setState("c25", "outside", { written: "by the service", bytes: new Uint8Array([9, 8]) });
    } finally {
      await a.stop();
    }
    const b = await start();
    try {
      assert.equal(await b.service.invoke("c25", "k", "increment"), 3, "the restarted host sees the stored state");
      assert.deepEqual(await b.service.getState("c25", "outside"), {
        written: "by the service",
        bytes: new Uint8Array([9, 8]),
      });
    } finally {
      await b.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// -- C-26, C-27: TTL -------------------------------------------------------------

for (const kind of KINDS) {
  Deno.test(`state (${kind}): C-26 state with ttlMs is readable, then gone from getState and listStates within ttl + 1000 ms`, () =>
    withHost(kind, async (host) => {
      host.registerActor("c26", () => ({ invoke: () => undefined }));
      await host.start();
      const svc = host.service;
      const ttlMs = 300;
      const setAt = Date.now();
      await svc.setState("c26", "short", { v: "soon gone" }, { ttlMs });
      await svc.setState("c26", "stays", { v: "kept" });
      assert.deepEqual(await svc.getState("c26", "short"), { v: "soon gone" }, "readable before it expires");
      assert.deepEqual(await listedIds(svc, "c26"), ["short", "stays"]);
      await waitFor(
        async () => (await stateGone(svc, "c26", "short")) && !(await listedIds(svc, "c26")).includes("short"),
        { timeoutMs: Math.max(0, setAt + ttlMs + 1_000 - Date.now()), what: "the state to expire" },
      );
      assert.ok(Date.now() - setAt <= ttlMs + 1_000);
      await assert.rejects(() => svc.deleteState("c26", "short"), StateNotFoundError, "expired state is absent");
      assert.deepEqual(await listedIds(svc, "c26"), ["stays"]);
    }));

  Deno.test(`state (${kind}): C-27 overwriting without ttlMs removes the expiry; a new ttlMs restarts it`, () =>
    withHost(kind, async (host) => {
      host.registerActor("c27", () => ({ invoke: () => undefined }));
      await host.start();
      const svc = host.service;
      // Expiry removed: "persist" is overwritten without ttlMs; "canary" expires when "persist" would have.
      await svc.setState("c27", "persist", 1, { ttlMs: 300 });
      await svc.setState("c27", "canary", 1, { ttlMs: 300 });
      await svc.setState("c27", "persist", 2);
      await waitFor(() => stateGone(svc, "c27", "canary"), { timeoutMs: 2_000, what: "the canary to expire" });
      assert.equal(await svc.getState("c27", "persist"), 2, "the overwrite without ttlMs removed the expiry");

      // Expiry restarted: "restart" gets ttlMs 1000 again once "half" (ttl 500) expired; "full" (ttl 1000)
      // marks the original deadline, at which "restart" must still be readable (about 500 ms remain).
      await svc.setState("c27", "restart", "v1", { ttlMs: 1_000 });
      await svc.setState("c27", "full", 1, { ttlMs: 1_000 });
      await svc.setState("c27", "half", 1, { ttlMs: 500 });
      await waitFor(() => stateGone(svc, "c27", "half"), { timeoutMs: 2_000, what: "the half-way canary" });
      const resetAt = Date.now();
      await svc.setState("c27", "restart", "v2", { ttlMs: 1_000 });
      await waitFor(() => stateGone(svc, "c27", "full"), { timeoutMs: 2_000, what: "the original deadline" });
      assert.equal(await svc.getState("c27", "restart"), "v2", "the new ttlMs restarted the clock");
      await waitFor(() => stateGone(svc, "c27", "restart"), {
        timeoutMs: Math.max(0, resetAt + 1_000 + 1_000 - Date.now()),
        what: "the restarted ttl to expire",
      });
      assert.equal(await svc.getState("c27", "persist"), 2);
    }));
}

// -- C-28: listing -----------------------------------------------------------------

for (const kind of KINDS) {
  Deno.test(`state (${kind}): C-28 listStates returns one type, non-expired, in UTF-16 code-unit order, activating nothing`, () =>
    withHost(kind, async (host) => {
      let factoryCalls = 0;
      for (const type of ["c28", "c28-other"]) {
        host.registerActor(type, () => {
          factoryCalls++;
          return { invoke: () => undefined };
        });
      }
      await host.start();
      const svc = host.service;
      // "\u{1F600}" is a surrogate pair (0xD83D…): in UTF-16 order it sorts before "\uFF21", in code-point
      // (and UTF-8 byte) order after it.
      const ids = ["B", "a", "é", "10", "9", "\uFF21", "\u{1F600}", "_", "a b", "ab"];
      for (const [i, id] of ids.entries()) await svc.setState("c28", id, { i });
      await svc.setState("c28-other", "zzz", 1);
      await svc.setState("c28", "expired", 1, { ttlMs: 1 });
      await waitFor(() => stateGone(svc, "c28", "expired"), { what: "the expired entry" });

      const expected = [...ids].sort(); // JS string order is UTF-16 code-unit order
      assert.deepEqual(expected.slice(0, 5), ["10", "9", "B", "_", "a"]);
      const page = await svc.listStates("c28");
      assert.deepEqual(page.states.map((s) => s.actorId), expected);
      assert.equal(page.hasMore, false);
      assert.equal(page.nextAfter, undefined);
      assert.ok(page.states.every((s) => !("data" in s) || s.data === undefined), "no data without includeData");

      const withData = await svc.listStates<{ i: number }>("c28", { includeData: true });
      assert.deepEqual(
        withData.states.map((s) => [s.actorId, s.data]),
        expected.map((id) => [id, { i: ids.indexOf(id) }]),
      );

      const afterB = await svc.listStates("c28", { after: "B" });
      assert.deepEqual(afterB.states.map((s) => s.actorId), expected.slice(expected.indexOf("B") + 1));
      const small = await svc.listStates("c28", { limit: 3 });
      assert.deepEqual(small.states.map((s) => s.actorId), expected.slice(0, 3));
      assert.equal(small.hasMore, true);
      assert.equal(small.nextAfter, expected[2]);

      assert.deepEqual((await svc.listStates("c28-other")).states.map((s) => s.actorId), ["zzz"]);
      assert.deepEqual((await svc.listStates("c28-none")).states, []);
      assert.equal(factoryCalls, 0, "listing activates no actor");
    }));

  Deno.test(`state (${kind}): C-28 paging 250 entries visits each once, 100 per page by default; limit 1001 rejects`, () =>
    withHost(kind, async (host) => {
      let factoryCalls = 0;
      host.registerActor("page", () => {
        factoryCalls++;
        return { invoke: () => undefined };
      });
      await host.start();
      const svc = host.service;
      const ids = Array.from({ length: 250 }, (_, i) => `id-${i}`);
      for (const id of ids) await svc.setState("page", id, id.length);
      const expected = [...ids].sort();

      const first = await svc.listStates("page");
      assert.equal(first.states.length, 100, "100 per page by default");
      assert.equal(first.hasMore, true);
      assert.equal(first.nextAfter, first.states[99].actorId);

      const seen: string[] = [];
      const pages: { n: number; hasMore: boolean; nextAfter: string | undefined }[] = [];
      let after: string | undefined;
      do {
        const page = await svc.listStates("page", { limit: 100, after });
        seen.push(...page.states.map((s) => s.actorId));
        pages.push({ n: page.states.length, hasMore: page.hasMore, nextAfter: page.nextAfter });
        after = page.nextAfter;
      } while (after !== undefined && pages.length < 10);
      assert.deepEqual(seen, expected, "every entry exactly once, in order");
      assert.deepEqual(pages.map((p) => p.n), [100, 100, 50]);
      assert.deepEqual(pages.at(-1), { n: 50, hasMore: false, nextAfter: undefined });

      const iterated: string[] = [];
      for await (const entry of svc.listAllStates("page")) iterated.push(entry.actorId);
      assert.deepEqual(iterated, expected, "listAllStates iterates every entry once");
      const withData: [string, unknown][] = [];
      for await (const e of svc.listAllStates("page", { pageSize: 7, includeData: true })) {
        withData.push([e.actorId, e.data]);
      }
      assert.deepEqual(withData, expected.map((id) => [id, id.length]));

      await assert.rejects(() => svc.listStates("page", { limit: 1001 }), RangeError);
      await assert.rejects(() => svc.listStates("page", { limit: 0 }), RangeError);
      await assert.rejects(() => svc.listAllStates("page", { pageSize: 1001 }).next(), RangeError);
      assert.equal((await svc.listStates("page", { limit: 1000 })).states.length, 250);
      assert.equal(factoryCalls, 0, "listing activates no actor");
    }));

  Deno.test(`state (${kind}): C-28 the last page is flagged even when the count is a multiple of the page size`, () =>
    withHost(kind, async (host) => {
      await host.start();
      const svc = host.service;
      for (let i = 0; i < 200; i++) await svc.setState("exact", `k${String(i).padStart(3, "0")}`, i);
      const p1 = await svc.listStates("exact", { limit: 100 });
      assert.equal(p1.hasMore, true);
      const p2 = await svc.listStates("exact", { limit: 100, after: p1.nextAfter });
      assert.equal(p2.states.length, 100);
      assert.equal(p2.hasMore, false, "no further entries after the second page");
      assert.equal(p2.nextAfter, undefined);
    }));
}

// -- C-29..C-31 and the client cache (§7) ------------------------------------------

Deno.test("state: C-29 a cached client does not see an outside setState while active; after re-activation it does", async () => {
  await using host = createTestHost({ logger: quietLogger() });
  registerClientActor<{ n: number }>(host, "c29");
  await host.start();
  const svc = host.service;
  await svc.invoke("c29", "x", "set", { n: 1 });
  assert.deepEqual(await svc.invoke("c29", "x", "get"), { n: 1 });
  await svc.setState("c29", "x", { n: 99 });
  assert.deepEqual(await svc.getState("c29", "x"), { n: 99 }, "the store has the outside value");
  assert.deepEqual(await svc.invoke("c29", "x", "get"), { n: 1 }, "the active actor's cache is not refreshed");
  await svc.halt("c29", "x");
  assert.deepEqual(await svc.invoke("c29", "x", "get"), { n: 99 }, "a new activation reads the store");
});

Deno.test("state: C-30 mutating objects returned by or passed to the client does not change the next getState", async () => {
  await using host = createTestHost({ logger: quietLogger() });
  const { ops } = registerClientActor<{ n: number; list: number[] }>(host, "c30", {
    initialState: () => ({ n: 0, list: [] }),
  });
  ops.set("mutate-initial", async (c) => {
    const a = (await c.getState())!;
    a.n = 100;
    a.list.push(1);
    return await c.getState();
  });
  ops.set("mutate-stored", async (c) => {
    const s = { n: 1, list: [1] };
    await c.setState(s);
    s.n = 2; // the argument, after the write
    const read = (await c.getState())!;
    read.list.push(2); // a returned copy
    return await c.getState();
  });
  await host.start();
  assert.deepEqual(await host.service.invoke("c30", "x", "mutate-initial"), { n: 0, list: [] });
  assert.deepEqual(await host.service.invoke("c30", "x", "mutate-stored"), { n: 1, list: [1] });
  assert.deepEqual(await host.service.invoke("c30", "x", "get"), { n: 1, list: [1] }, "the next turn too");
});

Deno.test("state: C-31 client.getState returns initialState() or undefined when nothing is stored, never StateNotFoundError", async () => {
  await using host = createTestHost({ logger: quietLogger() });
  const withInit = registerClientActor<{ fresh: boolean }>(host, "c31-init", { initialState: () => ({ fresh: true }) });
  withInit.ops.set("delete-then-get", async (c) => {
    await c.setState({ fresh: false });
    await c.deleteState();
    return await c.getState();
  });
  registerClientActor<string>(host, "c31-plain");
  await host.start();
  const svc = host.service;
  assert.deepEqual(await svc.invoke("c31-init", "x", "get"), { fresh: true });
  assert.deepEqual(await svc.invoke("c31-init", "x", "delete-then-get"), { fresh: true });
  assert.equal(await svc.invoke("c31-plain", "x", "get"), undefined);
  // Clients outside any actor behave the same (they do not cache).
  assert.deepEqual(await svc.client("c31-init", "y", { initialState: () => ({ fresh: true }) }).getState(), {
    fresh: true,
  });
  assert.equal(await svc.client("c31-plain", "y").getState(), undefined);
  await svc.setState("c31-plain", "y", "stored");
  assert.equal(await svc.client<string>("c31-plain", "y").getState(), "stored");
});

Deno.test("state: §7 concurrent cache misses share one read; later reads are served from the cache", async () => {
  const inst = instrument(createMemoryProvider());
  await using host = createTestHost({ provider: inst.provider, logger: quietLogger() });
  const cached = registerClientActor<{ v: number }>(host, "cache-on", { initialState: () => ({ v: 0 }) });
  cached.ops.set("three", (c) => Promise.all([c.getState(), c.getState(), c.getState()]));
  const uncached = registerClientActor<{ v: number }>(host, "cache-off", { cache: false });
  uncached.ops.set("three", (c) => Promise.all([c.getState(), c.getState(), c.getState()]));
  await host.start();
  const svc = host.service;

  await svc.setState("cache-on", "stored", { v: 7 });
  assert.deepEqual(await svc.invoke("cache-on", "stored", "three"), [{ v: 7 }, { v: 7 }, { v: 7 }]);
  assert.equal(inst.count("getState", "cache-on", "stored"), 1, "three concurrent misses, one read");
  assert.deepEqual(await svc.invoke("cache-on", "stored", "get"), { v: 7 });
  assert.equal(inst.count("getState", "cache-on", "stored"), 1, "a later getState is served from the cache");

  assert.deepEqual(await svc.invoke("cache-on", "missing", "three"), [{ v: 0 }, { v: 0 }, { v: 0 }]);
  assert.deepEqual(await svc.invoke("cache-on", "missing", "get"), { v: 0 });
  assert.equal(inst.count("getState", "cache-on", "missing"), 1, "a missing value is cached too");

  await svc.setState("cache-off", "s", { v: 1 });
  await svc.invoke("cache-off", "s", "three");
  await svc.invoke("cache-off", "s", "get");
  assert.equal(inst.count("getState", "cache-off", "s"), 4, "with cache: false every call reads the store");

  const outside = svc.client<{ v: number }>("cache-on", "stored");
  await outside.getState();
  await outside.getState();
  assert.equal(inst.count("getState", "cache-on", "stored"), 3, "a client made outside the actor does not cache");
});

Deno.test("state: §7 a caller's aborted signal does not fail other callers sharing the same cache miss", async () => {
  const inst = instrument(createMemoryProvider());
  await using host = createTestHost({ provider: inst.provider, logger: quietLogger() });
  const { ops } = registerClientActor<{ v: number }>(host, "abort-share");
  ops.set("race", async (c) => {
    const a = new AbortController();
    const b = new AbortController();
    const gate = inst.hold("getState");
    const first = c.getState({ signal: a.signal }); // starts the shared read
    const second = c.getState();
    const third = c.getState({ signal: b.signal }); // waits on the shared read
    a.abort(new DOMException("first gave up", "AbortError"));
    b.abort(new DOMException("third gave up", "AbortError"));
    // Both aborted callers reject while the read is still held, each with its own reason.
    const reason = (p: Promise<unknown>) => p.then(() => "resolved", (err) => (err as Error).message);
    const aborted = [await reason(first), await reason(third)];
    gate.release();
    const value = await second.then((v) => v, (err) => `rejected: ${err}`);
    return { aborted, value, again: await c.getState() };
  });
  await host.start();
  await host.service.setState("abort-share", "x", { v: 5 });
  assert.deepEqual(await host.service.invoke("abort-share", "x", "race"), {
    aborted: ["first gave up", "third gave up"],
    value: { v: 5 },
    again: { v: 5 },
  });
  assert.equal(inst.count("getState", "abort-share", "x"), 1, "one shared read filled the cache");
});

Deno.test("state: §7 a failed setState leaves the cache; a failed deleteState invalidates it; a successful delete empties it", async () => {
  const inst = instrument(createMemoryProvider());
  await using host = createTestHost({ provider: inst.provider, logger: quietLogger() });
  const { ops } = registerClientActor<{ n: number }>(host, "c7", { initialState: () => ({ n: 0 }) });
  ops.set("set-fails", async (c) => {
    inst.failNext("setState", new ProviderError("disk on fire"));
    const outcome = await c.setState({ n: 5 }).then(() => "resolved", (err) => (err as Error).name);
    return { outcome, after: await c.getState() };
  });
  ops.set("delete-fails", async (c) => {
    inst.failNext("deleteState", new ProviderError("disk on fire"));
    const outcome = await c.deleteState().then(() => "resolved", (err) => (err as Error).name);
    return { outcome, after: await c.getState() };
  });
  await host.start();
  const svc = host.service;
  await svc.invoke("c7", "x", "set", { n: 1 });
  assert.deepEqual(await svc.invoke("c7", "x", "set-fails"), { outcome: "ProviderError", after: { n: 1 } });

  await svc.setState("c7", "x", { n: 2 }); // behind the cache's back
  assert.deepEqual(await svc.invoke("c7", "x", "get"), { n: 1 }, "still served from the cache");
  const reads = inst.count("getState", "c7", "x");
  assert.deepEqual(await svc.invoke("c7", "x", "delete-fails"), { outcome: "ProviderError", after: { n: 2 } });
  assert.equal(inst.count("getState", "c7", "x"), reads + 1, "the failed delete made the next getState re-read");

  await svc.invoke("c7", "x", "delete");
  assert.deepEqual(await svc.invoke("c7", "x", "get"), { n: 0 }, "after a successful delete: initialState()");
  await assert.rejects(() => svc.getState("c7", "x"), StateNotFoundError);
});

Deno.test("state: §7 a read that overlaps a write or a delete never leaves a stale value in the cache", async () => {
  const inst = instrument(createMemoryProvider());
  await using host = createTestHost({ provider: inst.provider, logger: quietLogger() });
  const { ops } = registerClientActor<{ n: number }>(host, "overlap", { initialState: () => ({ n: 0 }) });
  // The store answers the read with the value from before the write, but the answer arrives after the
  // write completed (as with a networked store).
  const overlap =
    (write: (c: ActorClient<{ n: number }>) => Promise<void>) => async (c: ActorClient<{ n: number }>) => {
      const writeGate = inst.hold(write === del ? "deleteState" : "setState");
      const readGate = inst.holdResponse("getState");
      const writing = write(c);
      const reading = c.getState(); // a concurrent read: either value is fine for it
      writeGate.release();
      await writing;
      readGate.release();
      await reading;
      return await c.getState(); // after the write: must see it
    };
  const set = (c: ActorClient<{ n: number }>) => c.setState({ n: 2 });
  const del = (c: ActorClient<{ n: number }>) => c.deleteState();
  ops.set("overlap-set", overlap(set));
  ops.set("overlap-delete", overlap(del));
  await host.start();
  const svc = host.service;
  await svc.setState("overlap", "a", { n: 1 });
  assert.deepEqual(await svc.invoke("overlap", "a", "overlap-set"), { n: 2 }, "the cache holds the written value");
  await svc.setState("overlap", "b", { n: 1 });
  assert.deepEqual(await svc.invoke("overlap", "b", "overlap-delete"), { n: 0 }, "the cache holds the deletion");
});

// -- values: C-2..C-5 ------------------------------------------------------------------

/** A value covering the §4.1 domain that round-trips unchanged. */
function domainValue(): Record<string, unknown> {
  return {
    nil: null,
    t: true,
    f: false,
    s: 'text with "quotes", é, \u{1F600} and \n',
    empty: "",
    n: [0, -1, 1.5, Number.MAX_SAFE_INTEGER, -1e-7],
    arr: [1, "two", null, [[]], { deep: new Uint8Array([0, 255, 7]) }],
    bytes: new Uint8Array([1, 2, 3]),
    noBytes: new Uint8Array(0),
    nested: { a: { b: { c: [new Uint8Array([42])] } }, emptyObj: {}, emptyArr: [] },
    bytesLike: { $bytes: "x", other: 1 }, // more than the one "$bytes" key: an ordinary object
  };
}

for (const kind of KINDS) {
  Deno.test(`state (${kind}): C-2 values of the §4.1 domain round-trip through state, nested Uint8Array included`, () =>
    withHost(kind, async (host) => {
      const { ops } = registerClientActor<unknown>(host, "c2");
      ops.set("roundtrip", async (c) => {
        await c.setState(domainValue());
        return await c.getState();
      });
      await host.start();
      const svc = host.service;
      await svc.setState("c2", "svc", domainValue());
      const back = await svc.getState<Record<string, unknown>>("c2", "svc");
      assert.deepStrictEqual(back, domainValue());
      assert.ok(back.bytes instanceof Uint8Array);
      const deep = ((back.arr as unknown[])[4] as { deep: unknown }).deep;
      assert.ok(deep instanceof Uint8Array && deep.length === 3 && deep[1] === 255);
      assert.deepStrictEqual(await svc.invoke("c2", "client", "roundtrip"), domainValue());

      for (const value of [null, 0, "", "s", [], {}, new Uint8Array([5, 6]), false, [null]]) {
        await svc.setState("c2", "scalar", value);
        assert.deepStrictEqual(await svc.getState("c2", "scalar"), value);
      }
      // Lossy but defined: undefined properties are dropped, undefined array slots become null, instances go plain.
      class Point {
        constructor(public x: number, public y: number) {}
      }
      await svc.setState("c2", "lossy", { u: undefined, list: [undefined, 1], p: new Point(1, 2) });
      assert.deepStrictEqual(await svc.getState("c2", "lossy"), { list: [null, 1], p: { x: 1, y: 2 } });
    }));
}

Deno.test("state: C-5 a Date in state comes back as its ISO string", async () => {
  await using host = createTestHost({ logger: quietLogger() });
  await host.start();
  const when = new Date(Date.UTC(2024, 1, 29, 12, 34, 56, 789));
  await host.service.setState("c5", "x", { when, list: [when] });
  assert.deepStrictEqual(await host.service.getState("c5", "x"), {
    when: "2024-02-29T12:34:56.789Z",
    list: ["2024-02-29T12:34:56.789Z"],
  });
});

Deno.test("state: C-3 a non-encodable state rejects with a TypeError naming the path, and nothing is stored", async () => {
  const inst = instrument(createMemoryProvider());
  await using host = createTestHost({ provider: inst.provider, logger: quietLogger() });
  const { ops } = registerClientActor<unknown>(host, "c3");
  ops.set("bad", async (c) => {
    const err = await c.setState({ items: [1, 2, 3n] }).then(() => undefined, (e) => e);
    return {
      isTypeError: err instanceof TypeError,
      message: String((err as Error)?.message),
      after: await c.getState(),
    };
  });
  await host.start();
  const svc = host.service;
  await assert.rejects(
    () => svc.setState("c3", "fresh", { items: [1, 2, 3n] }),
    (err: Error) => err instanceof TypeError && err.message.includes("$.items[2]") && err.message.includes("bigint"),
  );
  await assert.rejects(() => svc.getState("c3", "fresh"), StateNotFoundError, "nothing stored");
  const bad: unknown[] = [
    { f: () => 1 },
    { s: Symbol("x") },
    { n: NaN },
    { i: -Infinity },
    { m: new Map() },
    { t: new Set() },
    { a: new ArrayBuffer(2) },
    { u: new Uint16Array(2) },
    { $bytes: "AAA=" },
  ];
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  bad.push(cyclic);
  for (const value of bad) {
    await assert.rejects(() => svc.setState("c3", "fresh", value), TypeError, `${Deno.inspect(value)}`);
  }
  await svc.setState("c3", "kept", { ok: 1 });
  await assert.rejects(() => svc.setState("c3", "kept", { items: [1, 2, 3n] }), TypeError);
  assert.deepEqual(await svc.getState("c3", "kept"), { ok: 1 }, "the previous value is untouched");
  assert.equal(inst.count("setState", "c3", "fresh"), 0, "no write reached the store");

  await svc.invoke("c3", "via-client", "set", { ok: 2 });
  const r = await svc.invoke<{ isTypeError: boolean; message: string; after: unknown }>("c3", "via-client", "bad");
  assert.equal(r.isTypeError, true);
  assert.ok(r.message.includes("$.items[2]"), r.message);
  assert.deepEqual(r.after, { ok: 2 }, "the client cache is untouched");
  assert.deepEqual(await svc.getState("c3", "via-client"), { ok: 2 });
});

Deno.test("state: C-4 a state over 16,711,680 encoded bytes rejects with RangeError and stores nothing; at the limit it is stored", async () => {
  const inst = instrument(createMemoryProvider());
  await using host = createTestHost({ provider: inst.provider, logger: quietLogger() });
  await host.start();
  const svc = host.service;
  // A JSON string encodes as its characters plus two quotes.
  const atLimit = "x".repeat(MAX_PAYLOAD_BYTES - 2);
  const overLimit = "x".repeat(MAX_PAYLOAD_BYTES - 1);
  await assert.rejects(() => svc.setState("c4", "big", overLimit), RangeError);
  await assert.rejects(() => svc.getState("c4", "big"), StateNotFoundError, "nothing stored");
  assert.equal(inst.count("setState", "c4", "big"), 0, "no write reached the store");
  await svc.setState("c4", "big", atLimit);
  assert.equal((await svc.getState<string>("c4", "big")).length, atLimit.length);
  await assert.rejects(() => svc.setState("c4", "big", { s: overLimit }), RangeError);
  assert.equal((await svc.getState<string>("c4", "big")).length, atLimit.length, "the stored value is untouched");
});

// -- validation and read-only ---------------------------------------------------------

Deno.test("state: setState ttlMs must be an integer >= 1; nothing is stored otherwise", async () => {
  const inst = instrument(createMemoryProvider());
  await using host = createTestHost({ provider: inst.provider, logger: quietLogger() });
  await host.start();
  const svc = host.service;
  await assert.rejects(() => svc.setState("ttl", "x", 1, { ttlMs: 0 }), RangeError, "ttlMs 0");
  await assert.rejects(() => svc.setState("ttl", "x", 1, { ttlMs: -5 }), RangeError, "ttlMs -5");
  await assert.rejects(() => svc.setState("ttl", "x", 1, { ttlMs: 1.5 }), TypeError, "ttlMs 1.5");
  await assert.rejects(() => svc.setState("ttl", "x", 1, { ttlMs: NaN }), TypeError, "ttlMs NaN");
  await assert.rejects(() => svc.setState("ttl", "x", 1, { ttlMs: Infinity }), TypeError, "ttlMs Infinity");
  await assert.rejects(() => svc.setState("ttl", "x", 1, { ttlMs: "10" as unknown as number }), TypeError);
  await assert.rejects(() => svc.client("ttl", "x").setState(1, { ttlMs: 0 }), RangeError, "client ttlMs 0");
  assert.equal(inst.count("setState"), 0, "no write reached the store");
  await assert.rejects(() => svc.getState("ttl", "x"), StateNotFoundError);
});

Deno.test("state: C-1 invalid names reject with TypeError before any I/O", async () => {
  const inst = instrument(createMemoryProvider());
  await using host = createTestHost({ provider: inst.provider, logger: quietLogger() });
  await host.start();
  const svc = host.service;
  const before = inst.calls.length;
  for (const bad of ["", "a/b"]) {
    const what = JSON.stringify(bad);
    await assert.rejects(() => svc.getState("t", bad), TypeError, `getState actorId ${what}`);
    await assert.rejects(() => svc.getState(bad, "x"), TypeError, `getState actorType ${what}`);
    await assert.rejects(() => svc.setState("t", bad, 1), TypeError, `setState actorId ${what}`);
    await assert.rejects(() => svc.setState(bad, "x", 1), TypeError, `setState actorType ${what}`);
    await assert.rejects(() => svc.deleteState("t", bad), TypeError, `deleteState actorId ${what}`);
    await assert.rejects(() => svc.listStates(bad), TypeError, `listStates actorType ${what}`);
    await assert.rejects(() => svc.listAllStates(bad).next(), TypeError, `listAllStates actorType ${what}`);
    assert.throws(() => svc.client("t", bad), TypeError, `client actorId ${what}`);
  }
  await assert.rejects(
    () => svc.setState("t", "a/b", 1),
    (err: Error) => err instanceof TypeError && err.message.startsWith("Cannot ") && err.message.includes('"a/b"'),
  );
  const stateCalls = inst.calls.slice(before).filter((c) => /State/.test(c.method));
  assert.deepEqual(stateCalls, [], "no state call reached the store");
});

Deno.test("state: a francis.builtin.* type is rejected with ActorTypeReservedError", async () => {
  const inst = instrument(createMemoryProvider());
  await using host = createTestHost({ provider: inst.provider, logger: quietLogger() });
  await host.start();
  const svc = host.service;
  const type = "francis.builtin.x";
  await assert.rejects(() => svc.getState(type, "x"), ActorTypeReservedError);
  await assert.rejects(() => svc.setState(type, "x", 1), ActorTypeReservedError);
  await assert.rejects(() => svc.deleteState(type, "x"), ActorTypeReservedError);
  await assert.rejects(() => svc.listStates(type), ActorTypeReservedError);
  assert.throws(() => svc.client(type, "x"), ActorTypeReservedError);
  assert.equal(inst.count("setState"), 0);
});

Deno.test("state: setState and deleteState inside peek reject with ReadOnlyError, on any target; reads work", async () => {
  await using host = createTestHost({ logger: quietLogger() });
  host.registerActor("ro", (id, service) => {
    const self = service.client<{ v: number }>("ro", id);
    const attempt = (p: () => Promise<unknown>) =>
      p().then(() => "resolved", (err) => (err instanceof ReadOnlyError ? "ReadOnlyError" : String(err)));
    return {
      invoke: () => self.setState({ v: 1 }),
      async peek(_m: string, _d: unknown, ctx: ActorContext) {
        return {
          readOnly: ctx.readOnly,
          clientSet: await attempt(() => self.setState({ v: 2 })),
          clientDelete: await attempt(() => self.deleteState()),
          serviceSetSelf: await attempt(() => service.setState("ro", id, { v: 3 })),
          serviceSetOther: await attempt(() => service.setState("ro", "other", { v: 4 })),
          serviceDeleteSelf: await attempt(() => service.deleteState("ro", id)),
          serviceDeleteOther: await attempt(() => service.deleteState("ro", "victim")),
          clientRead: await self.getState(),
          serviceRead: await service.getState("ro", "victim"),
        };
      },
    };
  });
  await host.start();
  const svc = host.service;
  await svc.invoke("ro", "x", "init");
  await svc.setState("ro", "victim", { v: 9 });
  assert.deepEqual(await svc.peek("ro", "x", "check"), {
    readOnly: true,
    clientSet: "ReadOnlyError",
    clientDelete: "ReadOnlyError",
    serviceSetSelf: "ReadOnlyError",
    serviceSetOther: "ReadOnlyError",
    serviceDeleteSelf: "ReadOnlyError",
    serviceDeleteOther: "ReadOnlyError",
    clientRead: { v: 1 },
    serviceRead: { v: 9 },
  });
  assert.deepEqual(await svc.getState("ro", "x"), { v: 1 });
  assert.deepEqual(await svc.getState("ro", "victim"), { v: 9 });
  await assert.rejects(() => svc.getState("ro", "other"), StateNotFoundError);
});

Deno.test("state: the service and clients reject with HostNotRunningError before start() and after stop()", async () => {
  const host = createTestHost({ logger: quietLogger() });
  host.registerActor("hnr", () => ({ invoke: () => undefined }));
  const check = async (when: string) => {
    const svc = host.service;
    await assert.rejects(() => svc.getState("hnr", "x"), HostNotRunningError, `getState ${when}`);
    await assert.rejects(() => svc.setState("hnr", "x", 1), HostNotRunningError, `setState ${when}`);
    await assert.rejects(() => svc.deleteState("hnr", "x"), HostNotRunningError, `deleteState ${when}`);
    await assert.rejects(() => svc.listStates("hnr"), HostNotRunningError, `listStates ${when}`);
    await assert.rejects(() => svc.listAllStates("hnr").next(), HostNotRunningError, `listAllStates ${when}`);
    const client = svc.client("hnr", "x");
    await assert.rejects(() => client.getState(), HostNotRunningError, `client.getState ${when}`);
    await assert.rejects(() => client.setState(1), HostNotRunningError, `client.setState ${when}`);
    await assert.rejects(() => client.deleteState(), HostNotRunningError, `client.deleteState ${when}`);
  };
  try {
    await check("before start()");
    await host.start();
    await host.service.setState("hnr", "x", 1);
    assert.equal(await host.service.getState("hnr", "x"), 1);
  } finally {
    await host.stop();
  }
  await check("after stop()");
});
