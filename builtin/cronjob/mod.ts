/**
 * Cron job built-in (API.md §21.1): a function run on a schedule, once per
 * occurrence cluster-wide, however many hosts register it.
 *
 * Two actor types (`francis.builtin.cronjob.<name>` and `….<name>.runner`):
 *
 * - The **scheduler**, a singleton, owns one durable recurring job (`tick`,
 *   idempotency key `schedule`) on itself. Its bootstrap registers that job
 *   (or reconciles a changed schedule); `trigger` and `unregister` run in its
 *   (short) turns, so they are serialised with every tick.
 * - The **runner** receives the runs as one-shot jobs and calls
 *   `options.run`. A long run holds only the runner's turn, never the
 *   scheduler's, so `trigger` and `unregister` never wait for it.
 *
 * Each tick dispatches the run of the **next** occurrence, due at its nominal
 * time ± U(−jitter, +jitter) (the run of the first occurrence is dispatched by
 * the bootstrap). Dispatching one occurrence ahead lets the jitter move a run
 * before its nominal time; a run whose nominal time is already past is
 * skipped. Runs are ordinary jobs: 3 attempts with a 2000 ms backoff base,
 * then a dead letter; the recurrence goes on regardless.
 *
 * @example
 * ```ts
 * import { createCronJob } from "./mod.ts";
 * import { createTestHost } from "../../testing/mod.ts";
 * import { waitFor } from "../../testing/mod.ts";
 *
 * let runs = 0;
 * const cleanup = createCronJob("cleanup", { interval: "PT1H", run: () => void runs++ });
 * await using host = createTestHost();
 * host.registerBuiltInActor(cleanup);
 * await host.start();
 * await cleanup.service(host.service).trigger();
 * await waitFor(() => runs === 1);
 * await cleanup.service(host.service).unregister();
 * ```
 *
 * @module
 */

import type { ActorContext, ActorService, BuiltInActor, CallOptions, JobInfo, Logger } from "../../actor/types.ts";
import { SINGLETON_ACTOR_ID } from "../../actor/types.ts";
import { isFrancisError, JobPermanentFailureError } from "../../errors.ts";
import { addInterval, type Interval, parseInterval } from "../../_internal/iso_duration.ts";
import { defaultLogger } from "../../_internal/logger.ts";
import { checkInt, checkName, checkOptions, checkSignal } from "../../_internal/validate.ts";
import {
  BUILTIN_SPEC,
  type BuiltInAccess,
  builtInAccess,
  type BuiltInSpec,
  builtInType,
} from "../../host_local/builtin.ts";
import { parseCron } from "../../host_local/cron.ts";

/** What `run` receives. */
export interface CronJobRunContext {
  /** Aborts when the runner halts (host stop) after the grace period. */
  signal: AbortSignal;
  /** `"schedule"` for a scheduled (or `immediate`) run, `"manual"` for `trigger()`. */
  trigger: "schedule" | "manual";
  /** The 1-based attempt of this run (runs are retried, 3 attempts). */
  attempt: number;
}

/** Options of {@linkcode createCronJob}. */
export interface CronJobOptions {
  /** The work. A throw is retried (3 attempts, 2000 ms base), then dead-lettered and logged. */
  run(ctx: CronJobRunContext): void | Promise<void>;
  /** Repeat every interval (ms ≥ 1 or ISO-8601); exactly one of `interval` / `cron`. */
  interval?: number | string;
  /** Repeat on a cron schedule (API.md §10.2 syntax, UTC unless `CRON_TZ=`). */
  cron?: string;
  /** Also run once right away on the first registration. @default {false} */
  immediate?: boolean;
  /** Spread each run over nominal ± U(−jitterMs, +jitterMs) (integer ≥ 0; < interval/2). @default {0} */
  jitterMs?: number;
  /** Where failed runs are reported. @default {warnings and errors to the console} */
  logger?: Logger;
}

/** The typed service of a cron job. */
export interface CronJobService {
  /** Dispatches one immediate, unjittered run; triggers piling up while one is pending collapse into one. */
  trigger(o?: CallOptions): Promise<void>;
  /** Cancels the schedule and every pending run; the next host start registers it again. */
  unregister(o?: CallOptions): Promise<void>;
}

