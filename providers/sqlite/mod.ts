/**
 * The SQLite actor provider, on the built-in `node:sqlite` driver (Deno, and
 * Node ≥ 22.13). The driver loads only when the provider is first acquired.
 *
 * ```ts
 * import { createSqliteProvider } from "./mod.ts";
 *
 * const provider = createSqliteProvider({ path: ":memory:" });
 * await provider.acquire();
 * await provider.setState({ actorType: "counter", actorId: "c1", data: new Uint8Array([1]) });
 * console.log(await provider.getState("counter", "c1")); // Uint8Array(1) [ 1 ]
 * await provider.release();
 * ```
 *
 * @module
 */

import type { ActorProvider, Clock } from "../types.ts";
import type { DatabaseSync } from "./driver.ts";
import { SqliteProvider } from "./provider.ts";

/** Options of {@linkcode createSqliteProvider}. */
export interface SqliteProviderOptions {
  /**
   * The database file: a path, a `file:` URL, or `":memory:"` (one process
   * only). Several processes on one machine may share a file; never put it
   * on a network filesystem. Exclusive with `database`.
   * @default {"data.db"}
   */
  path?: string | URL;
  /**
   * An open `node:sqlite` connection to use instead of `path`. Foreign keys
   * must be on. The provider applies the same PRAGMAs as to its own
   * connections (WAL, `busy_timeout`, `synchronous`, `temp_store`) but never
   * closes it.
   */
  database?: DatabaseSync;
  /**
   * How long a write waits for another connection's write lock, in ms: the
   * provider's operation timeout. Integer ≥ 1.
   * @default {2500}
   */
  busyTimeoutMs?: number;
  /**
   * How often expired state and dead hosts are deleted, in ms: integer ≥ 1, or
   * `Infinity` for never. One process per file runs each round.
   * @default {600000}
   */
  cleanupIntervalMs?: number;
  /**
   * Prefix of every table name (`<prefix>_hosts`, …): `/^[a-z][a-z0-9_]{0,31}$/`.
   * @default {"francis"}
   */
  tablePrefix?: string;
  /** The source of time for health checks, leases and TTLs (a test seam). @default {Date.now} */
  clock?: Clock;
  /**
   * The `synchronous` PRAGMA. With WAL, `"normal"` keeps every acknowledged
   * write through a process crash (SIGKILL included); `"full"` also survives
   * power loss or an OS crash, at a much lower write rate (one fsync per
   * commit).
   * @default {"normal"}
   */
  synchronous?: "normal" | "full";
}

/** {@linkcode SqliteProviderOptions} after defaults and validation. */
export interface ResolvedSqliteProviderOptions {
  /** The file to open; ignored when {@linkcode database} is set. */
  path: string | URL;
  /** A caller's connection, or `undefined` when the provider opens its own. */
  database: DatabaseSync | undefined;
  /** `busy_timeout` in ms. */
  busyTimeoutMs: number;
  /** Cleanup period in ms, or `Infinity`. */
  cleanupIntervalMs: number;
  /** Table name prefix. */
  tablePrefix: string;
  /** Time source. */
  clock: Clock;
  /** The `synchronous` PRAGMA. */
  synchronous: "normal" | "full";
}

/** The default value of every {@linkcode SqliteProviderOptions} field. */
export const SQLITE_PROVIDER_DEFAULTS: Readonly<{
  path: string;
  busyTimeoutMs: number;
  cleanupIntervalMs: number;
  tablePrefix: string;
  synchronous: "normal" | "full";
}> = Object.freeze({
  path: "data.db",
  busyTimeoutMs: 2500,
  cleanupIntervalMs: 600_000,
  tablePrefix: "francis",
  synchronous: "normal",
});

const SYSTEM_CLOCK: Clock = Object.freeze({
  now(): number {
    return Date.now();
  },
});

const PREFIX_PATTERN = /^[a-z][a-z0-9_]{0,31}$/;

