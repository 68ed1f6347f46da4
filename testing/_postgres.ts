/**
 * Test harness for the PostgreSQL provider (internal; not exported from
 * `testing/mod.ts`): a fresh, empty database per test file.
 *
 * The server comes from `FRANCIS_TEST_POSTGRES_URL` (a superuser URL, any
 * database), else `postgres://postgres@127.0.0.1:5432/test`. When no server
 * answers, {@linkcode createTestDatabase} throws an error saying how to
 * provide one, so PostgreSQL tests fail instead of being skipped.
 *
 * @module
 */

import postgres from "postgres";

/** The server used when `FRANCIS_TEST_POSTGRES_URL` is not set. */
export const DEFAULT_TEST_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/test";

/** A database created for one test run. */
export interface TestDatabase {
  /** Connection string of the new database. */
  url: string;
  /** Drops the database (`WITH (FORCE)`, ending connections left open). */
  drop(): Promise<void>;
}

/** The admin URL: `FRANCIS_TEST_POSTGRES_URL` or the default. */
export function testServerUrl(): string {
  return Deno.env.get("FRANCIS_TEST_POSTGRES_URL") ?? DEFAULT_TEST_POSTGRES_URL;
}

async function withAdmin<T>(fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(testServerUrl(), { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/**
 * Creates `francis_t_<random>` on the test server and returns its URL.
 *
 * @throws {Error} When the server cannot be reached, explaining how to provide one.
 *
 * @example
 * ```ts ignore
 * import { createTestDatabase } from "./_postgres.ts";
 * const db = await createTestDatabase();
 * try {
 *   console.log(db.url); // postgres://postgres@127.0.0.1:5432/francis_t_…
 * } finally {
 *   await db.drop();
 * }
 * ```
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `francis_t_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const server = testServerUrl();
  try {
    await withAdmin((sql) => sql.unsafe(`CREATE DATABASE ${name}`));
  } catch (err) {
    throw new Error(
      `Cannot create a PostgreSQL test database on ${redact(server)}: ${
        err instanceof Error ? err.message : String(err)
      }. The PostgreSQL provider tests need a server: set FRANCIS_TEST_POSTGRES_URL to a superuser URL ` +
        `(e.g. postgres://postgres:secret@host:5432/postgres), or start PostgreSQL on 127.0.0.1:5432 with ` +
        `trust authentication for user "postgres".`,
      { cause: err },
    );
  }
  const url = new URL(server);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => withAdmin(async (sql) => void await sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)),
  };
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== "") u.password = "***";
    return u.toString();
  } catch {
    return "the configured server";
  }
}