/** A cron job built-in, as {@linkcode createCronJob} returns it. */
export interface CronJob extends BuiltInActor {
  readonly kind: "cronjob";
  /** The typed service, memoised per `ActorService`; usable through any host's service. */
  service(s: ActorService): CronJobService;
}

const ACTION = "create cron job";
const KNOWN = new Set(["run", "interval", "cron", "immediate", "jitterMs", "logger"]);
/** Idle timeout of both actors. */
const IDLE_TIMEOUT_MS = 60_000;
/** The runner's actor ID. */
const RUNNER_ID = "runner";
/** Idempotency keys (or their prefix): the recurring job, `trigger()` and `immediate`. */
const SCHEDULE_KEY = "schedule";
const MANUAL_KEY = "manual";
const IMMEDIATE_KEY = "immediate";
const DAY_MS = 86_400_000;

/** The schedule, normalised as the job stores it. */
interface Schedule {
  interval?: string;
  /** The parsed interval. */
  parsed?: Interval;
  /** The interval's shortest length in ms (calendar units at their shortest). */
  intervalMs?: number;
  cron?: string;
}

interface Resolved {
  run: CronJobOptions["run"];
  schedule: Schedule;
  immediate: boolean;
  jitterMs: number;
  logger: Logger;
}

/** The runner's state: the manual run it last started. */
interface RunnerState {
  manual: string;
}

/** The input of a run job. */
interface RunInput {
  trigger: "schedule" | "manual";
}

/**
 * Creates a cron job. Validates synchronously (`TypeError`/`RangeError`).
 *
 * @example
 * ```ts
 * import { createCronJob } from "./mod.ts";
 * const nightly = createCronJob("nightly-cleanup", { cron: "0 2 * * *", run: () => {} });
 * console.log(nightly.kind, nightly.name); // cronjob nightly-cleanup
 * ```
 */
export function createCronJob(name: string, options: CronJobOptions): CronJob {
  checkName(name, ACTION, "name");
  const o = checkOptions(options, ACTION);
  for (const key of Object.keys(o)) {
    if (!KNOWN.has(key)) throw new TypeError(`Cannot ${ACTION}: unknown option ${JSON.stringify(key)}`);
  }
  if ((o.interval === undefined) === (o.cron === undefined)) {
    throw new TypeError(`Cannot ${ACTION}: exactly one of interval or cron is required`);
  }
  if (o.run === undefined) throw new TypeError(`Cannot ${ACTION}: run is required`);
  if (typeof o.run !== "function") throw new TypeError(`Cannot ${ACTION}: run must be a function`);
  if (o.immediate !== undefined && typeof o.immediate !== "boolean") {
    throw new TypeError(`Cannot ${ACTION}: immediate must be a boolean`);
  }
  const logger = o.logger ?? defaultLogger();
  if (typeof logger !== "object" || logger === null || typeof logger.error !== "function") {
    throw new TypeError(`Cannot ${ACTION}: logger must be a Logger`);
  }
  let schedule: Schedule;
  if (o.interval !== undefined) {
    const i = parseInterval(o.interval, ACTION, "interval");
    const days = i.years * 365 + i.months * 28 + i.weeks * 7 + i.days;
    schedule = { interval: i.iso, parsed: i, intervalMs: days * DAY_MS + i.timeMs };
  } else {
    try {
      schedule = { cron: parseCron(o.cron).expr };
    } catch (err) {
      if (err instanceof TypeError) throw new TypeError(err.message.replace("Cannot dispatch job", `Cannot ${ACTION}`));
      throw err;
    }
  }
  const jitterMs = checkInt(o.jitterMs ?? 0, ACTION, "jitterMs", 0);
  if (schedule.intervalMs !== undefined && jitterMs > 0 && jitterMs * 2 >= schedule.intervalMs) {
    throw new RangeError(
      `Cannot ${ACTION}: jitterMs must be less than half the interval (got ${jitterMs}, interval ${schedule.intervalMs} ms)`,
    );
  }
  return new CronJobImpl(name, { run: o.run, schedule, immediate: o.immediate ?? false, jitterMs, logger });
}

class CronJobImpl implements CronJob {
  readonly kind = "cronjob" as const;
  readonly name: string;
  readonly [BUILTIN_SPEC]: BuiltInSpec;
  readonly #scheduler: string;
  readonly #services = new WeakMap<ActorService, CronJobService>();

