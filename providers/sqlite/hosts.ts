/**
 * Host registration, health checks and cleanup of the SQLite provider.
 *
 * A host is healthy while `last_health_check >= now - healthCheckDeadlineMs`.
 * Deleting a host cascades to its actor types and placements, and the
 * placement trigger clears the leases of those actors' alarms.
 *
 * @module
 */

import { HostAlreadyRegisteredError, HostUnregisteredError } from "../../errors.ts";
import { checkHostId } from "../memory/_validate.ts";
import { checkMaxHosts } from "../memory/provider.ts";
import type { CleanupResult, HostRecord, RegisterHostRequest } from "../types.ts";
import { isConstraintError, type Row, type StatementSync } from "./driver.ts";
import {
  checkDeadline,
  checkInteger,
  checkString,
  prepare,
  show,
  type SqliteContext,
  toStoredTimeout,
} from "./context.ts";

/** Host statements of one connection. */
export class HostStore {
  #ctx: SqliteContext;
  #deleteDead: StatementSync;
  #findAddress: StatementSync;
  #insertHost: StatementSync;
  #insertType: StatementSync;
  #heartbeat: StatementSync;
  #delete: StatementSync;
  #listHosts: StatementSync;
  #listTypes: StatementSync;
  #deleteExpiredState: StatementSync;
  #claimCleanup: StatementSync;
  #findId: StatementSync;
  #limits: StatementSync;
  #claim: StatementSync;
  #purgeClaims: StatementSync;
  #drain: StatementSync;

