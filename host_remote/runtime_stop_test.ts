/**
 * The runtime's graceful stop (`shutdownGracePeriod`): it refuses new
 * workers, tells its sessions to move so workers fail over to another
 * replica at once, answers the calls already in flight (bounded by the grace
 * period), then releases the store. Two in-process replicas share one memory
 * provider (as PostgreSQL replicas share a database); a gate holds one
 * provider call in flight.
 */

import assert from "node:assert/strict";
import { isFrancisError } from "../errors.ts";
import { createMemoryProvider } from "../providers/memory/mod.ts";
import type { ActorProvider } from "../providers/types.ts";
import { type Runtime, startRuntime } from "../runtime/runtime.ts";
import { generatePsk } from "../_internal/psk.ts";
import { toBase64 } from "../_internal/base64.ts";
import { waitFor } from "../testing/wait_for.ts";
import { connectRuntime } from "./connect.ts";
import { RemoteHost } from "./host.ts";

const HOST_PSK = "worker-bootstrap-secret-123";
const QUIET = { debug() {}, info() {}, warn() {}, error() {} };

/** A provider whose `getState` of actor `held` waits until `open()`. */
function gatedProvider(): { provider: ActorProvider; entered: Promise<void>; open(): void } {
  const inner = createMemoryProvider();
  const entered = Promise.withResolvers<void>();
  const gate = Promise.withResolvers<void>();
  const provider = new Proxy(inner, {
    get(target, prop) {
      if (prop === "getState") {
        return async (actorType: string, actorId: string) => {
          if (actorId === "held") {
            entered.resolve();
            await gate.promise;
          }
          return await target.getState(actorType, actorId);
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { provider, entered: entered.promise, open: () => gate.resolve() };
}

function runtime(psk: string, provider: ActorProvider, shutdownGracePeriodMs: number): Promise<Runtime> {
  return startRuntime({
    bind: "127.0.0.1:0",
    runtimePsks: [psk],
    bootstrap: { method: "psk", hostPsk: HOST_PSK },
    provider,
    shutdownGracePeriodMs,
    requestTimeoutMs: 5_000,
    logger: QUIET,
  });
}

/** A client-only worker; `requestTimeoutMs` also bounds its own stop's calls once no runtime is left. */
function worker(runtimes: Runtime[], requestTimeoutMs = 5_000): RemoteHost {
  return new RemoteHost({
    clientOnly: true,
    runtimeAddresses: runtimes.map((r) => r.address),
    bootstrap: { psk: HOST_PSK },
    pinnedCa: [...runtimes[0].caPems],
    logger: QUIET,
    requestTimeoutMs,
  });
}

Deno.test("runtime stop: refuses new workers, moves sessions to another replica at once, answers calls in flight, then stops", async () => {
  const psk = generatePsk();
  const gate = gatedProvider();
  const replicas = [await runtime(psk, gate.provider, 20_000), await runtime(psk, gate.provider, 20_000)];
  const w = worker(replicas);
  try {
    await w.start();
    await w.service.setState("t", "held", { n: 1 });
    const first = replicas.find((r) => r.connectedHosts === 1)!;
    const other = replicas.find((r) => r !== first)!;
    assert.equal(other.connectedHosts, 0);

    const held = w.service.getState("t", "held"); // in flight at `first`, held by the gate
    await gate.entered;
    let stopped = false;
    const stopping = first.stop().then(() => void (stopped = true));
    await waitFor(() => other.connectedHosts === 1, { what: "the worker to move to the other replica" });
    // New calls go through the other replica while the old one still answers the held call.
    await w.service.setState("t", "x", { v: 2 });
    assert.deepEqual(await w.service.getState("t", "x"), { v: 2 });
    // The stopping replica admits nobody.
    const keys = await crypto.subtle.generateKey("Ed25519", true, ["sign", "verify"]) as CryptoKeyPair;
    const spki = toBase64(new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey)));
    await assert.rejects(
      connectRuntime({
        address: first.address,
        caPems: first.caPems,
        credential: { kind: "psk", hostPsk: new TextEncoder().encode(HOST_PSK) },
        publicKeySpki: spki,
        clientOnly: true,
        timeoutMs: 5_000,
        maxInFlightRequests: 10,
        keepaliveMs: 5_000,
      }),
      (err) => isFrancisError(err, "retry_later") && /the runtime is stopping/.test((err as Error).message),
    );
    assert.equal(stopped, false, "the stop waits for the call in flight");
    gate.open();
    assert.deepEqual(await held, { n: 1 }, "the call in flight was answered");
    await stopping;
    await first.closed;
    assert.equal(first.connectedHosts, 0);
    assert.deepEqual(await w.service.getState("t", "held"), { n: 1 }, "the store is still served by the other");
  } finally {
    gate.open();
    await w.stop();
    await Promise.all(replicas.map((r) => r.stop()));
  }
});

Deno.test("runtime stop: calls still in flight after shutdownGracePeriodMs are cut off", async () => {
  const gate = gatedProvider();
  const rt = await runtime(generatePsk(), gate.provider, 400);
  const w = worker([rt], 1_000);
  try {
    await w.start();
    const held = w.service.getState("t", "held");
    held.catch(() => {});
    await gate.entered;
    const started = Date.now();
    await rt.stop();
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 390 && elapsed < 4_000, `stop took ${elapsed} ms (grace 400 ms)`);
    await assert.rejects(held, (err) => isFrancisError(err, "transport_failure"));
  } finally {
    gate.open();
    await w.stop();
    await rt.stop();
  }
});

Deno.test("runtime stop: without calls in flight it does not wait for the grace period", async () => {
  const rt = await runtime(generatePsk(), createMemoryProvider(), 20_000);
  const w = worker([rt], 1_000);
  try {
    await w.start();
    await w.service.setState("t", "a", 1);
    const started = Date.now();
    await rt.stop();
    assert.ok(Date.now() - started < 5_000, `stop took ${Date.now() - started} ms`);
  } finally {
    await w.stop();
  }
});
