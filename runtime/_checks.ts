/**
 * Value checks shared by `resolveRuntimeOptions` (programmatic options, which
 * throw `TypeError`/`RangeError`) and the configuration schema (which reports
 * `ConfigError`): one rule per option, so the two can never disagree.
 *
 * Each check returns the accepted value or throws {@linkcode InvalidValue},
 * whose `reason` completes a sentence that starts with the option's name:
 * `bootstrap.hostPsk` + ` must be at least 16 bytes (got 9)`.
 *
 * @module
 */

import { describe, typeName } from "../_internal/validate.ts";
import { parseAddress } from "../_internal/address.ts";

/** Longest delay a single timer honours (2^31-1 ms, about 24.8 days). */
export const MAX_TIMER_MS = 2_147_483_647;
/** Smallest runtime PSK, bytes (API.md §24). */
export const MIN_RUNTIME_PSK_BYTES = 32;
/** Smallest host bootstrap PSK, bytes (API.md §24). */
export const MIN_HOST_PSK_BYTES = 16;
/** Longest workload certificate TTL: 365 days (API.md §24). */
export const MAX_CERT_TTL_MS = 365 * 86_400_000;

/** Inclusive bounds of every duration option, in ms, keyed by the programmatic name. */
export const DURATION_RANGES: Readonly<Record<string, readonly [number, number]>> = Object.freeze({
  workloadCertTtlMs: [60_000, MAX_CERT_TTL_MS],
  healthCheckDeadlineMs: [1_001, MAX_TIMER_MS],
  alarmsPollIntervalMs: [100, MAX_TIMER_MS],
  alarmsLeaseDurationMs: [1_000, MAX_TIMER_MS],
  alarmsFetchAheadMs: [100, MAX_TIMER_MS],
  alarmExecutionTimeoutMs: [1, MAX_TIMER_MS],
  requestTimeoutMs: [1, MAX_TIMER_MS],
  shutdownGracePeriodMs: [1, MAX_TIMER_MS],
  slowThresholdMs: [1, MAX_TIMER_MS],
});

/** Inclusive bounds of the count options. */
export const COUNT_RANGES: Readonly<Record<string, readonly [number, number]>> = Object.freeze({
  alarmsFetchBatchSize: [1, 1_000],
  maxHosts: [0, Number.MAX_SAFE_INTEGER],
});

/**
 * A rejected value. `kind` picks the built-in error (`TypeError` or
 * `RangeError`) for programmatic options.
 *
 * @example
 * ```ts
 * import { checkPsk, InvalidValue } from "./_checks.ts";
 * try {
 *   checkPsk("short", 16);
 * } catch (err) {
 *   console.log(err instanceof InvalidValue && err.reason); // must be at least 16 bytes (got 5)
 * }
 * ```
 */
export class InvalidValue extends Error {
  /** `"type"` for a wrong type or malformed value, `"range"` for a value out of range. */
  readonly kind: "type" | "range";
  /** The end of the sentence, e.g. `must be at least 16 bytes (got 9)`. */
  readonly reason: string;
  /**
   * @param kind Which built-in error this maps to.
   * @param reason The end of the sentence.
   */
  constructor(kind: "type" | "range", reason: string) {
    super(reason);
    this.name = "InvalidValue";
    this.kind = kind;
    this.reason = reason;
  }
}

/**
 * Checks a PSK: a string (its UTF-8 bytes) or a `Uint8Array`, at least `minBytes` long.
 *
 * @example
 * ```ts
 * import { checkPsk } from "./_checks.ts";
 * console.log(checkPsk("0123456789abcdef", 16).length); // 16
 * ```
 */
export function checkPsk(value: unknown, minBytes: number): Uint8Array {
  let bytes: Uint8Array;
  if (typeof value === "string") bytes = new TextEncoder().encode(value);
  else if (value instanceof Uint8Array) bytes = value.slice();
  else throw new InvalidValue("type", `must be a string or a Uint8Array (got ${typeName(value)})`);
  if (bytes.length < minBytes) {
    throw new InvalidValue("range", `must be at least ${minBytes} bytes (got ${bytes.length})`);
  }
  return bytes;
}

/**
 * Checks an integer against inclusive bounds.
 *
 * @example
 * ```ts
 * import { checkRange } from "./_checks.ts";
 * console.log(checkRange(25, 1, 1000, "")); // 25
 * ```
 */