/**
 * Creates a SQLite provider. Nothing is opened until the first `acquire()`;
 * migrations then run automatically.
 *
 * Writes are group-committed: every write of one event-loop turn (up to
 * 1,000) shares one `BEGIN IMMEDIATE` transaction, each inside its own
 * savepoint, and each call resolves only after that transaction committed.
 * Reads run directly on the connection with cached prepared statements.
 *
 * @param options See {@linkcode SqliteProviderOptions}.
 * @returns An `ActorProvider` named `"sqlite"`.
 * @throws {TypeError} On a malformed option, both `path` and `database`, or a `database` with foreign keys off.
 * @throws {RangeError} On a number out of range.
 *
 * @example Sharing one file between hosts
 * ```ts
 * import { createSqliteProvider } from "./mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const provider = createSqliteProvider({ path: `${dir}/francis.db`, cleanupIntervalMs: Infinity });
 * await provider.acquire();
 * const { hostId } = await provider.registerHost({
 *   address: "127.0.0.1:7000",
 *   actorTypes: [{ actorType: "counter", idleTimeoutMs: 300_000, concurrencyLimit: 0 }],
 *   healthCheckDeadlineMs: 20_000,
 * });
 * const placement = await provider.lookupActor({
 *   actorType: "counter",
 *   actorId: "c1",
 *   activeOnly: false,
 *   healthCheckDeadlineMs: 20_000,
 * });
 * console.log(placement.hostId === hostId); // true
 * await provider.release();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function createSqliteProvider(options: SqliteProviderOptions = {}): ActorProvider {
  return new SqliteProvider(resolveSqliteProviderOptions(options));
}

/**
 * Merges defaults into `options` and validates them.
 *
 * @param options The caller's options.
 * @returns Options with no optional fields.
 * @throws {TypeError} On a malformed or conflicting option.
 * @throws {RangeError} On a number out of range.
 *
 * @example
 * ```ts
 * import { resolveSqliteProviderOptions } from "./mod.ts";
 * console.log(resolveSqliteProviderOptions({}).busyTimeoutMs); // 2500
 * ```
 */
export function resolveSqliteProviderOptions(options: SqliteProviderOptions = {}): ResolvedSqliteProviderOptions {
  const fail = "Cannot create SQLite provider";
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`${fail}: options must be an object`);
  }
  const { database, clock = SYSTEM_CLOCK } = options;
  if (options.path !== undefined && database !== undefined) {
    throw new TypeError(`${fail}: path and database are mutually exclusive`);
  }
  const path = options.path ?? SQLITE_PROVIDER_DEFAULTS.path;
  if (path instanceof URL) {
    if (path.protocol !== "file:") throw new TypeError(`${fail}: path URL must use "file:" (got "${path.protocol}")`);
  } else if (typeof path !== "string" || path === "") {
    throw new TypeError(`${fail}: path must be a non-empty string or a file: URL (got ${describe(path)})`);
  }
  if (database !== undefined) checkDatabase(database, fail);
  const busyTimeoutMs = options.busyTimeoutMs ?? SQLITE_PROVIDER_DEFAULTS.busyTimeoutMs;
  checkInteger(fail, "busyTimeoutMs", busyTimeoutMs, 2 ** 31 - 1, false);
  const cleanupIntervalMs = options.cleanupIntervalMs ?? SQLITE_PROVIDER_DEFAULTS.cleanupIntervalMs;
  checkInteger(fail, "cleanupIntervalMs", cleanupIntervalMs, Number.MAX_SAFE_INTEGER, true);
  const tablePrefix = options.tablePrefix ?? SQLITE_PROVIDER_DEFAULTS.tablePrefix;
  if (typeof tablePrefix !== "string" || !PREFIX_PATTERN.test(tablePrefix)) {
    throw new TypeError(`${fail}: tablePrefix must match ${PREFIX_PATTERN} (got ${describe(tablePrefix)})`);
  }
  if (typeof clock !== "object" || clock === null || typeof clock.now !== "function") {
    throw new TypeError(`${fail}: clock must have a now() method`);
  }
  const synchronous = options.synchronous ?? SQLITE_PROVIDER_DEFAULTS.synchronous;
  if (synchronous !== "normal" && synchronous !== "full") {
    throw new TypeError(`${fail}: synchronous must be "normal" or "full" (got ${describe(synchronous)})`);
  }
  return { path, database, busyTimeoutMs, cleanupIntervalMs, tablePrefix, clock, synchronous };
}

function checkInteger(fail: string, name: string, value: unknown, max: number, allowInfinity: boolean): void {
  if (typeof value !== "number" || Number.isNaN(value)) {
    throw new TypeError(`${fail}: ${name} must be a number (got ${describe(value)})`);
  }
  if (allowInfinity && value === Infinity) return;
  const range = `an integer from 1 to ${max}${allowInfinity ? ", or Infinity" : ""}`;
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new RangeError(`${fail}: ${name} must be ${range} (got ${describe(value)})`);
  }
}

function checkDatabase(database: DatabaseSync, fail: string): void {
  if (typeof database !== "object" || database === null || typeof database.prepare !== "function") {
    throw new TypeError(`${fail}: database must be a node:sqlite DatabaseSync`);
  }
  let row: Record<string, unknown> | undefined;
  try {
    row = database.prepare("PRAGMA foreign_keys").get() as Record<string, unknown> | undefined;
  } catch (err) {
    throw new TypeError(`${fail}: database is not usable`, { cause: err });
  }
  if (row?.foreign_keys !== 1) {
    throw new TypeError(`${fail}: database must have foreign keys on (run "PRAGMA foreign_keys = ON")`);
  }
}

function describe(value: unknown): string {
  return typeof value === "string" ? `"${value}"` : String(value);
}
