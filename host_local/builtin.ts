/**
 * The internal contract between hosts and built-in actors (API.md §21).
 *
 * - A built-in carries its registrations under {@linkcode BUILTIN_SPEC}; a
 *   host's `registerBuiltInActor` reads them and registers the reserved
 *   `francis.builtin.<kind>.<name>` types, bypassing the public reserved-type
 *   check (never the duplicate check).
 * - A host's service exposes {@linkcode BUILTIN_ACCESS}: the same calls as the
 *   public service, but allowed to target reserved types. Neither symbol is
 *   exported from a package entry point, so every public service and client
 *   method keeps rejecting `francis.builtin.*` types (C-91).
 *
 * This module loads no host code: built-in modules import it.
 *
 * @module
 */

import type {
  ActorFactory,
  ActorService,
  BuiltInActor,
  CallOptions,
  DispatchOptions,
  JobInfo,
  RegisterActorOptions,
  SetStateOptions,
} from "../actor/types.ts";
import { type Codec, encodePayload } from "../_internal/codec.ts";
import { checkName } from "../_internal/validate.ts";
import { HostNotRunningError } from "../errors.ts";
import type { ActorRegistry } from "./registry.ts";

/** The reserved method a host invokes to run a singleton's `bootstrap` (API.md §13). */
export const BOOTSTRAP_METHOD = "francis.builtin.bootstrap";
/** Key of a built-in's {@linkcode BuiltInSpec}. */
export const BUILTIN_SPEC: unique symbol = Symbol("francis.builtin.spec");
/** Key of a host service's {@linkcode BuiltInAccess}. */
export const BUILTIN_ACCESS: unique symbol = Symbol("francis.builtin.access");

const KINDS = new Set(["cronjob", "ratelimit", "signal", "taskpool"]);

/** One actor type a built-in registers. */
export interface BuiltInRegistration {
  actorType: string;
  factory: ActorFactory;
  options?: RegisterActorOptions;
  /** Registers a singleton (bootstrapped after start) with this data. */
  singleton?: { bootstrapData?: unknown };
}

/** What a host reads from a built-in. */
export interface BuiltInSpec {
  readonly registrations: readonly BuiltInRegistration[];
}

/** Options of internal calls. */
export interface BuiltInCallOptions extends CallOptions {
  /** Ignore the ambient turn: no default signal, no call chain, no read-only rule. */
  detached?: boolean;
}

/**
 * The service calls a built-in makes on its own reserved types. Names are
 * validated (§1.4) but reserved types and methods are allowed, and writes
 * skip the read-only rule (a built-in actor may write its own state from a
 * shared turn).
 */
export interface BuiltInAccess {
  readonly codec: Codec;
  invoke<R>(type: string, id: string, method: string, data?: unknown, o?: BuiltInCallOptions): Promise<R>;
  peek<R>(type: string, id: string, method: string, data?: unknown, o?: BuiltInCallOptions): Promise<R>;
  getState<T>(type: string, id: string, o?: CallOptions): Promise<T>;
  setState(type: string, id: string, state: unknown, o?: SetStateOptions): Promise<void>;
  deleteState(type: string, id: string, o?: CallOptions): Promise<void>;
  /** The job methods of the service (API.md §10), on any type, reserved ones included. */
  dispatch(type: string, id: string, method: string, input?: unknown, o?: DispatchOptions): Promise<string>;
  getJob(jobId: string, o?: CallOptions): Promise<JobInfo>;
  listJobs(type: string, id: string, o?: CallOptions): Promise<JobInfo[]>;
  cancelJob(jobId: string, o?: CallOptions): Promise<void>;
  retryJob(jobId: string, o?: CallOptions): Promise<string>;
  deleteDeadJob(jobId: string, o?: CallOptions): Promise<void>;
  /** Halts a local activation, as the service's `halt` (from the actor's own turn: once the turn ends). */
  halt(type: string, id: string): Promise<void>;
}

