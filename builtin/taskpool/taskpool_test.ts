/**
 * Task pool (API.md §21.4, C-93) on in-process LocalHosts sharing a memory
 * provider over real TLS: every task runs, per-host concurrency, every host
 * used, taskKey idempotency, capability routing, dead letter and retry,
 * declines without attempts, validation and reserved types (C-91).
 */

import assert from "node:assert/strict";
import type { ActorService } from "../../actor/types.ts";
import { ActorTypeReservedError, isFrancisError, JobPermanentFailureError, JobRejectedError } from "../../errors.ts";
import { createMemoryProvider } from "../../providers/memory/mod.ts";
import type { ActorProvider } from "../../providers/types.ts";
import { createTestHost } from "../../testing/test_host.ts";
import { waitFor } from "../../testing/wait_for.ts";
import type { LocalHost } from "../../host_local/host.ts";
import { builtInAccess } from "../../host_local/builtin.ts";
import { createTaskPool, type Task, type TaskPool, type TaskPoolOptions } from "./mod.ts";

const QUIET = { debug() {}, info() {}, warn() {}, error() {} };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts `n` hosts on one provider; `pool(i)` is registered on host i. */
async function cluster(
  n: number,
  pool: (i: number) => TaskPool,
  provider: ActorProvider = createMemoryProvider(),
): Promise<LocalHost[] & AsyncDisposable> {
  const hosts = Array.from({ length: n }, (_, i) => {
    const h = createTestHost({ provider, logger: QUIET });
    h.registerBuiltInActor(pool(i));
    return h;
  });
  await Promise.all(hosts.map((h) => h.start()));
  return Object.assign(hosts, {
    async [Symbol.asyncDispose]() {
      await Promise.all(hosts.map((h) => h.stop()));
    },
  });
}

const notFound = (e: unknown) => isFrancisError(e, "job_not_found");

Deno.test("taskpool: every task runs once, per-host concurrency holds, every host is used, taskKey is idempotent (C-93)", async () => {
  const CONCURRENCY = 2;
  const running = [0, 0, 0];
  const maxRunning = [0, 0, 0];
  const ranOn = [0, 0, 0];
  const runs = new Map<string, Task[]>();
  const gate = Promise.withResolvers<void>();
  const mk = (i: number) =>
    createTaskPool("work", {
      concurrency: CONCURRENCY,
      capabilities: ["gpu"],
      logger: QUIET,
      handler: async (task) => {
        running[i]++;
        maxRunning[i] = Math.max(maxRunning[i], running[i]);
        try {
          runs.set(task.key, [...runs.get(task.key) ?? [], task]);
          if (task.key === "held") await gate.promise;
          else await sleep(40);
          ranOn[i]++;
        } finally {
          running[i]--;
        }
      },
    });
  const pools = [mk(0), mk(1), mk(2)];
  await using hosts = await cluster(3, (i) => pools[i]);
  const tp = pools[0].service(hosts[0].service);
  assert.equal(pools[0].service(hosts[0].service), tp, "memoised per service");
  assert.notEqual(pools[0].service(hosts[1].service), tp);

  const held = await tp.submit("h", { taskKey: "held" });
  assert.equal(await tp.submit("other input", { taskKey: "held" }), held, "a live taskKey returns the same taskId");
  assert.equal(await pools[2].service(hosts[2].service).submit(undefined, { taskKey: "held" }), held);
  const info = await tp.getTask(held);
  assert.ok(info.status === "pending" || info.status === "active");
  assert.equal(info.key, "held");
  assert.equal(info.capability, undefined);

  const ids = new Map<string, string>();
  for (let i = 0; i < 36; i++) {
    const key = `t${i}`;
    const via = pools[i % 3].service(hosts[i % 3].service);
    ids.set(key, await via.submit({ i }, { taskKey: key, ...(i % 4 === 0 ? { requiredCapability: "gpu" } : {}) }));
  }
  await waitFor(() => [...ids.keys()].every((k) => runs.has(k)), { what: "every task to run", timeoutMs: 20_000 });
  await waitFor(() => running[0] + running[1] + running[2] === 1, { what: "all but the held task to finish" });
  gate.resolve();
  await waitFor(() => running.every((r) => r === 0), { what: "the held task to finish" });

  for (const [key, taskId] of ids) {
    const tasks = runs.get(key)!;
    assert.equal(tasks.length, 1, `task ${key} ran once`);
    assert.equal(tasks[0].taskId, taskId);
    assert.equal(tasks[0].attempt, 1);
    assert.equal(tasks[0].capability, Number(key.slice(1)) % 4 === 0 ? "gpu" : undefined);
    assert.deepEqual(tasks[0].input, { i: Number(key.slice(1)) });
  }
  assert.equal(runs.get("held")!.length, 1);
  assert.equal(runs.get("held")![0].input, "h");
  assert.ok(maxRunning.every((m) => m <= CONCURRENCY), `per-host concurrency: ${maxRunning}`);
  assert.ok(ranOn.every((n) => n > 0), `every host ran tasks: ${ranOn}`);
  await waitFor(() => tp.getTask(held).then(() => false, notFound), { what: "the finished task to disappear" });
  const fresh = await tp.submit(undefined, { taskKey: "held" });
  assert.notEqual(fresh, held, "the key is free once the task finished");
});

