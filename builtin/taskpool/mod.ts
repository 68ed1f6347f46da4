/**
 * Task pool built-in (API.md §21.4): durable, fire-and-forget tasks run by a
 * handler on the hosts that register the pool, at most `concurrency` at a
 * time per host, optionally routed by capability.
 *
 * **Design.** Every task is a durable job (API.md §10) on a worker actor:
 * - **Queues are actor types.** The default queue is
 *   `francis.builtin.taskpool.<name>`, a capability's queue is
 *   `francis.builtin.taskpool.<name>.<capability>`; a host registers the
 *   default queue plus its `capabilities`. A task for a capability no host
 *   serves stays pending until such a host starts (a job for an unserved type).
 *   In both segments `%` and `.` are escaped (`%25`, `%2E`) so that pool
 *   `"a.b"` and pool `"a"` with capability `"b"` never share a type.
 * - **One actor per task key.** The actor ID is the task key (`taskKey`, or a
 *   generated UUID), which is also the job's idempotency key, so a repeated
 *   `taskKey` returns the live task's ID, and tasks spread over every host.
 * - **Concurrency.** Every queue type of a pool on a host joins one capacity
 *   group (`limit = concurrency`), so job executions of the pool never exceed
 *   `concurrency` per host across its queues (an excess job is declined and
 *   re-routed, no attempt counted). Each type also has `concurrencyLimit =
 *   concurrency`, a placement filter: a host leases (places) at most that many
 *   tasks per queue at once, so a burst is shared among hosts instead of
 *   being leased by one host and bounced back.
 * - **Outcomes** are the job's: a throw is retried (`maxAttempts`,
 *   `initialRetryDelayMs`) then dead-lettered; `JobPermanentFailureError`
 *   dead-letters at once; `JobRejectedError` or `accept` returning false
 *   declines. Workers halt themselves after a success or a dead letter.
 * - The service maps task calls to job calls on the pool's types
 *   (`getJob`, `cancelJob`, `retryJob`); a job of another type is unknown.
 *
 * @example
 * ```ts
 * import { createTaskPool } from "./mod.ts";
 * import { createTestHost } from "../../testing/mod.ts";
 *
 * const done = Promise.withResolvers<unknown>();
 * const pool = createTaskPool("thumbnails", { concurrency: 2, handler: (task) => done.resolve(task.input) });
 * await using host = createTestHost();
 * host.registerBuiltInActor(pool);
 * await host.start();
 * const taskId = await pool.service(host.service).submit({ src: "a.png" }, { taskKey: "a.png" });
 * console.log(typeof taskId, await done.promise); // string { src: "a.png" }
 * ```
 *
 * @module
 */

import type { ActorService, BuiltInActor, CallOptions, JobInfo, Logger } from "../../actor/types.ts";
import { JobNotFoundError } from "../../errors.ts";
import { currentTurn } from "../../_internal/ambient.ts";
import { checkInt, checkName, checkOptions, checkSignal } from "../../_internal/validate.ts";
import {
  BUILTIN_SPEC,
  type BuiltInAccess,
  builtInAccess,
  type BuiltInRegistration,
  type BuiltInSpec,
  builtInType,
} from "../../host_local/builtin.ts";
import { RUN_METHOD, type Task, TaskWorker } from "./_worker.ts";

export type { Task } from "./_worker.ts";

/** Options of {@linkcode createTaskPool}. */
export interface TaskPoolOptions {
  /** Runs one task. A throw is retried, then dead-lettered; `JobPermanentFailureError` dead-letters at once. */
  handler(task: Task, ctx: { signal: AbortSignal }): void | Promise<void>;
  /** Tasks running at once on this host, across all the pool's queues (integer ≥ 1). @default {1} */
  concurrency?: number;
  /** Queues this host also serves, besides the default queue (valid names, no duplicates). */
  capabilities?: readonly string[];
  /** Whether this host takes `task`; false declines it (re-routed, no attempt counted). */
  accept?(task: Task): boolean | Promise<boolean>;
  /** Runs per task before the dead letter (integer ≥ 1). @default {3} */
  maxAttempts?: number;
  /** Base of the retry backoff, in ms (integer ≥ 1). @default {2000} */
  initialRetryDelayMs?: number;
  /** Logs task failures (warn), dead letters (error) and declines (debug). */
  logger?: Logger;
}

/** The status of a task: `active` while a host runs it. */
export type TaskStatus = "pending" | "active" | "dead-lettered";

/** What {@linkcode TaskPoolService.getTask} returns. */
export interface TaskInfo {
  taskId: string;
  key: string;
  /** The required capability; absent for the default queue. */
  capability?: string;
  status: TaskStatus;
  dueTime: Date;
  /** Runs made; 0 unless dead-lettered. */
  attempts: number;
  /** Dead-lettered only. */
  lastError?: string;
  createdAt: Date;
}

