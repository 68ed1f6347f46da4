/**
 * Authoring types: what an actor is, what it receives, and the service and
 * client it calls. Only types live here; hosts provide the implementations.
 *
 * @module
 */

/**
 * Creates a fresh actor instance for one activation. It runs once per
 * activation; a throw makes the call fail with `ActivationFailedError`.
 *
 * @example
 * ```ts
 * import type { ActorFactory } from "./types.ts";
 * const factory: ActorFactory = (actorId) => ({ invoke: (method) => `${actorId}:${method}` });
 * ```
 */
export type ActorFactory = (actorId: string, service: ActorService) => Actor | Promise<Actor>;

/**
 * An actor: any object with any subset of these methods. Methods are looked up
 * on every call and called with `this` set to the actor; they may be sync or async.
 *
 * @example
 * ```ts
 * import type { Actor } from "./types.ts";
 * const greeter: Actor = {
 *   invoke(method, data) { return `${method}, ${String(data)}`; },
 *   peek() { return "read-only"; },
 * };
 * ```
 */
export interface Actor {
  /** Exclusive turn for `service.invoke`; the result goes to the caller. */
  invoke?(method: string, data: unknown, ctx: ActorContext): unknown;
  /** Shared, read-only turn for `service.peek`. */
  peek?(method: string, data: unknown, ctx: ActorContext): unknown;
  /**
   * Exclusive turn for `service.invokeStream` (API.md §11). The turn lasts
   * until the returned body has been fully read, cancelled or errored.
   */
  invokeStream?(method: string, request: StreamRequest, ctx: ActorContext): StreamResponse | Promise<StreamResponse>;
  /** Shared, read-only turn for `service.peekStream`; held like `invokeStream`'s. */
  peekStream?(method: string, request: StreamRequest, ctx: ActorContext): StreamResponse | Promise<StreamResponse>;
  /** Exclusive turn for a due alarm. A throw is retried (API.md §9.4). */
  alarm?(name: string, data: unknown, ctx: ActorContext): void | Promise<void>;
  /**
   * Singletons only (API.md §13): exclusive turn run after each host start that
   * registered the type, with the registration's `bootstrapData`. Must be
   * idempotent. A throw is retried (5 attempts), then logged.
   */
  bootstrap?(data: unknown, ctx: ActorContext): void | Promise<void>;
  /**
   * Exclusive turn for a due job (API.md §10). A throw is retried with the
   * §9.4 backoff up to `maxAttempts` runs, then the job is dead-lettered;
   * `JobPermanentFailureError` dead-letters at once; `JobRejectedError`
   * declines it (no attempt counted; another host may take it).
   */
  job?(method: string, data: unknown, ctx: ActorContext): void | Promise<void>;
  /** Best-effort exclusive turn after a job was dead-lettered; errors are logged. */
  jobFailed?(failure: JobFailure, ctx: ActorContext): void | Promise<void>;
  /** Runs after a halt (idle, `halt`, `stop`), bounded by `deactivationTimeoutMs`. */
  deactivate?(ctx: ActorContext): void | Promise<void>;
}

/** The status of a job: `active` while a host holds its lease and runs it. */
export type JobStatus = "pending" | "active" | "dead-lettered";

/** Options of `ActorService.dispatch` (API.md §10). */
export interface DispatchOptions extends CallOptions {
  /** First due time; exclusive with `delayMs`. */
  dueTime?: Date | number;
  /** Integer ms ≥ 0: the first run is at now + `delayMs`. */
  delayMs?: number;
  /** Repeat every interval (ms ≥ 1 or ISO-8601), from the start of each run; exclusive with `cron`. */
  interval?: number | string;
  /** Repeat on a cron schedule (§10.2). */
  cron?: string;
  /** No occurrence after this instant; must be after the first due time. */
  ttl?: Date | number;
  /** While a live job of the actor holds this key, a re-dispatch returns its ID. */
  idempotencyKey?: string;
}

