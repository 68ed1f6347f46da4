/**
 * The only module that touches the SQLite driver (`node:sqlite`).
 *
 * The driver is loaded lazily with `await import()` inside
 * {@linkcode openDatabase}, so importing `@francis/core/providers/sqlite`
 * costs nothing until a provider is acquired. Every other file of the provider
 * imports only the types re-exported here.
 *
 * @module
 */

import type { DatabaseSync, StatementSync } from "node:sqlite";

export type { DatabaseSync, StatementSync };

/** A row as `node:sqlite` returns it. */
export type Row = Record<string, unknown>;

/**
 * Opens a database connection, loading `node:sqlite` on first use.
 *
 * @param path A file path, a `file:` URL or `":memory:"`.
 * @returns The open connection. Foreign keys are on (the `node:sqlite` default, made explicit).
 */
export async function openDatabase(path: string | URL): Promise<DatabaseSync> {
  const sqlite = await import("node:sqlite");
  return new sqlite.DatabaseSync(path, { enableForeignKeyConstraints: true });
}

/** The extended SQLite result code of a driver error, if it is one. */
export function sqliteErrorCode(err: unknown): number | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const code = (err as { errcode?: unknown }).errcode;
  return typeof code === "number" ? code : undefined;
}

/** Whether `err` is a SQLite constraint violation (primary result code `SQLITE_CONSTRAINT`). */
export function isConstraintError(err: unknown): boolean {
  const code = sqliteErrorCode(err);
  return code !== undefined && (code & 0xff) === 19;
}
