/**
 * Actor placement of the PostgreSQL provider.
 *
 * The primary key `(actor_type, actor_id)` of `<p>_active_actors` is the
 * single-activation record. A lookup first reads the placement with one
 * indexed, lock-free statement; only when it must create one does it join the
 * placement batch of the current macrotask. A batch is one transaction that:
 *
 * 1. locks the `<p>_host_types` rows of every host serving the batch's types
 *    (`FOR UPDATE`, in `(host_id, actor_type)` order), so placement
 *    transactions for one type serialise across every process, and reads
 *    their `actor_count`;
 * 2. re-reads the batch's placements under that lock;
 * 3. decides each request in JavaScript, in call order: a placement on a
 *    healthy host wins, else the **least-loaded** eligible host (fewest
 *    placements of the type; ties broken at random), counting placements made
 *    earlier in the batch;
 * 4. deletes replaced placements of dead hosts (conditionally on that host)
 *    and inserts the new ones with `ON CONFLICT DO NOTHING`; a request whose
 *    insert lost a race (only possible against a fetch from a host registered
 *    after step 1) is looked up again.
 *
 * Callers settle only after the commit. One batch is in flight at a time.
 *
 * @module
 */

import { ActorNotActiveError, NoHostError } from "../../errors.ts";
import { checkInteger, checkString, show } from "../memory/_validate.ts";
import type { ActorPlacement, LookupActorRequest } from "../types.ts";
import { fromStoredTimeout, nextMacrotask, num, type PgContext, sqlFor, textArray, transaction } from "./context.ts";
import type { Row } from "./driver.ts";
import { decide, type Existing, type HostTypeRow, type Outcome } from "./placement_choice.ts";

const MAX_BATCH = 500;

interface Pending {
  req: LookupActorRequest;
  resolve(p: ActorPlacement | "retry"): void;
  reject(err: unknown): void;
}

/** Placement statements and the placement batch of one provider instance. */
export class PlacementStore {
  #ctx: PgContext;
  #s: Record<"find" | "lockTypes" | "existing" | "unplace" | "place" | "remove" | "removeOnHost", string>;
  #queue: Pending[] = [];
  #draining = false;
  #reads: { actorType: string; actorId: string; resolve(row: Row | undefined): void; reject(err: unknown): void }[] =
    [];

