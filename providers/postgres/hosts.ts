/**
 * Host registration, health checks, draining, eviction and cleanup of the
 * PostgreSQL provider.
 *
 * A host is healthy while `last_health_check >= now - healthCheckDeadlineMs`.
 * Deleting a host cascades to its types and placements; the placement trigger
 * clears those actors' alarm leases. Each host registered through this
 * provider instance has a {@linkcode HostSession} holding its liveness lock.
 *
 * @module
 */

import { checkMaxHosts } from "../memory/provider.ts";
import { HostAlreadyRegisteredError, HostUnregisteredError } from "../../errors.ts";
import { checkHostId, checkInteger, checkString, show } from "../memory/_validate.ts";
import type { CleanupResult, HostRecord, RegisterHostRequest } from "../types.ts";
import {
  byCodeUnits,
  intArray,
  num,
  type PgContext,
  sqlFor,
  textArray,
  toStoredTimeout,
  transaction,
} from "./context.ts";
import { sqlState } from "./driver.ts";
import { hostLockKey, HostSession } from "./liveness.ts";

/** Hosts, with the liveness sessions of those this instance registered. */
export class HostStore {
  #ctx: PgContext;
  #sessions = new Map<string, HostSession>();
  #closing = new Set<Promise<void>>();

  constructor(ctx: PgContext) {
    this.#ctx = ctx;
  }

  /** The liveness session of a host this instance registered (tests and diagnostics). */
  session(hostId: string): HostSession | undefined {
    return this.#sessions.get(hostId);
  }