/**
 * The reserved type of a built-in: `francis.builtin.<kind>.<name>`, with an
 * optional `.<part>` for built-ins with several types.
 *
 * @example
 * ```ts
 * import { builtInType } from "./builtin.ts";
 * console.log(builtInType("signal", "deploys")); // francis.builtin.signal.deploys
 * ```
 */
export function builtInType(kind: BuiltInActor["kind"], name: string, part?: string): string {
  return `francis.builtin.${kind}.${name}${part === undefined ? "" : `.${part}`}`;
}

/**
 * The internal access of `service`, a host's service (`host.service` or a
 * factory's argument, of a `LocalHost` or a `RemoteHost`).
 *
 * @example
 * ```ts ignore
 * const access = builtInAccess(host.service, "use rate limit");
 * ```
 */
export function builtInAccess(service: ActorService, action: string): BuiltInAccess {
  const access = (service as unknown as { [BUILTIN_ACCESS]?: BuiltInAccess } | null)?.[BUILTIN_ACCESS];
  if (typeof access !== "object" || access === null) {
    throw new TypeError(`Cannot ${action}: the service is not the service of a Francis host`);
  }
  return access;
}

/**
 * Validates `builtIn` and registers its types on `registry` (both hosts use
 * this). `TypeError` if it is not a built-in or the same kind and name is
 * already registered; `bootstrapData` is encoded with `codec`.
 *
 * @example
 * ```ts ignore
 * registerBuiltIn(registry, createRateLimit("api", { rate: 10 }), jsonCodec);
 * ```
 */
export function registerBuiltIn(registry: ActorRegistry, builtIn: BuiltInActor, codec: Codec): void {
  const action = "register built-in actor";
  const b = builtIn as BuiltInActor & { [BUILTIN_SPEC]?: BuiltInSpec } | null;
  const spec = typeof b === "object" && b !== null ? b[BUILTIN_SPEC] : undefined;
  if (spec === undefined || !KINDS.has(b!.kind)) {
    throw new TypeError(`Cannot ${action}: the argument is not a built-in actor (use createRateLimit, createSignal…)`);
  }
  checkName(b!.name, action, "name");
  const entries = spec.registrations.map((r) => ({
    ...r,
    bootstrapData: r.singleton === undefined
      ? undefined
      : encodePayload(codec, r.singleton.bootstrapData, "bootstrap data"),
  }));
  registry.claimBuiltIn(b!.kind, b!.name);
  for (const r of entries) {
    registry.register(r.actorType, r.factory, r.options, { reserved: true, bootstrapData: r.bootstrapData });
  }
}

/**
 * An access that forwards to the current host's access, or rejects with
 * `HostNotRunningError` while there is none (the `RemoteHost` service proxy).
 *
 * @example
 * ```ts ignore
 * const access = delegatingAccess(jsonCodec, () => inner?.service);
 * ```
 */
export function delegatingAccess(codec: Codec, current: () => ActorService | undefined): BuiltInAccess {
  const target = (what: string): BuiltInAccess => {
    const service = current();
    if (service === undefined) throw new HostNotRunningError(`Cannot ${what}: the host is not running`);
    return builtInAccess(service, what);
  };
  return {
    codec,
    invoke: async (...a) => await target("invoke actor").invoke(...a),
    peek: async (...a) => await target("peek actor").peek(...a),
    getState: async (...a) => await target("get state").getState(...a),
    setState: async (...a) => await target("set state").setState(...a),
    deleteState: async (...a) => await target("delete state").deleteState(...a),
    dispatch: async (...a) => await target("dispatch job").dispatch(...a),
    getJob: async (...a) => await target("get job").getJob(...a),
    listJobs: async (...a) => await target("list jobs").listJobs(...a),
    cancelJob: async (...a) => await target("cancel job").cancelJob(...a),
    retryJob: async (...a) => await target("retry job").retryJob(...a),
    deleteDeadJob: async (...a) => await target("delete dead job").deleteDeadJob(...a),
    halt: async (...a) => await target("halt actor").halt(...a),
  };
}
