import assert from "node:assert/strict";
import type { ActorContext, ActorService } from "../actor/types.ts";
import {
  ActorNotHostedError,
  HealthCheckFailedError,
  HostAlreadyRegisteredError,
  HostUnregisteredError,
  isFrancisError,
} from "../errors.ts";
import { createMemoryProvider } from "../providers/memory/mod.ts";
import type { ActorProvider } from "../providers/types.ts";
import { createTestHost } from "../testing/test_host.ts";
import { waitFor } from "../testing/wait_for.ts";
import { LocalHost } from "./host.ts";

function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => resolve = r);
  return { promise, resolve };
}

/** A provider that forwards every method to `base`, except `overrides`. */
function delegate(base: ActorProvider, overrides: Partial<ActorProvider>): ActorProvider {
  const out: Record<string, unknown> = { name: base.name };
  for (const key of Object.getOwnPropertyNames(Object.getPrototypeOf(base))) {
    const v = (base as unknown as Record<string, unknown>)[key];
    if (key !== "constructor" && typeof v === "function") out[key] = v.bind(base);
  }
  return Object.assign(out, overrides) as unknown as ActorProvider;
}

const PSK = "a test pre-shared key that is long enough";

Deno.test("options: out-of-range and wrong options throw from the constructor, never clamp (C-7)", () => {
  const provider = createMemoryProvider();
  const base = { address: "127.0.0.1:0", runtimePsks: [PSK], provider };
  assert.throws(() => new LocalHost({ ...base, runtimePsks: ["short"] }), {
    name: "RangeError",
    message: "Cannot create LocalHost: runtimePsks[0] must be at least 32 bytes (got 5)",
  });
  assert.throws(() => new LocalHost({ ...base, runtimePsks: [] }), TypeError);
  assert.throws(() => new LocalHost({ ...base, address: "nope" }), /^TypeError: Cannot create LocalHost: address/);
  assert.throws(() => new LocalHost({ ...base, address: "0.0.0.0:7000" }), /advertiseAddress is required/);
  assert.throws(() => new LocalHost({ ...base, alarmsPollIntervalMs: 99 }), RangeError);
  assert.throws(() => new LocalHost({ ...base, alarmsFetchBatchSize: 1001 }), RangeError);
  assert.throws(() => new LocalHost({ ...base, healthCheckDeadlineMs: 1000 }), RangeError);
  assert.throws(() => new LocalHost({ ...base, shutdownGracePeriodMs: 1.5 }), TypeError);
  assert.throws(() => new LocalHost({ ...base, provider: {} as ActorProvider }), TypeError);
  const host = new LocalHost(base);
  assert.throws(() => host.registerActor("t", () => ({}), { idleTimeoutMs: 0 }), {
    name: "RangeError",
    message: /^Cannot register actor: idleTimeoutMs/,
  });
  assert.throws(() => host.registerActor("t", () => ({}), { maxAttempts: 0 }), RangeError);
  assert.throws(() => host.registerActor("t", () => ({}), { concurrencyLimit: -1 }), RangeError);
  assert.throws(() => host.registerActor("t", () => ({}), { bogus: 1 } as never), TypeError);
  assert.throws(() => host.registerActor("francis.builtin.x", () => ({})), TypeError);
  assert.throws(() => host.registerActor("a/b", () => ({})), TypeError);
});

Deno.test("host: register after start or twice throws; start twice throws; stop is idempotent; closed resolves (C-83, C-84)", async () => {
  const host = createTestHost();
  host.registerActor("t", () => ({}));
  assert.throws(() => host.registerActor("t", () => ({})), /already registered/);
  assert.equal(host.hostId, "");
  await host.start();
  assert.notEqual(host.hostId, "");
  assert.match(host.address, /^127\.0\.0\.1:\d+$/);
  assert.notEqual(host.address, "127.0.0.1:0");
  assert.equal(host.state, "running");
  assert.throws(() => host.registerActor("u", () => ({})), TypeError);
  await assert.rejects(host.start(), TypeError);
  await Promise.all([host.stop(), host.stop()]);
  await host.stop();
  await host.closed;
  assert.equal(host.state, "stopped");
});

Deno.test("host: stop() before start() just marks the host stopped", async () => {
  const host = createTestHost();
  await host.stop();
  assert.equal(host.state, "stopped");
  await host.closed;
  await assert.rejects(host.start(), TypeError);
});

Deno.test("host: start() aborted by its signal rejects with the reason and cleans up", async () => {
  const host = createTestHost();
  const reason = new Error("give up");
  await assert.rejects(host.start({ signal: AbortSignal.abort(reason) }), (e) => e === reason);
  assert.equal(host.state, "failed");
  await assert.rejects(host.closed, (e) => e === reason);
});

