/**
 * The `ActorService` of a host: validates every argument, applies the ambient
 * turn (default signal, call chain, read-only rule), encodes values, and hands
 * the work to the invoker, the provider or the alarm scheduler.
 *
 * Every method is `async`, so validation errors become rejections before any I/O.
 *
 * @module
 */

import type {
  ActorClient,
  ActorClientOptions,
  ActorService,
  AlarmInfo,
  CallOptions,
  DispatchOptions,
  InvokeOptions,
  JobInfo,
  ListAllStatesOptions,
  ListStatesOptions,
  Logger,
  SetAlarmOptions,
  SetStateOptions,
  StateEntry,
  StateList,
  StreamInvokeOptions,
  StreamResult,
} from "../actor/types.ts";
import { currentTurn } from "../_internal/ambient.ts";
import { type Codec, decodePayload, encodePayload } from "../_internal/codec.ts";
import { raceSignal } from "../_internal/delay.ts";
import { checkName } from "../_internal/validate.ts";
import { ActorNotHostedError } from "../errors.ts";
import type { ActorProvider } from "../providers/types.ts";
import { actorKey, type ActorTable } from "./actor_table.ts";
import type { Invoker } from "./invoker.ts";
import { checkMethod, checkTarget } from "./names.ts";
import { BUILTIN_ACCESS, type BuiltInAccess, type BuiltInCallOptions } from "./builtin.ts";
import { alarmInfoFromRecord, resolveAlarm } from "./alarm_options.ts";
import { LocalActorClient } from "./client.ts";
import { LocalJobService } from "./job_service.ts";
import type { StreamInvoker } from "./stream_invoker.ts";
import { beginCall, checkCallTarget, refuseReadOnly, refuseReentrant } from "./call_context.ts";
import { LocalStateService } from "./state_service.ts";

/** What the service needs from its host. */
export interface ServiceDeps {
  running(): boolean;
  codec: Codec;
  provider: ActorProvider;
  invoker: Invoker;
  streams: StreamInvoker;
  table: ActorTable;
  logger: Logger;
  /** Tells the alarm scheduler an alarm was set here, so it can fetch it early. */
  alarmSet(dueTime: number): void;
  /** Tells the job scheduler a job was dispatched here, so it can fetch it early. */
  jobDispatched(dueTime: number): void;
  /** This host's ID: the fencing token of writes an actor makes to its own state. */
  hostId(): string;
}

/**
 * The host's service.
 *
 * @example
 * ```ts ignore
 * await host.service.setState("counter", "c1", { n: 1 }, { ttlMs: 60_000 });
 * ```
 */
export class LocalActorService implements ActorService {
  readonly #d: ServiceDeps;
  /** Calls that may target reserved types, for built-ins only (`host_local/builtin.ts`). */
  readonly [BUILTIN_ACCESS]: BuiltInAccess;

  readonly #jobs: LocalJobService;
  readonly #state: LocalStateService;

