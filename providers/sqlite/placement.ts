/**
 * Actor placement of the SQLite provider.
 *
 * The primary key `(actor_type, actor_id)` of `<p>_active_actors` is the
 * single-activation record. A lookup first reads the placement directly; only
 * when it has to create one does it enqueue a write, which re-reads inside the
 * batch's `BEGIN IMMEDIATE` transaction. That transaction holds the database
 * write lock, so concurrent lookups in every process serialise and agree on one
 * placement.
 *
 * @module
 */

import { ActorNotActiveError, ActorTypeUnsupportedError, NoHostError } from "../../errors.ts";
import type { ActorPlacement, LookupActorRequest } from "../types.ts";
import type { Row, StatementSync } from "./driver.ts";
import { checkDeadline, fromStoredTimeout, prepare, type SqliteContext } from "./context.ts";

/** A healthy host that serves a type, with its load of that type. */
interface Candidate {
  host_id: string;
  address: string;
  idle_timeout_ms: number | null;
  concurrency_limit: number;
  draining: number;
  active: number;
}

/** Placement statements of one connection. */
export class PlacementStore {
  #ctx: SqliteContext;
  #find: StatementSync;
  #candidates: StatementSync;
  #delete: StatementSync;
  #deleteOnHost: StatementSync;
  #insert: StatementSync;

  /** Prepares the statements. */
  constructor(ctx: SqliteContext) {
    this.#ctx = ctx;
    this.#find = prepare(
      ctx,
      `SELECT a.host_id, h.address, a.idle_timeout_ms, h.last_health_check
       FROM {p}_active_actors a JOIN {p}_hosts h ON h.host_id = a.host_id
       WHERE a.actor_type = ? AND a.actor_id = ?`,
    );
    this.#candidates = prepare(
      ctx,
      `SELECT t.host_id, h.address, t.idle_timeout_ms, t.concurrency_limit, h.draining,
         CASE WHEN t.concurrency_limit = 0 THEN 0 ELSE (
           SELECT count(*) FROM {p}_active_actors a WHERE a.host_id = t.host_id AND a.actor_type = t.actor_type
         ) END AS active
       FROM {p}_host_actor_types t JOIN {p}_hosts h ON h.host_id = t.host_id
       WHERE t.actor_type = ? AND h.last_health_check >= ?
       ORDER BY t.host_id`,
    );
    this.#delete = prepare(ctx, "DELETE FROM {p}_active_actors WHERE actor_type = ? AND actor_id = ?");
    this.#deleteOnHost = prepare(
      ctx,
      "DELETE FROM {p}_active_actors WHERE actor_type = ? AND actor_id = ? AND host_id = ?",
    );
    this.#insert = prepare(
      ctx,
      `INSERT INTO {p}_active_actors (actor_type, actor_id, host_id, idle_timeout_ms, activated_at)
       VALUES (?, ?, ?, ?, ?)`,
    );
  }

  /** See `ActorProvider.lookupActor`. */
  async lookup(req: LookupActorRequest): Promise<ActorPlacement> {
    checkDeadline("look up actor", req.healthCheckDeadlineMs);
    const existing = this.#existing(req, this.#ctx.clock.now());
    if (existing !== undefined) return existing;
    if (req.activeOnly) {
      throw new ActorNotActiveError(
        `Cannot look up actor: "${req.actorType}/${req.actorId}" is not active on a healthy host`,
      );
    }
    return await this.#ctx.queue.enqueue(() => this.#place(req));
  }

  /** Removes a placement (optionally only on `hostId`); the trigger clears its alarm leases. */
  remove(actorType: string, actorId: string, hostId?: string): Promise<boolean> {
    return this.#ctx.queue.enqueue(() => {
      const { changes } = hostId === undefined
        ? this.#delete.run(actorType, actorId)
        : this.#deleteOnHost.run(actorType, actorId, hostId);
      return changes > 0;
    });
  }

  /** The placement on a healthy host, if any; `NoHostError` if that host is not allowed. */
  #existing(req: LookupActorRequest, now: number): ActorPlacement | undefined {
    const row = this.#find.get(req.actorType, req.actorId) as Row | undefined;
    if (row === undefined || (row.last_health_check as number) < now - req.healthCheckDeadlineMs) return undefined;
    const hostId = row.host_id as string;
    if (req.allowedHostIds !== undefined && !req.allowedHostIds.includes(hostId)) {
      throw new NoHostError(
        `Cannot look up actor: "${req.actorType}/${req.actorId}" is active on host "${hostId}", which is not allowed`,
      );
    }
    return { hostId, address: row.address as string, idleTimeoutMs: fromStoredTimeout(row.idle_timeout_ms) };
  }

  /** Runs inside the write transaction: re-checks, then picks a random eligible host. */
  #place(req: LookupActorRequest): ActorPlacement {
    const now = this.#ctx.clock.now();
    const existing = this.#existing(req, now);
    if (existing !== undefined) return existing;
    const candidates = this.#candidates.all(req.actorType, now - req.healthCheckDeadlineMs) as unknown as Candidate[];
    if (candidates.length === 0) {
      throw new ActorTypeUnsupportedError(
        `Cannot place actor: no healthy host serves actor type "${req.actorType}"`,
      );
    }
    const allowed = req.allowedHostIds;
    const eligible = candidates.filter((c) =>
      c.draining === 0 && (c.concurrency_limit === 0 || c.active < c.concurrency_limit) &&
      (allowed === undefined || allowed.includes(c.host_id))
    );
    if (eligible.length === 0) {
      throw new NoHostError(
        `Cannot place actor: every eligible host serving "${req.actorType}" is at its concurrency limit`,
      );
    }
    const chosen = eligible[Math.floor(Math.random() * eligible.length)];
    // A row left on a dead host is replaced; deleting it first fires the lease-clearing trigger.
    this.#delete.run(req.actorType, req.actorId);
    this.#insert.run(req.actorType, req.actorId, chosen.host_id, chosen.idle_timeout_ms, now);
    return {
      hostId: chosen.host_id,
      address: chosen.address,
      idleTimeoutMs: fromStoredTimeout(chosen.idle_timeout_ms),
    };
  }
}