Deno.test("taskpool: a task for an absent capability stays pending, runs once a capable host starts; cancelTask (C-93)", async () => {
  const provider = createMemoryProvider();
  const ran: Task[] = [];
  const options: TaskPoolOptions = { handler: (t) => void ran.push(t) };
  const plain = createTestHost({ provider, logger: QUIET });
  plain.registerBuiltInActor(createTaskPool("render", options));
  await plain.start();
  const gpuHost = createTestHost({ provider, logger: QUIET });
  gpuHost.registerBuiltInActor(createTaskPool("render", { ...options, capabilities: ["gpu"] }));
  try {
    const tp = createTaskPool("render", options).service(plain.service);
    const gpuTask = await tp.submit("frame-1", { requiredCapability: "gpu" });
    const cancelled = await tp.submit("frame-2", { requiredCapability: "gpu", taskKey: "to-cancel" });
    const plainTask = await tp.submit("plain");
    await waitFor(() => ran.some((t) => t.taskId === plainTask), { what: "the default-queue task" });
    await sleep(700); // more than two job polls
    const info = await tp.getTask(gpuTask);
    assert.equal(info.status, "pending");
    assert.equal(info.capability, "gpu");
    assert.equal(info.attempts, 0);
    assert.ok(info.dueTime instanceof Date && info.createdAt instanceof Date);
    assert.equal(ran.length, 1);

    await tp.cancelTask(cancelled);
    await assert.rejects(tp.getTask(cancelled), notFound);
    await assert.rejects(tp.cancelTask(cancelled), notFound);

    await gpuHost.start();
    await waitFor(() => ran.some((t) => t.taskId === gpuTask), { what: "the gpu task on the new host" });
    const t = ran.find((t) => t.taskId === gpuTask)!;
    assert.equal(t.capability, "gpu");
    assert.equal(t.input, "frame-1");
    await sleep(300);
    assert.ok(!ran.some((t) => t.input === "frame-2"), "a cancelled task never runs");
  } finally {
    await plain.stop();
    await gpuHost.stop();
  }
});