  constructor(deps: ServiceDeps) {
    this.#d = deps;
    const jobDeps = {
      running: deps.running,
      codec: deps.codec,
      provider: deps.provider,
      jobDispatched: deps.jobDispatched,
    };
    this.#jobs = new LocalJobService(jobDeps);
    this.#state = new LocalStateService(deps);
    const internalJobs = new LocalJobService({ ...jobDeps, internal: true });
    this[BUILTIN_ACCESS] = Object.freeze({
      codec: deps.codec,
      invoke: <R>(t: string, i: string, m: string, d?: unknown, o?: BuiltInCallOptions) =>
        this.#call<R>("invoke", t, i, m, d, o, true),
      peek: <R>(t: string, i: string, m: string, d?: unknown, o?: BuiltInCallOptions) =>
        this.#call<R>("peek", t, i, m, d, o, true),
      getState: async <T>(t: string, i: string, o?: CallOptions) =>
        this.decode(await this.#state.getStateEncoded(t, i, o, true)) as T,
      setState: async (t: string, i: string, state: unknown, o?: SetStateOptions) => {
        await this.#state.setStateEncoded(t, i, state, o, true);
      },
      deleteState: (t: string, i: string, o?: CallOptions) => this.#state.deleteState(t, i, o, true),
      dispatch: (t: string, i: string, m: string, input?: unknown, o?: DispatchOptions) =>
        internalJobs.dispatch(t, i, m, input, o),
      getJob: (jobId: string, o?: CallOptions) => internalJobs.getJob(jobId, o),
      listJobs: (t: string, i: string, o?: CallOptions) => internalJobs.listJobs(t, i, o),
      cancelJob: (jobId: string, o?: CallOptions) => internalJobs.cancelJob(jobId, o),
      retryJob: (jobId: string, o?: CallOptions) => internalJobs.retryJob(jobId, o),
      deleteDeadJob: (jobId: string, o?: CallOptions) => internalJobs.deleteDeadJob(jobId, o),
      halt: (t: string, i: string) => this.#halt(t, i, true),
    });
  }

  invoke<R = unknown>(type: string, id: string, method: string, data?: unknown, options?: InvokeOptions): Promise<R> {
    return this.#call("invoke", type, id, method, data, options, false);
  }

  peek<R = unknown>(type: string, id: string, method: string, data?: unknown, options?: InvokeOptions): Promise<R> {
    return this.#call("peek", type, id, method, data, options, false);
  }

  invokeStream(type: string, id: string, method: string, options?: StreamInvokeOptions): Promise<StreamResult> {
    return this.#d.streams.call("invokeStream", type, id, method, options);
  }

  peekStream(type: string, id: string, method: string, options?: StreamInvokeOptions): Promise<StreamResult> {
    return this.#d.streams.call("peekStream", type, id, method, options);
  }

  async #call<R>(
    mode: "invoke" | "peek",
    actorType: string,
    actorId: string,
    method: string,
    data: unknown,
    options: (InvokeOptions & BuiltInCallOptions) | undefined,
    internal: boolean,
  ): Promise<R> {
    const action = `${mode} actor`;
    checkCallTarget(action, actorType, actorId, internal);
    if (!internal) checkMethod(action, method);
    const activeOnly = options?.activeOnly ?? false;
    if (typeof activeOnly !== "boolean") throw new TypeError(`Cannot ${action}: activeOnly must be a boolean`);
    const { turn, signal } = beginCall(this.#d.running, action, options);
    const key = actorKey(actorType, actorId);
    refuseReentrant(action, turn, key);
    const bytes = encodePayload(this.#d.codec, data, `${mode} data`);
    signal?.throwIfAborted();
    const result = await raceSignal(
      this.#d.invoker.invoke({
        actorType,
        actorId,
        method,
        mode,
        data: bytes,
        requestId: crypto.randomUUID(),
        chain: turn?.chain ?? [],
        activeOnly,
        signal,
      }),
      signal,
    );
    return decodePayload(this.#d.codec, result) as R;
  }

  /** The logger, for clients. */
  get logger(): Logger {
    return this.#d.logger;
  }

  /** Decodes bytes with the host's codec (used by clients). */
  decode(bytes: Uint8Array): unknown {
    return decodePayload(this.#d.codec, bytes);
  }

  getState<T = unknown>(actorType: string, actorId: string, options?: CallOptions): Promise<T> {
    return this.#state.getState<T>(actorType, actorId, options);
  }

  /** `getState` without decoding (used by clients to cache bytes). */
  getStateEncoded(actorType: string, actorId: string, options?: CallOptions): Promise<Uint8Array> {
    return this.#state.getStateEncoded(actorType, actorId, options, false);
  }

  setState(actorType: string, actorId: string, state: unknown, options?: SetStateOptions): Promise<void> {
    return this.#state.setState(actorType, actorId, state, options);
  }

  /** `setState` that resolves with the stored bytes (used by clients to cache them). */
  setStateEncoded(actorType: string, actorId: string, state: unknown, options?: SetStateOptions): Promise<Uint8Array> {
    return this.#state.setStateEncoded(actorType, actorId, state, options, false);
  }

  deleteState(actorType: string, actorId: string, options?: CallOptions): Promise<void> {
    return this.#state.deleteState(actorType, actorId, options, false);
  }

  listStates<T = unknown>(actorType: string, options?: ListStatesOptions): Promise<StateList<T>> {
    return this.#state.listStates<T>(actorType, options);
  }

  listAllStates<T = unknown>(actorType: string, options?: ListAllStatesOptions): AsyncIterableIterator<StateEntry<T>> {
    return this.#state.listAllStates<T>(actorType, options);
  }

  async getAlarm(actorType: string, actorId: string, name: string, options?: CallOptions): Promise<AlarmInfo> {
    checkTarget("get alarm", actorType, actorId);
    checkName(name, "get alarm", "name");
    const { signal } = beginCall(this.#d.running, "get alarm", options);
    const rec = await raceSignal(this.#d.provider.getAlarm(actorType, actorId, name), signal);
    return alarmInfoFromRecord(rec, this.#d.codec);
  }

  async setAlarm(actorType: string, actorId: string, name: string, alarm: SetAlarmOptions): Promise<void> {
    const action = "set alarm";
    checkTarget(action, actorType, actorId);
    checkName(name, action, "name");
    const props = resolveAlarm(alarm, this.#d.codec, Date.now());
    const { turn, signal } = beginCall(this.#d.running, action, alarm);
    refuseReadOnly(action, turn);
    signal?.throwIfAborted();
    await raceSignal(this.#d.provider.setAlarm(actorType, actorId, name, props), signal);
    this.#d.alarmSet(props.dueTime);
  }

  async deleteAlarm(actorType: string, actorId: string, name: string, options?: CallOptions): Promise<void> {
    checkTarget("delete alarm", actorType, actorId);
    checkName(name, "delete alarm", "name");
    const { turn, signal } = beginCall(this.#d.running, "delete alarm", options);
    refuseReadOnly("delete alarm", turn);
    await raceSignal(this.#d.provider.deleteAlarm(actorType, actorId, name), signal);
  }

  dispatch(
    actorType: string,
    actorId: string,
    method: string,
    input?: unknown,
    options?: DispatchOptions,
  ): Promise<string> {
    return this.#jobs.dispatch(actorType, actorId, method, input, options);
  }

  getJob(jobId: string, options?: CallOptions): Promise<JobInfo> {
    return this.#jobs.getJob(jobId, options);
  }

  listJobs(actorType: string, actorId: string, options?: CallOptions): Promise<JobInfo[]> {
    return this.#jobs.listJobs(actorType, actorId, options);
  }

  cancelJob(jobId: string, options?: CallOptions): Promise<void> {
    return this.#jobs.cancelJob(jobId, options);
  }

  retryJob(jobId: string, options?: CallOptions): Promise<string> {
    return this.#jobs.retryJob(jobId, options);
  }

  deleteDeadJob(jobId: string, options?: CallOptions): Promise<void> {
    return this.#jobs.deleteDeadJob(jobId, options);
  }

  /** `getJob` restricted to one actor's jobs (`ActorClient`): `JobNotFoundError` for another actor's. */
  getOwnJob(actorType: string, actorId: string, jobId: string, options?: CallOptions): Promise<JobInfo> {
    return this.#jobs.getJob(jobId, options, { actorType, actorId });
  }

  /** `cancelJob` restricted to one actor's jobs (`ActorClient`). */
  cancelOwnJob(actorType: string, actorId: string, jobId: string, options?: CallOptions): Promise<void> {
    return this.#jobs.cancelJob(jobId, options, { actorType, actorId });
  }

  /** `retryJob` restricted to one actor's jobs (`ActorClient`). */
  retryOwnJob(actorType: string, actorId: string, jobId: string, options?: CallOptions): Promise<string> {
    return this.#jobs.retryJob(jobId, options, { actorType, actorId });
  }

  halt(actorType: string, actorId: string): Promise<void> {
    return this.#halt(actorType, actorId, false);
  }

  async #halt(actorType: string, actorId: string, internal: boolean): Promise<void> {
    checkCallTarget("halt actor", actorType, actorId, internal);
    const { turn } = beginCall(this.#d.running, "halt actor", undefined);
    const key = actorKey(actorType, actorId);
    const act = this.#d.table.get(key);
    if (act === undefined) throw new ActorNotHostedError(`Cannot halt actor: "${key}" is not active on this host`);
    if (turn !== undefined && turn.actorKey === key) {
      // Inside its own turn: halt once the turn ends (awaiting here would wait for this very turn).
      act.deferredHalt = true;
      return;
    }
    await this.#d.table.halt(act);
  }

  async haltAll(): Promise<void> {
    const { turn } = beginCall(this.#d.running, "halt all actors", undefined);
    await Promise.all(
      this.#d.table.all().map((act) => {
        if (turn === undefined || turn.actorKey !== act.key) return this.#d.table.halt(act);
        act.deferredHalt = true; // the calling actor halts after its turn
      }),
    );
  }

  client<T>(
    actorType: string,
    actorId: string,
    options: ActorClientOptions<T> & { initialState: () => T },
  ): ActorClient<T, T>;
  client<T>(actorType: string, actorId: string, options?: ActorClientOptions<T>): ActorClient<T>;
  client<T>(actorType: string, actorId: string, options?: ActorClientOptions<T>): ActorClient<T, T | undefined> {
    checkTarget("create client", actorType, actorId);
    const turn = currentTurn();
    const inOwnActor = turn !== undefined && turn.actorKey === actorKey(actorType, actorId);
    return new LocalActorClient<T>(this, actorType, actorId, options, inOwnActor);
  }
}
