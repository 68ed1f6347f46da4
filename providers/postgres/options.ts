/**
 * Options of the PostgreSQL provider: the documented interface, defaults, and
 * the one place they are validated (API.md §17).
 *
 * @module
 */

import { checkInt, checkOptions, describe } from "../../_internal/validate.ts";
import type { Clock } from "../types.ts";
import { hasTransforms, isSql, type Sql } from "./driver.ts";
import type { OperationLogOptions, QueryLogOptions } from "./log.ts";

export type { OperationLogOptions, QueryLogOptions };

/** Options of `createPostgresProvider`. Exactly one of `url` and `sql` is required. */
export interface PostgresProviderOptions {
  /** A connection string, `postgres://user:password@host:5432/database`. The provider opens and closes its pool. */
  url?: string;
  /**
   * An existing postgres.js instance to use instead of `url`; never closed by
   * the provider. It must not transform column names or values (no `transform`).
   * Set `connection: { statement_timeout }` on it yourself: `queryTimeoutMs`
   * applies only to the connections the provider opens.
   */
  sql?: Sql;
  /** The operation timeout in ms (`statement_timeout` of the provider's connections): integer ≥ 1. @default {5000} */
  queryTimeoutMs?: number;
  /** Pool size, used only with `url`: integer ≥ 1. @default {10} */
  maxConnections?: number;
  /**
   * How often expired state and dead hosts are deleted, in ms: integer ≥ 1, or
   * `Infinity` for never. One process per cluster runs each round.
   * @default {600000}
   */
  cleanupIntervalMs?: number;
  /** Prefix of every table name (`<prefix>_hosts`, …): `/^[a-z][a-z0-9_]{0,31}$/`. @default {"francis"} */
  tablePrefix?: string;
  /** Log statements (debug) and slow statements (warn). @default {off} */
  queryLog?: QueryLogOptions;
  /** Log provider calls (debug) and slow calls (warn). @default {off} */
  operationLog?: OperationLogOptions;
  /** The source of time for health checks, leases and TTLs (a test seam). @default {Date.now} */
  clock?: Clock;
}

/** {@linkcode PostgresProviderOptions} after defaults and validation. */
export interface ResolvedPostgresProviderOptions {
  /** The connection string, when the provider opens its own pool. */
  url: string | undefined;
  /** The caller's instance, when given. */
  sql: Sql | undefined;
  /** Operation timeout in ms. */
  queryTimeoutMs: number;
  /** Pool size. */
  maxConnections: number;
  /** Cleanup period in ms, or `Infinity`. */
  cleanupIntervalMs: number;
  /** Table name prefix. */
  tablePrefix: string;
  /** Statement logging. */
  queryLog: QueryLogOptions;
  /** Call logging. */
  operationLog: OperationLogOptions;
  /** Time source. */
  clock: Clock;
}

/** The default value of every defaulted {@linkcode PostgresProviderOptions} field. */
export const POSTGRES_PROVIDER_DEFAULTS: Readonly<{
  queryTimeoutMs: number;
  maxConnections: number;
  cleanupIntervalMs: number;
  tablePrefix: string;
}> = Object.freeze({ queryTimeoutMs: 5000, maxConnections: 10, cleanupIntervalMs: 600_000, tablePrefix: "francis" });

const ACTION = "create PostgreSQL provider";
const PREFIX_PATTERN = /^[a-z][a-z0-9_]{0,31}$/;
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Merges defaults into `options` and validates them.
 *
 * @param options The caller's options.
 * @returns Options with every field set.
 * @throws {TypeError} On a malformed option, or unless exactly one of `url` and `sql` is given.
 * @throws {RangeError} On a number out of range.
 *
 * @example
 * ```ts
 * import { resolvePostgresProviderOptions } from "./options.ts";
 * const resolved = resolvePostgresProviderOptions({ url: "postgres://localhost/app" });
 * console.log(resolved.queryTimeoutMs, resolved.tablePrefix); // 5000 francis
 * ```
 */
export function resolvePostgresProviderOptions(options: PostgresProviderOptions): ResolvedPostgresProviderOptions {
  const o = checkOptions(options, ACTION);
  if (options === undefined) throw new TypeError(`Cannot ${ACTION}: options with url or sql are required`);
  const { url, sql } = o;
  if ((url === undefined) === (sql === undefined)) {
    throw new TypeError(`Cannot ${ACTION}: exactly one of url and sql must be given`);
  }
  if (url !== undefined) {
    if (typeof url !== "string" || !/^postgres(ql)?:\/\//.test(url)) {
      throw new TypeError(
        `Cannot ${ACTION}: url must be a "postgres://" or "postgresql://" connection string (got ${
          typeof url === "string" ? "a string with another scheme" : describe(url)
        })`,
      );
    }
  }
  if (sql !== undefined) {
    if (!isSql(sql)) throw new TypeError(`Cannot ${ACTION}: sql must be a postgres.js instance (got ${describe(sql)})`);
    if (hasTransforms(sql)) {
      throw new TypeError(`Cannot ${ACTION}: sql must not transform columns, values or rows (remove its transform)`);
    }
  }
  const d = POSTGRES_PROVIDER_DEFAULTS;
  const queryTimeoutMs = checkInt(o.queryTimeoutMs ?? d.queryTimeoutMs, ACTION, "queryTimeoutMs", 1, MAX_TIMER_MS);
  const maxConnections = checkInt(o.maxConnections ?? d.maxConnections, ACTION, "maxConnections", 1, 10_000);
  const cleanupIntervalMs = checkInt(
    o.cleanupIntervalMs ?? d.cleanupIntervalMs,
    ACTION,
    "cleanupIntervalMs",
    1,
    Number.MAX_SAFE_INTEGER,
    { allowInfinity: true },
  );
  const tablePrefix = o.tablePrefix ?? d.tablePrefix;
  if (typeof tablePrefix !== "string" || !PREFIX_PATTERN.test(tablePrefix)) {
    throw new TypeError(`Cannot ${ACTION}: tablePrefix must match ${PREFIX_PATTERN} (got ${describe(tablePrefix)})`);
  }
  const clock = o.clock ?? { now: () => Date.now() };
  if (typeof clock !== "object" || clock === null || typeof clock.now !== "function") {
    throw new TypeError(`Cannot ${ACTION}: clock must have a now() method`);
  }
  const queryLog = checkLog(o.queryLog, "queryLog", ["enabled", "includeParameters"]);
  const operationLog = checkLog(o.operationLog, "operationLog", ["enabled"]);
  return {
    url,
    sql,
    queryTimeoutMs,
    maxConnections,
    cleanupIntervalMs,
    tablePrefix,
    queryLog,
    operationLog,
    clock,
  };
}

function checkLog<T extends QueryLogOptions | OperationLogOptions>(
  value: T | undefined,
  field: string,
  flags: readonly string[],
): T {
  if (value === undefined) return {} as T;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(`Cannot ${ACTION}: ${field} must be an object (got ${describe(value)})`);
  }
  const record = value as Record<string, unknown>;
  for (const flag of flags) {
    if (record[flag] !== undefined && typeof record[flag] !== "boolean") {
      throw new TypeError(`Cannot ${ACTION}: ${field}.${flag} must be a boolean (got ${describe(record[flag])})`);
    }
  }
  if (record.slowThresholdMs !== undefined) {
    checkInt(record.slowThresholdMs, ACTION, `${field}.slowThresholdMs`, 1);
  }
  return { ...value };
}
