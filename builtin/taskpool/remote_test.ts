/**
 * Task pool on the remote topology, in process: a runtime core on the memory
 * provider, two RemoteHost workers with real TLS serving the pool, tasks
 * submitted and inspected from a client-only host.
 */

import assert from "node:assert/strict";
import { ActorTypeReservedError, isFrancisError, JobPermanentFailureError } from "../../errors.ts";
import { waitFor } from "../../testing/wait_for.ts";
import { createTaskPool, type Task } from "./mod.ts";
import { createTestWorker, startTestRuntime } from "../../testing/_remote.ts";

const runtime = () => startTestRuntime();
const host = (rt: Parameters<typeof createTestWorker>[0], clientOnly = false) =>
  createTestWorker(rt, clientOnly ? { clientOnly: true } : {});

Deno.test("remote (in-process): a task pool served by workers, used from a client-only host (C-93, C-91)", async () => {
  await using rt = await runtime();
  const running = [0, 0];
  const ran: { worker: number; task: Task }[] = [];
  const mk = (i: number) =>
    createTaskPool("jobs", {
      concurrency: 1,
      maxAttempts: 1,
      handler: async (task) => {
        running[i]++;
        try {
          assert.equal(running[i], 1, "concurrency 1 per worker");
          if (task.input === "bad") throw new JobPermanentFailureError("bad task");
          await new Promise((r) => setTimeout(r, 20));
          ran.push({ worker: i, task });
        } finally {
          running[i]--;
        }
      },
    });
  const workers = [host(rt), host(rt)];
  workers.forEach((w, i) => w.registerBuiltInActor(mk(i)));
  const client = host(rt, true);
  const pool = mk(0);
  await assert.rejects(pool.service(client.service).submit(1), (e) => isFrancisError(e, "host_not_running"));
  await Promise.all([...workers, client].map((h) => h.start()));
  try {
    const tp = pool.service(client.service);
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await tp.submit({ i }, { taskKey: `k${i}` }));
    const bad = await tp.submit("bad");
    await waitFor(() => ran.length === 6, { what: "every task on the workers", timeoutMs: 20_000 });
    assert.deepEqual(ran.map((r) => r.task.taskId).sort(), [...ids].sort());
    await waitFor(() => tp.getTask(bad).then((t) => t.status === "dead-lettered"), { what: "the dead letter" });
    const again = await tp.retryTask(bad);
    assert.notEqual(again, bad);
    await waitFor(() => tp.getTask(again).then((t) => t.status === "dead-lettered"), { what: "the retried task" });
    await assert.rejects(client.service.getJob(again), ActorTypeReservedError);
  } finally {
    await client.stop();
    await Promise.all(workers.map((w) => w.stop()));
  }
});
