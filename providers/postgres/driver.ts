/**
 * The only module that touches the PostgreSQL driver (postgres.js, `npm:postgres`).
 *
 * The driver is loaded lazily with `await import("postgres")` inside
 * {@linkcode openPool}, so importing `@francis/core/providers/postgres` costs
 * nothing until a provider is acquired. Every other file of the provider sees
 * only the small {@linkcode PgClient} / {@linkcode PgSession} interfaces here.
 *
 * Statements are sent with `sql.unsafe(text, params, { prepare: true })`: the
 * text is fixed per statement (the table prefix is validated before it is
 * spliced in), so postgres.js prepares it once per connection.
 *
 * @module
 */

import type postgres from "postgres";

/** A postgres.js `Sql` instance, as callers may pass one in `sql`. */
export type Sql = postgres.Sql;

/** A result row. */
export type Row = Record<string, unknown>;

/** Rows plus the affected-row count. */
export type Rows = Row[] & { count: number };

/** Something statements can run on: the pool or a transaction. */
export interface Queryable {
  /** Runs one statement (prepared) with positional parameters `$1 …`. */
  query(text: string, params?: readonly unknown[]): Promise<Rows>;
  /** Runs a script of several statements without parameters (simple protocol, not prepared). */
  exec(text: string): Promise<void>;
}

/** A single dedicated connection (host liveness session or LISTEN connection). */
export interface PgSession extends Queryable {
  /** Whether the connection closed since it was opened (it never reconnects silently for us). */
  readonly closed: boolean;
  /** Closes the connection at once, abandoning pending statements. */
  end(): Promise<void>;
}

/** Options of {@linkcode PgClient.openSession}. */
export interface SessionOptions {
  /** `application_name` of the connection (truncated by the server to 63 bytes). */
  applicationName: string;
  /** Called once when the connection closes for any reason other than {@linkcode PgSession.end}. */
  onClose?(): void;
  /** Called with `(channel, payload)` for each NOTIFY the connection receives. */
  onNotify?(channel: string, payload: string): void;
}

/** The pool the provider runs statements on. */
export interface PgClient extends Queryable {
  /** Runs `fn` in one transaction (`BEGIN … COMMIT`, or `ROLLBACK` when it throws). */
  begin<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Opens one dedicated connection with the pool's settings, never recycled by idle or lifetime timers. */
  openSession(options: SessionOptions): Promise<PgSession>;
  /** Closes the pool when the provider opened it; a caller's `sql` is left open. */
  end(): Promise<void>;
}

/** Settings of connections the provider opens. */
export interface PoolSettings {
  /** `statement_timeout` in ms. */
  statementTimeoutMs: number;
  /** Pool size. */
  maxConnections: number;
}

/**
 * Opens a client: a new pool from `url`, or a wrapper of the caller's `sql`
 * (never ended). Loads postgres.js on first use.
 */
export async function openPool(source: { url: string } | { sql: Sql }, settings: PoolSettings): Promise<PgClient> {
  if ("sql" in source) return new Client(source.sql, false, settings);
  const { default: connect } = await import("postgres");
  const sql = connect(source.url, {
    max: settings.maxConnections,
    idle_timeout: 60,
    onnotice: () => {},
    connection: { statement_timeout: settings.statementTimeoutMs },
  });
  return new Client(sql, true, settings);
}

/** The SQLSTATE of a server error (e.g. `"23505"`), if `err` is one. */
export function sqlState(err: unknown): string | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** Whether a caller's `sql` looks like a postgres.js instance. */
export function isSql(value: unknown): value is Sql {
  return typeof value === "function" && typeof (value as Sql).unsafe === "function" &&
    typeof (value as Sql).begin === "function" && typeof (value as Sql).options === "object";
}

/** Whether a caller's `sql` renames result columns or values (the provider needs plain rows). */
export function hasTransforms(sql: Sql): boolean {
  const transform = sql.options.transform as unknown as {
    column?: { from?: unknown };
    value?: { from?: unknown };
    row?: { from?: unknown };
  };
  return transform?.column?.from !== undefined || transform?.value?.from !== undefined ||
    transform?.row?.from !== undefined;
}

async function exec(sql: postgres.Sql | postgres.TransactionSql, text: string): Promise<void> {
  await sql.unsafe(text);
}

function run(sql: postgres.Sql | postgres.TransactionSql, text: string, params?: readonly unknown[]): Promise<Rows> {
  return sql.unsafe(text, (params ?? []) as postgres.ParameterOrJSON<never>[], { prepare: true }) as unknown as Promise<
    Rows
  >;
}

class Client implements PgClient {
  #sql: Sql;
  #owned: boolean;
  #settings: PoolSettings;

  constructor(sql: Sql, owned: boolean, settings: PoolSettings) {
    this.#sql = sql;
    this.#owned = owned;
    this.#settings = settings;
  }

  query(text: string, params?: readonly unknown[]): Promise<Rows> {
    return run(this.#sql, text, params);
  }

  exec(text: string): Promise<void> {
    return exec(this.#sql, text);
  }

  begin<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.#sql.begin((tx) =>
      fn({ query: (text, params) => run(tx, text, params), exec: (text) => exec(tx, text) })
    ) as Promise<T>;
  }

  async openSession(options: SessionOptions): Promise<PgSession> {
    const { default: connect } = await import("postgres");
    let ending = false;
    let closed = false;
    const base = this.#sql.options;
    const sql = connect({
      ...base,
      max: 1,
      idle_timeout: null,
      max_lifetime: null,
      fetch_types: false,
      onnotice: () => {},
      onclose: () => {
        closed = true;
        if (!ending) options.onClose?.();
      },
      onnotify: (channel: string, payload: string) => options.onNotify?.(channel, payload),
      connection: {
        ...base.connection,
        application_name: options.applicationName,
        statement_timeout: this.#settings.statementTimeoutMs,
        // Let the server notice a vanished client within about 25 s, not the OS default of hours.
        tcp_keepalives_idle: 10,
        tcp_keepalives_interval: 5,
        tcp_keepalives_count: 3,
      },
    } as unknown as postgres.Options<Record<string, never>>);
    const session: PgSession = {
      get closed() {
        return closed;
      },
      query: (text, params) => run(sql, text, params),
      exec: (text) => exec(sql, text),
      end: async () => {
        ending = true;
        await sql.end({ timeout: 0 });
      },
    };
    try {
      await session.query("SELECT 1");
    } catch (err) {
      await session.end();
      throw err;
    }
    return session;
  }

  async end(): Promise<void> {
    if (this.#owned) await this.#sql.end({ timeout: 5 });
  }
}
