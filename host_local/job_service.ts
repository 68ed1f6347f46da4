/**
 * The job methods of a host's `ActorService` (API.md §6, §10): `dispatch`,
 * `getJob`, `listJobs`, `cancelJob`, `retryJob` and `deleteDeadJob`, plus the
 * "own jobs only" variants an `ActorClient` uses.
 *
 * Conventions of `service.ts`: arguments are validated before any I/O (every
 * method is `async`, so errors are rejections); the ambient turn supplies the
 * default signal and the read-only rule (`dispatch`, `cancelJob`, `retryJob`
 * and `deleteDeadJob` reject with `ReadOnlyError` inside a read-only turn).
 *
 * @module
 */

import type { CallOptions, DispatchOptions, JobInfo } from "../actor/types.ts";
import { type Codec, encodePayload } from "../_internal/codec.ts";
import { raceSignal } from "../_internal/delay.ts";
import { checkName } from "../_internal/validate.ts";
import { JobNotFoundError } from "../errors.ts";
import type { ActorProvider, JobRecord } from "../providers/types.ts";
import { beginCall, checkCallTarget, refuseReadOnly } from "./call_context.ts";
import { checkMethod, checkType } from "./names.ts";
import { createdAtFromUuidv7, jobInfoFromRecord, resolveDispatch, uuidv7 } from "./job_options.ts";

/** What the job service needs from its host. */
export interface JobServiceDeps {
  running(): boolean;
  codec: Codec;
  provider: ActorProvider;
  /** Tells the job scheduler a job is due at `dueTime`, so it can fetch it early. */
  jobDispatched(dueTime: number): void;
  /**
   * Built-ins' access (`host_local/builtin.ts`): reserved types and methods
   * are allowed (names are still validated) and the read-only rule is skipped.
   */
  internal?: boolean;
}

/** Restricts an ID-based call to one actor's jobs (`ActorClient`). */
export interface JobOwner {
  actorType: string;
  actorId: string;
}

/**
 * The job half of `LocalActorService`.
 *
 * @example
 * ```ts ignore
 * const jobs = new LocalJobService({ running: () => true, codec, provider, jobDispatched: (t) => sched.jobDispatched(t) });
 * const id = await jobs.dispatch("mailer", "u1", "send", { to: "a@b.c" }, { delayMs: 1_000 });
 * console.log((await jobs.getJob(id)).status); // "pending"
 * ```
 */
export class LocalJobService {
  readonly #d: JobServiceDeps;

  constructor(deps: JobServiceDeps) {
    this.#d = deps;
  }

  /** Stores a job (or finds the live one holding `idempotencyKey`) and resolves with its ID. */
  async dispatch(
    actorType: string,
    actorId: string,
    method: string,
    input?: unknown,
    options?: DispatchOptions,
  ): Promise<string> {
    const action = "dispatch job";
    checkCallTarget(action, actorType, actorId, this.#d.internal === true);
    if (this.#d.internal !== true) checkMethod(action, method);
    else if (typeof method !== "string") throw new TypeError(`Cannot ${action}: method must be a string`);
    const jobId = uuidv7();
    const createdAt = createdAtFromUuidv7(jobId);
    const schedule = resolveDispatch(options, createdAt);
    const { turn, signal } = beginCall(this.#d.running, action, options);
    if (!this.#d.internal) refuseReadOnly(action, turn);
    const data = input === undefined ? undefined : encodePayload(this.#d.codec, input, "job input");
    signal?.throwIfAborted();
    const res = await raceSignal(
      this.#d.provider.dispatchJob({ jobId, actorType, actorId, method, data, createdAt, ...schedule }),
      signal,
    );
    if (res.created) this.#d.jobDispatched(schedule.dueTime);
    return res.jobId;
  }

  /** A live or dead-lettered job. `JobNotFoundError` if there is none (or, with `owner`, it is another actor's). */
  async getJob(jobId: string, options?: CallOptions, owner?: JobOwner): Promise<JobInfo> {
    checkName(jobId, "get job", "jobId");
    const { signal } = beginCall(this.#d.running, "get job", options);
    return jobInfoFromRecord(await this.#read("get job", jobId, signal, owner));
  }

  /** The actor's live and dead-lettered jobs, by `createdAt`. */
  async listJobs(actorType: string, actorId: string, options?: CallOptions): Promise<JobInfo[]> {
    checkCallTarget("list jobs", actorType, actorId, this.#d.internal === true);
    const { signal } = beginCall(this.#d.running, "list jobs", options);
    const recs = await raceSignal(this.#d.provider.listJobs(actorType, actorId), signal);
    return recs.map(jobInfoFromRecord);
  }

  /** Deletes a live job. `JobNotFoundError` if it is unknown or dead-lettered. */
  async cancelJob(jobId: string, options?: CallOptions, owner?: JobOwner): Promise<void> {
    const action = "cancel job";
    checkName(jobId, action, "jobId");
    const { turn, signal } = beginCall(this.#d.running, action, options);
    if (!this.#d.internal) refuseReadOnly(action, turn);
    const rec = await this.#read(action, jobId, signal, owner);
    if (rec.status === "dead-lettered") throw new JobNotFoundError(`Cannot ${action}: job "${jobId}" is dead-lettered`);
    await raceSignal(this.#d.provider.cancelJob(jobId), signal);
  }

  /** Replaces a dead-lettered job with a fresh immediate one-shot job; resolves with the new ID. */
  async retryJob(jobId: string, options?: CallOptions, owner?: JobOwner): Promise<string> {
    const action = "retry job";
    checkName(jobId, action, "jobId");
    const { turn, signal } = beginCall(this.#d.running, action, options);
    if (!this.#d.internal) refuseReadOnly(action, turn);
    const rec = await this.#read(action, jobId, signal, owner);
    if (rec.status !== "dead-lettered") {
      throw new JobNotFoundError(`Cannot ${action}: job "${jobId}" is not dead-lettered`);
    }
    const fresh = uuidv7();
    const createdAt = createdAtFromUuidv7(fresh);
    await raceSignal(this.#d.provider.retryDeadJob(jobId, { jobId: fresh, dueTime: createdAt, createdAt }), signal);
    this.#d.jobDispatched(createdAt);
    return fresh;
  }

  /** Deletes a dead-letter record. `JobNotFoundError` if there is none. */
  async deleteDeadJob(jobId: string, options?: CallOptions, owner?: JobOwner): Promise<void> {
    const action = "delete dead job";
    checkName(jobId, action, "jobId");
    const { turn, signal } = beginCall(this.#d.running, action, options);
    if (!this.#d.internal) refuseReadOnly(action, turn);
    const rec = await this.#read(action, jobId, signal, owner);
    if (rec.status !== "dead-lettered") {
      throw new JobNotFoundError(`Cannot ${action}: job "${jobId}" is not dead-lettered`);
    }
    await raceSignal(this.#d.provider.deleteDeadJob(jobId), signal);
  }

  /**
   * Reads a job, refusing the jobs of reserved types (`ActorTypeReservedError`,
   * API.md §6.2) and, with `owner`, those of other actors (`JobNotFoundError`).
   */
  async #read(action: string, jobId: string, signal: AbortSignal | undefined, owner?: JobOwner): Promise<JobRecord> {
    const rec = await raceSignal(this.#d.provider.getJob(jobId), signal);
    if (owner !== undefined && (rec.actorType !== owner.actorType || rec.actorId !== owner.actorId)) {
      throw new JobNotFoundError(`Cannot ${action}: job "${jobId}" does not belong to this actor`);
    }
    if (this.#d.internal !== true) checkType(action, rec.actorType);
    return rec;
  }
}
