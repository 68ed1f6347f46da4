/**
 * Numbered, append-only schema migrations of the PostgreSQL provider.
 *
 * `MIGRATIONS[i]` moves the schema from version `i` to `i + 1`; version `v` is
 * recorded as a row of `<prefix>_migrations`. Never edit or reorder a shipped
 * entry: append a new one. `{p}` stands for the validated table prefix.
 *
 * {@linkcode migrate} runs in one transaction that first takes
 * `pg_advisory_xact_lock` on a key derived from the prefix, so processes
 * starting at once migrate exactly once; the others wait, then find nothing to do.
 *
 * Schema notes:
 * - Times are epoch ms (`bigint`) from the provider's clock; `now()` is never used.
 * - Identifiers are `text COLLATE "C"`: bytewise equality and index order.
 * - `<p>_state.actor_key` is `actor_id` as UTF-16BE bytes: `bytea` order is
 *   UTF-16 code-unit order, which `listStates` promises.
 * - `<p>_host_types.actor_count` counts the type's placements on the host. Two
 *   statement-level triggers keep it exact, and the DELETE one also clears the
 *   alarm and job leases of removed placements (directly or by cascade from a host).
 * - `<p>_jobs` holds live jobs; an idempotency key is unique among the live
 *   jobs of one actor (a partial unique index). `<p>_dead_jobs` holds
 *   dead-letter records, which hold no key. Fetching walks two partial
 *   indexes (unleased jobs by due time, leased jobs by lease expiration).
 *   Placement transactions lock these rows (`FOR UPDATE`) before reading the
 *   count, so `concurrencyLimit` holds across processes.
 *
 * @module
 */

import { ProviderError } from "../../errors.ts";
import type { Queryable } from "./driver.ts";
import { V3_JOB_FETCH } from "./migration_v3.ts";
import { V4_ALARM_FETCH } from "./migration_v4.ts";

