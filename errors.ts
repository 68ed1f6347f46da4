/**
 * Error classes of `@francis/core`.
 *
 * Misuse (a wrong argument or option) throws the built-in `TypeError` or
 * `RangeError`. Conditions a caller may handle are {@linkcode FrancisError}
 * subclasses, each with a stable snake_case {@linkcode ErrorCode}. The code is
 * the wire contract: errors that cross a host boundary are rebuilt from it.
 *
 * @example Telling a missing value apart from a failure
 * ```ts
 * import { isFrancisError, StateNotFoundError } from "./errors.ts";
 *
 * const err: unknown = new StateNotFoundError("State of \"counter/c1\" not found");
 * if (isFrancisError(err, "state_not_found")) console.log("no state yet");
 * ```
 *
 * @module
 */

/** The brand that marks every Francis error, shared by every copy of the package. */
const BRAND: unique symbol = Symbol.for("@francis/core/error") as never;

/** Every stable error code (API.md §27). */
export type ErrorCode =
  | "state_not_found"
  | "alarm_not_found"
  | "job_not_found"
  | "actor_not_hosted"
  | "actor_not_active"
  | "actor_halted"
  | "actor_type_unsupported"
  | "actor_type_reserved"
  | "method_reserved"
  | "invoke_mode_unsupported"
  | "invoke_failed"
  | "activation_failed"
  | "reentrant_call"
  | "read_only"
  | "job_permanent_failure"
  | "job_rejected"
  | "no_host"
  | "payload_too_large"
  | "decode_failed"
  | "retry_later"
  | "overloaded"
  | "host_draining"
  | "host_mismatch"
  | "transport_failure"
  | "deadline_exceeded"
  | "host_not_running"
  | "runtime_unavailable"
  | "host_already_registered"
  | "host_unregistered"
  | "health_check_failed"
  | "cluster_full"
  | "cluster_locked"
  | "max_hosts_mismatch"
  | "hosts_connected"
  | "exclusive_held"
  | "unauthorized"
  | "protocol_version"
  | "provider_error"
  | "config_invalid"
  | "backup_invalid"
  | "signal_already_completed"
  | "signal_payload_too_large"
  | "placement_lost"
  | "internal";

/** Options accepted by every {@linkcode FrancisError} constructor. */
export interface FrancisErrorOptions extends ErrorOptions {
  /** A hint, in milliseconds, for how long to wait before retrying. */
  retryAfterMs?: number;
}

/**
 * The base class of every error a caller may handle. Prefer
 * {@linkcode isFrancisError} over `instanceof`: it also recognises errors from
 * another copy of the package.
 *
 * @example
 * ```ts
 * import { FrancisError, NoHostError } from "./errors.ts";
 *
 * const e = new NoHostError("Cannot place actor: every host is at its limit");
 * console.log(e instanceof FrancisError, e.code, e.retryable); // true "no_host" false
 * ```
 */
export class FrancisError extends Error {
  /** The stable snake_case code of this condition. */
  readonly code: ErrorCode = "internal";
  /** Whether retrying the same call later may succeed. */
  readonly retryable: boolean = false;
  /** A hint, in milliseconds, for how long to wait before retrying. */
  readonly retryAfterMs?: number;
  /** Brand checked by {@linkcode isFrancisError}. */
  readonly [BRAND] = true;