/** Options of {@linkcode TaskPoolService.submit}. */
export interface SubmitTaskOptions extends CallOptions {
  /** Routes the task to this capability's queue (a valid name; not checked against any host). */
  requiredCapability?: string;
  /** The task key (a valid name): `submit` returns the live task's ID for a key already in use. */
  taskKey?: string;
}

/** The typed service of a task pool. */
export interface TaskPoolService {
  /** Stores a task and resolves with its ID (for a live `taskKey`, the existing task's ID). */
  submit(input?: unknown, o?: SubmitTaskOptions): Promise<string>;
  /** A live or dead-lettered task; `JobNotFoundError` if it is unknown (or finished). */
  getTask(taskId: string, o?: CallOptions): Promise<TaskInfo>;
  /** Deletes a live task; `JobNotFoundError` if it is unknown or dead-lettered. */
  cancelTask(taskId: string, o?: CallOptions): Promise<void>;
  /** Runs a dead-lettered task again as a fresh task; resolves with the new ID. */
  retryTask(taskId: string, o?: CallOptions): Promise<string>;
}

/** A task pool built-in, as {@linkcode createTaskPool} returns it. */
export interface TaskPool extends BuiltInActor {
  readonly kind: "taskpool";
  /** The typed service, memoised per `ActorService`; usable through any host's service. */
  service(s: ActorService): TaskPoolService;
}

const ACTION = "create task pool";
const KNOWN = new Set([
  "handler",
  "concurrency",
  "capabilities",
  "accept",
  "maxAttempts",
  "initialRetryDelayMs",
  "logger",
]);
const SUBMIT_KNOWN = new Set(["signal", "requiredCapability", "taskKey"]);
const LOGGER_METHODS = ["debug", "info", "warn", "error"] as const;

/** Escapes a type segment so that `.` only ever separates segments. */
function escapeSegment(s: string): string {
  return s.replaceAll("%", "%25").replaceAll(".", "%2E");
}

function unescapeSegment(s: string): string {
  return s.replace(/%(25|2E)/g, (_, hex: string) => hex === "25" ? "%" : ".");
}

/**
 * Creates a task pool. Validates synchronously (`TypeError`/`RangeError`,
 * `Cannot create task pool: …`). Register it on every host that should run
 * tasks, with the same name and options (`capabilities`, `accept` and the
 * handler's closure may differ per host).
 *
 * @example
 * ```ts
 * import { createTaskPool } from "./mod.ts";
 * const videos = createTaskPool("video", { concurrency: 2, capabilities: ["gpu"], handler: () => {} });
 * console.log(videos.kind, videos.name); // taskpool video
 * ```
 */
export function createTaskPool(name: string, options: TaskPoolOptions): TaskPool {
  checkName(name, ACTION, "name");
  if (options === undefined) throw new TypeError(`Cannot ${ACTION}: handler is required`);
  const o = checkOptions(options, ACTION);
  for (const key of Object.keys(o)) {
    if (!KNOWN.has(key)) throw new TypeError(`Cannot ${ACTION}: unknown option ${JSON.stringify(key)}`);
  }
  if (o.handler === undefined) throw new TypeError(`Cannot ${ACTION}: handler is required`);
  if (typeof o.handler !== "function") throw new TypeError(`Cannot ${ACTION}: handler must be a function`);
  if (o.accept !== undefined && typeof o.accept !== "function") {
    throw new TypeError(`Cannot ${ACTION}: accept must be a function`);
  }
  const capabilities = checkCapabilities(o.capabilities);
  if (o.logger !== undefined) {
    const l = o.logger as unknown as Record<string, unknown> | null;
    if (typeof l !== "object" || l === null || LOGGER_METHODS.some((m) => typeof l[m] !== "function")) {
      throw new TypeError(`Cannot ${ACTION}: logger must have debug, info, warn and error methods`);
    }
  }
  return new TaskPoolImpl(name, {
    handler: o.handler,
    accept: o.accept,
    logger: o.logger,
    capabilities,
    concurrency: checkInt(o.concurrency ?? 1, ACTION, "concurrency", 1, 2_147_483_647),
    maxAttempts: checkInt(o.maxAttempts ?? 3, ACTION, "maxAttempts", 1),
    initialRetryDelayMs: checkInt(o.initialRetryDelayMs ?? 2_000, ACTION, "initialRetryDelayMs", 1),
  });
}

function checkCapabilities(value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new TypeError(`Cannot ${ACTION}: capabilities must be an array of names`);
  const seen = new Set<string>();
  for (const c of value) {
    checkName(c, ACTION, "capability");
    if (seen.has(c)) throw new TypeError(`Cannot ${ACTION}: duplicate capability ${JSON.stringify(c)}`);
    seen.add(c);
  }
  return [...seen];
}

interface Resolved {
  handler: TaskPoolOptions["handler"];
  accept: TaskPoolOptions["accept"];
  logger: Logger | undefined;
  capabilities: string[];
  concurrency: number;
  maxAttempts: number;
  initialRetryDelayMs: number;
}