  /** Prepares the statements. */
  constructor(ctx: SqliteContext) {
    this.#ctx = ctx;
    this.#deleteDead = prepare(ctx, "DELETE FROM {p}_hosts WHERE last_health_check < ?");
    this.#findAddress = prepare(ctx, "SELECT host_id FROM {p}_hosts WHERE address = ?");
    this.#findId = prepare(ctx, "SELECT 1 FROM {p}_hosts WHERE host_id = ?");
    this.#limits = prepare(ctx, "SELECT max_hosts FROM {p}_hosts");
    this.#claim = prepare(
      ctx,
      `INSERT INTO {p}_claims (key, expires_at) VALUES (?, ?)
       ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE {p}_claims.expires_at <= ?`,
    );
    this.#purgeClaims = prepare(ctx, "DELETE FROM {p}_claims WHERE expires_at <= ?");
    this.#drain = prepare(ctx, "UPDATE {p}_hosts SET draining = 1 WHERE host_id = ?");
    this.#insertHost = prepare(
      ctx,
      "INSERT INTO {p}_hosts (host_id, address, last_health_check, max_hosts) VALUES (?, ?, ?, ?)",
    );
    this.#insertType = prepare(
      ctx,
      `INSERT INTO {p}_host_actor_types (host_id, actor_type, idle_timeout_ms, concurrency_limit)
       VALUES (?, ?, ?, ?)`,
    );
    this.#heartbeat = prepare(
      ctx,
      "UPDATE {p}_hosts SET last_health_check = ? WHERE host_id = ? AND last_health_check >= ?",
    );
    this.#delete = prepare(ctx, "DELETE FROM {p}_hosts WHERE host_id = ?");
    this.#listHosts = prepare(
      ctx,
      "SELECT host_id, address, last_health_check FROM {p}_hosts WHERE last_health_check >= ? ORDER BY host_id",
    );
    this.#listTypes = prepare(
      ctx,
      `SELECT t.host_id, t.actor_type FROM {p}_host_actor_types t
       JOIN {p}_hosts h ON h.host_id = t.host_id WHERE h.last_health_check >= ?`,
    );
    this.#deleteExpiredState = prepare(
      ctx,
      "DELETE FROM {p}_state WHERE expiration IS NOT NULL AND expiration <= ?",
    );
    this.#claimCleanup = prepare(
      ctx,
      `INSERT INTO {p}_metadata (key, value) VALUES ('last_cleanup', ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value
       WHERE CAST({p}_metadata.value AS INTEGER) <= ?`,
    );
  }

  /** Purges dead hosts, then registers a new one. */
  register(req: RegisterHostRequest): Promise<{ hostId: string }> {
    const action = "register host";
    checkString(action, "address", req.address);
    checkDeadline(action, req.healthCheckDeadlineMs);
    const seen = new Set<string>();
    for (const [i, t] of [...req.actorTypes].entries()) {
      checkString(action, `actorTypes[${i}].actorType`, t.actorType);
      checkInteger(action, `actorTypes[${i}].idleTimeoutMs`, t.idleTimeoutMs, { min: 1, allowInfinity: true });
      checkInteger(action, `actorTypes[${i}].concurrencyLimit`, t.concurrencyLimit, { min: 0, max: 2 ** 31 - 1 });
      if (seen.has(t.actorType)) {
        throw new TypeError(`Cannot ${action}: actor type ${show(t.actorType)} is listed twice`);
      }
      seen.add(t.actorType);
    }
    if (req.hostId !== undefined) checkHostId(action, "hostId", req.hostId);
    const maxHosts = req.maxHosts ?? 0;
    checkInteger(action, "maxHosts", maxHosts, { min: 0 });
    return this.#ctx.queue.enqueue(() => {
      const now = this.#ctx.clock.now();
      this.#deleteDead.run(now - req.healthCheckDeadlineMs);
      if (this.#findAddress.get(req.address) !== undefined) throw alreadyRegistered(req.address);
      if (req.hostId !== undefined && this.#findId.get(req.hostId) !== undefined) {
        throw new HostAlreadyRegisteredError(`Cannot ${action}: host ID "${req.hostId}" is already registered`);
      }
      // After the purge every remaining host is healthy by this deadline.
      checkMaxHosts((this.#limits.all() as Row[]).map((r) => r.max_hosts as number), maxHosts);
      const hostId = req.hostId ?? crypto.randomUUID();
      try {
        this.#insertHost.run(hostId, req.address, now, maxHosts);
      } catch (err) {
        if (isConstraintError(err)) throw alreadyRegistered(req.address, err);
        throw err;
      }
      for (const t of req.actorTypes) {
        this.#insertType.run(hostId, t.actorType, toStoredTimeout(t.idleTimeoutMs), t.concurrencyLimit);
      }
      return { hostId };
    });
  }

  /** Records a health check of a host that is still healthy. */
  heartbeat(hostId: string, healthCheckDeadlineMs: number): Promise<void> {
    checkDeadline("record health check", healthCheckDeadlineMs);
    return this.#ctx.queue.enqueue(() => {
      const now = this.#ctx.clock.now();
      const { changes } = this.#heartbeat.run(now, hostId, now - healthCheckDeadlineMs);
      if (changes === 0) {
        throw new HostUnregisteredError(
          `Cannot record health check: host "${hostId}" is not registered or missed its deadline`,
        );
      }
    });
  }

  /** Deletes a host; unknown IDs are ignored. */
  unregister(hostId: string): Promise<void> {
    return this.#ctx.queue.enqueue(() => {
      this.#delete.run(hostId);
    });
  }

  /**
   * Deletes a host a peer found unreachable. One machine shares a SQLite file,
   * so a refused port is the evidence: the host is removed unconditionally.
   */
  evict(hostId: string): Promise<boolean> {
    checkString("evict host", "hostId", hostId);
    return this.#ctx.queue.enqueue(() => this.#delete.run(hostId).changes > 0);
  }

  /** A one-time claim: `true` if `key` was free (or its claim expired). */
  claimOnce(key: string, expiresAtMs: number): Promise<boolean> {
    checkString("claim once", "key", key);
    checkInteger("claim once", "expiresAtMs", expiresAtMs, { min: 0 });
    return this.#ctx.queue.enqueue(() => this.#claim.run(key, expiresAtMs, this.#ctx.clock.now()).changes > 0);
  }

  /** Marks a host as draining: never chosen for a new placement. */
  drain(hostId: string): Promise<void> {
    checkString("mark host draining", "hostId", hostId);
    return this.#ctx.queue.enqueue(() => {
      this.#drain.run(hostId);
    });
  }

  /** Healthy hosts with their sorted types, by host ID. */
  list(healthCheckDeadlineMs: number): HostRecord[] {
    checkDeadline("list hosts", healthCheckDeadlineMs);
    const threshold = this.#ctx.clock.now() - healthCheckDeadlineMs;
    const hosts = new Map<string, HostRecord>();
    for (const row of this.#listHosts.all(threshold) as Row[]) {
      const hostId = row.host_id as string;
      hosts.set(hostId, {
        hostId,
        address: row.address as string,
        lastHealthCheck: row.last_health_check as number,
        actorTypes: [],
      });
    }
    for (const row of this.#listTypes.all(threshold) as Row[]) {
      hosts.get(row.host_id as string)?.actorTypes.push(row.actor_type as string);
    }
    const result = [...hosts.values()].sort((a, b) => (a.hostId < b.hostId ? -1 : a.hostId > b.hostId ? 1 : 0));
    for (const host of result) host.actorTypes.sort();
    return result;
  }

  /**
   * Deletes expired state and, when `healthCheckDeadlineMs` is given, dead hosts.
   * With `minIntervalMs`, runs only if no connection to this file cleaned up in
   * that time (so one process per cluster does the periodic round) and returns
   * `undefined` when skipped.
   */
  cleanup(healthCheckDeadlineMs: number | undefined, minIntervalMs?: number): Promise<CleanupResult | undefined> {
    if (healthCheckDeadlineMs !== undefined) checkDeadline("clean up", healthCheckDeadlineMs);
    return this.#ctx.queue.enqueue(() => {
      const now = this.#ctx.clock.now();
      if (minIntervalMs !== undefined) {
        const { changes } = this.#claimCleanup.run(String(now), now - minIntervalMs + 100);
        if (changes === 0) return undefined;
      }
      const deadHosts = healthCheckDeadlineMs === undefined
        ? 0
        : Number(this.#deleteDead.run(now - healthCheckDeadlineMs).changes);
      const expiredStates = Number(this.#deleteExpiredState.run(now).changes);
      this.#purgeClaims.run(now);
      return { expiredStates, deadHosts };
    });
  }
}

function alreadyRegistered(address: string, cause?: unknown): HostAlreadyRegisteredError {
  return new HostAlreadyRegisteredError(
    `Cannot register host: address "${address}" is already registered by a healthy host`,
    cause === undefined ? undefined : { cause },
  );
}
