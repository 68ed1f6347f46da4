/**
 * Signal built-in (API.md §21.3, C-92) on in-process clusters sharing a
 * memory provider (real TLS between hosts).
 */

import assert from "node:assert/strict";
import { isFrancisError, SignalAlreadyCompletedError, SignalPayloadTooLargeError } from "../../errors.ts";
import { createMemoryProvider } from "../../providers/memory/mod.ts";
import type { ActorProvider } from "../../providers/types.ts";
import { createTestHost } from "../../testing/test_host.ts";
import { waitFor } from "../../testing/wait_for.ts";
import type { LocalHost } from "../../host_local/host.ts";
import { createSignal, type Signal } from "./mod.ts";

const QUIET = { debug() {}, info() {}, warn() {}, error() {} };

async function cluster(n: number, sig: Signal, provider: ActorProvider = createMemoryProvider()) {
  const hosts = Array.from({ length: n }, () => createTestHost({ provider, logger: QUIET }));
  for (const h of hosts) h.registerBuiltInActor(sig);
  await Promise.all(hosts.map((h) => h.start()));
  return Object.assign(hosts, {
    async [Symbol.asyncDispose]() {
      await Promise.all(hosts.map((h) => h.stop()));
    },
  });
}

/** Whether the signal actor of `id` is active somewhere (its waiters are parked on it). */
function isActive(provider: ActorProvider, name: string, id: string): Promise<boolean> {
  return provider.lookupActor({
    actorType: `francis.builtin.signal.${name}`,
    actorId: id,
    activeOnly: true,
    healthCheckDeadlineMs: 20_000,
  }).then(() => true, () => false);
}

/** The host the signal actor of `id` is placed on. */
async function ownerOf(hosts: LocalHost[], provider: ActorProvider, name: string, id: string): Promise<LocalHost> {
  const p = await provider.lookupActor({
    actorType: `francis.builtin.signal.${name}`,
    actorId: id,
    activeOnly: true,
    healthCheckDeadlineMs: 20_000,
  });
  return hosts.find((h) => h.hostId === p.hostId)!;
}

const within = async <T>(ms: number, p: Promise<T>): Promise<T> => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, r) => timer = setTimeout(() => r(new Error("slow")), ms))]);
  } finally {
    clearTimeout(timer);
  }
};

Deno.test("signal: waiters on every host are released with the payload; later waits resolve promptly (C-92, C-2)", async () => {
  const sig = createSignal("deploys");
  const provider = createMemoryProvider();
  await using hosts = await cluster(3, sig, provider);
  const payload = { version: "1.4.0", bytes: new Uint8Array([1, 2, 3]) };
  const waiters = hosts.flatMap((h) => [0, 1, 2].map(() => sig.service(h.service).wait("release-42")));
  const before = await sig.service(hosts[0].service).check("release-42");
  assert.deepEqual(before, { completed: false });
  await waitFor(() => isActive(provider, "deploys", "release-42"), { what: "the waiters to park on the signal actor" });
  await sig.service(hosts[1].service).complete("release-42", payload);
  for (const got of await within(1_000, Promise.all(waiters))) assert.deepEqual(got, payload);
  for (const h of hosts) {
    assert.deepEqual(await within(1_000, sig.service(h.service).wait("release-42")), payload);
    assert.deepEqual(await sig.service(h.service).check("release-42"), { completed: true, data: payload });
  }
  await assert.rejects(sig.service(hosts[2].service).complete("release-42", 1), SignalAlreadyCompletedError);
  // No payload: waiters get undefined.
  const w = sig.service(hosts[0].service).wait("bare");
  await sig.service(hosts[2].service).complete("bare");
  assert.equal(await within(1_000, w), undefined);
});

Deno.test("signal: concurrent completes from several hosts: exactly one wins", async () => {
  const sig = createSignal("race");
  await using hosts = await cluster(3, sig);
  const outcomes = await Promise.allSettled(
    hosts.flatMap((h, i) => [0, 1, 2].map((j) => sig.service(h.service).complete("s", `${i}-${j}`))),
  );
  assert.equal(outcomes.filter((o) => o.status === "fulfilled").length, 1);
  for (const o of outcomes.filter((o) => o.status === "rejected")) {
    assert.ok(isFrancisError((o as PromiseRejectedResult).reason, "signal_already_completed"));
  }
});

