/**
 * The pure decision step of a placement batch: given the locked host-type
 * rows and the current placements, decide every request in call order and
 * list the rows to delete and insert. No I/O, so it is easy to test.
 *
 * @module
 */

import { ActorTypeUnsupportedError, NoHostError } from "../../errors.ts";
import { show } from "../memory/_validate.ts";
import type { ActorPlacement, LookupActorRequest } from "../types.ts";
import { fromStoredTimeout } from "./context.ts";

/** A `<p>_host_types` row joined with its host, as locked by the batch. */
export interface HostTypeRow {
  hostId: string;
  actorType: string;
  address: string;
  idleTimeoutMs: number | null;
  concurrencyLimit: number;
  /** Placements of this type on the host (kept exact by triggers). */
  count: number;
  lastHealthCheck: number;
  draining: boolean;
}

/** A current placement with its host's health. */
export interface Existing {
  hostId: string;
  address: string;
  idleTimeoutMs: number | null;
  lastHealthCheck: number;
}

/**
 * What one request gets: a placement, a Francis error, or `"retry"` when the
 * batch's insert for that actor lost a race. `batchKey` is set when the
 * placement was created by this batch (so it only stands if the insert won).
 */
export type Outcome = { placement: ActorPlacement | "retry"; batchKey?: string } | { error: Error };

/** The plan of a batch. */
export interface Plan {
  /** One outcome per request, in request order. */
  outcomes: Outcome[];
  /** Placements on dead hosts to delete (conditionally on that host). */
  unplace: { actorType: string; actorId: string; hostId: string }[];
  /** New placements to insert. */
  place: { actorType: string; actorId: string; hostId: string; idleTimeoutMs: number | null }[];
}

/**
 * Decides a batch. Checks run in the contract's order: a placement on a
 * healthy host wins (`NoHostError` outside `allowedHostIds`); no healthy host
 * serving the type is `ActorTypeUnsupportedError`; no allowed, non-draining
 * host with room is `NoHostError`; otherwise the least-loaded eligible host
 * (ties at random) gets the actor.
 *
 * @example
 * ```ts
 * import { decide } from "./placement_choice.ts";
 * const host = (hostId: string, count: number) => ({
 *   hostId, actorType: "A", address: `${hostId}:1`, idleTimeoutMs: 1000, concurrencyLimit: 0,
 *   count, lastHealthCheck: 0, draining: false,
 * });
 * const req = { actorType: "A", actorId: "a1", activeOnly: false, healthCheckDeadlineMs: 10 };
 * const plan = decide([req], [host("h1", 5), host("h2", 1)], new Map(), 0);
 * console.log(plan.place[0].hostId); // h2
 * ```
 */
export function decide(
  reqs: readonly LookupActorRequest[],
  hostTypes: readonly HostTypeRow[],
  existing: Map<string, Existing>,
  now: number,
): Plan {
  const plan: Plan = { outcomes: [], unplace: [], place: [] };
  const madeHere = new Map<string, Existing>();
  const byType = new Map<string, HostTypeRow[]>();
  for (const t of hostTypes) {
    let list = byType.get(t.actorType);
    if (list === undefined) byType.set(t.actorType, list = []);
    list.push({ ...t });
  }
  for (const req of reqs) {
    const key = `${req.actorType}\u0000${req.actorId}`;
    const ref = show(`${req.actorType}/${req.actorId}`);
    const allowed = req.allowedHostIds;
    const bound = now - req.healthCheckDeadlineMs;
    const batchPlaced = madeHere.get(key);
    const current = batchPlaced ?? existing.get(key);
    if (current !== undefined && current.lastHealthCheck >= bound) {
      if (allowed !== undefined && !allowed.includes(current.hostId)) {
        plan.outcomes.push({
          error: new NoHostError(
            `Cannot look up actor: ${ref} is active on host ${show(current.hostId)}, which is not allowed`,
          ),
        });
      } else {
        const placement = {
          hostId: current.hostId,
          address: current.address,
          idleTimeoutMs: fromStoredTimeout(current.idleTimeoutMs),
        };
        plan.outcomes.push(batchPlaced === undefined ? { placement } : { placement, batchKey: key });
      }
      continue;
    }
    const serving = (byType.get(req.actorType) ?? []).filter((t) => t.lastHealthCheck >= bound);
    if (serving.length === 0) {
      plan.outcomes.push({
        error: new ActorTypeUnsupportedError(
          `Cannot place actor ${ref}: no healthy host serves type ${show(req.actorType)}`,
        ),
      });
      continue;
    }
    const eligible = serving.filter((t) =>
      !t.draining && (allowed === undefined || allowed.includes(t.hostId)) &&
      (t.concurrencyLimit === 0 || t.count < t.concurrencyLimit)
    );
    if (eligible.length === 0) {
      plan.outcomes.push({
        error: new NoHostError(`Cannot place actor ${ref}: no allowed host has room under its concurrencyLimit`),
      });
      continue;
    }
    const least = Math.min(...eligible.map((t) => t.count));
    const ties = eligible.filter((t) => t.count === least);
    const chosen = ties[Math.floor(Math.random() * ties.length)];
    chosen.count++;
    if (current !== undefined && batchPlaced === undefined) {
      plan.unplace.push({ actorType: req.actorType, actorId: req.actorId, hostId: current.hostId });
    }
    plan.place.push({
      actorType: req.actorType,
      actorId: req.actorId,
      hostId: chosen.hostId,
      idleTimeoutMs: chosen.idleTimeoutMs,
    });
    madeHere.set(key, {
      hostId: chosen.hostId,
      address: chosen.address,
      idleTimeoutMs: chosen.idleTimeoutMs,
      lastHealthCheck: chosen.lastHealthCheck,
    });
    plan.outcomes.push({
      placement: {
        hostId: chosen.hostId,
        address: chosen.address,
        idleTimeoutMs: fromStoredTimeout(chosen.idleTimeoutMs),
      },
      batchKey: key,
    });
  }
  return plan;
}
