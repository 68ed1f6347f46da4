/**
 * Durable jobs across three host processes on PostgreSQL (API.md §10), with
 * real SIGKILL and restarts: jobs in flight on a killed host run again
 * elsewhere and none is lost; one idempotency key dispatched through every
 * host runs once; a dead letter survives a restart of every host and
 * `retryJob` runs it.
 *
 * The `jobber` actor (`_cluster/actors.ts`) records the start and the finish of
 * every run in `t_job_runs`, from the host that runs it.
 */

import assert from "node:assert/strict";
import type postgres from "postgres";
import { generatePsk } from "../mod.ts";
import { waitFor } from "../testing/wait_for.ts";
import { CLUSTER_TEST_SCHEMA } from "./_cluster/actors.ts";
import { type ClusterSettings, startChildren, startHostCluster } from "./_cluster/harness.ts";

/** Fast failure detection, so that a killed host's jobs move within seconds. */
const SETTINGS: Partial<ClusterSettings> = {
  healthCheckDeadlineMs: 4_000,
  alarmsLeaseDurationMs: 4_000,
  alarmsPollIntervalMs: 300,
};

const startCluster = () =>
  startHostCluster({ schema: CLUSTER_TEST_SCHEMA, settings: { psk: generatePsk(), ...SETTINGS }, hosts: 3 });

interface Run {
  tag: string;
  host: string;
  method: string;
  finished: Date | null;
}

interface JobInfoJson {
  jobId: string;
  status: string;
  attempts: number;
  lastError?: string;
}

async function runs(sql: postgres.Sql): Promise<Run[]> {
  return await sql<Run[]>`SELECT tag, host, method, finished FROM t_job_runs ORDER BY id`;
}

Deno.test("jobs: a SIGKILLed host's jobs in flight run again elsewhere; every job completes, none is lost", async () => {
  await using c = await startCluster();
  const N = 24;
  const tags = Array.from({ length: N }, (_, i) => `crash-${i}`);
  // One actor per job, dispatched through all three hosts; each run takes 1.5 s.
  const ids = await Promise.all(tags.map((tag, i) =>
    c.children[i % 3].request<string>({
      op: "dispatch",
      type: "jobber",
      actorId: `j${i}`,
      method: "work",
      input: { tag, ms: 1_500 },
    })
  ));
  assert.equal(new Set(ids).size, N, "every dispatch created its own job");

  // Kill the host running the most jobs, mid-execution.
  let inFlight = new Map<string, string[]>();
  await waitFor(async () => {
    inFlight = new Map();
    for (const r of await runs(c.sql)) {
      if (r.finished === null) inFlight.set(r.host, [...inFlight.get(r.host) ?? [], r.tag]);
    }
    return inFlight.size > 0;
  }, { what: "jobs to start", timeoutMs: 15_000, intervalMs: 20 });
  const [victimLabel, killedTags] = [...inFlight].sort((a, b) => b[1].length - a[1].length)[0];
  const victim = c.children.find((ch) => ch.label === victimLabel)!;
  victim.kill("SIGKILL");
  await victim.exited;

  // Every job finishes at least once; those cut short on the victim finish on a survivor.
  await waitFor(async () => {
    const done = new Set((await runs(c.sql)).filter((r) => r.finished !== null).map((r) => r.tag));
    return tags.every((t) => done.has(t));
  }, { what: "every job to finish", timeoutMs: 45_000, intervalMs: 100 });
  const all = await runs(c.sql);
  for (const tag of killedTags) {
    const mine = all.filter((r) => r.tag === tag);
    assert.ok(
      mine.some((r) => r.host === victimLabel && r.finished === null),
      `${tag} was cut short on ${victimLabel}: ${JSON.stringify(mine)}`,
    );
    assert.ok(
      mine.some((r) => r.host !== victimLabel && r.finished !== null),
      `${tag} ran again and finished on a survivor: ${JSON.stringify(mine)}`,
    );
  }
  // Completed jobs leave the store: nothing pending, nothing dead-lettered.
  await waitFor(async () => {
    const [{ live }] = await c.sql`SELECT count(*)::int AS live FROM francis_jobs`;
    return live === 0;
  }, { what: "the completed jobs to leave the store", timeoutMs: 10_000, intervalMs: 50 });
  const [{ dead }] = await c.sql`SELECT count(*)::int AS dead FROM francis_dead_jobs`;
  assert.equal(dead, 0, "no job was dead-lettered");
  const survivor = c.children.find((ch) => ch !== victim)!;
  for (const id of ids) {
    await assert.rejects(survivor.request({ op: "getJob", jobId: id }), /not exist|not found/i, `job ${id} is gone`);
  }
  console.log(
    `killed ${victimLabel} with ${killedTags.length} of ${N} jobs in flight; ${all.length} runs in all ` +
      `(${all.length - N} repeated)`,
  );
});

