/**
 * The WebTransport worker session across OS processes (run by
 * `tests/wt_remote_test.ts` in a child `deno test --unstable-net`): the
 * runtime from the real CLI with `transport: webtransport`, the pinned hash
 * printed by `francis print-ca --webtransport-hash`, RemoteHost workers on a
 * real PostgreSQL database, SIGKILL for crashes; and workers refused for a
 * wrong host PSK or a wrong pinned hash.
 */

import assert from "node:assert/strict";
import { generatePsk } from "../../mod.ts";
import { deriveClusterCaPem } from "../../security/cluster_ca.ts";
import { waitFor } from "../../testing/wait_for.ts";
import { CLUSTER_TEST_SCHEMA } from "../_cluster/actors.ts";
import { openTestDatabase } from "../_shared/database.ts";
import type { LineProcess } from "../_shared/processes.ts";
import { startWtRuntime, startWtWorker, type WtWorkerConfig } from "./harness.ts";

const MAIN = new URL("../../runtime/main.ts", import.meta.url).pathname;
const HOST_PSK = "worker-bootstrap-secret-123";

interface CounterReply {
  n: number;
  host: string;
}

/** The hash a worker pins, as an operator gets it: `francis print-ca --webtransport-hash`. */
async function printHash(psk: string): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "print-ca", "--webtransport-hash"],
    env: { FRANCIS_RUNTIME_PSKS: psk, NO_COLOR: "1" },
    cwd: "/",
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const hash = new TextDecoder().decode(out.stdout).trim();
  assert.match(hash, /^[0-9a-f]{64}$/);
  return hash;
}

async function burst(w: LineProcess, actors: string[], method: string): Promise<(CounterReply | { error: string })[]> {
  return await w.request<(CounterReply | { error: string })[]>({
    op: "burst",
    type: "counter",
    actorIds: actors,
    method,
  });
}

Deno.test("wt (processes): workers admitted over WebTransport serve calls; kill -9 a worker: its actors move with their state", async () => {
  await using db = await openTestDatabase(CLUSTER_TEST_SCHEMA);
  const dir = await Deno.makeTempDir();
  const procs: { dispose(): Promise<void> }[] = [];
  try {
    const psk = generatePsk();
    const runtime = await startWtRuntime(dir, { psk, hostPsk: HOST_PSK, connectionString: db.url });
    procs.push(runtime);
    const config: WtWorkerConfig = {
      url: db.url,
      runtimes: [runtime.address],
      hostPsk: HOST_PSK,
      caPem: await deriveClusterCaPem(psk),
      hash: await printHash(psk),
      requestTimeoutMs: 5_000,
    };
    const workers = ["w0", "w1", "w2"].map((label) => startWtWorker(config, label));
    procs.push(...workers);
    await Promise.all(workers.map((w) => w.ready));
    const actors = Array.from({ length: 24 }, (_, i) => `wt-${i}`);
    for (const w of workers) assert.deepEqual((await burst(w, actors, "inc")).filter((r) => "error" in r), []);
    const before = await burst(workers[0], actors, "get") as CounterReply[];
    assert.deepEqual(before.map((r) => r.n), actors.map(() => 3), "every call reached its actor");
    assert.deepEqual(new Set(before.map((r) => r.host)), new Set(["w0", "w1", "w2"]), "actors on every worker");

    const victim = workers.find((w) => w.label === before[0].host)!;
    const moved = actors.filter((_, i) => before[i].host === victim.label);
    const survivor = workers.find((w) => w !== victim)!;
    const killedAt = Date.now();
    victim.kill("SIGKILL");
    await waitFor(async () => {
      const replies = await burst(survivor, moved, "get");
      return replies.every((r) => "n" in r && r.host !== victim.label && r.n === 3);
    }, { what: "the victim's actors to answer on survivors with their state", timeoutMs: 40_000, intervalMs: 100 });
    console.log(`wt worker kill: ${moved.length} actors answered elsewhere after ${Date.now() - killedAt} ms`);
  } finally {
    await Promise.all(procs.map((p) => p.dispose()));
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("wt (processes): a worker with a wrong host PSK or a wrong pinned hash is refused (UnauthorizedError)", async () => {
  const dir = await Deno.makeTempDir();
  const procs: { dispose(): Promise<void> }[] = [];
  try {
    const psk = generatePsk();
    const runtime = await startWtRuntime(dir, { psk, hostPsk: HOST_PSK, connectionString: `${dir}/rt.db` });
    procs.push(runtime);
    const base: WtWorkerConfig = {
      url: "postgres://unused@127.0.0.1:1/unused",
      runtimes: [runtime.address],
      hostPsk: HOST_PSK,
      caPem: await deriveClusterCaPem(psk),
      hash: await printHash(psk),
    };
    const wrongPsk = startWtWorker({ ...base, hostPsk: "a-wrong-worker-bootstrap-secret" }, "bad-psk");
    const wrongHash = startWtWorker({ ...base, hash: await printHash(generatePsk()) }, "bad-hash");
    const good = startWtWorker(base, "good");
    procs.push(wrongPsk, wrongHash, good);
    for (const w of [wrongPsk, wrongHash]) {
      const status = await w.exited;
      assert.equal(status.code, 1, `${w.label} must fail to start:\n${w.output}`);
      assert.match(w.failure, /UnauthorizedError unauthorized/, `${w.label}: ${w.failure}\n${w.output}`);
    }
    await good.ready; // the runtime kept serving
  } finally {
    await Promise.all(procs.map((p) => p.dispose()));
    await Deno.remove(dir, { recursive: true });
  }
});
