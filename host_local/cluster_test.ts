/**
 * Several hosts in one process sharing a memory provider, linked by real TLS:
 * cross-host contracts that need no separate processes (forwarding, errors,
 * re-entrancy, cancellation, fencing, draining, foreign clusters). The
 * multi-process cluster with PostgreSQL and SIGKILL is `tests/cluster_test.ts`.
 */

import assert from "node:assert/strict";
import type { ActorContext, ActorService } from "../actor/types.ts";
import { isFrancisError } from "../errors.ts";
import { generatePsk } from "../_internal/psk.ts";
import { createMemoryProvider } from "../providers/memory/mod.ts";
import type { ActorProvider } from "../providers/types.ts";
import { createTestHost } from "../testing/test_host.ts";
import { waitFor } from "../testing/wait_for.ts";
import type { LocalHost } from "./host.ts";

const QUIET = { debug() {}, info() {}, warn() {}, error() {} };

/** Starts hosts on one provider; `register` runs on each before start. */
async function cluster(
  n: number,
  register: (host: LocalHost, i: number) => void,
  provider: ActorProvider = createMemoryProvider(),
): Promise<LocalHost[] & AsyncDisposable> {
  const hosts = Array.from({ length: n }, () => createTestHost({ provider, logger: QUIET }));
  hosts.forEach(register);
  await Promise.all(hosts.map((h) => h.start()));
  return Object.assign(hosts, {
    async [Symbol.asyncDispose]() {
      await Promise.all(hosts.map((h) => h.stop()));
    },
  });
}

/** The host that owns `type/id` after a call. */
async function ownerOf(hosts: LocalHost[], type: string, id: string): Promise<LocalHost> {
  const hostId = await hosts[0].service.invoke<string>(type, id, "whereAmI");
  return hosts.find((h) => h.hostId === hostId)!;
}

Deno.test("cluster (in-process): a call through a host that does not serve the type is forwarded to the owner", async () => {
  await using hosts = await cluster(2, (h, i) => {
    if (i === 1) h.registerActor("echo", () => ({ invoke: (_m: string, data: unknown) => ({ data, on: h.hostId }) }));
  });
  const bytes = new Uint8Array([1, 2, 3]);
  const r = await hosts[0].service.invoke<{ data: unknown; on: string }>("echo", "e1", "m", { bytes, d: new Date(0) });
  assert.deepEqual(r, { data: { bytes, d: "1970-01-01T00:00:00.000Z" }, on: hosts[1].hostId });
});

Deno.test("cluster (in-process): handler errors arrive identical cross-host (C-18), errors keep their class (C-113)", async () => {
  let runs = 0;
  await using hosts = await cluster(2, (h, i) => {
    if (i === 1) {
      h.registerActor("thrower", () => ({
        invoke(method: string) {
          runs++;
          if (method === "boom") throw new Error("boom-123");
          return undefined;
        },
      }));
    }
  });
  await assert.rejects(hosts[0].service.invoke("thrower", "t1", "boom"), (err: unknown) => {
    assert.ok(isFrancisError(err, "invoke_failed"));
    assert.match((err as Error).message, /boom-123/);
    assert.equal((err as unknown as { actorErrorName: string }).actorErrorName, "Error");
    return true;
  });
  assert.equal(runs, 1);
  assert.equal(await hosts[0].service.invoke("thrower", "t1", "ok"), undefined);
  await assert.rejects(
    hosts[0].service.peek("thrower", "t1", "x"),
    (e) => isFrancisError(e, "invoke_mode_unsupported"),
  );
  await assert.rejects(
    hosts[0].service.invoke("nobody", "n1", "x"),
    (e) => isFrancisError(e, "actor_type_unsupported"),
  );
});

Deno.test("cluster (in-process): a call cycle A→B→A across hosts rejects with ReentrantCallError (C-15)", async () => {
  await using hosts = await cluster(2, (h, i) => {
    const type = i === 0 ? "A" : "B";
    h.registerActor(type, (_id: string, service: ActorService) => ({
      async invoke(method: string) {
        if (type === "A" && method === "start") return await service.invoke("B", "b1", "callBack");
        if (type === "B") {
          return await service.invoke("A", "a1", "again").then(() => "no cycle?", (e) => (e as Error).name);
        }
        return "again";
      },
    }));
  });
  assert.equal(await hosts[1].service.invoke("A", "a1", "start"), "ReentrantCallError");
});

Deno.test("cluster (in-process): aborting the caller aborts the remote handler's signal (C-22)", async () => {
  let aborted: unknown;
  let started!: () => void;
  const running = new Promise<void>((r) => started = r);
  await using hosts = await cluster(2, (h, i) => {
    if (i === 1) {
      h.registerActor("slow", () => ({
        invoke: (_m: string, _d: unknown, ctx: ActorContext) =>
          new Promise((_, reject) => {
            started();
            ctx.signal.addEventListener("abort", () => {
              aborted = ctx.signal.reason;
              reject(ctx.signal.reason);
            });
          }),
      }));
    }
  });
  const ac = new AbortController();
  const call = hosts[0].service.invoke("slow", "s1", "wait", undefined, { signal: ac.signal });
  await running;
  ac.abort(new DOMException("stop", "AbortError"));
  await assert.rejects(call, (e) => (e as Error).name === "AbortError");
  await waitFor(() => aborted !== undefined, { what: "the remote handler's signal to abort", timeoutMs: 2_000 });
});