  /** Validates, takes the liveness lock, then purges dead hosts and inserts the host in one transaction. */
  async register(req: RegisterHostRequest): Promise<{ hostId: string }> {
    const action = "register host";
    checkString(action, "address", req.address);
    checkInteger(action, "healthCheckDeadlineMs", req.healthCheckDeadlineMs, 1);
    if (req.hostId !== undefined) checkHostId(action, "hostId", req.hostId);
    const maxHosts = req.maxHosts ?? 0;
    checkInteger(action, "maxHosts", maxHosts, 0, 2 ** 31 - 1);
    const types = [...req.actorTypes];
    const seen = new Set<string>();
    for (const [i, t] of types.entries()) {
      checkString(action, `actorTypes[${i}].actorType`, t.actorType);
      if (t.idleTimeoutMs !== Infinity) checkInteger(action, `actorTypes[${i}].idleTimeoutMs`, t.idleTimeoutMs, 1);
      checkInteger(action, `actorTypes[${i}].concurrencyLimit`, t.concurrencyLimit, 0, 2 ** 31 - 1);
      if (seen.has(t.actorType)) {
        throw new TypeError(`Cannot ${action}: actor type ${show(t.actorType)} is listed twice`);
      }
      seen.add(t.actorType);
    }
    const hostId = req.hostId ?? crypto.randomUUID();
    const session = await HostSession.open(this.#ctx.db, this.#ctx.prefix, hostId);
    let purged: string[];
    try {
      purged = await transaction(this.#ctx, async (tx) => {
        const now = this.#ctx.clock.now();
        if (req.hostId !== undefined) {
          const rows = await tx.query(sqlFor(this.#ctx, "SELECT 1 FROM {p}_hosts WHERE host_id = $1"), [hostId]);
          if (rows.length > 0) {
            throw new HostAlreadyRegisteredError(`Cannot ${action}: host ID ${show(hostId)} is already registered`);
          }
        }
        const dead = await tx.query(
          sqlFor(this.#ctx, "DELETE FROM {p}_hosts WHERE last_health_check < $1 RETURNING host_id"),
          [now - req.healthCheckDeadlineMs],
        );
        const holder = await tx.query(sqlFor(this.#ctx, "SELECT host_id FROM {p}_hosts WHERE address = $1"), [
          req.address,
        ]);
        if (holder.length > 0) throw addressTaken(req.address);
        // Registrations serialise on one lock, so two hosts cannot both take the last place of a limited cluster.
        await tx.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [`${this.#ctx.prefix}/register`]);
        const limits = await tx.query(sqlFor(this.#ctx, "SELECT max_hosts FROM {p}_hosts"));
        checkMaxHosts(limits.map((r) => Number(r.max_hosts)), maxHosts);
        await tx.query(
          sqlFor(
            this.#ctx,
            "INSERT INTO {p}_hosts (host_id, address, last_health_check, max_hosts) VALUES ($1, $2, $3, $4)",
          ),
          [hostId, req.address, now, maxHosts],
        );
        if (types.length > 0) {
          await tx.query(
            sqlFor(
              this.#ctx,
              `INSERT INTO {p}_host_types (host_id, actor_type, idle_timeout_ms, concurrency_limit)
               SELECT $1, * FROM unnest($2::text[], $3::int8[], $4::int4[])`,
            ),
            [
              hostId,
              textArray(types.map((t) => t.actorType)),
              intArray(types.map((t) => toStoredTimeout(t.idleTimeoutMs))),
              intArray(types.map((t) => t.concurrencyLimit)),
            ],
          );
        }
        return dead.map((r) => r.host_id as string);
      });
    } catch (err) {
      await session.close();
      if (sqlState(err) === "23505") throw addressTaken(req.address, err);
      throw err;
    }
    this.#sessions.set(hostId, session);
    this.#forget(purged);
    return { hostId };
  }

  /** Re-checks the liveness session, then records a health check of a still-healthy host. */
  async heartbeat(hostId: string, healthCheckDeadlineMs: number): Promise<void> {
    checkString("record health check", "hostId", hostId);
    checkInteger("record health check", "healthCheckDeadlineMs", healthCheckDeadlineMs, 1);
    await this.#sessions.get(hostId)?.ensure();
    const now = this.#ctx.clock.now();
    const { count } = await this.#ctx.db.query(
      sqlFor(this.#ctx, "UPDATE {p}_hosts SET last_health_check = $1 WHERE host_id = $2 AND last_health_check >= $3"),
      [now, hostId, now - healthCheckDeadlineMs],
    );
    if (count === 0) {
      this.#forget([hostId]);
      throw new HostUnregisteredError(
        `Cannot record health check: host ${show(hostId)} is not registered or missed its deadline`,
      );
    }
  }

  /** Deletes a host (cascading) and ends its liveness session; unknown IDs are ignored. */
  async unregister(hostId: string): Promise<void> {
    checkString("unregister host", "hostId", hostId);
    await this.#delete(hostId);
  }

  /**
   * Removes a host whose liveness session has ended. A host registered through
   * this very instance is removed as by `unregisterHost`: its session is ours,
   * so it is no evidence either way.
   */
  async evict(hostId: string): Promise<boolean> {
    checkString("evict host", "hostId", hostId);
    if (this.#sessions.has(hostId)) return await this.#delete(hostId);
    return await transaction(this.#ctx, async (tx) => {
      const [lock] = await tx.query("SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0)) AS free", [
        hostLockKey(this.#ctx.prefix, hostId),
      ]);
      if (lock.free !== true) return false;
      const { count } = await tx.query(sqlFor(this.#ctx, "DELETE FROM {p}_hosts WHERE host_id = $1"), [hostId]);
      return count > 0;
    });
  }

  /** A one-time claim: `true` if `key` was free (or its claim expired). */
  async claimOnce(key: string, expiresAtMs: number): Promise<boolean> {
    checkString("claim once", "key", key);
    checkInteger("claim once", "expiresAtMs", expiresAtMs, 0);
    const rows = await this.#ctx.db.query(
      sqlFor(
        this.#ctx,
        `INSERT INTO {p}_claims (key, expires_at) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE {p}_claims.expires_at <= $3
         RETURNING 1`,
      ),
      [key, expiresAtMs, this.#ctx.clock.now()],
    );
    return rows.length > 0;
  }

  /** Marks a host as draining; unknown IDs are ignored. */
  async drain(hostId: string): Promise<void> {
    checkString("mark host draining", "hostId", hostId);
    await this.#ctx.db.query(sqlFor(this.#ctx, "UPDATE {p}_hosts SET draining = true WHERE host_id = $1"), [hostId]);
  }

  /** Healthy hosts with their sorted types, sorted by host ID (JavaScript order). */
  async list(healthCheckDeadlineMs: number): Promise<HostRecord[]> {
    checkInteger("list hosts", "healthCheckDeadlineMs", healthCheckDeadlineMs, 1);
    const threshold = this.#ctx.clock.now() - healthCheckDeadlineMs;
    const [hostRows, typeRows] = await Promise.all([
      this.#ctx.db.query(
        sqlFor(this.#ctx, "SELECT host_id, address, last_health_check FROM {p}_hosts WHERE last_health_check >= $1"),
        [threshold],
      ),
      this.#ctx.db.query(
        sqlFor(
          this.#ctx,
          `SELECT t.host_id, t.actor_type FROM {p}_host_types t JOIN {p}_hosts h ON h.host_id = t.host_id
           WHERE h.last_health_check >= $1`,
        ),
        [threshold],
      ),
    ]);
    const hosts = new Map<string, HostRecord>();
    for (const row of hostRows) {
      const hostId = row.host_id as string;
      hosts.set(hostId, {
        hostId,
        address: row.address as string,
        lastHealthCheck: num(row.last_health_check),
        actorTypes: [],
      });
    }
    for (const row of typeRows) hosts.get(row.host_id as string)?.actorTypes.push(row.actor_type as string);
    const result = [...hosts.values()].sort((a, b) => byCodeUnits(a.hostId, b.hostId));
    for (const host of result) host.actorTypes.sort();
    return result;
  }

  /**
   * Deletes expired state and, with a deadline, dead hosts, in one transaction.
   * With `minIntervalMs`, runs only if no process cleaned up within that time
   * (one process per cluster does the periodic round) and returns `undefined` when skipped.
   */
  async cleanup(healthCheckDeadlineMs: number | undefined, minIntervalMs?: number): Promise<CleanupResult | undefined> {
    if (healthCheckDeadlineMs !== undefined) {
      checkInteger("clean up", "healthCheckDeadlineMs", healthCheckDeadlineMs, 1);
    }
    const result = await transaction(this.#ctx, async (tx) => {
      const now = this.#ctx.clock.now();
      if (minIntervalMs !== undefined) {
        const claimed = await tx.query(
          sqlFor(
            this.#ctx,
            `INSERT INTO {p}_metadata (key, value) VALUES ('last_cleanup', $1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value
             WHERE {p}_metadata.value::bigint <= $2 RETURNING 1`,
          ),
          [String(now), now - minIntervalMs + 100],
        );
        if (claimed.length === 0) return undefined;
      }
      const dead = healthCheckDeadlineMs === undefined ? [] : await tx.query(
        sqlFor(this.#ctx, "DELETE FROM {p}_hosts WHERE last_health_check < $1 RETURNING host_id"),
        [now - healthCheckDeadlineMs],
      );
      const expired = await tx.query(
        sqlFor(this.#ctx, "DELETE FROM {p}_state WHERE expiration IS NOT NULL AND expiration <= $1"),
        [now],
      );
      // Expired single-use claims (JWT `jti`s) no longer block anything.
      await tx.query(sqlFor(this.#ctx, "DELETE FROM {p}_claims WHERE expires_at <= $1"), [now]);
      return { dead: dead.map((r) => r.host_id as string), expiredStates: expired.count };
    });
    if (result === undefined) return undefined;
    this.#forget(result.dead);
    return { expiredStates: result.expiredStates, deadHosts: result.dead.length };
  }

  /** Ends every liveness session without unregistering (the final `release`). */
  async closeAll(): Promise<void> {
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.all([...sessions.map((s) => s.close()), ...this.#closing]);
  }

  async #delete(hostId: string): Promise<boolean> {
    const { count } = await this.#ctx.db.query(sqlFor(this.#ctx, "DELETE FROM {p}_hosts WHERE host_id = $1"), [
      hostId,
    ]);
    this.#forget([hostId]);
    return count > 0;
  }

  /** Ends the sessions of hosts that are gone from the table. */
  #forget(hostIds: readonly string[]): void {
    for (const hostId of hostIds) {
      const session = this.#sessions.get(hostId);
      if (session === undefined) continue;
      this.#sessions.delete(hostId);
      const closing = session.close().catch(() => {}).finally(() => this.#closing.delete(closing));
      this.#closing.add(closing);
    }
  }
}

function addressTaken(address: string, cause?: unknown): HostAlreadyRegisteredError {
  return new HostAlreadyRegisteredError(
    `Cannot register host: address ${show(address)} is already registered by a healthy host`,
    cause === undefined ? undefined : { cause },
  );
}