  constructor(ctx: PgContext) {
    this.#ctx = ctx;
    const s = (text: string): string => sqlFor(ctx, text);
    this.#s = {
      find: s(`SELECT k.n, a.host_id, h.address, a.idle_timeout_ms, h.last_health_check
               FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(actor_type, actor_id, n)
               JOIN {p}_active_actors a ON a.actor_type = k.actor_type AND a.actor_id = k.actor_id
               JOIN {p}_hosts h ON h.host_id = a.host_id`),
      lockTypes: s(`SELECT t.host_id, t.actor_type, t.idle_timeout_ms, t.concurrency_limit, t.actor_count,
                      h.address, h.last_health_check, h.draining
                    FROM {p}_host_types t JOIN {p}_hosts h ON h.host_id = t.host_id
                    WHERE t.actor_type = ANY($1::text[])
                    ORDER BY t.host_id, t.actor_type FOR UPDATE OF t`),
      existing: s(`SELECT a.actor_type, a.actor_id, a.host_id, a.idle_timeout_ms, h.address, h.last_health_check
                   FROM unnest($1::text[], $2::text[]) AS k(actor_type, actor_id)
                   JOIN {p}_active_actors a ON a.actor_type = k.actor_type AND a.actor_id = k.actor_id
                   JOIN {p}_hosts h ON h.host_id = a.host_id`),
      unplace: s(`DELETE FROM {p}_active_actors a USING unnest($1::text[], $2::text[], $3::text[]) AS d(t, i, h)
                  WHERE a.actor_type = d.t AND a.actor_id = d.i AND a.host_id = d.h`),
      place: s(`INSERT INTO {p}_active_actors (actor_type, actor_id, host_id, idle_timeout_ms, activated_at)
                SELECT t, i, h, x, $5 FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[]) AS n(t, i, h, x)
                ORDER BY h, t
                ON CONFLICT DO NOTHING RETURNING actor_type, actor_id`),
      remove: s("DELETE FROM {p}_active_actors WHERE actor_type = $1 AND actor_id = $2"),
      removeOnHost: s("DELETE FROM {p}_active_actors WHERE actor_type = $1 AND actor_id = $2 AND host_id = $3"),
    };
  }

  /** See `ActorProvider.lookupActor`. */
  async lookup(req: LookupActorRequest, attempt = 0): Promise<ActorPlacement> {
    const action = "look up actor";
    checkString(action, "actorType", req.actorType);
    checkString(action, "actorId", req.actorId);
    checkInteger(action, "healthCheckDeadlineMs", req.healthCheckDeadlineMs, 1);
    if (req.allowedHostIds !== undefined) {
      if (!Array.isArray(req.allowedHostIds)) {
        throw new TypeError(`Cannot ${action}: allowedHostIds must be an array (got ${show(req.allowedHostIds)})`);
      }
      for (const [i, id] of req.allowedHostIds.entries()) checkString(action, `allowedHostIds[${i}]`, id);
    }
    const row = await this.#find(req.actorType, req.actorId);
    const now = this.#ctx.clock.now();
    if (row !== undefined && num(row.last_health_check) >= now - req.healthCheckDeadlineMs) {
      const hostId = row.host_id as string;
      if (req.allowedHostIds !== undefined && !req.allowedHostIds.includes(hostId)) {
        throw new NoHostError(
          `Cannot ${action}: ${show(`${req.actorType}/${req.actorId}`)} is active on host ${
            show(hostId)
          }, which is not allowed`,
        );
      }
      return { hostId, address: row.address as string, idleTimeoutMs: fromStoredTimeout(row.idle_timeout_ms) };
    }
    if (req.activeOnly) {
      throw new ActorNotActiveError(
        `Cannot ${action}: ${show(`${req.actorType}/${req.actorId}`)} is not active on a healthy host`,
      );
    }
    const placed = await this.#enqueue(req);
    if (placed !== "retry") return placed;
    if (attempt >= 3) throw new Error("placement kept losing races to concurrent placements");
    return await this.lookup(req, attempt + 1);
  }

  /** Removes a placement (only on `hostId`, when given); the trigger clears its alarm leases. */
  async remove(actorType: string, actorId: string, hostId?: string): Promise<boolean> {
    checkString("remove actor", "actorType", actorType);
    checkString("remove actor", "actorId", actorId);
    if (hostId !== undefined) checkString("remove actor", "hostId", hostId);
    const { count } = hostId === undefined
      ? await this.#ctx.db.query(this.#s.remove, [actorType, actorId])
      : await this.#ctx.db.query(this.#s.removeOnHost, [actorType, actorId, hostId]);
    return count > 0;
  }

  /**
   * The current placement row of an actor, read lock-free. Reads issued in one
   * macrotask share one statement, so a burst of lookups costs one round trip.
   */
  #find(actorType: string, actorId: string): Promise<Row | undefined> {
    const { promise, resolve, reject } = Promise.withResolvers<Row | undefined>();
    this.#reads.push({ actorType, actorId, resolve, reject });
    if (this.#reads.length === 1) {
      nextMacrotask(() => {
        const reads = this.#reads;
        this.#reads = [];
        this.#ctx.db.query(this.#s.find, [
          textArray(reads.map((r) => r.actorType)),
          textArray(reads.map((r) => r.actorId)),
        ]).then((rows) => {
          const byIndex = new Map(rows.map((r) => [Number(r.n) - 1, r]));
          for (const [i, r] of reads.entries()) r.resolve(byIndex.get(i));
        }, (err) => {
          for (const r of reads) r.reject(err);
        });
      });
    }
    return promise;
  }

  #enqueue(req: LookupActorRequest): Promise<ActorPlacement | "retry"> {
    const { promise, resolve, reject } = Promise.withResolvers<ActorPlacement | "retry">();
    this.#queue.push({ req, resolve, reject });
    if (!this.#draining) {
      this.#draining = true;
      nextMacrotask(() => this.#drain());
    }
    return promise;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, MAX_BATCH);
        let outcomes: Outcome[];
        try {
          outcomes = await transaction(this.#ctx, (tx) => this.#place(tx, batch.map((p) => p.req)));
        } catch (err) {
          for (const p of batch) p.reject(err);
          continue;
        }
        for (const [i, p] of batch.entries()) {
          const o = outcomes[i];
          if ("error" in o) p.reject(o.error);
          else p.resolve(o.placement);
        }
      }
    } finally {
      this.#draining = false;
    }
  }

  /** One placement transaction for a batch of requests; see the module docs. */
  async #place(tx: { query: PgContext["db"]["query"] }, reqs: LookupActorRequest[]): Promise<Outcome[]> {
    const types = [...new Set(reqs.map((r) => r.actorType))];
    const typeRows = await tx.query(this.#s.lockTypes, [textArray(types)]);
    const existingRows = await tx.query(this.#s.existing, [
      textArray(reqs.map((r) => r.actorType)),
      textArray(reqs.map((r) => r.actorId)),
    ]);
    const now = this.#ctx.clock.now();
    const hostTypes: HostTypeRow[] = typeRows.map((r) => ({
      hostId: r.host_id as string,
      actorType: r.actor_type as string,
      address: r.address as string,
      idleTimeoutMs: r.idle_timeout_ms === null ? null : num(r.idle_timeout_ms),
      concurrencyLimit: Number(r.concurrency_limit),
      count: Number(r.actor_count),
      lastHealthCheck: num(r.last_health_check),
      draining: r.draining === true,
    }));
    const existing = new Map<string, Existing>();
    for (const r of existingRows) {
      existing.set(`${r.actor_type}\u0000${r.actor_id}`, {
        hostId: r.host_id as string,
        address: r.address as string,
        idleTimeoutMs: r.idle_timeout_ms === null ? null : num(r.idle_timeout_ms),
        lastHealthCheck: num(r.last_health_check),
      });
    }
    const plan = decide(reqs, hostTypes, existing, now);
    if (plan.unplace.length > 0) {
      await tx.query(this.#s.unplace, [
        textArray(plan.unplace.map((u) => u.actorType)),
        textArray(plan.unplace.map((u) => u.actorId)),
        textArray(plan.unplace.map((u) => u.hostId)),
      ]);
    }
    if (plan.place.length > 0) {
      const inserted = await tx.query(this.#s.place, [
        textArray(plan.place.map((n) => n.actorType)),
        textArray(plan.place.map((n) => n.actorId)),
        textArray(plan.place.map((n) => n.hostId)),
        `{${plan.place.map((n) => (n.idleTimeoutMs === null ? "NULL" : String(n.idleTimeoutMs))).join(",")}}`,
        now,
      ]);
      const won = new Set(inserted.map((r) => `${r.actor_type}\u0000${r.actor_id}`));
      for (const [i, o] of plan.outcomes.entries()) {
        if ("batchKey" in o && o.batchKey !== undefined && !won.has(o.batchKey)) {
          plan.outcomes[i] = { placement: "retry" };
        }
      }
    }
    return plan.outcomes;
  }
}
