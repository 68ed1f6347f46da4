/**
 * One host process of the built-in cluster tests (`tests/builtin_cluster_test.ts`):
 * a LocalHost on PostgreSQL registering one rate limit and one task pool, with
 * the same options on every host. It prints `ready <hostId> <address>` once
 * started, then answers JSON requests, one per stdin line, with one JSON line
 * each (the protocol of `tests/_cluster/harness.ts`):
 *
 * - `{"id":1,"op":"hammer","key":"k","callers":6,"durationMs":3000}`: `callers`
 *   concurrent loops call `allow(key)` for `durationMs`, at once after an
 *   admission and after about `retryAfterMs` (× U[0.5, 1.5]) after a refusal;
 *   the reply has every admitted call's send and receive times (`Date.now()`),
 *   and the count and `retryAfterMs` range of the refused ones.
 * - `{"id":2,"op":"submit","keys":["t0",…],"input":{"ms":150}}`: submits one task
 *   per key (`taskKey`), all at once; resolves with the task IDs in order.
 * - `{"id":3,"op":"unfinished","taskIds":[…]}`: the tasks for which `getTask`
 *   does not reject with `JobNotFoundError` (a finished task is unknown), with
 *   their status or error.
 *
 * The task handler records each run in `t_task_runs` (`TASK_RUNS_SCHEMA`):
 * its start before any work, its end after it, both on the database clock.
 * SIGTERM stops the host gracefully and exits 0.
 *
 * Usage: FRANCIS_CHILD='{"url":…,"port":…,"psk":…,"label":…,…}' deno run -A tests/_builtin/child.ts
 */

import postgres from "postgres";
import { isFrancisError } from "../../mod.ts";
import { createRateLimit, type RateLimitOptions } from "../../builtin/ratelimit/mod.ts";
import { createTaskPool } from "../../builtin/taskpool/mod.ts";
import { childConfig, type ChildRequest, serveRequests, stopOnSigterm } from "../_shared/child_loop.ts";
import { createChildHost } from "../_cluster/child_hosts.ts";

/** What every host of one test cluster shares, besides its own port and label. */
export interface BuiltinSettings {
  url: string;
  psk: string;
  /** The options of the rate limit `RATE_LIMIT_NAME`. */
  rateLimit: RateLimitOptions;
  /** The task pool's `concurrency`. */
  concurrency: number;
  healthCheckDeadlineMs?: number;
  alarmsLeaseDurationMs?: number;
  alarmsPollIntervalMs?: number;
}

/** The names of the built-ins every host registers. */
export const RATE_LIMIT_NAME = "hammered";
export const TASK_POOL_NAME = "work";

/** The table the task handler writes to. */
export const TASK_RUNS_SCHEMA = `
CREATE TABLE IF NOT EXISTS t_task_runs (id bigserial PRIMARY KEY, key text NOT NULL, task_id text NOT NULL,
  host text NOT NULL, attempt int NOT NULL, started timestamptz NOT NULL, ended timestamptz);
`;

/** One admitted call: when it was sent and when its answer arrived (`Date.now()` of the caller). */
export type Admission = [send: number, recv: number];

/** The reply of `hammer`. */
export interface HammerReport {
  admitted: Admission[];
  refused: number;
  minRetryAfterMs: number;
  maxRetryAfterMs: number;
  errors: string[];
  /** The first call's send and the last answer's receipt. */
  firstSend: number;
  lastRecv: number;
}

interface Request extends ChildRequest {
  key?: string;
  callers?: number;
  durationMs?: number;
  keys?: string[];
  input?: unknown;
  taskIds?: string[];
}

if (import.meta.main) await main();

async function main(): Promise<void> {
  const config = childConfig<BuiltinSettings & { port: number; label: string }>("FRANCIS_CHILD");
  const sql = postgres(config.url, { max: 2, onnotice: () => {} });
  const host = createChildHost(config);
  const limit = createRateLimit(RATE_LIMIT_NAME, config.rateLimit);
  const pool = createTaskPool(TASK_POOL_NAME, {
    concurrency: config.concurrency,
    handler: async (task) => {
      const { ms } = task.input as { ms: number };
      const [{ id }] = await sql`INSERT INTO t_task_runs (key, task_id, host, attempt, started)
        VALUES (${task.key}, ${task.taskId}, ${config.label}, ${task.attempt}, clock_timestamp()) RETURNING id`;
      await new Promise((resolve) => setTimeout(resolve, ms));
      await sql`UPDATE t_task_runs SET ended = clock_timestamp() WHERE id = ${id}`;
    },
  });
  host.registerBuiltInActor(limit);
  host.registerBuiltInActor(pool);
  await host.start();
  const limiter = limit.service(host.service);
  const tasks = pool.service(host.service);

  const handle = async (req: Request): Promise<unknown> => {
    switch (req.op) {
      case "hammer": {
        const report: HammerReport = {
          admitted: [],
          refused: 0,
          minRetryAfterMs: Infinity,
          maxRetryAfterMs: -Infinity,
          errors: [],
          firstSend: Infinity,
          lastRecv: -Infinity,
        };
        const until = Date.now() + req.durationMs!;
        await Promise.all(Array.from({ length: req.callers! }, async () => {
          while (Date.now() < until) {
            const send = Date.now();
            report.firstSend = Math.min(report.firstSend, send);
            try {
              const r = await limiter.allow(req.key!);
              const recv = Date.now();
              report.lastRecv = Math.max(report.lastRecv, recv);
              if (r.allowed) {
                report.admitted.push([send, recv]);
              } else {
                report.refused++;
                report.minRetryAfterMs = Math.min(report.minRetryAfterMs, r.retryAfterMs);
                report.maxRetryAfterMs = Math.max(report.maxRetryAfterMs, r.retryAfterMs);
                // A polite client: come back around retryAfterMs (jittered, so some come back early).
                await new Promise((resolve) => setTimeout(resolve, r.retryAfterMs * (0.5 + Math.random())));
              }
            } catch (err) {
              if (report.errors.length < 20) report.errors.push(String(err));
            }
          }
        }));
        return report;
      }
      case "submit":
        return await Promise.all(req.keys!.map((key) => tasks.submit(req.input, { taskKey: key })));
      case "unfinished": {
        const left: { taskId: string; status?: string; error?: string }[] = [];
        for (const taskId of req.taskIds!) {
          try {
            left.push({ taskId, status: (await tasks.getTask(taskId)).status });
          } catch (err) {
            if (!isFrancisError(err, "job_not_found")) left.push({ taskId, error: String(err) });
          }
        }
        return left;
      }
      default:
        throw new TypeError(`unknown op ${req.op}`);
    }
  };

  const stop = stopOnSigterm(() => host.stop().then(() => sql.end()));
  await serveRequests(`ready ${host.hostId} ${host.address}`, handle, stop);
}
