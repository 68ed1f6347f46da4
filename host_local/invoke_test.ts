import assert from "node:assert/strict";
import type { ActorContext, ActorService } from "../actor/types.ts";
import {
  ActivationFailedError,
  ActorNotActiveError,
  ActorTypeReservedError,
  ActorTypeUnsupportedError,
  HostNotRunningError,
  InvokeFailedError,
  InvokeModeUnsupportedError,
  isFrancisError,
  MethodReservedError,
  NoHostError,
  PayloadTooLargeError,
  ReadOnlyError,
  ReentrantCallError,
  StateNotFoundError,
} from "../errors.ts";
import { createMemoryProvider } from "../providers/memory/mod.ts";
import { createTestHost } from "../testing/test_host.ts";
import { waitFor } from "../testing/wait_for.ts";
import type { LocalHost } from "./host.ts";

async function started(register: (host: LocalHost) => void): Promise<LocalHost> {
  const host = createTestHost();
  register(host);
  await host.start();
  return host;
}

function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => resolve = r);
  return { promise, resolve };
}

Deno.test("invoke: data and results round-trip; undefined stays undefined, null stays null (C-2, C-5, C-6)", async () => {
  await using host = await started((h) =>
    h.registerActor("echo", () => ({
      invoke: (m: string, d: unknown) => m === "undef" ? undefined : m === "null" ? null : d,
    }))
  );
  const value = { a: [1, "x", true, null], bytes: new Uint8Array([1, 2, 255]), nested: { u: new Uint8Array([7]) } };
  assert.deepEqual(await host.service.invoke("echo", "e", "echo", value), value);
  const date = new Date("2026-01-02T03:04:05.000Z");
  assert.equal(await host.service.invoke("echo", "e", "echo", date), "2026-01-02T03:04:05.000Z");
  assert.equal(await host.service.invoke("echo", "e", "undef"), undefined);
  assert.equal(await host.service.invoke("echo", "e", "null"), null);
  assert.equal(await host.service.invoke("echo", "e", "echo"), undefined);
});

Deno.test("invoke: invalid names, reserved targets and unencodable data reject before reaching the actor (C-1, C-3, C-32)", async () => {
  let calls = 0;
  await using host = await started((h) => h.registerActor("t", () => ({ invoke: () => calls++ })));
  const s = host.service;
  await assert.rejects(s.invoke("t", "", "m"), TypeError);
  await assert.rejects(s.invoke("t", "a/b", "m"), /actorId must not be empty or contain "\/" \(got "a\/b"\)/);
  await assert.rejects(s.invoke("", "a", "m"), TypeError);
  await assert.rejects(s.invoke("t", "a", 5 as unknown as string), TypeError);
  await assert.rejects(s.invoke("francis.builtin.cron", "a", "m"), ActorTypeReservedError);
  await assert.rejects(s.invoke("t", "a", "francis.builtin.bootstrap"), MethodReservedError);
  await assert.rejects(s.peek("t", "a", "francis.builtin.x"), MethodReservedError);
  await assert.rejects(s.halt("francis.builtin.x", "a"), ActorTypeReservedError);
  assert.throws(() => s.client("francis.builtin.x", "a"), ActorTypeReservedError);
  await assert.rejects(s.invoke("t", "a", "m", { items: [1, 2, 10n] }), {
    name: "TypeError",
    message: "Cannot encode invoke data: value at $.items[2] is a bigint",
  });
  await assert.rejects(s.invoke("t", "a", "m", "x".repeat(16_711_680)), RangeError);
  assert.equal(calls, 0);
});

Deno.test("invoke: a result over the payload limit rejects with PayloadTooLargeError (C-4)", async () => {
  await using host = await started((h) => h.registerActor("big", () => ({ invoke: () => "x".repeat(16_711_680) })));
  await assert.rejects(host.service.invoke("big", "b", "m"), PayloadTooLargeError);
});

Deno.test("invoke: unregistered type rejects with ActorTypeUnsupportedError (C-68)", async () => {
  await using host = await started((h) => h.registerActor("known", () => ({})));
  await assert.rejects(host.service.invoke("unknown", "a", "m"), ActorTypeUnsupportedError);
});