export function checkRange(value: unknown, min: number, max: number, unit: "" | " ms"): number {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new InvalidValue("type", `must be an integer (got ${describe(value)})`);
  }
  if (value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}${unit}` : `between ${min} and ${max}${unit}`;
    throw new InvalidValue("range", `must be ${range} (got ${value}${unit})`);
  }
  return value;
}

const RUNTIME_ID = /^[A-Za-z0-9._~-]{1,64}$/;

/**
 * Checks a runtime ID: 1–64 characters of `A-Z a-z 0-9 . _ ~ -`.
 *
 * @example
 * ```ts
 * import { checkRuntimeId } from "./_checks.ts";
 * console.log(checkRuntimeId("runtime-0")); // runtime-0
 * ```
 */
export function checkRuntimeId(value: unknown): string {
  if (typeof value !== "string") throw new InvalidValue("type", `must be a string (got ${typeName(value)})`);
  if (!RUNTIME_ID.test(value)) {
    throw new InvalidValue(
      "type",
      `must be 1 to 64 characters of A-Z, a-z, 0-9, ".", "_", "~" or "-" (got ${describe(value)})`,
    );
  }
  return value;
}

/**
 * Checks a `"host:port"` listen address (port 0 picks a free port).
 * With `allowEmpty`, `""` (disabled) is accepted too.
 *
 * @example
 * ```ts
 * import { checkAddress } from "./_checks.ts";
 * console.log(checkAddress("0.0.0.0:7400", false)); // 0.0.0.0:7400
 * ```
 */
export function checkAddress(value: unknown, allowEmpty: boolean): string {
  if (allowEmpty && value === "") return value;
  if (typeof value !== "string") throw new InvalidValue("type", `must be a string (got ${typeName(value)})`);
  try {
    parseAddress(value, "check", "address");
  } catch {
    const also = allowEmpty ? ` or ""` : "";
    throw new InvalidValue("type", `must be "host:port"${also} (got ${describe(value)})`);
  }
  return value;
}

/**
 * Checks a non-empty string.
 *
 * @example
 * ```ts
 * import { checkNonEmpty } from "./_checks.ts";
 * console.log(checkNonEmpty("https://issuer.example")); // https://issuer.example
 * ```
 */
export function checkNonEmpty(value: unknown): string {
  if (typeof value !== "string") throw new InvalidValue("type", `must be a string (got ${typeName(value)})`);
  if (value === "") throw new InvalidValue("type", "must not be empty");
  return value;
}

/**
 * Checks a JWKS URL: an absolute `https:` or `http:` URL.
 *
 * @example
 * ```ts
 * import { checkJwksUrl } from "./_checks.ts";
 * console.log(checkJwksUrl("https://issuer.example/.well-known/jwks.json").startsWith("https:")); // true
 * ```
 */
export function checkJwksUrl(value: unknown): string {
  const s = checkNonEmpty(value);
  let url: URL | undefined;
  try {
    url = new URL(s);
  } catch { /* reported below */ }
  if (url === undefined || (url.protocol !== "https:" && url.protocol !== "http:")) {
    throw new InvalidValue("type", `must be an absolute https: or http: URL (got ${describe(s)})`);
  }
  return s;
}

/**
 * Checks a static JWKS: a JSON string of `{ "keys": [ { "kty": …, … }, … ] }` with at least one key.
 *
 * @example
 * ```ts
 * import { checkStaticJwks } from "./_checks.ts";
 * console.log(checkStaticJwks('{"keys":[{"kty":"OKP","crv":"Ed25519","x":"AA"}]}').keys.length); // 1
 * ```
 */
export function checkStaticJwks(value: unknown): { keys: JsonWebKey[] } {
  const s = checkNonEmpty(value);
  let parsed: unknown;
  try {
    parsed = JSON.parse(s);
  } catch {
    throw new InvalidValue("type", "must be a JWKS JSON string (it is not valid JSON)");
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (typeof parsed !== "object" || parsed === null || !Array.isArray(keys) || keys.length === 0) {
    throw new InvalidValue("type", 'must be a JWKS JSON string: an object with a non-empty "keys" array');
  }
  keys.forEach((k, i) => {
    if (typeof k !== "object" || k === null || typeof (k as { kty?: unknown }).kty !== "string") {
      throw new InvalidValue("type", `must be a JWKS JSON string: keys[${i}] has no "kty"`);
    }
  });
  return { keys: keys as JsonWebKey[] };
}

/**
 * Whether two listen addresses would collide: the same non-zero port on the
 * same host, or on hosts of which one is a wildcard.
 *
 * @example
 * ```ts
 * import { addressesCollide } from "./_checks.ts";
 * console.log(addressesCollide("0.0.0.0:7400", "127.0.0.1:7400")); // true
 * ```
 */
export function addressesCollide(a: string, b: string): boolean {
  if (a === "" || b === "") return false;
  const x = parseAddress(a, "check", "address");
  const y = parseAddress(b, "check", "address");
  if (x.port === 0 || x.port !== y.port) return false;
  const wild = (h: string) => h === "0.0.0.0" || h === "::";
  return x.host === y.host || wild(x.host) || wild(y.host);
}
