/**
 * `ActorClient`: a client bound to one actor that caches its state for the
 * activation (API.md §7). The cache holds the encoded bytes, so every
 * `getState` returns a fresh decoded copy that the caller may mutate freely.
 *
 * @module
 */

import type {
  ActorClient,
  ActorClientOptions,
  AlarmInfo,
  CallOptions,
  DispatchOptions,
  JobInfo,
  Logger,
  SetAlarmOptions,
  SetStateOptions,
} from "../actor/types.ts";
import { isFrancisError } from "../errors.ts";
import { currentTurn } from "../_internal/ambient.ts";
import { raceSignal } from "../_internal/delay.ts";
import { errorMessage } from "../_internal/logger.ts";
import { checkOptions, checkSignal } from "../_internal/validate.ts";

/** The parts of the service a client uses. */
export interface ClientService {
  getStateEncoded(actorType: string, actorId: string, options?: CallOptions): Promise<Uint8Array>;
  setStateEncoded(actorType: string, actorId: string, state: unknown, options?: SetStateOptions): Promise<Uint8Array>;
  decode(bytes: Uint8Array): unknown;
  deleteState(actorType: string, actorId: string, options?: CallOptions): Promise<void>;
  getAlarm(actorType: string, actorId: string, name: string, options?: CallOptions): Promise<AlarmInfo>;
  setAlarm(actorType: string, actorId: string, name: string, alarm: SetAlarmOptions): Promise<void>;
  deleteAlarm(actorType: string, actorId: string, name: string, options?: CallOptions): Promise<void>;
  dispatch(actorType: string, actorId: string, method: string, input?: unknown, o?: DispatchOptions): Promise<string>;
  listJobs(actorType: string, actorId: string, options?: CallOptions): Promise<JobInfo[]>;
  /** The ID-based job calls, restricted to the actor's own jobs (`JobNotFoundError` otherwise). */
  getOwnJob(actorType: string, actorId: string, jobId: string, options?: CallOptions): Promise<JobInfo>;
  cancelOwnJob(actorType: string, actorId: string, jobId: string, options?: CallOptions): Promise<void>;
  retryOwnJob(actorType: string, actorId: string, jobId: string, options?: CallOptions): Promise<string>;
  halt(actorType: string, actorId: string): Promise<void>;
  readonly logger: Logger;
}

/** Marks "nothing stored" in the cache. */
const ABSENT = Symbol("absent");
type Cached = Uint8Array | typeof ABSENT;

/** A signal that never aborts: a shared cache read belongs to no single caller. */
const NEVER: AbortSignal = new AbortController().signal;

/**
 * The client implementation.
 *
 * @example
 * ```ts ignore
 * const self = host.service.client<{ n: number }>("counter", "c1", { initialState: () => ({ n: 0 }) });
 * ```
 */
export class LocalActorClient<T> implements ActorClient<T, T | undefined> {
  readonly actorType: string;
  readonly actorId: string;
  readonly #svc: ClientService;
  readonly #initialState: (() => T) | undefined;
  readonly #cacheOn: boolean;
  #cached: Cached | undefined;
  #pending: Promise<Cached> | undefined;
  /** Bumped on every write so a read that raced a write never fills the cache. */
  #version = 0;

  constructor(
    svc: ClientService,
    actorType: string,
    actorId: string,
    options: ActorClientOptions<T> | undefined,
    inOwnActor: boolean,
  ) {
    checkOptions(options, "create client");
    if (options?.initialState !== undefined && typeof options.initialState !== "function") {
      throw new TypeError("Cannot create client: initialState must be a function");
    }
    if (options?.cache !== undefined && typeof options.cache !== "boolean") {
      throw new TypeError("Cannot create client: cache must be a boolean");
    }
    this.#svc = svc;
    this.actorType = actorType;
    this.actorId = actorId;
    this.#initialState = options?.initialState;
    this.#cacheOn = options?.cache ?? inOwnActor;
  }