/** A job as `getJob` and `listJobs` return it (API.md §10). */
export interface JobInfo {
  jobId: string;
  actorType: string;
  actorId: string;
  method: string;
  status: JobStatus;
  dueTime: Date;
  interval?: string;
  cron?: string;
  ttl?: Date;
  idempotencyKey?: string;
  createdAt: Date;
  /** Runs made; 0 unless dead-lettered. */
  attempts: number;
  lastError?: string;
  failedAt?: Date;
}

/** What `jobFailed` receives after a job was dead-lettered (API.md §5.1). */
export interface JobFailure {
  /** The dead record's ID (for an occurrence of a repeating job, a new ID, not the live job's). */
  readonly jobId: string;
  readonly method: string;
  /** The decoded input. */
  readonly data: unknown;
  /** An `Error` whose message is the last error message (the original object is not kept). */
  readonly error: Error;
  /** Runs made. */
  readonly attempts: number;
}

/** The kind of work a turn performs. */
export type TurnKind =
  | "invoke"
  | "peek"
  | "invokeStream"
  | "peekStream"
  | "alarm"
  | "job"
  | "jobFailed"
  | "bootstrap"
  | "deactivate";

/**
 * What a handler learns about the work it is doing.
 *
 * @example
 * ```ts
 * import type { ActorContext } from "./types.ts";
 * function handler(_m: string, _d: unknown, ctx: ActorContext) {
 *   if (ctx.readOnly) return "peeking";
 *   ctx.signal.throwIfAborted();
 *   return ctx.requestId;
 * }
 * ```
 */
export interface ActorContext {
  readonly actorType: string;
  readonly actorId: string;
  readonly kind: TurnKind;
  /** A UUID for calls and `bootstrap`; `"<alarmId>|<dueTimeMs>"` for alarms; `""` in `deactivate`. */
  readonly requestId: string;
  /** True in `peek`: mutations reject with `ReadOnlyError`. */
  readonly readOnly: boolean;
  /** Aborts when the caller aborts, or when the halt grace period ends. */
  readonly signal: AbortSignal;
  /** Aborts as soon as the actor starts halting: finish up. */
  readonly halting: AbortSignal;
  /** Alarms: the 1-based run of this occurrence; otherwise 1. */
  readonly attempt: number;
}