Deno.test("jobs: one idempotency key through every host runs once; a dead letter survives restarting every host and retryJob runs it", async () => {
  await using c = await startCluster();

  // Idempotency: six concurrent dispatches with one key, two through each host.
  const idemIds = await Promise.all(Array.from({ length: 6 }, (_, i) =>
    c.children[i % 3].request<string>({
      op: "dispatch",
      type: "jobber",
      actorId: "idem",
      method: "work",
      input: { tag: "idem", ms: 1_000 },
      idempotencyKey: "once",
    })));
  assert.equal(new Set(idemIds).size, 1, `one job for one key: ${idemIds}`);
  await waitFor(async () => (await runs(c.sql)).some((r) => r.tag === "idem" && r.finished !== null), {
    what: "the idempotent job to finish",
    timeoutMs: 15_000,
    intervalMs: 50,
  });

  // Dead letter: maxAttempts 1, the handler always throws.
  const deadId = await c.children[0].request<string>({
    op: "dispatch",
    type: "jobber",
    actorId: "dl",
    method: "fail",
    input: { tag: "dead" },
  });
  await waitFor(
    async () => (await c.children[1].request<JobInfoJson>({ op: "getJob", jobId: deadId })).status === "dead-lettered",
    { what: "the failing job to be dead-lettered", timeoutMs: 15_000, intervalMs: 50 },
  );
  await new Promise((r) => setTimeout(r, 1_000)); // any late duplicate run of "idem" would show by now
  assert.equal((await runs(c.sql)).filter((r) => r.tag === "idem").length, 1, "the keyed job ran once");

  // Stop every host gracefully, then start three new host processes.
  for (const child of c.children) child.kill("SIGTERM");
  const statuses = await Promise.all(c.children.map((child) => child.exited));
  assert.ok(statuses.every((s) => s.code === 0), `graceful stops: ${JSON.stringify(statuses)}`);
  await Promise.all(c.children.map((child) => child.dispose()));
  c.children = await startChildren(c.settings, 3, "r");

  const dead = await c.children[2].request<JobInfoJson>({ op: "getJob", jobId: deadId });
  assert.equal(dead.status, "dead-lettered");
  assert.equal(dead.attempts, 1);
  assert.match(dead.lastError ?? "", /job dead always fails/);
  const listed = await c.children[0].request<JobInfoJson[]>({ op: "listJobs", type: "jobber", actorId: "dl" });
  assert.deepEqual(listed.map((j) => [j.jobId, j.status]), [[deadId, "dead-lettered"]]);
  assert.equal((await runs(c.sql)).filter((r) => r.tag === "dead").length, 1, "no run while dead-lettered");

  // retryJob: a fresh job runs (and, as the handler always throws, is dead-lettered again).
  const retried = await c.children[1].request<string>({ op: "retryJob", jobId: deadId });
  assert.notEqual(retried, deadId);
  await assert.rejects(c.children[0].request({ op: "getJob", jobId: deadId }), /not exist|not found/i);
  await waitFor(async () => (await runs(c.sql)).filter((r) => r.tag === "dead").length === 2, {
    what: "the retried job to run",
    timeoutMs: 15_000,
    intervalMs: 50,
  });
  const again = (await runs(c.sql)).filter((r) => r.tag === "dead").map((r) => r.host);
  assert.ok(again[1].startsWith("r"), `the retry ran on a restarted host: ${again}`);
  await waitFor(
    async () => (await c.children[0].request<JobInfoJson>({ op: "getJob", jobId: retried })).status === "dead-lettered",
    { what: "the retried job to be dead-lettered again", timeoutMs: 15_000, intervalMs: 50 },
  );
});
