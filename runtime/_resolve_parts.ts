/**
 * Parts of `resolveRuntimeOptions` with nested shapes: `bootstrap` and `log`.
 *
 * @module
 */

import { typeName } from "../_internal/validate.ts";
import {
  checkJwksUrl,
  checkNonEmpty,
  checkPsk,
  checkRange,
  checkStaticJwks,
  DURATION_RANGES,
  InvalidValue,
  MIN_HOST_PSK_BYTES,
} from "./_checks.ts";
import { LOG_LEVELS, type LogLevel } from "./logger.ts";

/**
 * `bootstrap` after validation: the host PSK as bytes; JWT settings flattened,
 * with `staticJwks` kept as the (validated) JSON text.
 */
export type ResolvedBootstrap =
  | { method: "psk"; hostPsk: Uint8Array }
  | { method: "jwt"; issuer: string; audience: string; jwksUrl?: string; staticJwks?: string };

/** Runs a check, naming `field` in the error it throws. */
export type Checker = <T>(field: string, fn: () => T) => T;

/**
 * Validates `bootstrap`: `method` `"psk"` with a host PSK of at least 16 bytes,
 * or `"jwt"` with an issuer, an audience and exactly one of `jwksUrl` / `staticJwks`.
 *
 * @example
 * ```ts
 * import { resolveBootstrap } from "./_resolve_parts.ts";
 * const b = resolveBootstrap({ method: "psk", hostPsk: "0123456789abcdef" }, (_f, fn) => fn());
 * console.log(b.method); // psk
 * ```
 */
export function resolveBootstrap(value: unknown, check: Checker): ResolvedBootstrap {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return check("bootstrap", () => {
      throw new InvalidValue("type", `must be an object (got ${typeName(value)})`);
    });
  }
  const b = value as Record<string, unknown>;
  const other = (key: string, method: string) => {
    if (b[key] !== undefined) {
      check(`bootstrap.${key}`, () => {
        throw new InvalidValue("type", `must not be set when bootstrap.method is "${method}"`);
      });
    }
  };
  if (b.method === "psk") {
    other("jwt", "psk");
    return { method: "psk", hostPsk: check("bootstrap.hostPsk", () => checkPsk(b.hostPsk, MIN_HOST_PSK_BYTES)) };
  }
  if (b.method !== "jwt") {
    return check("bootstrap.method", () => {
      throw new InvalidValue("type", `must be "psk" or "jwt" (got ${JSON.stringify(b.method) ?? "undefined"})`);
    });
  }
  other("hostPsk", "jwt");
  const jwt = b.jwt as Record<string, unknown> | undefined;
  if (typeof jwt !== "object" || jwt === null || Array.isArray(jwt)) {
    return check("bootstrap.jwt", () => {
      throw new InvalidValue("type", `must be an object (got ${typeName(jwt)})`);
    });
  }
  const issuer = check("bootstrap.jwt.issuer", () => checkNonEmpty(jwt.issuer));
  const audience = check("bootstrap.jwt.audience", () => checkNonEmpty(jwt.audience));
  if ((jwt.jwksUrl === undefined) === (jwt.staticJwks === undefined)) {
    const got = jwt.jwksUrl === undefined ? "neither" : "both";
    check("bootstrap.jwt", () => {
      throw new InvalidValue("type", `must set exactly one of jwksUrl and staticJwks (got ${got})`);
    });
  }
  if (jwt.jwksUrl !== undefined) {
    return {
      method: "jwt",
      issuer,
      audience,
      jwksUrl: check("bootstrap.jwt.jwksUrl", () => checkJwksUrl(jwt.jwksUrl)),
    };
  }
  check("bootstrap.jwt.staticJwks", () => checkStaticJwks(jwt.staticJwks));
  return { method: "jwt", issuer, audience, staticJwks: jwt.staticJwks as string };
}

/**
 * Validates `log` and applies its defaults (`info`, text).
 *
 * @example
 * ```ts
 * import { resolveLog } from "./_resolve_parts.ts";
 * console.log(resolveLog({ json: true }, (_f, fn) => fn())); // { level: "info", json: true }
 * ```
 */
export function resolveLog(value: unknown, check: Checker): { level: LogLevel; json: boolean } {
  if (value === undefined) return { level: "info", json: false };
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return check("log", () => {
      throw new InvalidValue("type", `must be an object (got ${typeName(value)})`);
    });
  }
  const { level = "info", json = false } = value as { level?: unknown; json?: unknown };
  if (!LOG_LEVELS.includes(level as LogLevel)) {
    check("log.level", () => {
      throw new InvalidValue("type", `must be one of ${LOG_LEVELS.join(", ")} (got ${JSON.stringify(level)})`);
    });
  }
  if (typeof json !== "boolean") {
    check("log.json", () => {
      throw new InvalidValue("type", `must be a boolean (got ${typeName(json)})`);
    });
  }
  return { level: level as LogLevel, json: json as boolean };
}

/**
 * Validates `provider.queryLog` / `provider.operationLog`: boolean flags and
 * an optional `slowThresholdMs`.
 *
 * @example
 * ```ts
 * import { resolveLogOptions } from "./_resolve_parts.ts";
 * console.log(resolveLogOptions({ enabled: true }, "provider.operationLog", ["enabled"], (_f, fn) => fn())); // { enabled: true }
 * ```
 */
export function resolveLogOptions<T extends object>(
  value: T | undefined,
  field: string,
  flags: readonly string[],
  check: Checker,
): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return check(field, () => {
      throw new InvalidValue("type", `must be an object (got ${typeName(value)})`);
    });
  }
  const record = value as Record<string, unknown>;
  for (const flag of flags) {
    if (record[flag] !== undefined && typeof record[flag] !== "boolean") {
      check(`${field}.${flag}`, () => {
        throw new InvalidValue("type", `must be a boolean (got ${typeName(record[flag])})`);
      });
    }
  }
  if (record.slowThresholdMs !== undefined) {
    const [min, max] = DURATION_RANGES.slowThresholdMs;
    check(`${field}.slowThresholdMs`, () => checkRange(record.slowThresholdMs, min, max, ""));
  }
  return { ...value };
}
