/**
 * Singleton actors (API.md §13, C-86, C-87): bootstrap after start on every
 * host that registered the type, in exclusive turns of the single activation,
 * with retries; registration errors.
 */

import assert from "node:assert/strict";
import { type ActorContext, SINGLETON_ACTOR_ID } from "../actor/types.ts";
import { MethodReservedError } from "../errors.ts";
import { createMemoryProvider } from "../providers/memory/mod.ts";
import { createTestHost } from "../testing/test_host.ts";
import { waitFor } from "../testing/wait_for.ts";
import type { LocalHost } from "./host.ts";

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

Deno.test("singleton: N hosts bootstrap the single activation in exclusive turns with bootstrapData (C-86, C-87)", async () => {
  const boots: { data: unknown; kind: string; requestId: string; on: string }[] = [];
  let factories = 0;
  let inTurn = 0;
  let overlapped = false;
  await using hosts = await cluster(3, (h) =>
    h.registerSingletonActor("leader", () => {
      factories++;
      return {
        async bootstrap(data: unknown, ctx: ActorContext) {
          if (inTurn++ > 0) overlapped = true;
          await new Promise((r) => setTimeout(r, 20));
          boots.push({ data, kind: ctx.kind, requestId: ctx.requestId, on: h.hostId });
          inTurn--;
        },
        invoke: (method: string) => ({ method, on: h.hostId }),
      };
    }, { bootstrapData: { region: "eu", at: new Date(0) }, idleTimeoutMs: Infinity }));
  await waitFor(() => boots.length === 3, { what: "a bootstrap per host" });
  assert.equal(factories, 1, "one activation in the cluster");
  assert.equal(overlapped, false, "bootstrap turns never overlap");
  assert.equal(new Set(boots.map((b) => b.on)).size, 1, "all on the owner");
  for (const b of boots) {
    assert.deepEqual(b.data, { region: "eu", at: "1970-01-01T00:00:00.000Z" });
    assert.equal(b.kind, "bootstrap");
    assert.match(b.requestId, /^[0-9a-f-]{36}$/);
  }
  assert.equal(new Set(boots.map((b) => b.requestId)).size, 3);
  const r = await hosts[2].service.invoke<{ method: string; on: string }>("leader", SINGLETON_ACTOR_ID, "status");
  assert.deepEqual(r, { method: "status", on: boots[0].on });
  await assert.rejects(
    hosts[0].service.invoke("leader", SINGLETON_ACTOR_ID, "francis.builtin.bootstrap"),
    MethodReservedError,
  );
  await assert.rejects(hosts[0].service.peek("leader", SINGLETON_ACTOR_ID, "francis.builtin.x"), MethodReservedError);
  assert.equal(boots.length, 3, "the reserved method never reached the actor");
});

Deno.test("singleton: start() does not wait; a throwing bootstrap is retried with i × 500 ms backoff, then succeeds", async () => {
  const runs: number[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const debugs: string[] = [];
  await using host = createTestHost({ logger: { ...QUIET, debug: (msg: string) => debugs.push(msg) } });
  host.registerSingletonActor("flaky", () => ({
    async bootstrap() {
      await gate;
      runs.push(Date.now());
      if (runs.length < 3) throw new Error(`fail ${runs.length}`);
    },
  }));
  await host.start(); // resolves while the bootstrap is blocked
  assert.equal(runs.length, 0);
  release();
  await waitFor(() => runs.length === 3, { timeoutMs: 5_000 });
  assert.ok(runs[1] - runs[0] >= 450, `first backoff ${runs[1] - runs[0]} ms`);
  assert.ok(runs[2] - runs[1] >= 950, `second backoff ${runs[2] - runs[1]} ms`);
  // The retry loop ends with this log line: no attempt can follow it.
  await waitFor(() => debugs.includes("Singleton bootstrapped"), { timeoutMs: 5_000 });
  assert.equal(runs.length, 3, "no attempt after a success");
});

Deno.test("singleton: a bootstrap that always fails runs 5 times and is logged; re-activation does not re-run it", async () => {
  let runs = 0;
  let activations = 0;
  const errors: string[] = [];
  await using host = createTestHost({
    logger: { ...QUIET, error: (msg: string) => errors.push(msg) },
  });
  host.registerSingletonActor("broken", () => {
    activations++;
    return {
      bootstrap() {
        runs++;
        throw new Error("nope");
      },
      invoke: () => "up",
    };
  });
  host.registerSingletonActor("plain", () => ({ invoke: () => "no bootstrap() is a no-op" }));
  await host.start();
  await waitFor(() => errors.length === 1, { timeoutMs: 10_000, what: "the final failure log" });
  assert.equal(runs, 5);
  assert.deepEqual(errors, ["Singleton bootstrap failed"]);
  await host.service.halt("broken", SINGLETON_ACTOR_ID);
  assert.equal(await host.service.invoke("broken", SINGLETON_ACTOR_ID, "x"), "up");
  assert.equal(activations, 2);
  assert.equal(runs, 5, "not re-run on re-activation");
  assert.equal(await host.service.invoke("plain", SINGLETON_ACTOR_ID, "x"), "no bootstrap() is a no-op");
});

Deno.test("singleton: registration errors are TypeErrors (§12.1, §13)", async () => {
  const host = createTestHost({ logger: QUIET });
  assert.throws(
    () => host.registerActor("a", () => ({}), { bootstrapData: 1 } as never),
    /Cannot register actor: bootstrapData is only for singletons/,
  );
  assert.throws(
    () => host.registerSingletonActor("b", () => ({}), { bootstrapData: { n: 1n } }),
    { name: "TypeError", message: "Cannot encode bootstrap data: value at $.n is a bigint" },
  );
  assert.throws(() => host.registerSingletonActor("francis.builtin.x", () => ({})), TypeError);
  assert.throws(() => host.registerSingletonActor("c", () => ({}), { idleTimeoutMs: 0 }), RangeError);
  host.registerSingletonActor("d", () => ({}));
  assert.throws(() => host.registerSingletonActor("d", () => ({})), /already registered/);
  assert.throws(() => host.registerActor("d", () => ({})), /already registered/);
  await host.start();
  assert.throws(() => host.registerSingletonActor("e", () => ({})), /already started/);
  await host.stop();
});