/** Version 1: hosts, types, placements, state, alarms, metadata, triggers. */
const V1_INITIAL = `
CREATE TABLE {p}_hosts (
  host_id text COLLATE "C" NOT NULL PRIMARY KEY,
  address text COLLATE "C" NOT NULL,
  last_health_check bigint NOT NULL,
  draining boolean NOT NULL DEFAULT false,
  max_hosts integer NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX {p}_hosts_address_idx ON {p}_hosts (address);
CREATE INDEX {p}_hosts_health_idx ON {p}_hosts (last_health_check);

CREATE TABLE {p}_host_types (
  host_id text COLLATE "C" NOT NULL REFERENCES {p}_hosts (host_id) ON DELETE CASCADE,
  actor_type text COLLATE "C" NOT NULL,
  idle_timeout_ms bigint,
  concurrency_limit integer NOT NULL,
  actor_count integer NOT NULL DEFAULT 0,
  PRIMARY KEY (host_id, actor_type)
);
CREATE INDEX {p}_host_types_type_idx ON {p}_host_types (actor_type);

CREATE TABLE {p}_active_actors (
  actor_type text COLLATE "C" NOT NULL,
  actor_id text COLLATE "C" NOT NULL,
  host_id text COLLATE "C" NOT NULL REFERENCES {p}_hosts (host_id) ON DELETE CASCADE,
  idle_timeout_ms bigint,
  activated_at bigint NOT NULL,
  PRIMARY KEY (actor_type, actor_id)
);
CREATE INDEX {p}_active_actors_host_idx ON {p}_active_actors (host_id, actor_type);

CREATE TABLE {p}_state (
  actor_type text COLLATE "C" NOT NULL,
  actor_key bytea NOT NULL,
  actor_id text COLLATE "C" NOT NULL,
  data bytea NOT NULL,
  expiration bigint,
  PRIMARY KEY (actor_type, actor_key)
);
CREATE INDEX {p}_state_expiration_idx ON {p}_state (expiration) WHERE expiration IS NOT NULL;

CREATE TABLE {p}_claims (
  key text COLLATE "C" NOT NULL PRIMARY KEY,
  expires_at bigint NOT NULL
);

CREATE TABLE {p}_alarms (
  alarm_id text COLLATE "C" NOT NULL PRIMARY KEY,
  actor_type text COLLATE "C" NOT NULL,
  actor_id text COLLATE "C" NOT NULL,
  name text COLLATE "C" NOT NULL,
  due_time bigint NOT NULL,
  interval text,
  ttl bigint,
  data bytea,
  lease_id text COLLATE "C",
  lease_expiration bigint
);
CREATE UNIQUE INDEX {p}_alarms_ref_idx ON {p}_alarms (actor_type, actor_id, name);
CREATE INDEX {p}_alarms_due_idx ON {p}_alarms (due_time, alarm_id);
CREATE UNIQUE INDEX {p}_alarms_lease_idx ON {p}_alarms (lease_id) WHERE lease_id IS NOT NULL;

CREATE TABLE {p}_metadata (
  key text COLLATE "C" NOT NULL PRIMARY KEY,
  value text NOT NULL
);

CREATE FUNCTION {p}_placements_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE {p}_host_types t SET actor_count = t.actor_count + n.n
  FROM (SELECT host_id, actor_type, count(*)::integer AS n FROM new_rows GROUP BY 1, 2 ORDER BY 1, 2) n
  WHERE t.host_id = n.host_id AND t.actor_type = n.actor_type;
  RETURN NULL;
END $$;
CREATE TRIGGER {p}_placements_added AFTER INSERT ON {p}_active_actors
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {p}_placements_added();

CREATE FUNCTION {p}_placements_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE {p}_alarms al SET lease_id = NULL, lease_expiration = NULL
  FROM old_rows o
  WHERE al.actor_type = o.actor_type AND al.actor_id = o.actor_id AND al.lease_id IS NOT NULL;
  UPDATE {p}_host_types t SET actor_count = t.actor_count - o.n
  FROM (SELECT host_id, actor_type, count(*)::integer AS n FROM old_rows GROUP BY 1, 2 ORDER BY 1, 2) o
  WHERE t.host_id = o.host_id AND t.actor_type = o.actor_type;
  RETURN NULL;
END $$;
CREATE TRIGGER {p}_placements_removed AFTER DELETE ON {p}_active_actors
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {p}_placements_removed();
`;

/** Version 2: durable jobs and their dead-letter store; placement removal also clears job leases. */
const V2_JOBS = `
CREATE TABLE {p}_jobs (
  job_id text COLLATE "C" NOT NULL PRIMARY KEY,
  actor_type text COLLATE "C" NOT NULL,
  actor_id text COLLATE "C" NOT NULL,
  method text NOT NULL,
  due_time bigint NOT NULL,
  interval text,
  cron text,
  ttl bigint,
  idempotency_key text COLLATE "C",
  created_at bigint NOT NULL,
  data bytea,
  lease_id text COLLATE "C",
  lease_expiration bigint
);
CREATE INDEX {p}_jobs_actor_idx ON {p}_jobs (actor_type, actor_id);
CREATE UNIQUE INDEX {p}_jobs_key_idx ON {p}_jobs (actor_type, actor_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE INDEX {p}_jobs_due_idx ON {p}_jobs (due_time, job_id);
CREATE UNIQUE INDEX {p}_jobs_lease_idx ON {p}_jobs (lease_id) WHERE lease_id IS NOT NULL;

CREATE TABLE {p}_dead_jobs (
  job_id text COLLATE "C" NOT NULL PRIMARY KEY,
  actor_type text COLLATE "C" NOT NULL,
  actor_id text COLLATE "C" NOT NULL,
  method text NOT NULL,
  due_time bigint NOT NULL,
  interval text,
  cron text,
  ttl bigint,
  idempotency_key text COLLATE "C",
  created_at bigint NOT NULL,
  data bytea,
  attempts integer NOT NULL,
  last_error text NOT NULL,
  failed_at bigint NOT NULL
);
CREATE INDEX {p}_dead_jobs_actor_idx ON {p}_dead_jobs (actor_type, actor_id);

CREATE OR REPLACE FUNCTION {p}_placements_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE {p}_alarms al SET lease_id = NULL, lease_expiration = NULL
  FROM old_rows o
  WHERE al.actor_type = o.actor_type AND al.actor_id = o.actor_id AND al.lease_id IS NOT NULL;
  UPDATE {p}_jobs j SET lease_id = NULL, lease_expiration = NULL
  FROM old_rows o
  WHERE j.actor_type = o.actor_type AND j.actor_id = o.actor_id AND j.lease_id IS NOT NULL;
  UPDATE {p}_host_types t SET actor_count = t.actor_count - o.n
  FROM (SELECT host_id, actor_type, count(*)::integer AS n FROM old_rows GROUP BY 1, 2 ORDER BY 1, 2) o
  WHERE t.host_id = o.host_id AND t.actor_type = o.actor_type;
  RETURN NULL;
END $$;
`;

