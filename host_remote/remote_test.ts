/**
 * In-process remote topology: a runtime core on the memory provider and
 * RemoteHost workers with real TLS (admission, runtime RPC, peer links).
 * The multi-process tests with SIGKILL are in `tests/remote_test.ts`.
 */

import assert from "node:assert/strict";
import { isFrancisError } from "../errors.ts";
import { generatePsk } from "../_internal/psk.ts";
import { deriveClusterCaPem } from "../security/cluster_ca.ts";
import { createTestWorker, startTestRuntime, TEST_HOST_PSK } from "../testing/_remote.ts";
import { RemoteHost } from "./host.ts";
import { waitFor } from "../testing/wait_for.ts";
import type { RemoteHostOptions } from "./options.ts";

Deno.test("remote (in-process): workers join with the host PSK, serve actors and call each other", async () => {
  await using rt = await startTestRuntime();
  const a = createTestWorker(rt);
  const b = createTestWorker(rt);
  for (const w of [a, b]) {
    w.registerActor("counter", (id, service) => {
      const state = service.client<{ n: number }>("counter", id, { initialState: () => ({ n: 0 }) });
      return {
        async invoke() {
          const s = await state.getState();
          s.n++;
          await state.setState(s);
          return { n: s.n, on: w.hostId };
        },
      };
    });
  }
  await a.start();
  await b.start();
  try {
    assert.notEqual(a.hostId, b.hostId);
    const ids = Array.from({ length: 20 }, (_, i) => `c${i}`);
    for (const w of [a, b]) await Promise.all(ids.map((id) => w.service.invoke("counter", id, "inc")));
    const final = await Promise.all(ids.map((id) => a.service.invoke<{ n: number; on: string }>("counter", id, "inc")));
    assert.ok(final.every((r) => r.n === 3));
    assert.deepEqual(new Set(final.map((r) => r.on)), new Set([a.hostId, b.hostId]), "actors on both workers");
    assert.deepEqual(await b.service.getState("counter", "c1"), { n: 3 });
  } finally {
    await a.stop();
    await b.stop();
  }
});

Deno.test("remote (in-process): a wrong host PSK or another cluster's CA fails start with UnauthorizedError (C-94, C-95)", async () => {
  await using rt = await startTestRuntime();
  const wrongPsk = createTestWorker(rt, { bootstrap: { psk: "not-the-bootstrap-secret" } });
  await assert.rejects(wrongPsk.start(), (e) => isFrancisError(e, "unauthorized"));
  assert.equal(wrongPsk.state, "failed");
  const otherCa = createTestWorker(rt, { pinnedCa: await deriveClusterCaPem(generatePsk()) });
  await assert.rejects(otherCa.start(), (e) => isFrancisError(e, "unauthorized"));
});

Deno.test("remote (in-process): a client-only host invokes and writes state, serves nothing (C-100)", async () => {
  await using rt = await startTestRuntime();
  const server = createTestWorker(rt);
  server.registerActor("echo", () => ({ invoke: (_m: string, d: unknown) => d }));
  const client = createTestWorker(rt, { clientOnly: true });
  assert.throws(() => client.registerActor("x", () => ({})), TypeError);
  await server.start();
  await client.start();
  try {
    assert.deepEqual(await client.service.invoke("echo", "e1", "m", { x: 1 }), { x: 1 });
    await client.service.setState("echo", "e1", "hello");
    assert.equal(await server.service.getState("echo", "e1"), "hello");
    assert.equal(client.address, "");
  } finally {
    await client.stop();
    await server.stop();
  }
});

Deno.test("remote (in-process): RemoteHost options are validated (C-96)", () => {
  const base = { address: "127.0.0.1:0", runtimeAddresses: ["127.0.0.1:7400"], bootstrap: { psk: TEST_HOST_PSK } };
  assert.throws(() => new RemoteHost(base as RemoteHostOptions), TypeError);
  assert.throws(
    () => new RemoteHost({ ...base, pinnedCa: "x", unsafeNoPinnedCa: true } as RemoteHostOptions),
    TypeError,
  );
  assert.throws(
    () =>
      new RemoteHost(
        { ...base, unsafeNoPinnedCa: true, bootstrap: { psk: TEST_HOST_PSK, jwt: "t" } } as RemoteHostOptions,
      ),
    TypeError,
  );
  assert.throws(() => new RemoteHost({ ...base, unsafeNoPinnedCa: true, bootstrap: { psk: "short" } }), RangeError);
  assert.throws(() => new RemoteHost({ ...base, unsafeNoPinnedCa: true, clientOnly: true }), TypeError);
});

