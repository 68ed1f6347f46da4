import assert from "node:assert/strict";
import * as errors from "./errors.ts";
import { FrancisError, InvokeFailedError, isFrancisError } from "./errors.ts";

/** API.md §27: class name → code; retryable is true exactly for the six listed codes. */
const TABLE: Record<string, string> = {
  StateNotFoundError: "state_not_found",
  AlarmNotFoundError: "alarm_not_found",
  JobNotFoundError: "job_not_found",
  ActorNotHostedError: "actor_not_hosted",
  ActorNotActiveError: "actor_not_active",
  ActorHaltedError: "actor_halted",
  ActorTypeUnsupportedError: "actor_type_unsupported",
  ActorTypeReservedError: "actor_type_reserved",
  MethodReservedError: "method_reserved",
  InvokeModeUnsupportedError: "invoke_mode_unsupported",
  ActivationFailedError: "activation_failed",
  ReentrantCallError: "reentrant_call",
  ReadOnlyError: "read_only",
  JobPermanentFailureError: "job_permanent_failure",
  JobRejectedError: "job_rejected",
  NoHostError: "no_host",
  PayloadTooLargeError: "payload_too_large",
  DecodeError: "decode_failed",
  RetryLaterError: "retry_later",
  OverloadedError: "overloaded",
  HostDrainingError: "host_draining",
  HostMismatchError: "host_mismatch",
  TransportError: "transport_failure",
  DeadlineExceededError: "deadline_exceeded",
  HostNotRunningError: "host_not_running",
  RuntimeUnavailableError: "runtime_unavailable",
  HostAlreadyRegisteredError: "host_already_registered",
  HostUnregisteredError: "host_unregistered",
  HealthCheckFailedError: "health_check_failed",
  ClusterFullError: "cluster_full",
  ClusterLockedError: "cluster_locked",
  MaxHostsMismatchError: "max_hosts_mismatch",
  HostsConnectedError: "hosts_connected",
  ExclusiveHeldError: "exclusive_held",
  UnauthorizedError: "unauthorized",
  ProtocolVersionError: "protocol_version",
  ProviderError: "provider_error",
  BackupFormatError: "backup_invalid",
  SignalAlreadyCompletedError: "signal_already_completed",
  SignalPayloadTooLargeError: "signal_payload_too_large",
  PlacementLostError: "placement_lost",
  InternalError: "internal",
};
const RETRYABLE = new Set([
  "actor_halted",
  "retry_later",
  "overloaded",
  "host_draining",
  "host_mismatch",
  "runtime_unavailable",
]);

Deno.test("errors: every class has its §27 code, its class name and the listed retryable flag (C-114)", () => {
  for (const [name, code] of Object.entries(TABLE)) {
    const Cls = (errors as Record<string, unknown>)[name] as new (m?: string, o?: ErrorOptions) => FrancisError;
    assert.equal(typeof Cls, "function", `${name} is not exported`);
    const cause = new Error("root");
    const e = new Cls("msg", { cause });
    assert.ok(e instanceof FrancisError && e instanceof Error, name);
    assert.equal(e.name, name);
    assert.equal(e.code, code, name);
    assert.equal(e.retryable, RETRYABLE.has(code), `${name}.retryable`);
    assert.equal(e.cause, cause);
    assert.ok(isFrancisError(e, code as errors.ErrorCode));
  }
  const invoke = new InvokeFailedError("boom", { actorType: "t", actorId: "a", actorErrorName: "Error" });
  assert.equal(invoke.code, "invoke_failed");
  assert.equal(invoke.retryable, false);
  const config = new errors.ConfigError("Cannot load config: bad", { path: "bind", source: "flag" });
  assert.equal(config.code, "config_invalid");
  assert.equal(new errors.OverloadedError().retryAfterMs, 100);
  assert.equal(new errors.HostDrainingError().retryAfterMs, 500);
  assert.equal(new errors.HostDrainingError("x", { retryAfterMs: 7 }).retryAfterMs, 7);
});

Deno.test("errors: isFrancisError recognises another copy's errors by brand, not plain errors (C-113)", () => {
  const foreign = Object.assign(new Error("from another copy"), {
    code: "no_host",
    [Symbol.for("@francis/core/error")]: true,
  });
  assert.ok(isFrancisError(foreign));
  assert.ok(isFrancisError(foreign, "no_host"));
  assert.ok(!isFrancisError(foreign, "state_not_found"));
  assert.ok(!isFrancisError(Object.assign(new Error("plain"), { code: "no_host" })));
  assert.ok(!isFrancisError(null));
  assert.ok(!isFrancisError("no_host"));
});
