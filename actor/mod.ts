/**
 * The actor authoring API: types for actors, their context, the service and
 * the typed client, plus every error class. No host code is loaded.
 *
 * @example An actor with durable state
 * ```ts
 * import type { ActorContext, ActorService } from "./mod.ts";
 *
 * class Counter {
 *   #state;
 *   constructor(actorId: string, service: ActorService) {
 *     this.#state = service.client<{ n: number }>("counter", actorId, { initialState: () => ({ n: 0 }) });
 *   }
 *   async invoke(method: string, _data: unknown, _ctx: ActorContext) {
 *     const s = await this.#state.getState();
 *     s.n++;
 *     await this.#state.setState(s);
 *     return s;
 *   }
 * }
 * ```
 *
 * @module
 */

export { REGISTER_ACTOR_DEFAULTS, SINGLETON_ACTOR_ID } from "./types.ts";
export type {
  Actor,
  ActorClient,
  ActorClientOptions,
  ActorContext,
  ActorFactory,
  ActorService,
  AlarmInfo,
  BuiltInActor,
  CallOptions,
  DispatchOptions,
  InvokeOptions,
  JobFailure,
  JobInfo,
  JobStatus,
  ListAllStatesOptions,
  ListStatesOptions,
  Logger,
  RegisterActorOptions,
  RegisterSingletonOptions,
  SetAlarmOptions,
  SetStateOptions,
  StateEntry,
  StateList,
  StreamInvokeOptions,
  StreamRequest,
  StreamResponse,
  StreamResult,
  TurnKind,
} from "./types.ts";
export * from "../errors.ts";