Deno.test("host: a second host with a live host's advertiseAddress fails to start (C-82)", async () => {
  const provider = createMemoryProvider();
  await using first = createTestHost({ provider, advertiseAddress: "10.1.2.3:7000" });
  await first.start();
  const second = createTestHost({ provider, advertiseAddress: "10.1.2.3:7000" });
  await assert.rejects(second.start(), HostAlreadyRegisteredError);
  assert.equal(second.state, "failed");
});

Deno.test("idle: an actor without turns is deactivated between idleTimeoutMs and +1000 ms and keeps its state (C-70)", async () => {
  let deactivatedAt = 0;
  await using host = createTestHost();
  host.registerActor("idle", (id: string, s: ActorService) => ({
    invoke: () => s.setState("idle", id, "kept"),
    deactivate: () => {
      deactivatedAt = Date.now();
    },
  }), { idleTimeoutMs: 300 });
  await host.start();
  await host.service.invoke("idle", "a", "m");
  const lastTurnEnd = Date.now();
  await waitFor(() => deactivatedAt > 0, { timeoutMs: 3_000, what: "idle deactivation" });
  const after = deactivatedAt - lastTurnEnd;
  assert.ok(after >= 290 && after <= 1_300, `deactivated ${after} ms after the last turn`);
  assert.equal(await host.service.getState("idle", "a"), "kept");
});

Deno.test("idle: a turn still running at the idle deadline is not cut short (C-71)", async () => {
  let deactivated = false;
  const release = deferred();
  await using host = createTestHost();
  host.registerActor("busy", () => ({
    invoke: () => release.promise,
    deactivate: () => {
      deactivated = true;
    },
  }), { idleTimeoutMs: 100 });
  await host.start();
  const call = host.service.invoke("busy", "a", "m");
  await new Promise((r) => setTimeout(r, 400)); // well past the idle deadline, on purpose
  assert.equal(deactivated, false);
  release.resolve();
  await call;
  await waitFor(() => deactivated, { timeoutMs: 2_000, what: "deactivation after the turn ended" });
});

Deno.test("halt: runs deactivate before resolving; the next call re-activates with state; halt inside the turn is deferred (C-72)", async () => {
  const events: string[] = [];
  await using host = createTestHost();
  host.registerActor("h", (id: string, s: ActorService) => {
    events.push("activate");
    const self = s.client<number>("h", id, { initialState: () => 0 });
    return {
      async invoke(m: string) {
        const n = (await self.getState()) + 1;
        await self.setState(n);
        if (m === "halt-self") {
          await s.halt("h", id);
          events.push("halt-self-returned");
        }
        return n;
      },
      deactivate: () => {
        events.push("deactivate");
      },
    };
  });
  await host.start();
  await host.service.invoke("h", "a", "m");
  await host.service.halt("h", "a");
  assert.deepEqual(events, ["activate", "deactivate"]);
  assert.equal(await host.service.invoke("h", "a", "m"), 2);
  assert.equal(await host.service.invoke("h", "a", "halt-self"), 3);
  assert.equal(events.indexOf("halt-self-returned") < events.lastIndexOf("deactivate"), true);
  await waitFor(() => events.filter((e) => e === "deactivate").length === 2, { what: "deferred halt" });
});

Deno.test("halt: an actor not active on this host rejects with ActorNotHostedError (C-73)", async () => {
  await using host = createTestHost();
  host.registerActor("h", () => ({}));
  await host.start();
  await assert.rejects(host.service.halt("h", "nobody"), ActorNotHostedError);
});

Deno.test("halt: waits for the running turn and aborts its signal with ActorHaltedError after the grace period (C-74)", async () => {
  const reason = deferred<unknown>();
  const entered = deferred();
  await using host = createTestHost({ shutdownGracePeriodMs: 200 });
  host.registerActor("slow", () => ({
    invoke(_m: string, _d: unknown, ctx: ActorContext) {
      entered.resolve();
      return new Promise<void>((resolve) =>
        ctx.signal.addEventListener("abort", () => {
          reason.resolve(ctx.signal.reason);
          resolve();
        })
      );
    },
  }));
  await host.start();
  const call = host.service.invoke("slow", "a", "m");
  await entered.promise;
  const t0 = Date.now();
  await host.service.halt("slow", "a");
  const elapsed = Date.now() - t0;
  assert.ok(elapsed >= 190, `halt resolved after ${elapsed} ms, before the grace period`);
  assert.ok(isFrancisError(await reason.promise, "actor_halted"));
  await call;
});

