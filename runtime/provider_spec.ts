/**
 * The runtime's `provider.connectionString` (API.md §19.1): which driver a
 * string selects, and the factory that creates that provider. Each provider
 * module is imported only when its driver is chosen, so importing `./runtime`
 * loads neither `node:sqlite` nor `npm:postgres`.
 *
 * @module
 */

import type { ActorProvider } from "../providers/types.ts";
import type { OperationLogOptions, QueryLogOptions } from "../providers/postgres/log.ts";
import { describe, typeName } from "../_internal/validate.ts";
import { InvalidValue } from "./_checks.ts";

/** A provider described by a connection string, with optional PostgreSQL logging. */
export interface ProviderConnection {
  /** `postgres://…`/`postgresql://…`, `memory`/`memory://…`, or a SQLite path (`sqlite:` or `file:` prefix allowed). */
  connectionString: string;
  /** PostgreSQL statement logging (ignored by the other drivers). */
  queryLog?: QueryLogOptions;
  /** PostgreSQL provider-call logging (ignored by the other drivers). */
  operationLog?: OperationLogOptions;
}

/** What a connection string selects. */
export type ParsedConnectionString =
  | { driver: "postgres"; url: string }
  | { driver: "memory" }
  | { driver: "sqlite"; path: string | URL };

const KNOWN_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/**
 * Reads a connection string:
 * - `postgres://…` or `postgresql://…` → PostgreSQL (the string is the URL);
 * - `memory` or `memory://…` → memory;
 * - `file://…` → SQLite at that file URL; `file:<path>`, `sqlite://<path>`, `sqlite:<path>` or a bare path → SQLite at that path (`:memory:` allowed).
 *
 * Any other `scheme://` is rejected rather than taken as a file name, and so
 * are query strings after `file:`/`sqlite:` (SQLite options are not read from the string).
 *
 * @throws {InvalidValue} For an empty string, an unknown scheme or SQLite URI parameters.
 *
 * @example
 * ```ts
 * import { parseConnectionString } from "./provider_spec.ts";
 * console.log(parseConnectionString("sqlite:data/francis.db")); // { driver: "sqlite", path: "data/francis.db" }
 * console.log(parseConnectionString("memory").driver); // memory
 * ```
 */
export function parseConnectionString(value: unknown): ParsedConnectionString {
  if (typeof value !== "string") throw new InvalidValue("type", `must be a string (got ${typeName(value)})`);
  if (value.trim() === "") throw new InvalidValue("type", "must not be empty");
  const lower = value.toLowerCase();
  if (lower.startsWith("postgres://") || lower.startsWith("postgresql://")) return { driver: "postgres", url: value };
  if (lower === "memory" || lower.startsWith("memory://")) return { driver: "memory" };
  if (lower.startsWith("file://")) {
    try {
      return { driver: "sqlite", path: new URL(value) };
    } catch {
      throw new InvalidValue("type", `must be a valid file: URL (got ${describe(value)})`);
    }
  }
  let path: string;
  if (lower.startsWith("sqlite://")) path = value.slice("sqlite://".length);
  else if (lower.startsWith("sqlite:")) path = value.slice("sqlite:".length);
  else if (lower.startsWith("file:")) path = value.slice("file:".length);
  else if (KNOWN_SCHEME.test(value)) {
    const scheme = value.slice(0, value.indexOf(":"));
    throw new InvalidValue(
      "type",
      `must use postgres://, postgresql://, memory, sqlite: or file:, or be a file path (got scheme "${scheme}")`,
    );
  } else return { driver: "sqlite", path: value };
  if (path === "") throw new InvalidValue("type", `must name a SQLite file (got ${describe(value)})`);
  if (path.includes("?")) {
    throw new InvalidValue("type", `must not carry SQLite URI parameters ("?…") (got ${describe(value)})`);
  }
  return { driver: "sqlite", path };
}

/**
 * Creates the provider a connection string selects (see
 * {@linkcode parseConnectionString}). The driver's module is imported only
 * now. `queryLog` and `operationLog` go to the PostgreSQL provider; the
 * memory and SQLite providers have no such options and ignore them.
 *
 * @param spec A connection string, or a {@linkcode ProviderConnection}.
 * @returns A new, not yet acquired provider.
 * @throws {TypeError} For a malformed connection string or provider option.
 *
 * @example
 * ```ts
 * import { createProviderFromConnectionString } from "./provider_spec.ts";
 * const provider = await createProviderFromConnectionString({ connectionString: "memory" });
 * console.log(provider.name); // memory
 * ```
 */
export async function createProviderFromConnectionString(
  spec: string | ProviderConnection,
): Promise<ActorProvider> {
  const connection = typeof spec === "string" ? { connectionString: spec } : spec;
  if (typeof connection !== "object" || connection === null) {
    throw new TypeError(`Cannot create provider: spec must be a string or an object (got ${typeName(spec)})`);
  }
  let parsed: ParsedConnectionString;
  try {
    parsed = parseConnectionString(connection.connectionString);
  } catch (err) {
    if (!(err instanceof InvalidValue)) throw err;
    throw new TypeError(`Cannot create provider: connectionString ${err.reason}`);
  }
  switch (parsed.driver) {
    case "postgres": {
      const { createPostgresProvider } = await import("../providers/postgres/mod.ts");
      return createPostgresProvider({
        url: parsed.url,
        queryLog: connection.queryLog,
        operationLog: connection.operationLog,
      });
    }
    case "memory": {
      const { createMemoryProvider } = await import("../providers/memory/mod.ts");
      return createMemoryProvider();
    }
    case "sqlite": {
      const { createSqliteProvider } = await import("../providers/sqlite/mod.ts");
      return createSqliteProvider({ path: parsed.path });
    }
  }
}