  /**
   * @param message Human-readable description.
   * @param options `cause` and an optional `retryAfterMs` hint.
   */
  constructor(message?: string, options?: FrancisErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    if (options?.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * Whether `err` is a Francis error, optionally with the given code. Works across
 * copies of the package and for errors rebuilt after crossing hosts. It does
 * not walk `cause`.
 *
 * @param err Any thrown value.
 * @param code When given, the error must also have this code.
 * @returns `true` when `err` carries the Francis brand (and the code).
 *
 * @example
 * ```ts
 * import { isFrancisError, AlarmNotFoundError } from "./errors.ts";
 * console.log(isFrancisError(new AlarmNotFoundError(), "alarm_not_found")); // true
 * console.log(isFrancisError(new Error("x"))); // false
 * ```
 */
export function isFrancisError(err: unknown, code?: ErrorCode): err is FrancisError {
  if (typeof err !== "object" || err === null) return false;
  if ((err as Record<symbol, unknown>)[BRAND] !== true) return false;
  return code === undefined || (err as FrancisError).code === code;
}

/** `getState`/`deleteState` on absent or expired state. */
export class StateNotFoundError extends FrancisError {
  override readonly code: "state_not_found" = "state_not_found";
}
/** `getAlarm`/`deleteAlarm` on an unknown alarm. */
export class AlarmNotFoundError extends FrancisError {
  override readonly code: "alarm_not_found" = "alarm_not_found";
}
/** An unknown job ID, or a job outside the caller's scope. */
export class JobNotFoundError extends FrancisError {
  override readonly code: "job_not_found" = "job_not_found";
}
/** `halt` on an actor that is not active on this host; a placement that moved. */
export class ActorNotHostedError extends FrancisError {
  override readonly code: "actor_not_hosted" = "actor_not_hosted";
}
/** An `activeOnly` call to an actor that is not active. */
export class ActorNotActiveError extends FrancisError {
  override readonly code: "actor_not_active" = "actor_not_active";
}
/** A call met a halting actor (also the reason of `ctx.signal` after the grace period). */
export class ActorHaltedError extends FrancisError {
  override readonly code: "actor_halted" = "actor_halted";
  override readonly retryable: boolean = true;
}
/** No healthy host registered the actor type. */
export class ActorTypeUnsupportedError extends FrancisError {
  override readonly code: "actor_type_unsupported" = "actor_type_unsupported";
}
/** The public API targeted a reserved `francis.builtin.*` type. */
export class ActorTypeReservedError extends FrancisError {
  override readonly code: "actor_type_reserved" = "actor_type_reserved";
}
/** The public API used a reserved `francis.builtin.*` method. */
export class MethodReservedError extends FrancisError {
  override readonly code: "method_reserved" = "method_reserved";
}
/** The actor lacks the handler for this call mode (`invoke`, `peek`, …). */
export class InvokeModeUnsupportedError extends FrancisError {
  override readonly code: "invoke_mode_unsupported" = "invoke_mode_unsupported";
}
/** The actor factory threw or rejected. */
export class ActivationFailedError extends FrancisError {
  override readonly code: "activation_failed" = "activation_failed";
}
/** The call target is already waiting in the caller's call chain. */
export class ReentrantCallError extends FrancisError {
  override readonly code: "reentrant_call" = "reentrant_call";
}
/** A mutation was attempted inside a read-only turn. */
export class ReadOnlyError extends FrancisError {
  override readonly code: "read_only" = "read_only";
}
/** Thrown by `job()`: dead-letter this job now. */
export class JobPermanentFailureError extends FrancisError {
  override readonly code: "job_permanent_failure" = "job_permanent_failure";
}
/** Thrown by `job()`: decline this job so that another host can take it. */
export class JobRejectedError extends FrancisError {
  override readonly code: "job_rejected" = "job_rejected";
}
/** Every host serving the actor type is at its `concurrencyLimit`. */
export class NoHostError extends FrancisError {
  override readonly code: "no_host" = "no_host";
}
/** A result or stream body over its size limit. */
export class PayloadTooLargeError extends FrancisError {
  override readonly code: "payload_too_large" = "payload_too_large";
}
/** Stored or received bytes that the codec cannot decode. */
export class DecodeError extends FrancisError {
  override readonly code: "decode_failed" = "decode_failed";
}
/** The target host was unreachable and the request was not delivered. */
export class RetryLaterError extends FrancisError {
  override readonly code: "retry_later" = "retry_later";
  override readonly retryable: boolean = true;
}
/** The target host is over `maxInFlightRequests`. */
export class OverloadedError extends FrancisError {
  override readonly code: "overloaded" = "overloaded";
  override readonly retryable: boolean = true;
  /**
   * @param message Human-readable description.
   * @param options `cause`; `retryAfterMs` defaults to 100.
   */
  constructor(message?: string, options?: FrancisErrorOptions) {
    super(message, { retryAfterMs: 100, ...options });
  }
}
/** The target host is stopping. */
export class HostDrainingError extends FrancisError {
  override readonly code: "host_draining" = "host_draining";
  override readonly retryable: boolean = true;
  /**
   * @param message Human-readable description.
   * @param options `cause`; `retryAfterMs` defaults to 500.
   */
  constructor(message?: string, options?: FrancisErrorOptions) {
    super(message, { retryAfterMs: 500, ...options });
  }
}
/** The peer presented another host identity (stale placement). */
export class HostMismatchError extends FrancisError {
  override readonly code: "host_mismatch" = "host_mismatch";
  override readonly retryable: boolean = true;
}
/** The connection was lost after delivery; the outcome is unknown. */
export class TransportError extends FrancisError {
  override readonly code: "transport_failure" = "transport_failure";
}
/** A framework deadline elapsed. */
export class DeadlineExceededError extends FrancisError {
  override readonly code: "deadline_exceeded" = "deadline_exceeded";
}
/** The service was used before `start()` resolved or after `stop()`. */
export class HostNotRunningError extends FrancisError {
  override readonly code: "host_not_running" = "host_not_running";
}
/** A remote host had no runtime session for `requestTimeoutMs`. */
export class RuntimeUnavailableError extends FrancisError {
  override readonly code: "runtime_unavailable" = "runtime_unavailable";
  override readonly retryable: boolean = true;
}
/** `start()`: another healthy host has the same advertise address. */
export class HostAlreadyRegisteredError extends FrancisError {
  override readonly code: "host_already_registered" = "host_already_registered";
}
/** The host's registration vanished. */
export class HostUnregisteredError extends FrancisError {
  override readonly code: "host_unregistered" = "host_unregistered";
}
/** A local host exhausted a health-check sequence. */
export class HealthCheckFailedError extends FrancisError {
  override readonly code: "health_check_failed" = "health_check_failed";
}
/** `start()` with `maxHosts` healthy hosts already present. */
export class ClusterFullError extends FrancisError {
  override readonly code: "cluster_full" = "cluster_full";
}
/** `start()` while an exclusive lease is held. */
export class ClusterLockedError extends FrancisError {
  override readonly code: "cluster_locked" = "cluster_locked";
}
/** `start()` with a `maxHosts` that differs from the live cluster's. */
export class MaxHostsMismatchError extends FrancisError {
  override readonly code: "max_hosts_mismatch" = "max_hosts_mismatch";
}
/** `restore` or `acquireExclusive` without `force` while hosts are healthy. */
export class HostsConnectedError extends FrancisError {
  override readonly code: "hosts_connected" = "hosts_connected";
}
/** Another admin holds the exclusive lease. */
export class ExclusiveHeldError extends FrancisError {
  override readonly code: "exclusive_held" = "exclusive_held";
}
/** Bootstrap or mTLS was rejected. */
export class UnauthorizedError extends FrancisError {
  override readonly code: "unauthorized" = "unauthorized";
}
/** Incompatible protocol version between a host and the runtime. */
export class ProtocolVersionError extends FrancisError {
  override readonly code: "protocol_version" = "protocol_version";
}
/** A store operation failed (`cause` is the driver error), or the schema is too new. */
export class ProviderError extends FrancisError {
  override readonly code: "provider_error" = "provider_error";
}
/** Not a francis backup stream, or an unsupported version. */
export class BackupFormatError extends FrancisError {
  override readonly code: "backup_invalid" = "backup_invalid";
}
/** `complete` on a completed signal. */
export class SignalAlreadyCompletedError extends FrancisError {
  override readonly code: "signal_already_completed" = "signal_already_completed";
}
/** A signal payload over `maxPayloadBytes`. */
export class SignalPayloadTooLargeError extends FrancisError {
  override readonly code: "signal_payload_too_large" = "signal_payload_too_large";
}
/**
 * A state write from an actor's own turn was refused because the actor's
 * placement has moved to another host (this activation is stale: its host was
 * declared dead or evicted). The stored value is unchanged. Added to API.md:
 * fencing keeps a late write of a zombie activation from overwriting newer state.
 */
export class PlacementLostError extends FrancisError {
  override readonly code: "placement_lost" = "placement_lost";
}
/** An unexpected failure (a bug). */
export class InternalError extends FrancisError {
  override readonly code: "internal" = "internal";
}

/** Fields of an {@linkcode InvokeFailedError}. */
export interface InvokeFailedDetails {
  actorType: string;
  actorId: string;
  actorErrorName: string;
  actorErrorCode?: string;
}

/**
 * An actor handler threw. The message is `Actor "<type>/<id>" failed: <message>`.
 *
 * @example
 * ```ts
 * import { InvokeFailedError } from "./errors.ts";
 * const e = new InvokeFailedError("boom", { actorType: "t", actorId: "a", actorErrorName: "Error" });
 * console.log(e.message); // Actor "t/a" failed: boom
 * ```
 */
export class InvokeFailedError extends FrancisError {
  override readonly code: "invoke_failed" = "invoke_failed";
  /** The actor type whose handler failed. */
  readonly actorType: string;
  /** The actor ID whose handler failed. */
  readonly actorId: string;
  /** `name` of the thrown value (e.g. `"Error"`, `"TypeError"`). */
  readonly actorErrorName: string;
  /** The thrown value's string `code`, when it has one. */
  readonly actorErrorCode?: string;

  /**
   * @param actorMessage The message of the value the handler threw.
   * @param details Which actor failed and how.
   * @param options `cause`: the original value, only when it ran in this process.
   */
  constructor(actorMessage: string, details: InvokeFailedDetails, options?: ErrorOptions) {
    super(`Actor "${details.actorType}/${details.actorId}" failed: ${actorMessage}`, options);
    this.actorType = details.actorType;
    this.actorId = details.actorId;
    this.actorErrorName = details.actorErrorName;
    if (details.actorErrorCode !== undefined) this.actorErrorCode = details.actorErrorCode;
  }
}

/**
 * Invalid runtime configuration; `path` names the key and `source` where it came from.
 *
 * @example
 * ```ts
 * import { ConfigError } from "./errors.ts";
 * const e = new ConfigError("Cannot load config: bind is invalid", { path: "bind", source: "file" });
 * console.log(e.code, e.path); // config_invalid bind
 * ```
 */
export class ConfigError extends FrancisError {
  override readonly code: "config_invalid" = "config_invalid";
  /** Dotted key path of the bad value. */
  readonly path: string;
  /** Where the bad value came from. */
  readonly source: "flag" | "file" | "env";
  /**
   * @param message Description in the `Cannot …` form.
   * @param details The key path and its source.
   * @param options `cause`.
   */
  constructor(message: string, details: { path: string; source: "flag" | "file" | "env" }, options?: ErrorOptions) {
    super(message, options);
    this.path = details.path;
    this.source = details.source;
  }
}