Deno.test("invoke: concurrent invokes never overlap and a counter reaches exactly N (C-8, C-13)", async () => {
  let active = 0, maxActive = 0;
  await using host = await started((h) =>
    h.registerActor("counter", (id: string, service: ActorService) => {
      const state = service.client<number>("counter", id, { initialState: () => 0 });
      return {
        async invoke() {
          active++;
          maxActive = Math.max(maxActive, active);
          const n = await state.getState();
          await new Promise((r) => setTimeout(r, 1)); // yield mid-turn so overlapping turns would interleave
          await state.setState(n + 1);
          active--;
          return n + 1;
        },
      };
    })
  );
  const N = 40;
  await Promise.all(Array.from({ length: N }, () => host.service.invoke("counter", "c", "inc")));
  assert.equal(maxActive, 1);
  assert.equal(await host.service.getState("counter", "c"), N);
});

Deno.test("peek: peeks overlap each other, never an invoke, and a peek behind a queued invoke waits (C-10, C-11)", async () => {
  const log: string[] = [];
  let peeking = 0, maxPeeking = 0;
  const gate = deferred();
  await using host = await started((h) =>
    h.registerActor("rw", () => ({
      async peek(m: string) {
        peeking++;
        maxPeeking = Math.max(maxPeeking, peeking);
        log.push(`peek-start:${m}`);
        if (m === "slow") await gate.promise;
        log.push(`peek-end:${m}`);
        peeking--;
      },
      invoke() {
        assert.equal(peeking, 0, "invoke overlapped a peek");
        log.push("invoke");
      },
    }))
  );
  const s = host.service;
  const p1 = s.peek("rw", "a", "slow");
  const p2 = s.peek("rw", "a", "fast");
  await waitFor(() => log.includes("peek-end:fast"), { what: "the second peek to overlap the first" });
  const inv = s.invoke("rw", "a", "w");
  const late = s.peek("rw", "a", "late");
  await new Promise((r) => setTimeout(r, 20)); // a negative check: give a wrongly admitted invoke time to run
  assert.ok(!log.includes("invoke"), "invoke ran while a peek held the actor");
  gate.resolve();
  await Promise.all([p1, p2, inv, late]);
  assert.equal(maxPeeking, 2);
  assert.ok(log.indexOf("invoke") < log.indexOf("peek-start:late"), `late peek overtook the queued invoke: ${log}`);
});

Deno.test("peek: mutations reject with ReadOnlyError, reads and invokes of others succeed (C-16)", async () => {
  const seen: unknown[] = [];
  await using host = await started((h) => {
    h.registerActor("other", () => ({ invoke: () => "from-other" }));
    h.registerActor("reader", (id: string, service: ActorService) => ({
      async peek(_m: string, _d: unknown, ctx: ActorContext) {
        seen.push(ctx.readOnly);
        for (
          const op of [
            () => service.setState("reader", id, 1),
            () => service.deleteState("other", "x"),
            () => service.setAlarm("other", "x", "a", {}),
            () => service.deleteAlarm("reader", id, "a"),
          ]
        ) {
          await assert.rejects(op(), ReadOnlyError);
        }
        await assert.rejects(service.getState("reader", id), StateNotFoundError);
        seen.push(await service.invoke("other", "x", "m"));
        return "done";
      },
    }));
  });
  assert.equal(await host.service.peek("reader", "r", "m"), "done");
  assert.deepEqual(seen, [true, "from-other"]);
});

Deno.test("invoke: self-calls and cycles reject promptly with ReentrantCallError and the turn continues (C-14, C-15)", async () => {
  await using host = await started((h) => {
    h.registerActor("a", (id: string, service: ActorService) => ({
      async invoke(m: string) {
        if (m === "self") {
          const err = await service.invoke("a", id, "x").catch((e) => e);
          const err2 = await service.peek("a", id, "x").catch((e) => e);
          return [err instanceof ReentrantCallError, err2 instanceof ReentrantCallError];
        }
        if (m === "cycle") return await service.invoke("b", "b1", "callback", id);
        return "ok";
      },
    }));
    h.registerActor("b", (_id: string, service: ActorService) => ({
      async invoke(_m: string, aId: unknown) {
        const err = await service.invoke("a", aId as string, "x").catch((e) => e);
        return isFrancisError(err, "reentrant_call");
      },
    }));
  });
  const t0 = Date.now();
  assert.deepEqual(await host.service.invoke("a", "a1", "self"), [true, true]);
  assert.equal(await host.service.invoke("a", "a1", "cycle"), true);
  assert.ok(Date.now() - t0 < 1000);
});