Deno.test("remote (in-process): after the runtime restarts, a worker reconnects by itself with its state intact; calls wait, then fail with RuntimeUnavailableError (C-101, C-104)", async () => {
  const dir = await Deno.makeTempDir();
  const { createSqliteProvider } = await import("../providers/sqlite/mod.ts");
  const psk = new TextEncoder().encode(generatePsk());
  const start = (port: number) =>
    startTestRuntime({ psks: [psk], port, provider: createSqliteProvider({ path: `${dir}/rt.db` }) });
  let rt = await start(0);
  const port = Number(rt.address.split(":").at(-1));
  const w = createTestWorker(rt, { requestTimeoutMs: 1_500 });
  w.registerActor("counter", (id, service) => ({
    async invoke() {
      const stored = await service.getState<number>("counter", id).catch((e) => {
        if (isFrancisError(e, "state_not_found")) return 0;
        throw e; // a transient failure must not reset the counter
      });
      const n = (stored as number) + 1;
      await service.setState("counter", id, n);
      return n;
    },
  }));
  await w.start();
  try {
    assert.equal(await w.service.invoke("counter", "c1", "inc"), 1);
    await rt.stop();
    const started = Date.now();
    await assert.rejects(w.service.getState("counter", "c1"), (e) => isFrancisError(e, "runtime_unavailable"));
    assert.ok(Date.now() - started >= 1_400, "the call waited for the session first");
    rt = await start(port);
    const n = await waitFor(() => w.service.invoke("counter", "c1", "inc").catch(() => undefined), {
      timeoutMs: 15_000,
      intervalMs: 50,
      what: "the worker to reconnect",
    });
    assert.equal(n, 2, `the state written before the restart is intact (got ${n})`);
  } finally {
    await w.stop();
    await rt.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("remote (in-process): JWT admission: a valid token joins once; replayed, expired, wrong-audience and foreign-key tokens fail with UnauthorizedError (C-95)", async () => {
  const { exportJWK, generateKeyPair, SignJWT } = await import("jose");
  const { publicKey, privateKey } = await generateKeyPair("ES256");
  const other = await generateKeyPair("ES256");
  const staticJwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256" }] });
  await using rt = await startTestRuntime({
    bootstrap: { method: "jwt", issuer: "https://issuer.test", audience: "francis", staticJwks },
  });
  const token = (o: { aud?: string; exp?: string; key?: CryptoKey; jti?: string } = {}) =>
    new SignJWT({})
      .setProtectedHeader({ alg: "ES256", kid: "k1" })
      .setIssuer("https://issuer.test")
      .setAudience(o.aud ?? "francis")
      .setIssuedAt()
      .setExpirationTime(o.exp ?? "10m")
      .setJti(o.jti ?? crypto.randomUUID())
      .sign(o.key ?? privateKey);
  const join = async (jwt: string) => {
    const w = createTestWorker(rt, { bootstrap: { jwt } });
    try {
      await w.start();
      return "joined";
    } catch (err) {
      return isFrancisError(err, "unauthorized") ? "unauthorized" : String(err);
    } finally {
      await w.stop();
    }
  };
  const good = await token();
  assert.equal(await join(good), "joined");
  assert.equal(await join(good), "unauthorized", "a token's jti is single-use");
  assert.equal(await join(await token({ exp: "-2m" })), "unauthorized", "expired");
  assert.equal(await join(await token({ aud: "someone-else" })), "unauthorized", "wrong audience");
  assert.equal(await join(await token({ key: other.privateKey })), "unauthorized", "signed by a key not in the JWKS");
  assert.equal(await join(await token({ exp: "2h" })), "unauthorized", "jti lifetime over 1 h");
});

Deno.test("remote (in-process): a workload certificate presented after its expiry is refused", async () => {
  await using rt = await startTestRuntime();
  const { connectRuntime } = await import("./connect.ts");
  const { deriveClusterCa } = await import("../security/cluster_ca.ts");
  const { certifyPublicKey } = await import("../security/leaf.ts");
  // A certificate the runtime's CA issued, for a real key, that expired an hour ago.
  const keys = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]) as CryptoKeyPair;
  const ca = await deriveClusterCa(rt.runtimePsk);
  const expired = await certifyPublicKey(ca, keys.publicKey, {
    identity: "spiffe://francis/host/expired-worker",
    ttlMs: 60_000,
    now: Date.now() - 3_600_000,
  });
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${btoa(String.fromCharCode(...pkcs8))}\n-----END PRIVATE KEY-----\n`;
  await assert.rejects(
    connectRuntime({
      address: rt.address,
      caPems: rt.caPems,
      credential: { kind: "cert", certPem: expired.certPem, keyPem },
      publicKeySpki: "",
      clientOnly: false,
      timeoutMs: 5_000,
      maxInFlightRequests: 10,
      keepaliveMs: 5_000,
    }),
    (e) => isFrancisError(e, "unauthorized"),
  );
  assert.equal(rt.sessions.size, 0);
});