class TaskPoolImpl implements TaskPool {
  readonly kind = "taskpool" as const;
  readonly name: string;
  readonly [BUILTIN_SPEC]: BuiltInSpec;
  /** The default queue's type; a capability's type is `${base}.${escaped capability}`. */
  readonly #base: string;
  readonly #services = new WeakMap<ActorService, TaskPoolService>();

  constructor(name: string, o: Resolved) {
    this.name = name;
    this.#base = builtInType("taskpool", escapeSegment(name));
    const spec = { pool: name, handler: o.handler, accept: o.accept, logger: o.logger };
    const options = {
      maxAttempts: o.maxAttempts,
      initialRetryDelayMs: o.initialRetryDelayMs,
      concurrencyLimit: o.concurrency,
      capacityGroup: { name: this.#base, limit: o.concurrency },
    };
    const registrations = [undefined, ...o.capabilities].map((capability): BuiltInRegistration => {
      const actorType = this.#queueType(capability);
      return {
        actorType,
        factory: (_id, service) =>
          new TaskWorker(actorType, capability, builtInAccess(service, "run task pool worker"), spec),
        options,
      };
    });
    this[BUILTIN_SPEC] = { registrations };
  }

  #queueType(capability: string | undefined): string {
    return capability === undefined ? this.#base : `${this.#base}.${escapeSegment(capability)}`;
  }

  /** The capability of one of this pool's types: `undefined` for the default queue, `null` if not the pool's. */
  #capabilityOf(actorType: string): string | undefined | null {
    if (actorType === this.#base) return undefined;
    const prefix = `${this.#base}.`;
    if (!actorType.startsWith(prefix)) return null;
    const rest = actorType.slice(prefix.length);
    return rest === "" || rest.includes(".") ? null : unescapeSegment(rest);
  }

  service(s: ActorService): TaskPoolService {
    let svc = this.#services.get(s);
    if (svc === undefined) {
      svc = this.#create(builtInAccess(s, "use task pool"));
      this.#services.set(s, svc);
    }
    return svc;
  }

  #create(access: BuiltInAccess): TaskPoolService {
    const pool = this.name;
    /** Validates the options; the default signal is the ambient turn's (API.md §5.3). */
    const begin = (action: string, o: CallOptions | undefined): AbortSignal | undefined => {
      const signal = checkSignal(checkOptions(o, action).signal, action) ?? currentTurn()?.signal;
      signal?.throwIfAborted();
      return signal;
    };
    /** The task `taskId`, if it is one of this pool's; `JobNotFoundError` otherwise. */
    const read = async (action: string, taskId: string, signal: AbortSignal | undefined) => {
      checkName(taskId, action, "taskId");
      const job = await access.getJob(taskId, { signal });
      const capability = this.#capabilityOf(job.actorType);
      if (capability === null) {
        throw new JobNotFoundError(`Cannot ${action}: ${JSON.stringify(taskId)} is not a task of pool "${pool}"`);
      }
      return { job, capability };
    };
    return {
      submit: async (input?: unknown, o?: SubmitTaskOptions): Promise<string> => {
        const action = "submit task";
        const opts = checkOptions(o, action);
        for (const key of Object.keys(opts)) {
          if (!SUBMIT_KNOWN.has(key)) throw new TypeError(`Cannot ${action}: unknown option ${JSON.stringify(key)}`);
        }
        const key = opts.taskKey === undefined ? crypto.randomUUID() : checkName(opts.taskKey, action, "taskKey");
        const capability = opts.requiredCapability === undefined
          ? undefined
          : checkName(opts.requiredCapability, action, "requiredCapability");
        const signal = begin(action, o);
        return await access.dispatch(this.#queueType(capability), key, RUN_METHOD, input, {
          idempotencyKey: key,
          signal,
        });
      },
      getTask: async (taskId: string, o?: CallOptions): Promise<TaskInfo> => {
        const { job, capability } = await read("get task", taskId, begin("get task", o));
        return taskInfo(job, capability);
      },
      cancelTask: async (taskId: string, o?: CallOptions): Promise<void> => {
        const signal = begin("cancel task", o);
        await read("cancel task", taskId, signal);
        await access.cancelJob(taskId, { signal });
      },
      retryTask: async (taskId: string, o?: CallOptions): Promise<string> => {
        const signal = begin("retry task", o);
        await read("retry task", taskId, signal);
        return await access.retryJob(taskId, { signal });
      },
    };
  }
}

function taskInfo(job: JobInfo, capability: string | undefined): TaskInfo {
  return {
    taskId: job.jobId,
    key: job.actorId,
    ...(capability === undefined ? {} : { capability }),
    status: job.status,
    dueTime: job.dueTime,
    attempts: job.attempts,
    ...(job.lastError === undefined ? {} : { lastError: job.lastError }),
    createdAt: job.createdAt,
  };
}
