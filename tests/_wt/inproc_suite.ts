/**
 * In-process WebTransport worker sessions (run by `tests/wt_remote_test.ts`
 * in a child `deno test --unstable-net`): a runtime core with
 * `transport: "webtransport"` and RemoteHost workers admitted over it, with
 * PSK, JWT and (after a runtime restart) their workload certificate; and the
 * rejections: wrong host PSK, wrong pinned hash, wrong pinned CA, no
 * WebTransport endpoint at all.
 */

import assert from "node:assert/strict";
import { isFrancisError } from "../../errors.ts";
import { generatePsk } from "../../_internal/psk.ts";
import type { RuntimeCoreConfig } from "../../runtime/core.ts";
import { deriveClusterCaPem } from "../../security/cluster_ca.ts";
import { deriveRuntimeWtCertificateHash } from "../../runtime/_wt_certificate.ts";
import type { RemoteHost } from "../../host_remote/host.ts";
import type { RemoteHostOptions } from "../../host_remote/options.ts";
import { createTestWorker, startTestRuntime, TEST_HOST_PSK, type TestRuntime } from "../../testing/_remote.ts";
import { waitFor } from "../../testing/wait_for.ts";
import { freePort } from "../_shared/processes.ts";

/** A test runtime listening for WebTransport sessions, and the certificate hash its workers pin. */
type Rt = TestRuntime & { hash: string };

async function runtime(extra: Partial<RuntimeCoreConfig> = {}): Promise<Rt> {
  const rt = await startTestRuntime({ runtimeId: "rt-wt", transport: "webtransport", ...extra });
  return Object.assign(rt, { hash: await deriveRuntimeWtCertificateHash(rt.runtimePsk) });
}

/** A worker of `rt` whose runtime session is WebTransport. */
function worker(rt: Rt, extra: Partial<RemoteHostOptions> = {}): RemoteHost {
  return createTestWorker(rt, { transport: "webtransport", runtimeCertificateHash: rt.hash, ...extra });
}

function registerCounter(w: RemoteHost): void {
  w.registerActor("counter", (id, service) => ({
    async invoke() {
      const stored = await service.getState<number>("counter", id).catch((e) => {
        if (isFrancisError(e, "state_not_found")) return 0;
        throw e;
      });
      const n = (stored as number) + 1;
      await service.setState("counter", id, n);
      return { n, on: w.hostId };
    },
  }));
}

async function outcome(w: RemoteHost, signal?: AbortSignal): Promise<string> {
  try {
    await w.start(signal === undefined ? undefined : { signal });
    return "joined";
  } catch (err) {
    return isFrancisError(err, "unauthorized") ? "unauthorized" : `other: ${(err as Error).name} ${err}`;
  } finally {
    await w.stop();
  }
}

Deno.test("wt (in-process): workers join over WebTransport with the host PSK and serve actors across each other", async () => {
  await using rt = await runtime();
  const a = worker(rt);
  const b = worker(rt);
  registerCounter(a);
  registerCounter(b);
  await a.start();
  await b.start();
  try {
    assert.equal(rt.sessions.size, 2);
    const ids = Array.from({ length: 20 }, (_, i) => `c${i}`);
    for (const w of [a, b]) for (const id of ids) await w.service.invoke("counter", id, "inc");
    const replies = await Promise.all(
      ids.map((id) => a.service.invoke<{ n: number; on: string }>("counter", id, "inc")),
    );
    assert.deepEqual(replies.map((r) => r.n), ids.map(() => 3));
    assert.deepEqual(new Set(replies.map((r) => r.on)), new Set([a.hostId, b.hostId]), "actors on both workers");
  } finally {
    await a.stop();
    await b.stop();
  }
});

Deno.test("wt (in-process): a wrong host PSK, a wrong pinned hash or another cluster's CA fail start with UnauthorizedError", async () => {
  await using rt = await runtime();
  assert.equal(await outcome(worker(rt, { bootstrap: { psk: "not-the-host-psk-at-all" } })), "unauthorized");
  const otherHash = await deriveRuntimeWtCertificateHash(generatePsk());
  assert.equal(await outcome(worker(rt, { runtimeCertificateHash: otherHash })), "unauthorized", "wrong hash");
  const otherCa = await deriveClusterCaPem(generatePsk());
  assert.equal(await outcome(worker(rt, { pinnedCa: otherCa })), "unauthorized", "right hash, foreign CA");
  assert.equal(rt.sessions.size, 0);
  assert.equal(await outcome(worker(rt)), "joined", "the runtime still serves");
});

Deno.test("wt (in-process): a worker asked to use WebTransport never falls back to TLS", async () => {
  await using rt = await runtime({ transport: "tls" });
  const result = await outcome(worker(rt, { requestTimeoutMs: 1_000 }), AbortSignal.timeout(2_500));
  assert.match(result, /^other: /, "no WebTransport endpoint: the start times out, it does not join over TLS");
  assert.equal(rt.sessions.size, 0);
});

Deno.test("wt (in-process): JWT admission over WebTransport: a token joins once, a replay is refused", async () => {
  const { exportJWK, generateKeyPair, SignJWT } = await import("jose");
  const { publicKey, privateKey } = await generateKeyPair("ES256");
  const staticJwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256" }] });
  await using rt = await runtime({
    bootstrap: { method: "jwt", issuer: "https://issuer.test", audience: "francis", staticJwks },
  });
  const token = await new SignJWT({}).setProtectedHeader({ alg: "ES256", kid: "k1" }).setIssuer("https://issuer.test")
    .setAudience("francis").setIssuedAt().setExpirationTime("10m").setJti(crypto.randomUUID()).sign(privateKey);
  assert.equal(await outcome(worker(rt, { bootstrap: { jwt: token } })), "joined");
  assert.equal(await outcome(worker(rt, { bootstrap: { jwt: token } })), "unauthorized", "jti is single-use");
  assert.equal(
    await outcome(worker(rt, { bootstrap: { psk: TEST_HOST_PSK } })),
    "unauthorized",
    "PSK bootstrap is off",
  );
});

Deno.test("wt (in-process): after the runtime is replaced the worker reconnects over WebTransport with its certificate; state intact", async () => {
  // Deno 2.9.6 never releases a QuicEndpoint's UDP port inside the process, so the new runtime listens elsewhere:
  // the worker knows both addresses and rolls over (the multi-process test restarts on the same port).
  const dir = await Deno.makeTempDir();
  const { createSqliteProvider } = await import("../../providers/sqlite/mod.ts");
  const psk = new TextEncoder().encode(generatePsk());
  const start = (port: number) =>
    runtime({ psks: [psk], port, provider: createSqliteProvider({ path: `${dir}/rt.db` }) });
  let rt = await start(0);
  const spare = freePort();
  const w = worker(rt, { requestTimeoutMs: 2_000, runtimeAddresses: [rt.address, `127.0.0.1:${spare}`] });
  registerCounter(w);
  await w.start();
  const hostId = w.hostId;
  try {
    assert.equal((await w.service.invoke<{ n: number }>("counter", "c1", "inc")).n, 1);
    await rt.stop();
    rt = await start(spare);
    let n = 0;
    await waitFor(async () => {
      n = await w.service.invoke<{ n: number }>("counter", "c1", "inc").then((r) => r.n, () => 0);
      return n > 0;
    }, { what: "the worker to serve again through the new runtime", timeoutMs: 30_000, intervalMs: 50 });
    assert.equal(n, 2, "the state written before the restart is intact");
    assert.equal(w.hostId, hostId, "reconnected with its certificate: same host ID");
  } finally {
    await w.stop();
    await rt.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