  constructor(name: string, o: Resolved) {
    this.name = name;
    const types = { scheduler: builtInType("cronjob", name), runner: builtInType("cronjob", name, "runner") };
    this.#scheduler = types.scheduler;
    this[BUILTIN_SPEC] = {
      registrations: [
        {
          actorType: types.scheduler,
          factory: (_id, service) => new Scheduler(types, builtInAccess(service, "create cron job scheduler"), o),
          options: { idleTimeoutMs: IDLE_TIMEOUT_MS },
          singleton: {},
        },
        {
          actorType: types.runner,
          factory: (_id, service) =>
            new Runner(name, types.runner, builtInAccess(service, "create cron job runner"), o),
          options: { idleTimeoutMs: IDLE_TIMEOUT_MS },
        },
      ],
    };
  }

  service(s: ActorService): CronJobService {
    let svc = this.#services.get(s);
    if (svc === undefined) {
      const access = builtInAccess(s, "use cron job");
      const scheduler = this.#scheduler;
      const begin = (action: string, o: CallOptions | undefined) => {
        const signal = checkSignal(checkOptions(o, action).signal, action);
        signal?.throwIfAborted();
        return signal;
      };
      svc = {
        async trigger(o?: CallOptions): Promise<void> {
          const signal = begin("trigger cron job", o);
          await access.invoke(scheduler, SINGLETON_ACTOR_ID, "trigger", undefined, { signal });
        },
        async unregister(o?: CallOptions): Promise<void> {
          const signal = begin("unregister cron job", o);
          await access.invoke(scheduler, SINGLETON_ACTOR_ID, "unregister", undefined, { signal });
        },
      };
      this.#services.set(s, svc);
    }
    return svc;
  }
}

/** The singleton that owns the recurring `tick` job. */
class Scheduler {
  readonly #types: { scheduler: string; runner: string };
  readonly #access: BuiltInAccess;
  readonly #o: Resolved;

  constructor(types: { scheduler: string; runner: string }, access: BuiltInAccess, o: Resolved) {
    this.#types = types;
    this.#access = access;
    this.#o = o;
  }

  /** Registers the recurring job, or reconciles it with this host's schedule (idempotent). */
  async bootstrap(): Promise<void> {
    const now = Date.now();
    const live = await this.#scheduleJob();
    const want = this.#o.schedule;
    if (live !== undefined && live.interval === want.interval && live.cron === want.cron) return;
    if (live !== undefined) {
      // A changed schedule: replace the job, keeping its next due time (its run is already dispatched).
      await this.#access.cancelJob(live.jobId);
      await this.#dispatchTick(live.dueTime.getTime());
      return;
    }
    const first = this.#next(now);
    await this.#dispatchTick(first);
    await this.#dispatchRun(first, now);
    if (this.#o.immediate) {
      const input: RunInput = { trigger: "schedule" };
      await this.#access.dispatch(this.#types.runner, RUNNER_ID, "run", input, { idempotencyKey: IMMEDIATE_KEY });
    }
  }