Deno.test("halt: a call queued behind a turn completes after one transparent re-activation (C-75)", async () => {
  let activations = 0;
  const release = deferred();
  const entered = deferred();
  await using host = createTestHost();
  host.registerActor("q", () => {
    activations++;
    return {
      invoke(m: string) {
        if (m !== "block") return `ran:${activations}`;
        entered.resolve();
        return release.promise.then(() => "blocked");
      },
    };
  });
  await host.start();
  const blocker = host.service.invoke("q", "a", "block");
  await entered.promise;
  const queued = host.service.invoke("q", "a", "queued");
  // A macrotask boundary lets the queued call run all its microtasks, so it is waiting on the turn lock.
  await new Promise((r) => setTimeout(r, 0));
  const halted = host.service.halt("q", "a");
  release.resolve();
  assert.equal(await blocker, "blocked");
  await halted;
  assert.equal(await queued, "ran:2");
});

Deno.test("halt: deactivate that throws or overruns deactivationTimeoutMs does not prevent deactivation (C-76)", async () => {
  const deactivateSignal = deferred<unknown>();
  await using host = createTestHost({ logger: { debug() {}, info() {}, warn() {}, error() {} } });
  host.registerActor("throws", () => ({
    invoke: () => 1,
    deactivate() {
      throw new Error("nope");
    },
  }));
  host.registerActor("hangs", () => ({
    invoke: () => 1,
    deactivate: (ctx: ActorContext) =>
      new Promise<void>(() => ctx.signal.addEventListener("abort", () => deactivateSignal.resolve(ctx.signal.reason))),
  }), { deactivationTimeoutMs: 100 });
  await host.start();
  await host.service.invoke("throws", "a", "m");
  await host.service.invoke("hangs", "a", "m");
  await host.service.halt("throws", "a");
  const t0 = Date.now();
  await host.service.halt("hangs", "a");
  assert.ok(Date.now() - t0 < 1_000);
  assert.ok(isFrancisError(await deactivateSignal.promise, "deadline_exceeded"));
  await assert.rejects(host.service.halt("throws", "a"), ActorNotHostedError);
  await assert.rejects(host.service.halt("hangs", "a"), ActorNotHostedError);
});

Deno.test("halt: a second concurrent halt resolves when the first finishes; haltAll deactivates every actor", async () => {
  const gate = deferred();
  const deactivated = new Set<string>();
  await using host = createTestHost();
  host.registerActor("d", (id: string) => ({
    invoke: () => 1,
    deactivate: async () => {
      if (id === "slow") await gate.promise;
      deactivated.add(id);
    },
  }));
  await host.start();
  await Promise.all(["slow", "b", "c"].map((id) => host.service.invoke("d", id, "m")));
  const h1 = host.service.halt("d", "slow");
  const h2 = host.service.halt("d", "slow");
  let h2Done = false;
  h2.then(() => h2Done = true);
  await new Promise((r) => setTimeout(r, 20)); // a negative check: the second halt must still be waiting
  assert.equal(h2Done, false);
  gate.resolve();
  await Promise.all([h1, h2]);
  await host.service.haltAll();
  assert.deepEqual([...deactivated].sort(), ["b", "c", "slow"]);
});

Deno.test("stop: every actor runs deactivate; the service then rejects; a new host re-activates them with state (C-77)", async () => {
  const provider = createMemoryProvider();
  const deactivated: string[] = [];
  const register = (host: LocalHost) =>
    host.registerActor("s", (id: string, svc: ActorService) => {
      const self = svc.client<number>("s", id, { initialState: () => 0 });
      return {
        async invoke() {
          const n = (await self.getState()) + 1;
          await self.setState(n);
          return n;
        },
        deactivate: () => {
          deactivated.push(id);
        },
      };
    });
  await provider.acquire(); // keep the memory store alive across the two hosts
  try {
    const first = createTestHost({ provider });
    register(first);
    await first.start();
    await Promise.all(["a", "b"].map((id) => first.service.invoke("s", id, "m")));
    await first.stop();
    assert.deepEqual(deactivated.sort(), ["a", "b"]);
    await assert.rejects(first.service.invoke("s", "a", "m"), (e) => isFrancisError(e, "host_not_running"));
    await using second = createTestHost({ provider });
    register(second);
    await second.start();
    assert.equal(await second.service.invoke("s", "a", "m"), 2);
  } finally {
    await provider.release();
  }
});

Deno.test("stop: a call arriving while actors halt during stop is refused, not re-activated", async () => {
  const release = deferred();
  const haltingSeen = deferred();
  const blockerEntered = deferred();
  let activations = 0;
  await using host = createTestHost();
  host.registerActor("x", () => {
    activations++;
    return {
      invoke: (m: string, _d: unknown, ctx: ActorContext) => {
        if (m !== "block") return "ok";
        ctx.halting.addEventListener("abort", () => haltingSeen.resolve());
        blockerEntered.resolve();
        return release.promise;
      },
    };
  });
  await host.start();
  const blocker = host.service.invoke("x", "a", "block");
  await blockerEntered.promise;
  const stopping = host.stop();
  await haltingSeen.promise;
  const late = host.service.invoke("x", "a", "late").catch((e) => e);
  release.resolve();
  await blocker;
  await stopping;
  const err = await late;
  assert.ok(isFrancisError(err, "host_draining") || isFrancisError(err, "host_not_running"), String(err));
  assert.equal(activations, 1);
});

