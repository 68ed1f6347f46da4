/**
 * The job methods of `ActorClient` (API.md §7): bound to the client's actor,
 * and ID-based calls restricted to that actor's own jobs.
 */

import assert from "node:assert/strict";
import type { ActorClient, ActorContext, ActorService } from "../actor/types.ts";
import { isFrancisError, JobPermanentFailureError, ReadOnlyError } from "../errors.ts";
import { createTestHost } from "../testing/test_host.ts";
import { waitFor } from "../testing/wait_for.ts";

const QUIET = { debug() {}, info() {}, warn() {}, error() {} };
const notFound = (e: unknown) => isFrancisError(e, "job_not_found");

Deno.test("client jobs: dispatch, getJob, listJobs, cancelJob and retryJob are bound to the client's actor", async () => {
  const runs: string[] = [];
  await using host = createTestHost({ logger: QUIET });
  host.registerActor("mailer", (id) => ({
    job(method: string, data: unknown, ctx: ActorContext) {
      runs.push(`${id}:${method}:${JSON.stringify(data)}:${ctx.kind}`);
      if (method === "fail") throw new JobPermanentFailureError("nope");
    },
  }));
  await host.start();
  const s = host.service;
  const a = s.client("mailer", "a");
  const b = s.client("mailer", "b");

  const id = await a.dispatch("send", { to: "x" }, { delayMs: 60_000, idempotencyKey: "k" });
  assert.equal(await a.dispatch("send", 1, { idempotencyKey: "k" }), id, "idempotency scoped to the actor");
  const info = await a.getJob(id);
  assert.deepEqual([info.actorType, info.actorId, info.method, info.status], ["mailer", "a", "send", "pending"]);
  assert.deepEqual((await a.listJobs()).map((j) => j.jobId), [id]);
  assert.deepEqual(await b.listJobs(), []);

  // Another actor's job is invisible to this client.
  await assert.rejects(b.getJob(id), notFound);
  await assert.rejects(b.cancelJob(id), notFound);
  await assert.rejects(b.retryJob(id), notFound);
  assert.equal((await s.getJob(id)).status, "pending", "untouched");

  await a.cancelJob(id);
  await assert.rejects(a.getJob(id), notFound);
  await assert.rejects(a.cancelJob(id), notFound);

  const now = await b.dispatch("now", "hi");
  await waitFor(() => runs.includes(`b:now:"hi":job`), { what: "the job to run" });
  await waitFor(() => b.getJob(now).then(() => false, notFound), { what: "the job to complete" });

  const failing = await a.dispatch("fail");
  await waitFor(async () => (await a.getJob(failing)).status === "dead-lettered", { what: "the dead letter" });
  await assert.rejects(b.retryJob(failing), notFound);
  const retried = await a.retryJob(failing);
  assert.notEqual(retried, failing);
  await assert.rejects(a.getJob(failing), notFound);
  await waitFor(async () => (await a.getJob(retried).catch(() => undefined))?.status === "dead-lettered", {
    what: "the retried job to fail again",
  });
  assert.equal(runs.filter((r) => r.startsWith("a:fail")).length, 2);

  await assert.rejects(a.getJob("a/b"), TypeError);
  await assert.rejects(a.dispatch("m", undefined, { delayMs: -1 }), RangeError);
  await assert.rejects(a.dispatch("francis.builtin.x"), (e) => isFrancisError(e, "method_reserved"));
});

Deno.test("client jobs: an actor dispatches to itself from its turn; a peek cannot", async () => {
  const ran: string[] = [];
  await using host = createTestHost({ logger: QUIET });
  host.registerActor("self", (id: string, service: ActorService) => {
    const self: ActorClient<unknown> = service.client("self", id);
    return {
      invoke: async () => await self.dispatch("later", "x"),
      peek: async () => await self.dispatch("later"),
      job: (method: string) => void ran.push(method),
    };
  });
  await host.start();
  const id = await host.service.invoke<string>("self", "s1", "go");
  assert.equal(typeof id, "string");
  await waitFor(() => ran.length === 1, { what: "the self-dispatched job" });
  await assert.rejects(
    host.service.peek("self", "s1", "go"),
    (e) => e instanceof ReadOnlyError || /read-only/.test(String(e)),
  );
});
