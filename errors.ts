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

/**
 * Declares one error class with a fixed code and retryable flag.
 * Kept private: the exported classes below are the public surface.
 */
function defineError<C extends ErrorCode>(code: C, retryable: boolean, defaultRetryAfterMs?: number) {
  return class extends FrancisError {
    override readonly code: C = code;
    override readonly retryable: boolean = retryable;
    constructor(message?: string, options?: FrancisErrorOptions) {
      super(
        message,
        defaultRetryAfterMs === undefined || options?.retryAfterMs !== undefined
          ? options
          : { ...options, retryAfterMs: defaultRetryAfterMs },
      );
    }
  };
}

/** `getState`/`deleteState` on absent or expired state. */
export class StateNotFoundError extends defineError("state_not_found", false) {}
/** `getAlarm`/`deleteAlarm` on an unknown alarm. */
export class AlarmNotFoundError extends defineError("alarm_not_found", false) {}
/** An unknown job ID, or a job outside the caller's scope. */
export class JobNotFoundError extends defineError("job_not_found", false) {}
/** `halt` on an actor that is not active on this host; a placement that moved. */
export class ActorNotHostedError extends defineError("actor_not_hosted", false) {}
/** An `activeOnly` call to an actor that is not active. */
export class ActorNotActiveError extends defineError("actor_not_active", false) {}
/** A call met a halting actor (also the reason of `ctx.signal` after the grace period). */
export class ActorHaltedError extends defineError("actor_halted", true) {}
/** No healthy host registered the actor type. */
export class ActorTypeUnsupportedError extends defineError("actor_type_unsupported", false) {}
/** The public API targeted a reserved `francis.builtin.*` type. */
export class ActorTypeReservedError extends defineError("actor_type_reserved", false) {}
/** The public API used a reserved `francis.builtin.*` method. */
export class MethodReservedError extends defineError("method_reserved", false) {}
/** The actor lacks the handler for this call mode (`invoke`, `peek`, …). */
export class InvokeModeUnsupportedError extends defineError("invoke_mode_unsupported", false) {}
/** The actor factory threw or rejected. */
export class ActivationFailedError extends defineError("activation_failed", false) {}
/** The call target is already waiting in the caller's call chain. */
export class ReentrantCallError extends defineError("reentrant_call", false) {}
/** A mutation was attempted inside a read-only turn. */
export class ReadOnlyError extends defineError("read_only", false) {}
/** Thrown by `job()`: dead-letter this job now. */
export class JobPermanentFailureError extends defineError("job_permanent_failure", false) {}
/** Thrown by `job()`: decline this job so that another host can take it. */
export class JobRejectedError extends defineError("job_rejected", false) {}
/** Every host serving the actor type is at its `concurrencyLimit`. */
export class NoHostError extends defineError("no_host", false) {}
/** A result or stream body over its size limit. */
export class PayloadTooLargeError extends defineError("payload_too_large", false) {}
/** Stored or received bytes that the codec cannot decode. */
export class DecodeError extends defineError("decode_failed", false) {}
/** The target host was unreachable and the request was not delivered. */
export class RetryLaterError extends defineError("retry_later", true) {}
/** The target host is over `maxInFlightRequests`. */
export class OverloadedError extends defineError("overloaded", true, 100) {}
/** The target host is stopping. */
export class HostDrainingError extends defineError("host_draining", true, 500) {}
/** The peer presented another host identity (stale placement). */
export class HostMismatchError extends defineError("host_mismatch", true) {}
/** The connection was lost after delivery; the outcome is unknown. */
export class TransportError extends defineError("transport_failure", false) {}
/** A framework deadline elapsed. */
export class DeadlineExceededError extends defineError("deadline_exceeded", false) {}
/** The service was used before `start()` resolved or after `stop()`. */
export class HostNotRunningError extends defineError("host_not_running", false) {}
/** A remote host had no runtime session for `requestTimeoutMs`. */
export class RuntimeUnavailableError extends defineError("runtime_unavailable", true) {}
/** `start()`: another healthy host has the same advertise address. */
export class HostAlreadyRegisteredError extends defineError("host_already_registered", false) {}
/** The host's registration vanished. */
export class HostUnregisteredError extends defineError("host_unregistered", false) {}
/** A local host exhausted a health-check sequence. */
export class HealthCheckFailedError extends defineError("health_check_failed", false) {}
/** `start()` with `maxHosts` healthy hosts already present. */
export class ClusterFullError extends defineError("cluster_full", false) {}
/** `start()` while an exclusive lease is held. */
export class ClusterLockedError extends defineError("cluster_locked", false) {}
/** `start()` with a `maxHosts` that differs from the live cluster's. */
export class MaxHostsMismatchError extends defineError("max_hosts_mismatch", false) {}
/** `restore` or `acquireExclusive` without `force` while hosts are healthy. */
export class HostsConnectedError extends defineError("hosts_connected", false) {}
/** Another admin holds the exclusive lease. */
export class ExclusiveHeldError extends defineError("exclusive_held", false) {}
/** Bootstrap or mTLS was rejected. */
export class UnauthorizedError extends defineError("unauthorized", false) {}
/** Incompatible protocol version between a host and the runtime. */
export class ProtocolVersionError extends defineError("protocol_version", false) {}
/** A store operation failed (`cause` is the driver error), or the schema is too new. */
export class ProviderError extends defineError("provider_error", false) {}
/** Not a francis backup stream, or an unsupported version. */
export class BackupFormatError extends defineError("backup_invalid", false) {}
/** `complete` on a completed signal. */
export class SignalAlreadyCompletedError extends defineError("signal_already_completed", false) {}
/** A signal payload over `maxPayloadBytes`. */
export class SignalPayloadTooLargeError extends defineError("signal_payload_too_large", false) {}
/** An unexpected failure (a bug). */
export class InternalError extends defineError("internal", false) {}

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