/** Options common to every async call. */
export interface CallOptions {
  /** Aborts the call; the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
}

/** Options of `invoke` and `peek`. */
export interface InvokeOptions extends CallOptions {
  /**
   * Never activate: reject with `ActorNotActiveError` if the actor is not active.
   * @default {false}
   */
  activeOnly?: boolean;
}

/**
 * What a streaming handler receives (API.md §11).
 *
 * @example
 * ```ts
 * import type { StreamRequest } from "./types.ts";
 * async function readAll(request: StreamRequest): Promise<string> {
 *   return await new Response(request.body).text();
 * }
 * console.log(typeof readAll); // function
 * ```
 */
export interface StreamRequest {
  /** The caller's content type; `application/octet-stream` when it gave none. */
  readonly contentType: string;
  /** The request body; empty when the caller sent none. Over `maxRequestBodySizeBytes`, reading it errors. */
  readonly body: ReadableStream<Uint8Array>;
}

/**
 * What a streaming handler returns. A string body defaults to
 * `text/plain; charset=utf-8`, anything else to `application/octet-stream`.
 *
 * @example
 * ```ts
 * import type { StreamResponse } from "./types.ts";
 * const response: StreamResponse = { contentType: "text/csv", body: "a,b\n1,2\n" };
 * console.log(response.contentType); // text/csv
 * ```
 */
export interface StreamResponse {
  contentType?: string;
  body?: ReadableStream<Uint8Array> | Uint8Array | string | null;
}

/**
 * Options of `invokeStream`/`peekStream`: the request's content type
 * (default `application/octet-stream`) and body (default empty).
 *
 * @example
 * ```ts
 * import type { StreamInvokeOptions } from "./types.ts";
 * const options: StreamInvokeOptions = { contentType: "text/plain", body: "hello" };
 * console.log(options.body); // hello
 * ```
 */
export interface StreamInvokeOptions extends InvokeOptions {
  contentType?: string;
  body?: ReadableStream<Uint8Array> | Uint8Array | string;
}

/**
 * The result of a streamed call: read `body` to the end or cancel it, since
 * the actor's turn lasts until then.
 *
 * @example
 * ```ts ignore
 * const result = await service.invokeStream("echo", "e1", "echo", { body: "hello" });
 * console.log(result.contentType, await new Response(result.body).text());
 * ```
 */
export interface StreamResult {
  contentType: string;
  body: ReadableStream<Uint8Array>;
}

/** Options of `setState`. */
export interface SetStateOptions extends CallOptions {
  /** Expire after this many ms (integer ≥ 1); omitted means never (and clears an earlier expiry). */
  ttlMs?: number;
}

/** Options of `listStates`. */
export interface ListStatesOptions extends CallOptions {
  /** Return each entry's value. @default {false} */
  includeData?: boolean;
  /** Start after this actor ID (exclusive). */
  after?: string;
  /** Page size, 1–1000. @default {100} */
  limit?: number;
}

/** Options of `listAllStates`. */
export interface ListAllStatesOptions extends CallOptions {
  /** Return each entry's value. @default {false} */
  includeData?: boolean;
  /** Page size, 1–1000. @default {100} */
  pageSize?: number;
}

/** One entry of a state listing. */
export interface StateEntry<T> {
  actorId: string;
  /** Present only with `includeData`. */
  data?: T;
}

/** One page of a state listing. */
export interface StateList<T> {
  states: StateEntry<T>[];
  hasMore: boolean;
  /** The last ID of this page when `hasMore`, else `undefined`. */
  nextAfter: string | undefined;
}

/** Options of `setAlarm` (API.md §9). */
export interface SetAlarmOptions extends CallOptions {
  /** First due time; default now. A past time fires on the next poll. Exclusive with `delayMs`. */
  dueTime?: Date | number;
  /** First due time as a delay from now (integer ms ≥ 0). Exclusive with `dueTime`. */
  delayMs?: number;
  /** Repeat every interval: ms ≥ 1 or ISO-8601 (`"PT1M"`). Omitted = one-shot. */
  interval?: number | string;
  /** No occurrence is scheduled after this instant; must be after the first due time. */
  ttl?: Date | number;
  /** Data passed to `alarm()`. */
  data?: unknown;
}

/** An alarm as `getAlarm` returns it. */
export interface AlarmInfo {
  actorType: string;
  actorId: string;
  name: string;
  dueTime: Date;
  /** Normalised ISO-8601 form, e.g. `"PT1M"`. */
  interval?: string;
  ttl?: Date;
  data?: unknown;
}

/** Options of `service.client`. */
export interface ActorClientOptions<T> {
  /** Returned (fresh each time) when no state is stored. */
  initialState?: () => T;
  /** Cache state for the activation. Default: true inside this actor's factory or turn, else false. */
  cache?: boolean;
}

/**
 * The cluster-wide service: invoke actors, read and write their state, manage
 * alarms. Available as `host.service` and as the factory's second argument.
 *
 * @example
 * ```ts ignore
 * const n = await host.service.invoke<number>("counter", "c1", "increment");
 * await host.service.setAlarm("counter", "c1", "tick", { delayMs: 1000, interval: "PT1M" });
 * ```
 */
export interface ActorService {
  invoke<R = unknown>(
    actorType: string,
    actorId: string,
    method: string,
    data?: unknown,
    options?: InvokeOptions,
  ): Promise<R>;
  peek<R = unknown>(
    actorType: string,
    actorId: string,
    method: string,
    data?: unknown,
    options?: InvokeOptions,
  ): Promise<R>;
  /**
   * A streamed call (API.md §11): the request body streams to the actor's
   * `invokeStream`, and the promise resolves with the response's content type
   * and body as soon as the handler returns. The actor's exclusive turn lasts
   * until `body` is fully read or cancelled. Never retried.
   */
  invokeStream(
    actorType: string,
    actorId: string,
    method: string,
    options?: StreamInvokeOptions,
  ): Promise<StreamResult>;
  /** `invokeStream` in a shared, read-only turn (the actor's `peekStream`). */
  peekStream(actorType: string, actorId: string, method: string, options?: StreamInvokeOptions): Promise<StreamResult>;