  async getState(options?: CallOptions): Promise<T | undefined> {
    let cached: Cached;
    if (!this.#cacheOn) cached = await this.#read(options);
    else if (this.#cached !== undefined) cached = this.#cached;
    else {
      // Concurrent misses share one read. It runs under no caller's signal, so
      // one caller aborting does not fail the others; each waits with its own.
      const signal = checkSignal(checkOptions(options, "get state").signal, "get state") ?? currentTurn()?.signal;
      signal?.throwIfAborted();
      let pending = this.#pending;
      if (pending === undefined) {
        const version = this.#version;
        const read: Promise<Cached> = this.#read({ signal: NEVER }).then((value) => {
          if (version === this.#version) this.#cached = value;
          return value;
        }).finally(() => {
          if (this.#pending === read) this.#pending = undefined;
        });
        read.catch(() => {}); // reported to each waiter below
        this.#pending = pending = read;
      }
      cached = await raceSignal(pending, signal);
    }
    if (cached === ABSENT) return this.#initialState?.();
    return this.#svc.decode(cached) as T;
  }

  async #read(options: CallOptions | undefined): Promise<Cached> {
    try {
      return await this.#svc.getStateEncoded(this.actorType, this.actorId, options);
    } catch (err) {
      if (isFrancisError(err, "state_not_found")) return ABSENT;
      throw err;
    }
  }

  async setState(state: T, options?: SetStateOptions): Promise<void> {
    this.#discardReads();
    try {
      const bytes = await this.#svc.setStateEncoded(this.actorType, this.actorId, state, options);
      if (this.#cacheOn) this.#cached = bytes;
    } finally {
      this.#discardReads();
    }
  }

  async deleteState(options?: CallOptions): Promise<void> {
    this.#discardReads();
    try {
      await this.#svc.deleteState(this.actorType, this.actorId, options);
      if (this.#cacheOn) this.#cached = ABSENT;
    } catch (err) {
      this.#cached = undefined;
      throw err;
    } finally {
      this.#discardReads();
    }
  }

  /**
   * Called when a write starts and again when it settles: a read in flight at
   * either point may have seen the store before the write, so it must not
   * fill the cache, and later callers must not share it.
   */
  #discardReads(): void {
    this.#version++;
    this.#pending = undefined;
  }

  getAlarm(name: string, options?: CallOptions): Promise<AlarmInfo> {
    return this.#svc.getAlarm(this.actorType, this.actorId, name, options);
  }

  setAlarm(name: string, alarm: SetAlarmOptions): Promise<void> {
    return this.#svc.setAlarm(this.actorType, this.actorId, name, alarm);
  }

  deleteAlarm(name: string, options?: CallOptions): Promise<void> {
    return this.#svc.deleteAlarm(this.actorType, this.actorId, name, options);
  }

  dispatch(method: string, input?: unknown, options?: DispatchOptions): Promise<string> {
    return this.#svc.dispatch(this.actorType, this.actorId, method, input, options);
  }

  getJob(jobId: string, options?: CallOptions): Promise<JobInfo> {
    return this.#svc.getOwnJob(this.actorType, this.actorId, jobId, options);
  }

  listJobs(options?: CallOptions): Promise<JobInfo[]> {
    return this.#svc.listJobs(this.actorType, this.actorId, options);
  }

  cancelJob(jobId: string, options?: CallOptions): Promise<void> {
    return this.#svc.cancelOwnJob(this.actorType, this.actorId, jobId, options);
  }

  retryJob(jobId: string, options?: CallOptions): Promise<string> {
    return this.#svc.retryOwnJob(this.actorType, this.actorId, jobId, options);
  }

  halt(): void {
    this.#svc.halt(this.actorType, this.actorId).catch((err) =>
      this.#svc.logger.warn("Cannot halt actor", { actor: `${this.actorType}/${this.actorId}`, err: errorMessage(err) })
    );
  }
}