Deno.test("cluster (in-process): a stale activation's own state writes are fenced after its host is evicted", async () => {
  const provider = createMemoryProvider();
  await using hosts = await cluster(2, (h) => {
    h.registerActor("acct", (id: string, service: ActorService) => ({
      async invoke(method: string, data: unknown) {
        if (method === "whereAmI") return h.hostId;
        await service.setState("acct", id, data);
        return h.hostId;
      },
    }));
  }, provider);
  const first = await ownerOf(hosts, "acct", "x");
  await first.service.invoke("acct", "x", "write", "v1");
  // The owner is declared gone (as a peer that found its port refused would do); the other host takes over.
  assert.equal(await provider.evictHost(first.hostId), true);
  const other = hosts.find((h) => h !== first)!;
  // A cached placement may still route this call to the stale activation: its write is refused and it halts,
  // so the call made again lands on the new owner.
  const takeOver = () => other.service.invoke("acct", "x", "write", "v2");
  const landed = await takeOver().catch((err) => {
    assert.equal((err as { actorErrorCode?: string }).actorErrorCode, "placement_lost", String(err));
    return takeOver();
  });
  assert.equal(landed, other.hostId);
  // Through the evicted host, a write never overwrites v2: either its stale activation is still there and
  // its fenced write is refused, or it halted already and the call is forwarded to the new owner.
  const late = await first.service.invoke("acct", "x", "write", "stale").catch((err: unknown) => {
    assert.ok(isFrancisError(err, "invoke_failed"), String(err));
    assert.equal((err as unknown as { actorErrorCode?: string }).actorErrorCode, "placement_lost");
    return "refused";
  });
  if (late !== "refused") {
    assert.equal(late, other.hostId);
    await other.service.invoke("acct", "x", "write", "v2");
  }
  assert.equal(await other.service.getState("acct", "x"), "v2");
});

Deno.test("cluster (in-process): hosts with unrelated PSKs cannot deliver calls to each other (C-97)", async () => {
  const provider = createMemoryProvider();
  let ran = false;
  const a = createTestHost({ provider, logger: QUIET, runtimePsks: [generatePsk()] });
  const b = createTestHost({ provider, logger: QUIET, runtimePsks: [generatePsk()] });
  b.registerActor("target", () => ({ invoke: () => ran = true }));
  await a.start();
  await b.start();
  try {
    await assert.rejects(a.service.invoke("target", "t1", "go"), (e) => isFrancisError(e, "retry_later"));
    assert.equal(ran, false);
  } finally {
    await a.stop();
    await b.stop();
  }
});

Deno.test("cluster (in-process): PSK rotation: [old,new] works with [old], [new,old] with [old,new] (C-99)", async () => {
  const [oldPsk, newPsk] = [generatePsk(), generatePsk()];
  const pairs: [string[], string[], boolean][] = [
    [[oldPsk, newPsk], [oldPsk], true],
    [[newPsk, oldPsk], [oldPsk, newPsk], true],
    [[newPsk, oldPsk], [oldPsk], false],
  ];
  for (const [callerPsks, ownerPsks, works] of pairs) {
    const provider = createMemoryProvider();
    const caller = createTestHost({ provider, logger: QUIET, runtimePsks: callerPsks });
    const owner = createTestHost({ provider, logger: QUIET, runtimePsks: ownerPsks });
    owner.registerActor("t", () => ({ invoke: () => "hi" }));
    await caller.start();
    await owner.start();
    try {
      const result = await caller.service.invoke("t", "x", "m").catch((e) => (e as Error).name);
      assert.equal(result, works ? "hi" : "RetryLaterError", `${callerPsks.length}/${ownerPsks.length} keys`);
    } finally {
      await caller.stop();
      await owner.stop();
    }
  }
});

Deno.test("cluster (in-process): a stopping host drains: its actors move and no call fails", async () => {
  await using hosts = await cluster(3, (h) => {
    h.registerActor("c", (id: string, service: ActorService) => ({
      async invoke(method: string) {
        if (method === "whereAmI") return h.hostId;
        const n = ((await service.getState<number>("c", id).catch(() => 0)) as number) + 1;
        await service.setState("c", id, n);
        return n;
      },
    }));
  });
  const ids = Array.from({ length: 30 }, (_, i) => `d${i}`);
  await Promise.all(ids.map((id) => hosts[0].service.invoke("c", id, "inc")));
  const leaving = hosts[2];
  const stop = new AbortController();
  const failures: unknown[] = [];
  const load = Promise.all(ids.map(async (id) => {
    while (!stop.signal.aborted) {
      await hosts[0].service.invoke("c", id, "inc").catch((e) => failures.push(e));
      // A local call on the memory provider settles in microtasks only: yield so the stop can progress.
      await new Promise((r) => setTimeout(r, 0));
    }
  }));
  await leaving.stop();
  stop.abort();
  await load;
  assert.deepEqual(failures.map(String), []);
  for (const id of ids) assert.notEqual(await hosts[1].service.invoke("c", id, "whereAmI"), leaving.hostId);
});

Deno.test("cluster (in-process): maxHosts: a third host is refused (ClusterFullError), another limit too (C-85)", async () => {
  const provider = createMemoryProvider();
  const hosts = [1, 2].map(() => createTestHost({ provider, logger: QUIET, maxHosts: 2 }));
  await Promise.all(hosts.map((h) => h.start()));
  try {
    const third = createTestHost({ provider, logger: QUIET, maxHosts: 2 });
    await assert.rejects(third.start(), (e) => isFrancisError(e, "cluster_full"));
    assert.equal(third.state, "failed");
    const other = createTestHost({ provider, logger: QUIET, maxHosts: 3 });
    await assert.rejects(other.start(), (e) => isFrancisError(e, "max_hosts_mismatch"));
    await hosts[1].stop();
    const replacement = createTestHost({ provider, logger: QUIET, maxHosts: 2 });
    await replacement.start();
    await replacement.stop();
  } finally {
    await Promise.all(hosts.map((h) => h.stop()));
  }
});
