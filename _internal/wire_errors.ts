/**
 * Francis errors on the wire: {@linkcode errorToWire} flattens any thrown
 * value into a {@linkcode WireError}, and {@linkcode errorFromWire} rebuilds
 * the exact class from its `code`, validating data that came off the wire
 * strictly (garbage becomes `InternalError`, never a crash).
 *
 * @module
 */

import * as e from "../errors.ts";
import type { ErrorCode, FrancisError, FrancisErrorOptions } from "../errors.ts";
import { errorMessage } from "./logger.ts";

/** The plain, JSON-safe form of an error crossing a host boundary. */
export interface WireError {
  /** The stable error code (an {@linkcode ErrorCode} when it came from a Francis error). */
  code: string;
  /** The error message. */
  message: string;
  /** The retry hint, when the error had one. */
  retryAfterMs?: number;
  /** `InvokeFailedError` fields. */
  actorType?: string;
  actorId?: string;
  actorErrorName?: string;
  actorErrorCode?: string;
  /** `ConfigError` fields. */
  path?: string;
  source?: "flag" | "file" | "env";
}

/** Longest message carried (longer ones are cut on the way out, rejected on the way in). */
export const MAX_WIRE_MESSAGE_CHARS = 16_384;
/** Longest value of any other string field. */
export const MAX_WIRE_FIELD_CHARS = 4_096;
const MAX_RETRY_AFTER_MS = 2_147_483_647;

type Make = (message: string, o: FrancisErrorOptions, w: WireError) => FrancisError;
const simple = (C: new (message?: string, options?: FrancisErrorOptions) => FrancisError): Make => (m, o) =>
  new C(m, o);

/** Every code and how to rebuild it; `Record<ErrorCode, …>` makes a missing code a type error. */
const MAKERS: Record<ErrorCode, Make> = {
  state_not_found: simple(e.StateNotFoundError),
  alarm_not_found: simple(e.AlarmNotFoundError),
  job_not_found: simple(e.JobNotFoundError),
  actor_not_hosted: simple(e.ActorNotHostedError),
  actor_not_active: simple(e.ActorNotActiveError),
  actor_halted: simple(e.ActorHaltedError),
  actor_type_unsupported: simple(e.ActorTypeUnsupportedError),
  actor_type_reserved: simple(e.ActorTypeReservedError),
  method_reserved: simple(e.MethodReservedError),
  invoke_mode_unsupported: simple(e.InvokeModeUnsupportedError),
  invoke_failed: (m, _o, w) => {
    const err = new e.InvokeFailedError(m, {
      actorType: w.actorType ?? "",
      actorId: w.actorId ?? "",
      actorErrorName: w.actorErrorName ?? "Error",
      ...(w.actorErrorCode !== undefined ? { actorErrorCode: w.actorErrorCode } : {}),
    });
    err.message = m; // the wire carries the full message, prefix included
    if (w.retryAfterMs !== undefined) (err as { retryAfterMs?: number }).retryAfterMs = w.retryAfterMs;
    return err;
  },
  activation_failed: simple(e.ActivationFailedError),
  reentrant_call: simple(e.ReentrantCallError),
  read_only: simple(e.ReadOnlyError),
  job_permanent_failure: simple(e.JobPermanentFailureError),
  job_rejected: simple(e.JobRejectedError),
  no_host: simple(e.NoHostError),
  payload_too_large: simple(e.PayloadTooLargeError),
  decode_failed: simple(e.DecodeError),
  retry_later: simple(e.RetryLaterError),
  overloaded: simple(e.OverloadedError),
  host_draining: simple(e.HostDrainingError),
  host_mismatch: simple(e.HostMismatchError),
  transport_failure: simple(e.TransportError),
  deadline_exceeded: simple(e.DeadlineExceededError),
  host_not_running: simple(e.HostNotRunningError),
  runtime_unavailable: simple(e.RuntimeUnavailableError),
  host_already_registered: simple(e.HostAlreadyRegisteredError),
  host_unregistered: simple(e.HostUnregisteredError),
  health_check_failed: simple(e.HealthCheckFailedError),
  cluster_full: simple(e.ClusterFullError),
  cluster_locked: simple(e.ClusterLockedError),
  max_hosts_mismatch: simple(e.MaxHostsMismatchError),
  hosts_connected: simple(e.HostsConnectedError),
  exclusive_held: simple(e.ExclusiveHeldError),
  unauthorized: simple(e.UnauthorizedError),
  protocol_version: simple(e.ProtocolVersionError),
  provider_error: simple(e.ProviderError),
  config_invalid: (m, o, w) => {
    const err = new e.ConfigError(m, { path: w.path ?? "", source: w.source ?? "file" });
    if (o.retryAfterMs !== undefined) (err as { retryAfterMs?: number }).retryAfterMs = o.retryAfterMs;
    return err;
  },
  backup_invalid: simple(e.BackupFormatError),
  signal_already_completed: simple(e.SignalAlreadyCompletedError),
  signal_payload_too_large: simple(e.SignalPayloadTooLargeError),
  placement_lost: simple(e.PlacementLostError),
  internal: simple(e.InternalError),
};

function safeMessage(err: unknown): string {
  try {
    return errorMessage(err);
  } catch {
    return "unprintable thrown value";
  }
}

