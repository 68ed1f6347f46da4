import assert from "node:assert/strict";
import { runProviderSuite } from "../../testing/provider_suite.ts";
import { ManualClock } from "../../testing/manual_clock.ts";
import { createMemoryProvider, MEMORY_PROVIDER_DEFAULTS, resolveMemoryProviderOptions } from "./mod.ts";

runProviderSuite({ create: ({ clock }) => createMemoryProvider({ clock }) });

Deno.test("createMemoryProvider() validates cleanupIntervalMs and clock", () => {
  assert.equal(MEMORY_PROVIDER_DEFAULTS.cleanupIntervalMs, 300_000);
  assert.equal(resolveMemoryProviderOptions().cleanupIntervalMs, 300_000);
  assert.equal(resolveMemoryProviderOptions({ cleanupIntervalMs: Infinity }).cleanupIntervalMs, Infinity);
  assert.equal(resolveMemoryProviderOptions({ cleanupIntervalMs: 1 }).cleanupIntervalMs, 1);
  for (const bad of [0, -1, 1.5, NaN, -Infinity, 2_147_483_648]) {
    assert.throws(() => createMemoryProvider({ cleanupIntervalMs: bad }), (err: unknown) => {
      assert.ok(err instanceof RangeError, `${bad}`);
      assert.match(err.message, /^Cannot create memory provider: cleanupIntervalMs must be /);
      return true;
    });
  }
  assert.throws(() => createMemoryProvider({ cleanupIntervalMs: "5" as unknown as number }), TypeError);
  assert.throws(() => createMemoryProvider({ clock: {} as never }), TypeError);
  assert.equal(createMemoryProvider().name, "memory");
});

Deno.test("runProviderSuite() rejects a skip entry naming an unknown test", () => {
  assert.throws(
    () => runProviderSuite({ create: () => createMemoryProvider(), skip: [{ reason: "x", tests: ["no such test"] }] }),
    TypeError,
  );
});

Deno.test("createMemoryProvider() defaults its clock to Date.now()", async () => {
  const provider = createMemoryProvider();
  await provider.acquire();
  try {
    const before = Date.now();
    await provider.registerHost({ address: "h:1", actorTypes: [], healthCheckDeadlineMs: 10_000 });
    const [host] = await provider.listHosts(10_000);
    assert.ok(host.lastHealthCheck >= before && host.lastHealthCheck <= Date.now());
  } finally {
    await provider.release();
  }
});

Deno.test("memory provider runs cleanup on its timer while acquired", async () => {
  const clock = new ManualClock();
  const provider = createMemoryProvider({ clock, cleanupIntervalMs: 5 });
  await provider.acquire();
  try {
    await provider.registerHost({ address: "h:1", actorTypes: [], healthCheckDeadlineMs: 1_000 });
    await provider.setState({ actorType: "A", actorId: "a", data: new Uint8Array([1]), ttlMs: 10 });
    clock.advance(2_000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    // The timer already purged both, so an explicit cleanup finds nothing.
    assert.deepEqual(await provider.cleanup({ healthCheckDeadlineMs: 1_000 }), { expiredStates: 0, deadHosts: 0 });
  } finally {
    await provider.release();
  }
});

Deno.test("memory provider fetches from 100,000 far-future alarms without scanning them", async () => {
  const clock = new ManualClock();
  const provider = createMemoryProvider({ clock });
  await provider.acquire();
  try {
    const deadline = 60_000;
    const { hostId } = await provider.registerHost({
      address: "h:1",
      actorTypes: [{ actorType: "A", idleTimeoutMs: 60_000, concurrencyLimit: 0 }],
      healthCheckDeadlineMs: deadline,
    });
    const now = clock.now();
    for (let i = 0; i < 100_000; i++) {
      await provider.setAlarm("A", `far-${i}`, "n", { dueTime: now + 86_400_000 + ((i * 7919) % 100_000) });
    }
    for (let i = 0; i < 5; i++) await provider.setAlarm("A", `due-${i}`, "n", { dueTime: now - i });
    const req = {
      hostId,
      healthCheckDeadlineMs: deadline,
      fetchAheadMs: 1_000,
      batchSize: 100,
      leaseDurationMs: 60_000,
    };
    const started = performance.now();
    const leases = await provider.fetchAndLeaseAlarms(req);
    for (let i = 0; i < 5_000; i++) assert.deepEqual(await provider.fetchAndLeaseAlarms(req), []);
    const elapsed = performance.now() - started;
    assert.deepEqual(leases.map((l) => l.actorId), ["due-4", "due-3", "due-2", "due-1", "due-0"]);
    assert.ok(elapsed < 250, `5,001 fetches took ${elapsed.toFixed(0)} ms`);
  } finally {
    await provider.release();
  }
});