Deno.test("taskpool: JobPermanentFailureError dead-letters at once and retryTask runs it again; throws are retried (C-93)", async () => {
  const runs: Task[] = [];
  const errors: string[] = [];
  const logger = { ...QUIET, error: (msg: string) => void errors.push(msg) };
  let fixed = false;
  const pool = createTaskPool("jobs", {
    maxAttempts: 2,
    initialRetryDelayMs: 20,
    logger,
    handler: (t) => {
      runs.push(t);
      if (t.input === "permanent" && !fixed) throw new JobPermanentFailureError("bad input");
      if (t.input === "flaky") throw new Error("flaky-9");
    },
  });
  await using hosts = await cluster(1, () => pool);
  const tp = pool.service(hosts[0].service);

  const perm = await tp.submit("permanent", { taskKey: "p1" });
  await waitFor(() => tp.getTask(perm).then((i) => i.status === "dead-lettered"), { what: "the dead letter" });
  const dead = await tp.getTask(perm);
  assert.equal(dead.attempts, 1);
  assert.match(dead.lastError ?? "", /bad input/);
  assert.equal(dead.key, "p1");
  assert.equal(runs.filter((t) => t.input === "permanent").length, 1, "a permanent failure runs once");
  await assert.rejects(tp.cancelTask(perm), notFound, "cancelTask is for live tasks");
  await waitFor(() => errors.includes("Task dead-lettered"), { what: "the pool logger" });

  fixed = true;
  const again = await tp.retryTask(perm);
  assert.notEqual(again, perm);
  await assert.rejects(tp.getTask(perm), notFound);
  await waitFor(() => runs.some((t) => t.taskId === again), { what: "the retried task" });
  const retried = runs.find((t) => t.taskId === again)!;
  assert.equal(retried.key, "p1");
  assert.equal(retried.attempt, 1);
  await assert.rejects(tp.retryTask(again), notFound, "retryTask is for dead-lettered tasks");

  const flaky = await tp.submit("flaky");
  await waitFor(() => tp.getTask(flaky).then((i) => i.status === "dead-lettered"), {
    what: "retries, then dead letter",
  });
  assert.deepEqual(runs.filter((t) => t.input === "flaky").map((t) => t.attempt), [1, 2]);
  const info = await tp.getTask(flaky);
  assert.equal(info.attempts, 2);
  assert.match(info.lastError ?? "", /flaky-9/);

  // Finished workers halted themselves: an active-only call finds no activation.
  const access = builtInAccess(hosts[0].service, "test");
  await assert.rejects(
    access.invoke("francis.builtin.taskpool.jobs", "p1", "x", undefined, { activeOnly: true } as never),
    (e) => isFrancisError(e, "actor_not_active"),
  );
});

Deno.test("taskpool: accept returning false (or JobRejectedError) declines without counting an attempt (C-93)", async () => {
  const ran: Task[] = [];
  let asked = 0;
  const pool = createTaskPool("picky", {
    maxAttempts: 1,
    accept: async (t) => {
      await sleep(1);
      assert.equal(t.attempt, 1);
      return ++asked > 3;
    },
    handler: (t) => {
      if (++handled === 1) throw new JobRejectedError("not now");
      ran.push(t);
    },
  });
  let handled = 0;
  await using hosts = await cluster(1, () => pool);
  const tp = pool.service(hosts[0].service);
  const id = await tp.submit("x", { taskKey: "k" });
  await waitFor(() => ran.length === 1, { what: "the task after four declines", timeoutMs: 15_000 });
  assert.equal(asked, 5);
  assert.equal(handled, 2);
  assert.equal(ran[0].taskId, id);
  assert.equal(ran[0].attempt, 1, "declines counted no attempt (maxAttempts 1 would have dead-lettered)");
  await waitFor(() => tp.getTask(id).then(() => false, notFound), { what: "the completed task to disappear" });
});

Deno.test("taskpool: tasks declined by some hosts' accept are re-routed and run once, with attempt 1 (C-93)", async () => {
  // Hosts 0 and 2 decline each task up to 3 times (bounded: which host takes a declined job next
  // depends on the hosts' poll phases, so an always-declining host could delay a task for long).
  const ran: { host: number; task: Task }[] = [];
  const declines = new Map<string, number>();
  const mk = (i: number) =>
    createTaskPool("routed", {
      maxAttempts: 1,
      accept: (t) => {
        if (i === 1) return true;
        const n = declines.get(`${i}/${t.key}`) ?? 0;
        declines.set(`${i}/${t.key}`, n + 1);
        return n >= 3;
      },
      handler: (task) => void ran.push({ host: i, task }),
    });
  const pools = [mk(0), mk(1), mk(2)];
  await using hosts = await cluster(3, (i) => pools[i]);
  const tp = pools[0].service(hosts[0].service);
  const ids: string[] = [];
  for (let i = 0; i < 6; i++) ids.push(await tp.submit(i));
  await waitFor(() => ran.length === 6, { what: "every task", timeoutMs: 20_000 });
  assert.deepEqual(ran.map((r) => r.task.taskId).sort(), [...ids].sort());
  assert.ok(ran.every((r) => r.task.attempt === 1), "declines counted no attempt");
  assert.ok(declines.size > 0, "some tasks were declined first");
  for (const id of ids) assert.equal((await tp.getTask(id).catch((e) => e)).code, "job_not_found");
});

