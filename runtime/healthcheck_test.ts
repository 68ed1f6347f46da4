/**
 * The healthcheck probe (C-108) against a stand-in runtime endpoint: healthy
 * only with a runtime certificate under a trusted CA that answers ok and ready.
 * (The test against the real runtime lives with the runtime.)
 */

import assert from "node:assert/strict";
import { deriveClusterCaPem } from "../security/cluster_ca.ts";
import { startFakeRuntime } from "./_fake_runtime.ts";
import { probeRuntime } from "./healthcheck.ts";

const PSK = "runtime-psk-0123456789-0123456789-abcdef";
const OTHER_PSK = "another-runtime-psk-0123456789-0123456789";
const HEALTHY = { kind: "health", ok: true, ready: true, runtimeId: "fake-runtime" } as const;

Deno.test("probe: healthy runtime under a trusted CA sends the probe hello and reads health", async () => {
  await using fake = await startFakeRuntime({ psk: PSK, answer: HEALTHY });
  const caPems = [await deriveClusterCaPem(OTHER_PSK), await deriveClusterCaPem(PSK)];
  const result = await probeRuntime({ address: fake.address, caPems, timeoutMs: 5_000 });
  assert.deepEqual(result, { healthy: true, health: { ok: true, ready: true, runtimeId: "fake-runtime" } });
  assert.deepEqual(fake.probes, [{ v: 1, kind: "probe" }]);
});

Deno.test("probe: not ready, untrusted CA, host identity, rejection and silence are unhealthy", async () => {
  const caPems = [await deriveClusterCaPem(PSK)];
  {
    await using fake = await startFakeRuntime({ psk: PSK, answer: { ...HEALTHY, ready: false } });
    const r = await probeRuntime({ address: fake.address, caPems, timeoutMs: 5_000 });
    assert.deepEqual([r.healthy, r.reason], [false, "the runtime is not ready"]);
  }
  {
    await using fake = await startFakeRuntime({ psk: OTHER_PSK, answer: HEALTHY });
    const r = await probeRuntime({ address: fake.address, caPems, timeoutMs: 5_000 });
    assert.equal(r.healthy, false);
    assert.equal(fake.probes.length, 0);
    const insecure = await probeRuntime({
      address: fake.address,
      caPems: [],
      timeoutMs: 5_000,
      insecureSkipVerify: true,
    });
    assert.equal(insecure.healthy, true);
  }
  {
    await using fake = await startFakeRuntime({ psk: PSK, identity: "spiffe://francis/host/h1", answer: HEALTHY });
    const r = await probeRuntime({ address: fake.address, caPems, timeoutMs: 5_000 });
    assert.equal(r.healthy, false);
    assert.equal(fake.probes.length, 0, "the probe must not be sent to a non-runtime peer");
  }
  {
    const answer = { kind: "rejected", code: "unauthorized", message: "nope" } as const;
    await using fake = await startFakeRuntime({ psk: PSK, answer });
    const r = await probeRuntime({ address: fake.address, caPems, timeoutMs: 5_000 });
    assert.deepEqual([r.healthy, r.reason], [false, "the runtime rejected the probe: nope"]);
  }
  {
    await using fake = await startFakeRuntime({ psk: PSK });
    const started = performance.now();
    const r = await probeRuntime({ address: fake.address, caPems, timeoutMs: 300 });
    assert.deepEqual([r.healthy, r.reason], [false, "no answer within 300 ms"]);
    assert.ok(performance.now() - started < 2_000);
  }
});