  async invoke(method: string, _data: unknown, ctx: ActorContext): Promise<void> {
    if (method === "trigger") return await this.#trigger(ctx);
    if (method !== "unregister") throw new TypeError(`Cannot use cron job: unknown method ${JSON.stringify(method)}`);
    const { scheduler, runner } = this.#types;
    await this.#access.deleteState(runner, RUNNER_ID).catch((err) => {
      if (!isFrancisError(err, "state_not_found")) throw err;
    });
    for (const [type, id] of [[scheduler, SINGLETON_ACTOR_ID], [runner, RUNNER_ID]]) {
      for (const job of await this.#access.listJobs(type, id)) {
        const removed = job.status === "dead-lettered"
          ? this.#access.deleteDeadJob(job.jobId)
          : this.#access.cancelJob(job.jobId);
        await removed.catch((err) => {
          if (!isFrancisError(err, "job_not_found")) throw err; // gone meanwhile (a run completed): fine
        });
      }
    }
  }

  /**
   * One immediate, unjittered run, unless a manual run is still waiting to
   * start (live, and not the one the runner last started). Triggers are
   * serialised by this actor's turns; the key (per call, kept by the
   * transparent retry) makes a retried call harmless.
   */
  async #trigger(ctx: ActorContext): Promise<void> {
    const { runner } = this.#types;
    const jobs = await this.#access.listJobs(runner, RUNNER_ID);
    const live = jobs.filter((j) => j.status !== "dead-lettered" && j.idempotencyKey?.startsWith(MANUAL_KEY));
    if (live.length > 0) {
      const started = await this.#access.getState<RunnerState>(runner, RUNNER_ID).catch((err) => {
        if (isFrancisError(err, "state_not_found")) return undefined;
        throw err;
      });
      if (live.some((j) => j.jobId !== started?.manual)) return;
    }
    const input: RunInput = { trigger: "manual" };
    const key = `${MANUAL_KEY}-${ctx.requestId}`;
    await this.#access.dispatch(runner, RUNNER_ID, "run", input, { idempotencyKey: key });
  }

  /** A tick (the occurrence due at its nominal time): dispatch the run of the next occurrence. */
  async job(method: string, _data: unknown, ctx: ActorContext): Promise<void> {
    if (method !== "tick") throw new JobPermanentFailureError(`Unknown cron job method ${JSON.stringify(method)}`);
    // A job turn's requestId is "<jobId>|<dueTime>": the nominal time of this occurrence.
    const due = Number(ctx.requestId.slice(ctx.requestId.lastIndexOf("|") + 1));
    const now = Date.now();
    await this.#dispatchRun(this.#next(Number.isFinite(due) && due > 0 ? due : now), now);
  }

  /** The live recurring job, if any. */
  async #scheduleJob(): Promise<JobInfo | undefined> {
    const jobs = await this.#access.listJobs(this.#types.scheduler, SINGLETON_ACTOR_ID);
    return jobs.find((j) => j.status !== "dead-lettered" && j.idempotencyKey === SCHEDULE_KEY);
  }

  async #dispatchTick(dueTime: number): Promise<void> {
    const { interval, cron } = this.#o.schedule;
    await this.#access.dispatch(this.#types.scheduler, SINGLETON_ACTOR_ID, "tick", undefined, {
      dueTime,
      ...(interval === undefined ? { cron } : { interval }),
      idempotencyKey: SCHEDULE_KEY,
    });
  }

  /** The nominal time of the occurrence after `after`. */
  #next(after: number): number {
    const { parsed, cron } = this.#o.schedule;
    return cron !== undefined ? parseCron(cron).next(after) : addInterval(after, parsed!);
  }

  /** Dispatches the run of the occurrence at `nominal`, jittered; skipped if `nominal` is past. */
  async #dispatchRun(nominal: number, now: number): Promise<void> {
    if (!Number.isFinite(nominal) || nominal <= now) return;
    const j = this.#o.jitterMs;
    const dueTime = Math.max(now, Math.round(nominal + (j > 0 ? (2 * Math.random() - 1) * j : 0)));
    const input: RunInput = { trigger: "schedule" };
    await this.#access.dispatch(this.#types.runner, RUNNER_ID, "run", input, {
      dueTime,
      idempotencyKey: `run-${nominal}`,
    });
  }
}

/** The actor that runs `options.run`, one run at a time. */
class Runner {
  readonly #name: string;
  readonly #type: string;
  readonly #access: BuiltInAccess;
  readonly #o: Resolved;

  constructor(name: string, type: string, access: BuiltInAccess, o: Resolved) {
    this.#name = name;
    this.#type = type;
    this.#access = access;
    this.#o = o;
  }

  async job(method: string, data: unknown, ctx: ActorContext): Promise<void> {
    if (method !== "run") throw new JobPermanentFailureError(`Unknown cron job method ${JSON.stringify(method)}`);
    const trigger = (data as RunInput | undefined)?.trigger === "manual" ? "manual" : "schedule";
    if (trigger === "manual" && ctx.attempt === 1) {
      // From now on a trigger queues another run instead of collapsing into this one.
      const state: RunnerState = { manual: ctx.requestId.slice(0, ctx.requestId.indexOf("|")) };
      await this.#access.setState(this.#type, RUNNER_ID, state, { ttlMs: DAY_MS });
    }
    await this.#o.run({ signal: ctx.signal, trigger, attempt: ctx.attempt });
  }

  jobFailed(f: { jobId: string; attempts: number; error: Error }): void {
    this.#o.logger.error("Cron job run failed", {
      cronJob: this.#name,
      jobId: f.jobId,
      attempts: f.attempts,
      err: f.error.message,
    });
  }
}