Deno.test("signal: an oversized or unencodable payload rejects before anything is sent", async () => {
  const sig = createSignal("small", { maxPayloadBytes: 16 });
  await using hosts = await cluster(1, sig);
  const svc = sig.service(hosts[0].service);
  await assert.rejects(svc.complete("s", "x".repeat(100)), SignalPayloadTooLargeError);
  await assert.rejects(svc.complete("s", { n: 1n }), TypeError);
  await assert.rejects(svc.complete("a/b"), TypeError);
  await assert.rejects(svc.wait(""), TypeError);
  assert.deepEqual(await svc.check("s"), { completed: false });
  await svc.complete("s", "fits");
  assert.equal(await svc.wait("s"), "fits");
});

Deno.test("signal: waiters survive the owning host being stopped; a wait after the owner halted resolves promptly (C-92)", async () => {
  const provider = createMemoryProvider();
  const sig = createSignal("survive");
  const hosts = await cluster(3, sig, provider);
  try {
    const waiters = hosts.map((h) => sig.service(h.service).wait<string>("job-1"));
    waiters.forEach((w) => w.catch(() => {}));
    await waitFor(() => isActive(provider, "survive", "job-1"), { what: "the waiters to park on the signal actor" });
    const owner = await ownerOf(hosts, provider, "survive", "job-1");
    const survivors = hosts.filter((h) => h !== owner);
    await owner.stop();
    await sig.service(survivors[0].service).complete("job-1", "done");
    const released = await within(
      6_000,
      Promise.all([waiters[hosts.indexOf(survivors[0])], waiters[hosts.indexOf(survivors[1])]]),
    );
    assert.deepEqual(released, ["done", "done"]);
    await assert.rejects(waiters[hosts.indexOf(owner)], (e) => isFrancisError(e, "host_not_running"));
    // Halt the new owner too (stop it); a later wait reads the persisted completion at once.
    const owner2 = await ownerOf(survivors, provider, "survive", "job-1");
    const last = survivors.find((h) => h !== owner2)!;
    await owner2.stop();
    const started = Date.now();
    assert.equal(await within(2_000, sig.service(last.service).wait("job-1")), "done");
    assert.ok(Date.now() - started < 1_500);
  } finally {
    await Promise.all(hosts.map((h) => h.stop()));
  }
});

Deno.test("signal: after an idle deactivation, wait and check still see the completion; retention expires it", async () => {
  const sig = createSignal("idle", { idleTimeoutMs: 50, retentionMs: 600 });
  const provider = createMemoryProvider();
  await using hosts = await cluster(2, sig, provider);
  const svc = sig.service(hosts[0].service);
  await svc.complete("s", 7);
  await waitFor(async () => !(await isActive(provider, "idle", "s")), { what: "the signal actor to idle out" });
  assert.equal(await within(1_000, svc.wait("s")), 7);
  await new Promise((r) => setTimeout(r, 700));
  assert.deepEqual(await svc.check("s"), { completed: false }, "after retention it looks as if it never fired");
  await svc.complete("s", 8);
  assert.equal(await sig.service(hosts[1].service).wait("s"), 8);
});

Deno.test("signal: an aborted wait rejects with the reason and leaves other waiters waiting", async () => {
  const sig = createSignal("abort");
  await using hosts = await cluster(2, sig);
  const svc = sig.service(hosts[0].service);
  const c = new AbortController();
  const aborted = svc.wait("s", { signal: c.signal });
  const kept = svc.wait("s");
  c.abort(new Error("gave up"));
  await assert.rejects(aborted, /gave up/);
  await assert.rejects(svc.wait("s", { signal: AbortSignal.abort() }), { name: "AbortError" });
  await sig.service(hosts[1].service).complete("s", "ok");
  assert.equal(await within(1_000, kept), "ok");
});

Deno.test("signal: options are validated with 'Cannot create signal' messages", () => {
  assert.throws(() => createSignal(""), /Cannot create signal: name/);
  assert.throws(() => createSignal("s", { retentionMs: 0 }), RangeError);
  assert.throws(() => createSignal("s", { maxPayloadBytes: 0 }), RangeError);
  assert.throws(() => createSignal("s", { maxPayloadBytes: 16_711_680 }), RangeError);
  assert.throws(() => createSignal("s", { idleTimeoutMs: 1.5 }), TypeError);
  assert.throws(() => createSignal("s", { retention: 1 } as never), /unknown option "retention"/);
  const s = createSignal("s", { retentionMs: Infinity });
  assert.equal(s.kind, "signal");
});