Deno.test("invoke: a missing handler rejects with InvokeModeUnsupportedError (C-17)", async () => {
  await using host = await started((h) => h.registerActor("only-peek", () => ({ peek: () => 1 })));
  await assert.rejects(host.service.invoke("only-peek", "a", "m"), InvokeModeUnsupportedError);
  assert.equal(await host.service.peek("only-peek", "a", "m"), 1);
});

Deno.test("invoke: a throwing handler gives InvokeFailedError and ran exactly once (C-18)", async () => {
  let runs = 0;
  await using host = await started((h) =>
    h.registerActor("boom", () => ({
      invoke() {
        runs++;
        throw Object.assign(new Error("boom-123"), { code: "E_BOOM" });
      },
    }))
  );
  const err = await host.service.invoke("boom", "b", "m").catch((e) => e);
  assert.ok(err instanceof InvokeFailedError);
  assert.match(err.message, /^Actor "boom\/b" failed: boom-123$/);
  assert.equal(err.actorErrorName, "Error");
  assert.equal(err.actorErrorCode, "E_BOOM");
  assert.equal(runs, 1);
});

Deno.test("invoke: a throwing factory gives ActivationFailedError and the next call runs it again (C-19)", async () => {
  let attempts = 0;
  await using host = await started((h) =>
    h.registerActor("flaky", () => {
      if (++attempts === 1) throw new Error("not yet");
      return { invoke: () => "up" };
    })
  );
  await assert.rejects(host.service.invoke("flaky", "f", "m"), ActivationFailedError);
  assert.equal(await host.service.invoke("flaky", "f", "m"), "up");
  assert.equal(attempts, 2);
});

Deno.test("invoke: the factory runs once per activation and fields do not survive re-activation (C-20)", async () => {
  let factoryRuns = 0;
  await using host = await started((h) =>
    h.registerActor("f", () => {
      factoryRuns++;
      let field: string | undefined;
      return {
        invoke(m: string) {
          if (m === "set") field = "x";
          return field ?? null;
        },
      };
    })
  );
  await Promise.all(Array.from({ length: 20 }, () => host.service.invoke("f", "a", "get")));
  assert.equal(factoryRuns, 1);
  await host.service.invoke("f", "a", "set");
  await host.service.halt("f", "a");
  assert.equal(await host.service.invoke("f", "a", "get"), null);
  assert.equal(factoryRuns, 2);
});

Deno.test("invoke: ctx.requestId differs between invocations (C-21)", async () => {
  await using host = await started((h) =>
    h.registerActor("r", () => ({ invoke: (_m: string, _d: unknown, ctx: ActorContext) => ctx.requestId }))
  );
  const ids = new Set(await Promise.all(Array.from({ length: 10 }, () => host.service.invoke("r", "a", "m"))));
  assert.equal(ids.size, 10);
});

Deno.test("invoke: aborting the caller rejects promptly with the reason and aborts ctx.signal (C-22)", async () => {
  const handlerAborted = deferred<unknown>();
  const entered = deferred();
  await using host = await started((h) =>
    h.registerActor("slow", () => ({
      invoke(_m: string, _d: unknown, ctx: ActorContext) {
        entered.resolve();
        return new Promise((_, reject) => {
          ctx.signal.addEventListener("abort", () => {
            handlerAborted.resolve(ctx.signal.reason);
            reject(ctx.signal.reason);
          });
        });
      },
    }))
  );
  const ac = new AbortController();
  const call = host.service.invoke("slow", "s", "m", undefined, { signal: ac.signal });
  await entered.promise;
  const reason = new DOMException("stop", "AbortError");
  const t0 = Date.now();
  ac.abort(reason);
  await assert.rejects(call, (e) => e === reason);
  assert.equal(await handlerAborted.promise, reason);
  assert.ok(Date.now() - t0 < 1000);
  await assert.rejects(host.service.invoke("slow", "s", "m", undefined, { signal: AbortSignal.abort() }));
});

Deno.test("invoke: a call inside a turn without a signal is aborted when the turn's signal aborts (C-23)", async () => {
  const innerAborted = deferred<boolean>();
  const innerEntered = deferred();
  await using host = await started((h) => {
    h.registerActor("inner", () => ({
      invoke(_m: string, _d: unknown, ctx: ActorContext) {
        innerEntered.resolve();
        return new Promise((_, reject) =>
          ctx.signal.addEventListener("abort", () => {
            innerAborted.resolve(true);
            reject(ctx.signal.reason);
          })
        );
      },
    }));
    h.registerActor("outer", (_id: string, service: ActorService) => ({
      invoke: () => service.invoke("inner", "i", "wait"),
    }));
  });
  const ac = new AbortController();
  const call = host.service.invoke("outer", "o", "m", undefined, { signal: ac.signal });
  await innerEntered.promise;
  ac.abort();
  await assert.rejects(call);
  assert.equal(await innerAborted.promise, true);
});