function cut(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 3)}...` : s;
}

/**
 * Flattens a thrown value for the wire: a Francis error keeps its code,
 * message, `retryAfterMs` and class fields; anything else becomes `internal`
 * with its message. Over-long strings are shortened.
 *
 * @param err Any thrown value.
 * @returns The JSON-safe form.
 *
 * @example
 * ```ts
 * import { errorToWire } from "./wire_errors.ts";
 * import { OverloadedError } from "../errors.ts";
 * console.log(errorToWire(new OverloadedError("busy"))); // { code: "overloaded", message: "busy", retryAfterMs: 100 }
 * console.log(errorToWire(new TypeError("bad")).code); // internal
 * ```
 */
export function errorToWire(err: unknown): WireError {
  if (!e.isFrancisError(err) || !Object.hasOwn(MAKERS, err.code)) {
    return { code: "internal", message: cut(safeMessage(err), MAX_WIRE_MESSAGE_CHARS) };
  }
  const w: WireError = { code: err.code, message: cut(String(err.message), MAX_WIRE_MESSAGE_CHARS) };
  const r = err.retryAfterMs;
  if (typeof r === "number" && Number.isFinite(r) && r >= 0) w.retryAfterMs = Math.min(r, MAX_RETRY_AFTER_MS);
  const f = err as unknown as Record<string, unknown>;
  const field = (name: "actorType" | "actorId" | "actorErrorName" | "actorErrorCode" | "path") => {
    if (typeof f[name] === "string") w[name] = cut(f[name] as string, MAX_WIRE_FIELD_CHARS);
  };
  if (err.code === "invoke_failed") {
    field("actorType");
    field("actorId");
    field("actorErrorName");
    field("actorErrorCode");
  } else if (err.code === "config_invalid") {
    field("path");
    if (f.source === "flag" || f.source === "file" || f.source === "env") w.source = f.source;
  }
  return w;
}

const STRING_FIELDS = ["actorType", "actorId", "actorErrorName", "actorErrorCode", "path"] as const;
const KNOWN_KEYS = new Set(["code", "message", "retryAfterMs", "source", ...STRING_FIELDS]);

/**
 * Checks a value that came off the wire, returning the reason it is not a
 * valid {@linkcode WireError}, or `undefined` when it is.
 */
function invalidReason(w: unknown): string | undefined {
  if (typeof w !== "object" || w === null || Array.isArray(w)) return "not an object";
  const r = w as Record<string, unknown>;
  for (const k of Object.keys(r)) if (!KNOWN_KEYS.has(k)) return "unknown field";
  if (typeof r.code !== "string" || r.code.length > 64) return "bad code";
  if (typeof r.message !== "string" || r.message.length > MAX_WIRE_MESSAGE_CHARS) return "bad message";
  if (r.retryAfterMs !== undefined) {
    const n = r.retryAfterMs;
    if (typeof n !== "number" || !Number.isFinite(n) || n < 0 || n > MAX_RETRY_AFTER_MS) return "bad retryAfterMs";
  }
  for (const k of STRING_FIELDS) {
    const v = r[k];
    if (v !== undefined && (typeof v !== "string" || v.length > MAX_WIRE_FIELD_CHARS)) return `bad ${k}`;
  }
  if (r.source !== undefined && r.source !== "flag" && r.source !== "file" && r.source !== "env") return "bad source";
  if (r.code === "invoke_failed" && (r.actorType === undefined || r.actorId === undefined)) return "missing actor";
  return undefined;
}

/**
 * Rebuilds the Francis error described by `w` as the exact class of its
 * `code`, with the same message, `retryAfterMs` and fields. `w` is checked
 * strictly: an unknown code or a malformed value gives `InternalError`.
 *
 * @param w A {@linkcode WireError}, typically parsed from peer bytes (any value is accepted).
 * @returns The rebuilt error (no `cause`: it does not cross hosts).
 *
 * @example
 * ```ts
 * import { errorFromWire, errorToWire } from "./wire_errors.ts";
 * import { NoHostError } from "../errors.ts";
 * const back = errorFromWire(errorToWire(new NoHostError("full")));
 * console.log(back instanceof NoHostError, back.message); // true full
 * console.log(errorFromWire({ code: "nope", message: "x" }).code); // internal
 * ```
 */
export function errorFromWire(w: WireError): FrancisError {
  const reason = invalidReason(w);
  if (reason !== undefined) return new e.InternalError(`Cannot decode remote error: ${reason}`);
  if (!Object.hasOwn(MAKERS, w.code)) {
    return new e.InternalError(`Remote error with unknown code ${JSON.stringify(cut(w.code, 64))}: ${w.message}`);
  }
  const opts: FrancisErrorOptions = w.retryAfterMs !== undefined ? { retryAfterMs: w.retryAfterMs } : {};
  return MAKERS[w.code as ErrorCode](w.message, opts, w);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Encodes {@linkcode errorToWire}`(err)` as UTF-8 JSON.
 *
 * @example
 * ```ts
 * import { decodeWireError, encodeWireError } from "./wire_errors.ts";
 * console.log(decodeWireError(encodeWireError(new Error("x"))).message); // x
 * ```
 */
export function encodeWireError(err: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(errorToWire(err)));
}

/**
 * Decodes bytes made by {@linkcode encodeWireError}; any malformed input
 * gives `InternalError`.
 *
 * @example
 * ```ts
 * import { decodeWireError } from "./wire_errors.ts";
 * console.log(decodeWireError(new Uint8Array([0xff])).code); // internal
 * ```
 */
export function decodeWireError(bytes: Uint8Array): FrancisError {
  if (bytes.length > MAX_WIRE_MESSAGE_CHARS * 4 + 6 * MAX_WIRE_FIELD_CHARS * 4 + 1024) {
    return new e.InternalError("Cannot decode remote error: too large");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(bytes));
  } catch {
    return new e.InternalError("Cannot decode remote error: malformed JSON");
  }
  return errorFromWire(parsed as WireError);
}
