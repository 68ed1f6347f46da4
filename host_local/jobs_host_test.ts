/**
 * Jobs through a running LocalHost (the scheduler and service wired into the
 * host): C-47, C-50, C-52, C-53, C-57 and C-61 end to end, on memory and on a
 * SQLite file, plus a job dispatched on one host running on another.
 */

import assert from "node:assert/strict";
import type { ActorContext, JobFailure } from "../actor/types.ts";
import { isFrancisError, JobPermanentFailureError } from "../errors.ts";
import { createMemoryProvider } from "../providers/memory/mod.ts";
import { createSqliteProvider } from "../providers/sqlite/mod.ts";
import type { ActorProvider } from "../providers/types.ts";
import { createTestHost } from "../testing/test_host.ts";
import { waitFor } from "../testing/wait_for.ts";

const QUIET = { debug() {}, info() {}, warn() {}, error() {} };

for (const kind of ["memory", "sqlite"] as const) {
  Deno.test(`jobs (${kind}): run once, idempotency, dead letter with jobFailed, retry (C-47, C-50, C-52, C-53, C-57)`, async () => {
    const dir = await Deno.makeTempDir();
    const provider: ActorProvider = kind === "memory"
      ? createMemoryProvider()
      : createSqliteProvider({ path: `${dir}/jobs.db` });
    const runs: string[] = [];
    const failures: JobFailure[] = [];
    const host = createTestHost({ provider, logger: QUIET });
    host.registerActor("mailer", () => ({
      job(method: string, data: unknown, ctx: ActorContext) {
        runs.push(`${method}:${JSON.stringify(data)}:${ctx.kind}:${ctx.attempt}`);
        if (method === "fail") throw new Error("boom-7");
        if (method === "permanent") throw new JobPermanentFailureError("no such user");
      },
      jobFailed(f: JobFailure) {
        failures.push(f);
      },
    }), { maxAttempts: 2, initialRetryDelayMs: 50 });
    await host.start();
    try {
      const s = host.service;
      const id = await s.dispatch("mailer", "u1", "send", { to: "a@b.c" }, { idempotencyKey: "welcome" });
      await waitFor(() => runs.includes(`send:{"to":"a@b.c"}:job:1`), { what: "the job to run" });
      await waitFor(() => s.getJob(id).then(() => false, (e) => isFrancisError(e, "job_not_found")), {
        what: "the completed job to disappear",
      });
      assert.notEqual(await s.dispatch("mailer", "u1", "send", 1, { idempotencyKey: "welcome" }), id, "key free again");

      const delayed = await s.dispatch("mailer", "u2", "later", undefined, { delayMs: 60_000, idempotencyKey: "k" });
      assert.equal(await s.dispatch("mailer", "u2", "later", undefined, { idempotencyKey: "k" }), delayed);
      assert.equal((await s.getJob(delayed)).status, "pending");
      await s.cancelJob(delayed);
      await assert.rejects(s.cancelJob(delayed), (e) => isFrancisError(e, "job_not_found"));

      const failing = await s.dispatch("mailer", "u3", "fail", "x");
      await waitFor(() => failures.length === 1, { what: "jobFailed", timeoutMs: 10_000 });
      const dead = await s.getJob(failing);
      assert.equal(dead.status, "dead-lettered");
      assert.equal(dead.attempts, 2);
      assert.match(dead.lastError ?? "", /boom-7/);
      assert.equal(runs.filter((r) => r.startsWith("fail:")).length, 2, "maxAttempts runs");
      assert.equal(failures[0].attempts, 2);

      const perm = await s.dispatch("mailer", "u4", "permanent");
      await waitFor(() => failures.length === 2, { what: "the permanent failure", timeoutMs: 10_000 });
      assert.equal(runs.filter((r) => r.startsWith("permanent:")).length, 1, "JobPermanentFailureError runs once");
      assert.equal((await s.getJob(perm)).status, "dead-lettered");

      const again = await s.retryJob(failing);
      assert.notEqual(again, failing);
      await assert.rejects(s.getJob(failing), (e) => isFrancisError(e, "job_not_found"));
      await waitFor(() => runs.filter((r) => r.startsWith("fail:")).length === 4, { what: "the retried job to run" });
      await s.deleteDeadJob(perm);
      await assert.rejects(s.getJob(perm), (e) => isFrancisError(e, "job_not_found"));
    } finally {
      await host.stop();
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("jobs: a job dispatched to a type no host serves stays pending, then runs on a host that starts later (C-61)", async () => {
  const provider = createMemoryProvider();
  const caller = createTestHost({ provider, logger: QUIET });
  await caller.start();
  const ran: string[] = [];
  const worker = createTestHost({ provider, logger: QUIET });
  worker.registerActor("late", () => ({ job: (m: string) => void ran.push(m) }));
  try {
    const id = await caller.service.dispatch("late", "l1", "go");
    assert.equal((await caller.service.getJob(id)).status, "pending");
    await worker.start();
    await waitFor(() => ran.includes("go"), { what: "the job to run on the new host", timeoutMs: 10_000 });
  } finally {
    await caller.stop();
    await worker.stop();
  }
});