/** Every migration, in order. Append only. */
export const MIGRATIONS: readonly string[] = [V1_INITIAL, V2_JOBS, V3_JOB_FETCH, V4_ALARM_FETCH];

/** The schema version this library writes and understands. */
export const SCHEMA_VERSION: number = MIGRATIONS.length;

/** Every function a prefix owns (dropping the tables leaves them), as `DROP FUNCTION` arguments. */
export function functionNames(prefix: string): string[] {
  return [
    "placements_added()",
    "placements_removed()",
    "job_candidates(text, bigint, bigint, bigint, bigint, text, integer)",
    "lease_due_jobs(text, bigint, bigint, bigint, integer, bigint)",
    "alarm_candidates(text, bigint, bigint, bigint, bigint, text, integer)",
    "lease_due_alarms(text, bigint, bigint, bigint, integer, bigint)",
  ].map((f) => `${prefix}_${f}`);
}

/** Every table a prefix owns (dropping these, with `CASCADE`, removes the functions' triggers too). */
export function tableNames(prefix: string): string[] {
  return [
    "jobs",
    "dead_jobs",
    "alarms",
    "state",
    "active_actors",
    "host_types",
    "hosts",
    "claims",
    "metadata",
    "migrations",
  ].map(
    (
      t,
    ) => `${prefix}_${t}`,
  );
}

/**
 * Brings the schema up to the latest version. Idempotent and safe to run from
 * several processes at once.
 *
 * @param begin Runs a function in one transaction.
 * @param prefix The validated table prefix.
 * @param now Epoch ms recorded with each applied version.
 * @param migrations The migration list (a test seam).
 * @returns The version the schema had before.
 * @throws {ProviderError} If the stored version is newer than this library knows.
 */
export function migrate(
  begin: <T>(fn: (tx: Queryable) => Promise<T>) => Promise<T>,
  prefix: string,
  now: number,
  migrations: readonly string[] = MIGRATIONS,
): Promise<number> {
  const supported = migrations.length;
  return begin(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [`francis:${prefix}:migrate`]);
    const [found] = await tx.query("SELECT to_regclass($1) IS NOT NULL AS present", [`${prefix}_migrations`]);
    if (found.present !== true) {
      await tx.query(
        `CREATE TABLE ${prefix}_migrations (version integer NOT NULL PRIMARY KEY, applied_at bigint NOT NULL)`,
      );
    }
    const [row] = await tx.query(`SELECT coalesce(max(version), 0) AS version FROM ${prefix}_migrations`);
    const current = Number(row.version);
    if (current > supported) {
      throw new ProviderError(
        `Cannot open PostgreSQL provider: schema version ${current} of tables "${prefix}_*" is newer than supported version ${supported}`,
      );
    }
    for (let version = current; version < supported; version++) {
      await tx.exec(migrations[version].replaceAll("{p}", prefix));
      await tx.query(`INSERT INTO ${prefix}_migrations (version, applied_at) VALUES ($1, $2)`, [version + 1, now]);
    }
    return current;
  });
}