  getState<T = unknown>(actorType: string, actorId: string, options?: CallOptions): Promise<T>;
  setState(actorType: string, actorId: string, state: unknown, options?: SetStateOptions): Promise<void>;
  deleteState(actorType: string, actorId: string, options?: CallOptions): Promise<void>;
  listStates<T = unknown>(actorType: string, options?: ListStatesOptions): Promise<StateList<T>>;
  listAllStates<T = unknown>(actorType: string, options?: ListAllStatesOptions): AsyncIterableIterator<StateEntry<T>>;

  getAlarm(actorType: string, actorId: string, name: string, options?: CallOptions): Promise<AlarmInfo>;
  setAlarm(actorType: string, actorId: string, name: string, alarm: SetAlarmOptions): Promise<void>;
  deleteAlarm(actorType: string, actorId: string, name: string, options?: CallOptions): Promise<void>;

  /** Dispatches a durable job to `actor.job(method, input)` (API.md §10); resolves with its ID. */
  dispatch(
    actorType: string,
    actorId: string,
    method: string,
    input?: unknown,
    options?: DispatchOptions,
  ): Promise<string>;
  /** A live or dead-lettered job; `JobNotFoundError` otherwise. */
  getJob(jobId: string, options?: CallOptions): Promise<JobInfo>;
  /** The actor's live and dead-lettered jobs, by creation time. */
  listJobs(actorType: string, actorId: string, options?: CallOptions): Promise<JobInfo[]>;
  /** Deletes a live job; `JobNotFoundError` if unknown or dead-lettered. */
  cancelJob(jobId: string, options?: CallOptions): Promise<void>;
  /** Re-dispatches a dead-lettered job as a fresh one-shot job; resolves with the new ID. */
  retryJob(jobId: string, options?: CallOptions): Promise<string>;
  /** Deletes a dead-letter record. */
  deleteDeadJob(jobId: string, options?: CallOptions): Promise<void>;

  halt(actorType: string, actorId: string): Promise<void>;
  haltAll(): Promise<void>;

