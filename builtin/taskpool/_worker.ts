/**
 * The task pool's worker actor: one activation per task key, on one queue's
 * type (`francis.builtin.taskpool.<name>[.<capability>]`). Each task is a
 * job on that actor; the job scheduler provides leasing, retries with
 * backoff, dead letters, declines and the per-host capacity group.
 *
 * - `job` builds the {@linkcode Task} (its ID is the job ID, read from
 *   `ctx.requestId`, `"<jobId>|<dueTimeMs>"`), asks `accept` (false →
 *   `JobRejectedError`: declined, no attempt counted), then runs the handler
 *   with the turn's signal. A throw is the job's throw.
 * - After a success, and in `jobFailed` after a dead letter, the worker halts
 *   itself once its turn ends: a finished task holds no activation, no
 *   placement (placement load) and no `concurrencyLimit` room.
 *
 * @module
 */

import type { ActorContext, JobFailure, Logger } from "../../actor/types.ts";
import { JobPermanentFailureError, JobRejectedError } from "../../errors.ts";
import { errorMessage } from "../../_internal/logger.ts";
import type { BuiltInAccess } from "../../host_local/builtin.ts";

/** The job method of a task. */
export const RUN_METHOD = "run";

/** A task as the handler sees it (API.md §21.4). */
export interface Task {
  /** The ID `submit` returned; after `retryTask`, the new ID. */
  readonly taskId: string;
  /** `taskKey`, or a generated UUID. */
  readonly key: string;
  /** The queue: `requiredCapability`, or `undefined` for the default queue. */
  readonly capability: string | undefined;
  /** The `submit` input, decoded. */
  readonly input: unknown;
  /** The 1-based run of this task (declines are not counted). */
  readonly attempt: number;
}

/** What a worker runs. */
export interface WorkerSpec {
  pool: string;
  handler(task: Task, ctx: { signal: AbortSignal }): void | Promise<void>;
  accept?(task: Task): boolean | Promise<boolean>;
  logger?: Logger;
}

/**
 * The actor behind one task key on one queue.
 *
 * @example
 * ```ts ignore
 * factory: (id, service) => new TaskWorker(type, capability, builtInAccess(service, "run task"), spec)
 * ```
 */
export class TaskWorker {
  readonly #type: string;
  readonly #capability: string | undefined;
  readonly #access: BuiltInAccess;
  readonly #spec: WorkerSpec;

  constructor(type: string, capability: string | undefined, access: BuiltInAccess, spec: WorkerSpec) {
    this.#type = type;
    this.#capability = capability;
    this.#access = access;
    this.#spec = spec;
  }

  async job(method: string, data: unknown, ctx: ActorContext): Promise<void> {
    if (method !== RUN_METHOD) throw new JobPermanentFailureError(`Unknown task pool method ${JSON.stringify(method)}`);
    const bar = ctx.requestId.indexOf("|");
    const task: Task = Object.freeze({
      taskId: bar < 0 ? ctx.requestId : ctx.requestId.slice(0, bar),
      key: ctx.actorId,
      capability: this.#capability,
      input: data,
      attempt: ctx.attempt,
    });
    const log = { pool: this.#spec.pool, taskId: task.taskId, key: task.key, capability: task.capability };
    if (this.#spec.accept !== undefined && !(await this.#spec.accept(task))) {
      this.#spec.logger?.debug("Task declined by accept()", log);
      throw new JobRejectedError("Task declined by accept()");
    }
    try {
      await this.#spec.handler(task, { signal: ctx.signal });
    } catch (err) {
      this.#spec.logger?.warn("Task failed", { ...log, attempt: task.attempt, err: errorMessage(err) });
      throw err;
    }
    await this.#haltSelf(ctx);
  }

  async jobFailed(failure: JobFailure, ctx: ActorContext): Promise<void> {
    this.#spec.logger?.error("Task dead-lettered", {
      pool: this.#spec.pool,
      taskId: failure.jobId,
      key: ctx.actorId,
      attempts: failure.attempts,
      err: failure.error.message,
    });
    await this.#haltSelf(ctx);
  }

  /** Halts this activation once the current turn ends; never fails the task. */
  async #haltSelf(ctx: ActorContext): Promise<void> {
    try {
      await this.#access.halt(this.#type, ctx.actorId);
    } catch (err) {
      this.#spec.logger?.debug("Task worker cannot halt itself", { key: ctx.actorId, err: errorMessage(err) });
    }
  }
}
