/**
 * `@francis/core`: durable virtual actors for TypeScript.
 *
 * An actor is a unit of state with single-threaded compute on top, addressed
 * by a type and an ID, activated on demand and processing one call at a time.
 * State and alarms are durable in the host's provider (SQLite, memory).
 *
 * @example Quickstart
 * ```ts
 * import { LocalHost } from "./mod.ts";
 * import { createMemoryProvider } from "./providers/memory/mod.ts";
 *
 * const host = new LocalHost({
 *   address: "127.0.0.1:0",
 *   runtimePsks: ["an example pre-shared key, 32+ bytes long"],
 *   provider: createMemoryProvider(),
 * });
 * host.registerActor("counter", (id, service) => {
 *   const state = service.client<{ n: number }>("counter", id, { initialState: () => ({ n: 0 }) });
 *   return {
 *     async invoke() {
 *       const s = await state.getState();
 *       s.n++;
 *       await state.setState(s);
 *       return s;
 *     },
 *   };
 * });
 * await host.start();
 * console.log(await host.service.invoke("counter", "c1", "increment")); // { n: 1 }
 * await host.stop();
 * ```
 *
 * @module
 */

export { LOCAL_HOST_DEFAULTS, LocalHost } from "./host_local/mod.ts";
export { REMOTE_HOST_DEFAULTS, RemoteHost } from "./host_remote/mod.ts";
export type { HostBootstrap, RemoteHostOptions } from "./host_remote/mod.ts";
export { REGISTER_ACTOR_DEFAULTS, SINGLETON_ACTOR_ID } from "./actor/types.ts";
export { jsonCodec, MAX_PAYLOAD_BYTES } from "./_internal/codec.ts";
export { generatePsk } from "./_internal/psk.ts";
export * from "./errors.ts";
export type { HostState, LocalHostOptions } from "./host_local/mod.ts";
export type { Codec } from "./_internal/codec.ts";
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
} from "./actor/types.ts";
export type {
  ActorPlacement,
  ActorProvider,
  ActorTypeRegistration,
  AlarmLease,
  AlarmProperties,
  AlarmRecord,
  CleanupRequest,
  CleanupResult,
  Clock,
  FetchAlarmsRequest,
  HostRecord,
  ListStatesRequest,
  LookupActorRequest,
  RegisterHostRequest,
  RenewLeasesRequest,
  SetStateRequest,
  StatePage,
} from "./providers/types.ts";