  client<T>(
    actorType: string,
    actorId: string,
    options: ActorClientOptions<T> & { initialState: () => T },
  ): ActorClient<T, T>;
  client<T>(actorType: string, actorId: string, options?: ActorClientOptions<T>): ActorClient<T>;
}

/**
 * A client bound to one actor, normally created in the factory. It caches the
 * state for the whole activation (API.md §7).
 *
 * @example
 * ```ts ignore
 * const self = service.client<{ n: number }>("counter", id, { initialState: () => ({ n: 0 }) });
 * const s = await self.getState(); // a copy
 * s.n++;
 * await self.setState(s);
 * ```
 */
export interface ActorClient<T, S = T | undefined> {
  readonly actorType: string;
  readonly actorId: string;
  getState(options?: CallOptions): Promise<S>;
  setState(state: T, options?: SetStateOptions): Promise<void>;
  deleteState(options?: CallOptions): Promise<void>;
  getAlarm(name: string, options?: CallOptions): Promise<AlarmInfo>;
  setAlarm(name: string, alarm: SetAlarmOptions): Promise<void>;
  deleteAlarm(name: string, options?: CallOptions): Promise<void>;
  /** Dispatches a durable job to this actor (API.md §10); resolves with its ID. */
  dispatch(method: string, input?: unknown, options?: DispatchOptions): Promise<string>;
  /** One of this actor's jobs, live or dead-lettered; `JobNotFoundError` for another actor's job. */
  getJob(jobId: string, options?: CallOptions): Promise<JobInfo>;
  /** This actor's live and dead-lettered jobs, by creation time. */
  listJobs(options?: CallOptions): Promise<JobInfo[]>;
  /** Deletes one of this actor's live jobs; `JobNotFoundError` if unknown, dead-lettered or another actor's. */
  cancelJob(jobId: string, options?: CallOptions): Promise<void>;
  /** Re-dispatches one of this actor's dead-lettered jobs as a fresh one-shot job; resolves with the new ID. */
  retryJob(jobId: string, options?: CallOptions): Promise<string>;
  /** Schedules a halt after the current turn; errors are logged. */
  halt(): void;
}

/** Registration options of an actor type (API.md §12.1). */
export interface RegisterActorOptions {
  /** Deactivate after this long with no turn (integer ≥ 1 or `Infinity`). @default {300000} */
  idleTimeoutMs?: number;
  /** Time limit for `deactivate()` (integer ≥ 1). @default {5000} */
  deactivationTimeoutMs?: number;
  /** Max active actors of this type per host; 0 = unlimited. @default {0} */
  concurrencyLimit?: number;
  /** Runs per alarm occurrence (integer ≥ 1). @default {3} */
  maxAttempts?: number;
  /** Base delay of the retry backoff (integer ≥ 1). @default {2000} */
  initialRetryDelayMs?: number;
  /** Types sharing a `name` share a per-host cap of `limit` concurrent job executions (API.md §12.1). */
  capacityGroup?: { name: string; limit: number };
}

/**
 * Registration options of a singleton actor (API.md §12.1, §13).
 *
 * @example
 * ```ts
 * import type { RegisterSingletonOptions } from "./types.ts";
 * const options: RegisterSingletonOptions = { bootstrapData: { region: "eu" }, idleTimeoutMs: Infinity };
 * ```
 */
export interface RegisterSingletonOptions extends RegisterActorOptions {
  /** Passed to `bootstrap()`; encoded at registration (a `TypeError` if it is not encodable). */
  bootstrapData?: unknown;
}

/**
 * A built-in actor (API.md §21) as `createRateLimit`, `createSignal`… return it.
 * Register it with `host.registerBuiltInActor(b)` on every host that should
 * serve it; call it through `b.service(actorService)` from any host.
 *
 * @example
 * ```ts ignore
 * const api = createRateLimit("api", { rate: 10 });
 * host.registerBuiltInActor(api);
 * console.log(api.kind, api.name); // ratelimit api
 * ```
 */
export interface BuiltInActor {
  readonly kind: "cronjob" | "ratelimit" | "signal" | "taskpool";
  readonly name: string;
}

/**
 * Defaults of {@linkcode RegisterActorOptions}.
 *
 * @example
 * ```ts
 * import { REGISTER_ACTOR_DEFAULTS } from "./types.ts";
 * console.log(REGISTER_ACTOR_DEFAULTS.idleTimeoutMs); // 300000
 * ```
 */
export const REGISTER_ACTOR_DEFAULTS: Readonly<Required<Omit<RegisterActorOptions, "capacityGroup">>> = Object
  .freeze({
    idleTimeoutMs: 300_000,
    deactivationTimeoutMs: 5_000,
    concurrencyLimit: 0,
    maxAttempts: 3,
    initialRetryDelayMs: 2_000,
  });

/** The ID to use when calling a singleton actor. */
export const SINGLETON_ACTOR_ID = "singleton";

/** Minimal structured logger; `console` satisfies it. */
export interface Logger {
  debug(msg: string, attrs?: Record<string, unknown>): void;
  info(msg: string, attrs?: Record<string, unknown>): void;
  warn(msg: string, attrs?: Record<string, unknown>): void;
  error(msg: string, attrs?: Record<string, unknown>): void;
}
