/**
 * Task pool built-in: three `LocalHost`s in one process share a memory store
 * (a real cluster over mutual TLS) and the pool "video", at most 2 tasks at a
 * time per host. Host 2 also serves the "gpu" queue. Tasks submitted through
 * any host run once each, spread over the hosts; a repeated `taskKey` returns
 * the same task (a task for a queue nobody serves stays pending); a `JobPermanentFailureError` dead-letters the task at once,
 * and `retryTask` runs it again.
 *
 *     deno run -A examples/builtin/taskpool.ts
 *
 * @module
 */

import { generatePsk, JobPermanentFailureError, LocalHost } from "../../mod.ts";
import { createMemoryProvider } from "../../providers/memory/mod.ts";
import { createTaskPool, type Task, type TaskPoolOptions } from "../../builtin/taskpool/mod.ts";

const done = new Map<string, number>();
let broken = true;
const options = (host: number): TaskPoolOptions => ({
  concurrency: 2,
  maxAttempts: 2,
  initialRetryDelayMs: 100,
  handler: async (task: Task, { signal }) => {
    if (task.input === "corrupt.mov" && broken) throw new JobPermanentFailureError("cannot decode");
    await new Promise((r) => setTimeout(r, 50)); // "transcode"
    signal.throwIfAborted();
    done.set(task.key, host);
    console.log(`host ${host} ran ${task.key} (${task.capability ?? "default"} queue, attempt ${task.attempt})`);
  },
});
const poolFor = (host: number) =>
  createTaskPool("video", { ...options(host), capabilities: host === 2 ? ["gpu"] : [] });

const provider = createMemoryProvider();
const psk = generatePsk();
const hosts = [0, 1, 2].map((i) => {
  const host = new LocalHost({ address: "127.0.0.1:0", runtimePsks: [psk], provider, alarmsPollIntervalMs: 250 });
  host.registerBuiltInActor(poolFor(i));
  return host;
});
await Promise.all(hosts.map((h) => h.start()));

const until = async (what: string, ok: () => boolean | Promise<boolean>) => {
  for (const deadline = Date.now() + 20_000; !(await ok());) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

try {
  const tp = poolFor(0).service(hosts[0].service);
  const keys: string[] = [];
  for (let i = 0; i < 9; i++) {
    keys.push(`clip-${i}.mov`);
    await tp.submit(`clip-${i}.mov`, { taskKey: `clip-${i}.mov`, ...(i === 0 ? { requiredCapability: "gpu" } : {}) });
  }
  // No host serves "tpu": the task stays pending, and its taskKey keeps returning it.
  const a = await tp.submit("clip-4k.mov", { taskKey: "clip-4k.mov", requiredCapability: "tpu" });
  const b = await tp.submit("clip-4k.mov", { taskKey: "clip-4k.mov", requiredCapability: "tpu" });
  console.log("same taskKey, same task:", a === b, "status:", (await tp.getTask(a)).status);
  await tp.cancelTask(a);
  await until("every clip", () => keys.every((k) => done.has(k)));
  console.log("hosts used:", [...new Set(done.values())].sort().join(", "));

  const corrupt = await tp.submit("corrupt.mov", { taskKey: "corrupt.mov" });
  await until("the dead letter", async () => (await tp.getTask(corrupt)).status === "dead-lettered");
  const info = await tp.getTask(corrupt);
  console.log(`corrupt.mov: ${info.status} after ${info.attempts} attempt(s): ${info.lastError}`);
  broken = false;
  const retried = await tp.retryTask(corrupt);
  await until("the retried task", () => done.has("corrupt.mov"));
  console.log("retried as a new task:", retried !== corrupt);
} finally {
  await Promise.all(hosts.map((h) => h.stop()));
}