Deno.test("invoke: activeOnly on an inactive actor rejects with no side effects, succeeds when active (C-67)", async () => {
  let factoryRuns = 0;
  await using host = await started((h) =>
    h.registerActor("lazy", () => {
      factoryRuns++;
      return { invoke: () => "here" };
    })
  );
  await assert.rejects(host.service.invoke("lazy", "l", "m", undefined, { activeOnly: true }), ActorNotActiveError);
  assert.equal(factoryRuns, 0);
  await assert.rejects(host.service.getState("lazy", "l"), StateNotFoundError);
  await host.service.invoke("lazy", "l", "m");
  assert.equal(await host.service.invoke("lazy", "l", "m", undefined, { activeOnly: true }), "here");
});

Deno.test("invoke: concurrencyLimit admits N actors per host and a slot frees up after a halt (C-69)", async () => {
  await using host = await started((h) =>
    h.registerActor("capped", () => ({ invoke: () => "ok" }), { concurrencyLimit: 2 })
  );
  await host.service.invoke("capped", "a", "m");
  await host.service.invoke("capped", "b", "m");
  await assert.rejects(host.service.invoke("capped", "c", "m"), NoHostError);
  await host.service.halt("capped", "a");
  assert.equal(await host.service.invoke("capped", "c", "m"), "ok");
});

Deno.test("service: calls before start() and after stop() reject with HostNotRunningError", async () => {
  const host = createTestHost();
  host.registerActor("t", () => ({ invoke: () => 1 }));
  await assert.rejects(host.service.invoke("t", "a", "m"), HostNotRunningError);
  await host.start();
  assert.equal(await host.service.invoke("t", "a", "m"), 1);
  await host.stop();
  await assert.rejects(host.service.invoke("t", "a", "m"), HostNotRunningError);
  await assert.rejects(host.service.setState("t", "a", 1), HostNotRunningError);
});

Deno.test("invoke: different actors run concurrently (C-12)", async () => {
  const both = deferred();
  let arrived = 0;
  await using host = await started((h) =>
    h.registerActor("w", () => ({
      async invoke() {
        if (++arrived === 2) both.resolve();
        await both.promise;
      },
    }))
  );
  await Promise.all([host.service.invoke("w", "a", "m"), host.service.invoke("w", "b", "m")]);
});

Deno.test("invoke: a failed activation's idle deadline does not remove the next activation's placement", async () => {
  const provider = createMemoryProvider();
  let attempts = 0;
  await using host = createTestHost({ provider });
  host.registerActor("flaky", () => {
    if (++attempts === 1) throw new Error("first activation fails synchronously");
    return { invoke: () => "up" };
  }, { idleTimeoutMs: 150 });
  await host.start();
  await assert.rejects(host.service.invoke("flaky", "f", "m"), ActivationFailedError);
  // Keep the new activation busy past the failed activation's idle deadline (150 ms); the interval is the point here.
  const until = Date.now() + 400;
  while (Date.now() < until) {
    assert.equal(await host.service.invoke("flaky", "f", "m"), "up");
    await new Promise((r) => setTimeout(r, 25));
  }
  const placement = await provider.lookupActor({
    actorType: "flaky",
    actorId: "f",
    activeOnly: true,
    healthCheckDeadlineMs: 20_000,
  });
  assert.equal(placement.hostId, host.hostId);
});

Deno.test("invoke: a caller that aborts while the factory runs never has its handler run", async () => {
  const factoryGate = deferred();
  let handlerRuns = 0;
  await using host = await started((h) =>
    h.registerActor("slowfactory", async () => {
      await factoryGate.promise;
      return { invoke: () => handlerRuns++ };
    })
  );
  const ac = new AbortController();
  const call = host.service.invoke("slowfactory", "a", "m", undefined, { signal: ac.signal });
  ac.abort(new Error("gave up"));
  await assert.rejects(call, /gave up/);
  factoryGate.resolve();
  assert.equal(await host.service.invoke("slowfactory", "a", "m"), 0); // this call ran the handler first
  assert.equal(handlerRuns, 1);
});
