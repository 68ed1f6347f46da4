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
  Logger,
  SetAlarmOptions,
  SetStateOptions,
} from "../actor/types.ts";
import { isFrancisError } from "../errors.ts";
import { errorMessage } from "../_internal/logger.ts";

/** The parts of the service a client uses. */
export interface ClientService {
  getStateEncoded(actorType: string, actorId: string, options?: CallOptions): Promise<Uint8Array>;
  setStateEncoded(actorType: string, actorId: string, state: unknown, options?: SetStateOptions): Promise<Uint8Array>;
  decode(bytes: Uint8Array): unknown;
  deleteState(actorType: string, actorId: string, options?: CallOptions): Promise<void>;
  getAlarm(actorType: string, actorId: string, name: string, options?: CallOptions): Promise<AlarmInfo>;
  setAlarm(actorType: string, actorId: string, name: string, alarm: SetAlarmOptions): Promise<void>;
  deleteAlarm(actorType: string, actorId: string, name: string, options?: CallOptions): Promise<void>;
  halt(actorType: string, actorId: string): Promise<void>;
  readonly logger: Logger;
}

/** Marks "nothing stored" in the cache. */
const ABSENT = Symbol("absent");
type Cached = Uint8Array | typeof ABSENT;

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
    if (options !== undefined && (typeof options !== "object" || options === null)) {
      throw new TypeError("Cannot create client: options must be an object");
    }
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
    let cached = this.#cacheOn ? this.#cached : undefined;
    if (cached === undefined) {
      if (this.#cacheOn && this.#pending !== undefined) cached = await this.#pending;
      else {
        const version = this.#version;
        const read = this.#read(options);
        if (this.#cacheOn) this.#pending = read;
        try {
          cached = await read;
          if (this.#cacheOn && version === this.#version) this.#cached = cached;
        } finally {
          if (this.#pending === read) this.#pending = undefined;
        }
      }
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
    this.#version++;
    this.#pending = undefined;
    const bytes = await this.#svc.setStateEncoded(this.actorType, this.actorId, state, options);
    if (this.#cacheOn) this.#cached = bytes;
  }

  async deleteState(options?: CallOptions): Promise<void> {
    this.#version++;
    this.#pending = undefined;
    try {
      await this.#svc.deleteState(this.actorType, this.actorId, options);
      if (this.#cacheOn) this.#cached = ABSENT;
    } catch (err) {
      this.#cached = undefined;
      throw err;
    }
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

  halt(): void {
    this.#svc.halt(this.actorType, this.actorId).catch((err) =>
      this.#svc.logger.warn("Cannot halt actor", { actor: `${this.actorType}/${this.actorId}`, err: errorMessage(err) })
    );
  }
}
