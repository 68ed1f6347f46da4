/**
 * "SQLite and memory allow exactly one replica" (API.md §19.1), with real
 * runtime processes started by the CLI (`runtime/main.ts serve`): a second
 * runtime on the same SQLite file exits 1 naming the holder while the first
 * keeps serving; once the first is killed with SIGKILL, a new runtime starts
 * on the file and serves what the first wrote.
 */

import assert from "node:assert/strict";
import { generatePsk } from "../mod.ts";
import { deriveClusterCaPem } from "../security/cluster_ca.ts";
import { RemoteHost } from "../host_remote/host.ts";
import { RuntimeProcess } from "./_shared/runtime_process.ts";

const HOST_PSK = "worker-bootstrap-secret-123";
const QUIET = { debug() {}, info() {}, warn() {}, error() {} };

function client(address: string, caPem: string): RemoteHost {
  return new RemoteHost({
    clientOnly: true,
    runtimeAddresses: [address],
    bootstrap: { psk: HOST_PSK },
    pinnedCa: caPem,
    logger: QUIET,
    requestTimeoutMs: 5_000,
  });
}

/** Resolves with the exit code, or rejects if the process is still running after `ms`. */
async function exitWithin(p: RuntimeProcess, ms: number): Promise<number> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const status = await Promise.race([
      p.exited,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`still running after ${ms} ms:\n${p.output}`)), ms);
      }),
    ]);
    return status.code;
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("runtime processes: one SQLite file, one runtime; a SIGKILLed runtime's file can be opened again", async () => {
  const dir = await Deno.makeTempDir({ prefix: "francis-replica-" });
  const psk = generatePsk();
  const caPem = await deriveClusterCaPem(psk);
  const config = { dir, psk, hostPsk: HOST_PSK, connectionString: `sqlite:${dir}/francis.db` };
  const started: RuntimeProcess[] = [];
  const start = async (port?: number) => {
    const p = await RuntimeProcess.start({ ...config, port });
    started.push(p);
    return p;
  };
  try {
    const first = await start();
    await first.ready();
    const w1 = client(first.address, caPem);
    await w1.start({ signal: AbortSignal.timeout(20_000) });
    await w1.service.setState("t", "a", { written: "by the first runtime" });

    const second = await start();
    assert.equal(await exitWithin(second, 20_000), 1, second.output);
    assert.match(second.output, /Runtime failed to start/);
    assert.match(second.output, /another runtime process \(pid \d+\) is using the SQLite store/);
    assert.match(second.output, /francis\.db\.runtime\.lock/);

    // The first is unaffected.
    await first.ready(5_000);
    await w1.service.setState("t", "b", { written: "after the refusal" });
    assert.deepEqual(await w1.service.getState("t", "a"), { written: "by the first runtime" });
    await w1.stop();

    first.kill("SIGKILL");
    await first.exited;
    const third = await start(first.port);
    await third.ready();
    const w3 = client(third.address, caPem);
    await w3.start({ signal: AbortSignal.timeout(20_000) });
    try {
      assert.deepEqual(await w3.service.getState("t", "b"), { written: "after the refusal" });
    } finally {
      await w3.stop();
    }
  } finally {
    await Promise.all(started.map((p) => p.dispose()));
    await Deno.remove(dir, { recursive: true });
  }
});
