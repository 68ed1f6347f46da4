/**
 * Numbered, append-only schema migrations of the SQLite provider.
 *
 * `MIGRATIONS[i]` moves the schema from version `i` to `i + 1`. Never edit or
 * reorder a shipped entry: append a new one. `{p}` stands for the table prefix
 * (validated against `/^[a-z][a-z0-9_]{0,31}$/`, so it is safe to splice).
 *
 * The current version lives in `<prefix>_metadata` under the key
 * `schema_version`. {@linkcode migrate} runs inside `BEGIN IMMEDIATE`, which
 * takes the database write lock up front, so several processes opening one
 * file at once migrate it exactly once.
 *
 * Schema notes:
 * - Times are integer epoch milliseconds from the provider's clock, passed as
 *   parameters; SQLite's own clock is never used.
 * - Idle timeouts are integer ms, `NULL` meaning never (`Infinity`).
 * - `<p>_active_actors` primary key `(actor_type, actor_id)` is the
 *   single-activation record.
 * - `<p>_state.actor_key` is `actor_id` encoded as UTF-16BE: its `BINARY`
 *   order is UTF-16 code-unit order, which `listStates` promises (plain UTF-8
 *   text sorts by code point, which differs above U+E000).
 * - Deleting a placement (directly or by cascade from its host) clears the
 *   leases of that actor's alarms and jobs through triggers.
 * - `<p>_jobs` holds live jobs; an idempotency key is unique among the live
 *   jobs of one actor (a partial unique index). `<p>_dead_jobs` holds
 *   dead-letter records, which hold no key.
 *
 * @module
 */

import { ProviderError } from "../../errors.ts";
import type { DatabaseSync, Row } from "./driver.ts";

/** Version 1: hosts, placements, state, alarms. */
const V1_INITIAL = `
CREATE TABLE {p}_hosts (
  host_id TEXT NOT NULL PRIMARY KEY,
  address TEXT NOT NULL,
  last_health_check INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE UNIQUE INDEX {p}_hosts_address_idx ON {p}_hosts (address);
CREATE INDEX {p}_hosts_health_idx ON {p}_hosts (last_health_check);

CREATE TABLE {p}_host_actor_types (
  host_id TEXT NOT NULL REFERENCES {p}_hosts (host_id) ON DELETE CASCADE,
  actor_type TEXT NOT NULL,
  idle_timeout_ms INTEGER,
  concurrency_limit INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (host_id, actor_type)
) STRICT, WITHOUT ROWID;
CREATE INDEX {p}_host_actor_types_type_idx ON {p}_host_actor_types (actor_type);

CREATE TABLE {p}_active_actors (
  actor_type TEXT NOT NULL,
  actor_id TEXT NOT NULL,
  host_id TEXT NOT NULL REFERENCES {p}_hosts (host_id) ON DELETE CASCADE,
  idle_timeout_ms INTEGER,
  activated_at INTEGER NOT NULL,
  PRIMARY KEY (actor_type, actor_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX {p}_active_actors_host_idx ON {p}_active_actors (host_id, actor_type);

CREATE TABLE {p}_state (
  actor_type TEXT NOT NULL,
  actor_key BLOB NOT NULL,
  actor_id TEXT NOT NULL,
  data BLOB NOT NULL,
  expiration INTEGER,
  PRIMARY KEY (actor_type, actor_key)
) STRICT, WITHOUT ROWID;
CREATE INDEX {p}_state_expiration_idx ON {p}_state (expiration) WHERE expiration IS NOT NULL;

CREATE TABLE {p}_alarms (
  alarm_id TEXT NOT NULL PRIMARY KEY,
  actor_type TEXT NOT NULL,
  actor_id TEXT NOT NULL,
  name TEXT NOT NULL,
  due_time INTEGER NOT NULL,
  interval TEXT,
  ttl INTEGER,
  data BLOB,
  lease_id TEXT,
  lease_expiration INTEGER
) STRICT, WITHOUT ROWID;
CREATE UNIQUE INDEX {p}_alarms_ref_idx ON {p}_alarms (actor_type, actor_id, name);
CREATE INDEX {p}_alarms_due_idx ON {p}_alarms (due_time);
CREATE UNIQUE INDEX {p}_alarms_lease_idx ON {p}_alarms (lease_id) WHERE lease_id IS NOT NULL;

CREATE TRIGGER {p}_active_actors_clear_leases AFTER DELETE ON {p}_active_actors
BEGIN
  UPDATE {p}_alarms SET lease_id = NULL, lease_expiration = NULL
  WHERE actor_type = OLD.actor_type AND actor_id = OLD.actor_id AND lease_id IS NOT NULL;
END;
`;

/** Version 2: draining hosts (never chosen for new placements), each host's `maxHosts`, one-time claims. */
const V2_DRAINING = `
ALTER TABLE {p}_hosts ADD COLUMN draining INTEGER NOT NULL DEFAULT 0;
ALTER TABLE {p}_hosts ADD COLUMN max_hosts INTEGER NOT NULL DEFAULT 0;
CREATE TABLE {p}_claims (key TEXT NOT NULL PRIMARY KEY, expires_at INTEGER NOT NULL) STRICT, WITHOUT ROWID;
`;

