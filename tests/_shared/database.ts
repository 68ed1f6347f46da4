/**
 * A fresh PostgreSQL database per multi-process test (`testing/_postgres.ts`)
 * with a client on it and the test's tables created.
 *
 * @module
 */

import postgres from "postgres";
import { createTestDatabase } from "../../testing/_postgres.ts";

/** A database of one test, and a client on it; disposing ends the client and drops the database. */
export interface ClientDatabase extends AsyncDisposable {
  /** Connection string of the database. */
  url: string;
  /** A client (2 connections) on it. */
  sql: postgres.Sql;
}

/** Creates a database and runs `schema` on it (the tables the test's actors write to). */
export async function openTestDatabase(schema?: string): Promise<ClientDatabase> {
  const db = await createTestDatabase();
  const sql = postgres(db.url, { max: 2, onnotice: () => {} });
  const dispose = async () => {
    await sql.end();
    await db.drop();
  };
  try {
    if (schema !== undefined) await sql.unsafe(schema);
  } catch (err) {
    await dispose();
    throw err;
  }
  return { url: db.url, sql, [Symbol.asyncDispose]: dispose };
}