Deno.test("health: a host whose store stops answering stops itself and closed rejects with HealthCheckFailedError (C-80)", async () => {
  const memory = createMemoryProvider();
  let broken = false;
  const provider = delegate(memory, {
    heartbeat: (hostId: string, d: number) =>
      broken ? Promise.reject(new Error("store down")) : memory.heartbeat(hostId, d),
  });
  const host = createTestHost({
    provider,
    healthCheckDeadlineMs: 1_200,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
  });
  await host.start();
  broken = true;
  const t0 = Date.now();
  await assert.rejects(host.closed, HealthCheckFailedError);
  assert.ok(Date.now() - t0 < 1_200 + 15_000 + 5_000);
  assert.equal(host.state, "stopped");
});

Deno.test("health: a host whose registration vanished stops itself with HostUnregisteredError", async () => {
  const provider = createMemoryProvider();
  const host = createTestHost({
    provider,
    healthCheckDeadlineMs: 1_200,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
  });
  await host.start();
  await provider.unregisterHost(host.hostId);
  await assert.rejects(host.closed, HostUnregisteredError);
});

Deno.test("halt: an actor halting itself while stop() halts it does not deadlock stop()", async () => {
  const halting = deferred();
  const entered = deferred();
  await using host = createTestHost({ shutdownGracePeriodMs: 5_000 });
  host.registerActor("self", (id: string, s: ActorService) => ({
    async invoke(_m: string, _d: unknown, ctx: ActorContext) {
      entered.resolve();
      await new Promise<void>((resolve) => ctx.halting.addEventListener("abort", () => resolve()));
      halting.resolve();
      await s.halt("self", id); // inside its own turn: must not wait for this very turn
      return "done";
    },
  }));
  await host.start();
  const call = host.service.invoke("self", "a", "m");
  await entered.promise;
  const stopped = host.stop();
  await halting.promise;
  assert.equal(await call, "done");
  await stopped;
  assert.equal(host.state, "stopped");
});

Deno.test("halt: haltAll inside a turn halts the others now and the caller after its turn", async () => {
  const deactivated: string[] = [];
  await using host = createTestHost();
  host.registerActor("h", (id: string, s: ActorService) => ({
    async invoke(m: string) {
      if (m === "all") {
        await s.haltAll();
        return [...deactivated];
      }
      return id;
    },
    deactivate: () => {
      deactivated.push(id);
    },
  }));
  await host.start();
  await host.service.invoke("h", "other", "m");
  assert.deepEqual(await host.service.invoke("h", "caller", "all"), ["other"]);
  await waitFor(() => deactivated.includes("caller"), { what: "the caller's deferred halt" });
});

Deno.test("halt: a deferred halt starts when the requesting turn ends; queued calls re-activate (C-72)", async () => {
  const log: string[] = [];
  const release = deferred();
  let activations = 0;
  await using host = createTestHost();
  host.registerActor("d", (id: string, s: ActorService) => {
    const n = ++activations;
    return {
      async invoke(m: string) {
        if (m === "halt-me") {
          await s.halt("d", id);
          await release.promise;
        }
        log.push(`${m}@${n}`);
      },
      deactivate: () => {
        log.push(`deactivate@${n}`);
      },
    };
  });
  await host.start();
  const first = host.service.invoke("d", "a", "halt-me");
  await waitFor(() => activations === 1);
  const queued = [host.service.invoke("d", "a", "q1"), host.service.invoke("d", "a", "q2")];
  release.resolve();
  await Promise.all([first, ...queued]);
  assert.deepEqual(log, ["halt-me@1", "deactivate@1", "q1@2", "q2@2"]);
});

Deno.test("options: timer-driven options above 2^31-1 ms are rejected, not clamped", () => {
  const base = { address: "127.0.0.1:0", runtimePsks: [PSK], provider: createMemoryProvider() };
  assert.throws(() => new LocalHost({ ...base, shutdownGracePeriodMs: 2 ** 31 }), RangeError);
  assert.throws(() => new LocalHost({ ...base, alarmsPollIntervalMs: 2 ** 31 }), RangeError);
  const host = new LocalHost(base);
  assert.throws(() => host.registerActor("t", () => ({}), { deactivationTimeoutMs: 2 ** 31 }), RangeError);
  host.registerActor("u", () => ({}), { idleTimeoutMs: 30 * 86_400_000 }); // longer idle timeouts re-arm in chunks
});