/** Version 3: durable jobs, their dead-letter store, and job lease clearing on placement removal. */
const V3_JOBS = `
CREATE TABLE {p}_jobs (
  job_id TEXT NOT NULL PRIMARY KEY,
  actor_type TEXT NOT NULL,
  actor_id TEXT NOT NULL,
  method TEXT NOT NULL,
  due_time INTEGER NOT NULL,
  interval TEXT,
  cron TEXT,
  ttl INTEGER,
  idempotency_key TEXT,
  created_at INTEGER NOT NULL,
  data BLOB,
  lease_id TEXT,
  lease_expiration INTEGER
) STRICT, WITHOUT ROWID;
CREATE INDEX {p}_jobs_actor_idx ON {p}_jobs (actor_type, actor_id);
CREATE UNIQUE INDEX {p}_jobs_key_idx ON {p}_jobs (actor_type, actor_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE INDEX {p}_jobs_due_idx ON {p}_jobs (due_time);
CREATE UNIQUE INDEX {p}_jobs_lease_idx ON {p}_jobs (lease_id) WHERE lease_id IS NOT NULL;

CREATE TABLE {p}_dead_jobs (
  job_id TEXT NOT NULL PRIMARY KEY,
  actor_type TEXT NOT NULL,
  actor_id TEXT NOT NULL,
  method TEXT NOT NULL,
  due_time INTEGER NOT NULL,
  interval TEXT,
  cron TEXT,
  ttl INTEGER,
  idempotency_key TEXT,
  created_at INTEGER NOT NULL,
  data BLOB,
  attempts INTEGER NOT NULL,
  last_error TEXT NOT NULL,
  failed_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX {p}_dead_jobs_actor_idx ON {p}_dead_jobs (actor_type, actor_id);

CREATE TRIGGER {p}_active_actors_clear_job_leases AFTER DELETE ON {p}_active_actors
BEGIN
  UPDATE {p}_jobs SET lease_id = NULL, lease_expiration = NULL
  WHERE actor_type = OLD.actor_type AND actor_id = OLD.actor_id AND lease_id IS NOT NULL;
END;
`;

/**
 * Version 4: repairs stores migrated to version 2 by an earlier release, whose
 * version 2 added only `draining`: `max_hosts` and the claims table were later
 * folded into version 2, so such stores reached version 3 without them. A
 * no-op on every other store.
 */
function v4HostsRepair(db: DatabaseSync, prefix: string): void {
  const columns = db.prepare(`PRAGMA table_info(${prefix}_hosts)`).all() as Row[];
  if (!columns.some((c) => c.name === "max_hosts")) {
    db.exec(`ALTER TABLE ${prefix}_hosts ADD COLUMN max_hosts INTEGER NOT NULL DEFAULT 0`);
  }
  db.exec(
    `CREATE TABLE IF NOT EXISTS ${prefix}_claims (key TEXT NOT NULL PRIMARY KEY, expires_at INTEGER NOT NULL) STRICT, WITHOUT ROWID`,
  );
}

/** One migration: SQL with `{p}` for the prefix, or a function for a step SQL alone cannot express. */
export type Migration = string | ((db: DatabaseSync, prefix: string) => void);

/** Every migration, in order. Append only. */
export const MIGRATIONS: readonly Migration[] = [V1_INITIAL, V2_DRAINING, V3_JOBS, v4HostsRepair];

/** The schema version this library writes and understands. */
export const SCHEMA_VERSION: number = MIGRATIONS.length;

/** Substitutes the table prefix into a SQL template. */
export function withPrefix(sql: string, prefix: string): string {
  return sql.replaceAll("{p}", prefix);
}

/**
 * Brings the schema up to {@linkcode SCHEMA_VERSION}. Idempotent and safe to
 * run from several processes at once.
 *
 * @param db An open connection with no transaction in progress.
 * @param prefix The validated table prefix.
 * @param migrations The migration list (a test seam).
 * @returns The version the schema had before.
 * @throws {ProviderError} If the stored version is newer than this library knows.
 */
export function migrate(db: DatabaseSync, prefix: string, migrations: readonly Migration[] = MIGRATIONS): number {
  const supported = migrations.length;
  db.exec("BEGIN IMMEDIATE");
  try {
    db.exec(
      `CREATE TABLE IF NOT EXISTS ${prefix}_metadata (key TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL) STRICT, WITHOUT ROWID`,
    );
    const row = db.prepare(`SELECT value FROM ${prefix}_metadata WHERE key = 'schema_version'`).get() as
      | Row
      | undefined;
    const current = row === undefined ? 0 : Number(row.value);
    if (!Number.isInteger(current) || current < 0) {
      throw new ProviderError(`Cannot open SQLite provider: schema version "${String(row?.value)}" is invalid`);
    }
    if (current > supported) {
      throw new ProviderError(
        `Cannot open SQLite provider: schema version ${current} is newer than supported version ${supported}`,
      );
    }
    for (let version = current; version < supported; version++) {
      const step = migrations[version];
      if (typeof step === "string") db.exec(withPrefix(step, prefix));
      else step(db, prefix);
    }
    if (current !== supported) {
      db.prepare(
        `INSERT INTO ${prefix}_metadata (key, value) VALUES ('schema_version', ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      ).run(String(supported));
    }
    db.exec("COMMIT");
    return current;
  } catch (err) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw err;
  }
}
