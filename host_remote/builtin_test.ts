/**
 * Singletons and built-ins on the remote topology, in process: a runtime core
 * on the memory provider and RemoteHost workers with real TLS. Registrations
 * are replayed onto each worker's inner host; built-in services work through
 * any host's service, client-only included.
 */

import assert from "node:assert/strict";
import { SINGLETON_ACTOR_ID } from "../actor/types.ts";
import { ActorTypeReservedError, isFrancisError } from "../errors.ts";
import { waitFor } from "../testing/wait_for.ts";
import { createRateLimit } from "../builtin/ratelimit/mod.ts";
import { createSignal } from "../builtin/signal/mod.ts";
import { createTestWorker, startTestRuntime } from "../testing/_remote.ts";

const runtime = () => startTestRuntime();
const host = (rt: Parameters<typeof createTestWorker>[0], clientOnly = false) =>
  createTestWorker(rt, clientOnly ? { clientOnly: true } : {});

Deno.test("remote (in-process): a singleton registered on two workers bootstraps its single activation (C-86)", async () => {
  await using rt = await runtime();
  const boots: unknown[] = [];
  let factories = 0;
  const workers = [host(rt), host(rt)];
  for (const w of workers) {
    w.registerSingletonActor("leader", () => {
      factories++;
      return { bootstrap: (data: unknown) => void boots.push(data), invoke: () => "leader" };
    }, { bootstrapData: { n: 1 } });
  }
  await Promise.all(workers.map((w) => w.start()));
  try {
    await waitFor(() => boots.length === 2, { what: "one bootstrap per worker" });
    assert.deepEqual(boots, [{ n: 1 }, { n: 1 }]);
    assert.equal(factories, 1);
    assert.equal(await workers[1].service.invoke("leader", SINGLETON_ACTOR_ID, "x"), "leader");
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
});

Deno.test("remote (in-process): rate limit and signal served by workers, used from a client-only host (C-90, C-91, C-92)", async () => {
  await using rt = await runtime();
  const limit = createRateLimit("api", { rate: 1, perMs: 1_000 });
  const deploys = createSignal("deploys");
  const workers = [host(rt), host(rt)];
  for (const w of workers) {
    w.registerBuiltInActor(limit);
    w.registerBuiltInActor(deploys);
  }
  assert.throws(() => workers[0].registerBuiltInActor(createSignal("deploys")), /already registered/);
  const client = host(rt, true);
  assert.throws(() => client.registerBuiltInActor(limit), TypeError);
  assert.throws(() => client.registerSingletonActor("s", () => ({})), TypeError);
  await assert.rejects(limit.service(client.service).allow("k"), (e) => isFrancisError(e, "host_not_running"));
  await Promise.all([...workers, client].map((h) => h.start()));
  try {
    const rl = limit.service(client.service);
    assert.deepEqual(await rl.allow("k"), { allowed: true, retryAfterMs: 0 });
    const refused = await limit.service(workers[1].service).allow("k");
    assert.ok(!refused.allowed && refused.retryAfterMs > 0 && refused.retryAfterMs <= 1_000);

    const waiters = [client, ...workers].map((h) => deploys.service(h.service).wait<string>("r1"));
    await deploys.service(client.service).complete("r1", "v2");
    assert.deepEqual(await Promise.all(waiters), ["v2", "v2", "v2"]);
    await assert.rejects(
      deploys.service(workers[0].service).complete("r1"),
      (e) => isFrancisError(e, "signal_already_completed"),
    );
    assert.deepEqual(await deploys.service(client.service).check("r1"), { completed: true, data: "v2" });
    await assert.rejects(client.service.getState("francis.builtin.signal.deploys", "r1"), ActorTypeReservedError);
  } finally {
    await client.stop();
    await Promise.all(workers.map((w) => w.stop()));
  }
});