Deno.test("taskpool: validation errors and reserved types (C-91)", async () => {
  const handler = () => {};
  const bad: [unknown, unknown, RegExp, ErrorConstructor?][] = [
    ["a/b", { handler }, /Cannot create task pool: name must not be empty/],
    ["", { handler }, /name must not be empty/],
    ["p", undefined, /Cannot create task pool: handler is required/],
    ["p", {}, /handler is required/],
    ["p", { handler: 1 }, /handler must be a function/],
    ["p", { handler, concurrency: 0 }, /concurrency/, RangeError],
    ["p", { handler, concurrency: 1.5 }, /concurrency/],
    ["p", { handler, maxAttempts: 0 }, /maxAttempts/, RangeError],
    ["p", { handler, initialRetryDelayMs: 0 }, /initialRetryDelayMs/, RangeError],
    ["p", { handler, capabilities: "gpu" }, /capabilities must be an array/],
    ["p", { handler, capabilities: ["gpu", "gpu"] }, /duplicate capability "gpu"/],
    ["p", { handler, capabilities: ["a/b"] }, /capability must not be empty/],
    ["p", { handler, accept: true }, /accept must be a function/],
    ["p", { handler, logger: {} }, /logger must have/],
    ["p", { handler, idleTimeoutMs: 1 }, /unknown option "idleTimeoutMs"/],
  ];
  for (const [name, options, message, cls] of bad) {
    assert.throws(
      () => createTaskPool(name as string, options as TaskPoolOptions),
      (e: unknown) => e instanceof (cls ?? TypeError) && message.test((e as Error).message),
      `${JSON.stringify(name)} ${JSON.stringify(options)}`,
    );
  }
  assert.throws(
    () => createTaskPool("p", { handler }).service({} as ActorService),
    /not the service of a Francis host/,
  );

  const pool = createTaskPool("v", { handler, capabilities: ["gpu"] });
  const other = createTaskPool("v.tpu", { handler });
  await using hosts = await cluster(1, () => pool);
  assert.throws(() => hosts[0].registerBuiltInActor(pool), /already started/);
  const fresh = createTestHost({ logger: QUIET });
  fresh.registerBuiltInActor(other);
  assert.throws(() => fresh.registerBuiltInActor(createTaskPool("v.tpu", { handler })), /already registered/);
  const tp = pool.service(hosts[0].service);
  await assert.rejects(tp.submit(1, { taskKey: "a/b" }), TypeError);
  await assert.rejects(tp.submit(1, { taskKey: "" }), TypeError);
  await assert.rejects(tp.submit(1, { requiredCapability: "" }), TypeError);
  await assert.rejects(tp.submit(1, { priority: 1 } as never), /unknown option "priority"/);
  await assert.rejects(tp.submit(1, { signal: AbortSignal.abort() }), (e) => (e as Error).name === "AbortError");
  await assert.rejects(tp.getTask(""), TypeError);
  await assert.rejects(tp.getTask("0190d7c4-0000-7000-8000-000000000000"), notFound);

  // A pool only sees its own tasks: pool "v.tpu" has its own type, distinct from pool "v"'s tpu queue.
  const id = await tp.submit("x", { requiredCapability: "tpu", taskKey: "k1" });
  await assert.rejects(other.service(hosts[0].service).getTask(id), notFound);
  const plainJob = await hosts[0].service.dispatch("some-type", "a1", "m", undefined, { delayMs: 60_000 });
  await assert.rejects(tp.getTask(plainJob), notFound);
  await assert.rejects(tp.cancelTask(plainJob), notFound);

  // C-91: the public service cannot reach the pool's types or jobs.
  const s = hosts[0].service;
  await assert.rejects(s.getJob(id), ActorTypeReservedError);
  await assert.rejects(s.cancelJob(id), ActorTypeReservedError);
  await assert.rejects(s.dispatch("francis.builtin.taskpool.v", "k", "run"), ActorTypeReservedError);
  await assert.rejects(s.listJobs("francis.builtin.taskpool.v.tpu", "k1"), ActorTypeReservedError);
  await tp.cancelTask(id);
  await s.cancelJob(plainJob);
});
