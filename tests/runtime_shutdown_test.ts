/**
 * The runtime's graceful stop with real processes: two runtime replicas on
 * one PostgreSQL database (`runtime/main.ts serve`), a worker connected to
 * the first. SIGTERM to the first: it tells the worker to move, the worker
 * connects to the other replica at once and keeps working, and the process
 * exits 0. (Calls in flight during the stop and the grace bound are tested in
 * process: `host_remote/runtime_stop_test.ts`.)
 */

import assert from "node:assert/strict";
import type { Logger } from "../actor/types.ts";
import { generatePsk } from "../mod.ts";
import { deriveClusterCaPem } from "../security/cluster_ca.ts";
import { RemoteHost } from "../host_remote/host.ts";
import { createTestDatabase } from "../testing/_postgres.ts";
import { waitFor } from "../testing/wait_for.ts";
import { freePort } from "./_shared/processes.ts";
import { RuntimeProcess } from "./_shared/runtime_process.ts";

const HOST_PSK = "worker-bootstrap-secret-123";

Deno.test("runtime processes: SIGTERM moves the worker to the other replica at once, then the runtime exits 0", async () => {
  const db = await createTestDatabase();
  const dir = await Deno.makeTempDir({ prefix: "francis-stop-" });
  const psk = generatePsk();
  const caPem = await deriveClusterCaPem(psk);
  const config = { dir, psk, hostPsk: HOST_PSK, connectionString: db.url, extraYaml: "shutdownGracePeriod: 10s" };
  const runtimes: RuntimeProcess[] = [];
  const infos: string[] = [];
  const logger: Logger = { debug() {}, info: (msg) => void infos.push(msg), warn() {}, error() {} };
  let worker: RemoteHost | undefined;
  try {
    const first = await RuntimeProcess.start(config);
    runtimes.push(first);
    await first.ready();
    const secondPort = freePort();
    // The second replica is not up yet, so the worker's session is with the first.
    worker = new RemoteHost({
      clientOnly: true,
      runtimeAddresses: [first.address, `127.0.0.1:${secondPort}`],
      bootstrap: { psk: HOST_PSK },
      pinnedCa: caPem,
      logger,
      requestTimeoutMs: 5_000,
    });
    await worker.start({ signal: AbortSignal.timeout(20_000) });
    await worker.service.setState("t", "a", 1);
    const second = await RuntimeProcess.start({ ...config, port: secondPort });
    runtimes.push(second);
    await second.ready();

    first.kill("SIGTERM");
    await waitFor(() => infos.includes("The runtime is stopping; connecting to another replica"), {
      what: "the worker to hear that its runtime is stopping",
    });
    await worker.service.setState("t", "a", 2); // through the second replica
    assert.deepEqual(await worker.service.getState("t", "a"), 2);
    const status = await first.exited;
    assert.equal(status.code, 0, first.output);
    await worker.service.setState("t", "a", 3);
    assert.deepEqual(await worker.service.getState("t", "a"), 3);
  } finally {
    await worker?.stop();
    await Promise.all(runtimes.map((r) => r.dispose()));
    await Deno.remove(dir, { recursive: true });
    await db.drop();
  }
});
