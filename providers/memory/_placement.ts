/**
 * `lookupActor` for the memory provider: return a live placement, or choose a
 * random eligible host and record a new one.
 *
 * @module
 */

import { ActorNotActiveError, ActorTypeUnsupportedError, NoHostError } from "../../errors.ts";
import type { ActorPlacement, LookupActorRequest } from "../types.ts";
import { actorKey, type HostTable } from "./_hosts.ts";
import { show } from "./_validate.ts";

/**
 * Resolves (and unless `activeOnly`, creates) an actor's placement.
 *
 * Checks run in this order, each before any change: a placement on a healthy
 * host wins (`NoHostError` if that host is outside `allowedHostIds`); then
 * `activeOnly` gives `ActorNotActiveError`; then no healthy host serving the
 * type gives `ActorTypeUnsupportedError`; then no allowed host with room
 * gives `NoHostError`. Replacing a placement on a dead host clears the
 * leases of the actor's alarms and jobs, as removing it would.
 *
 * @param hosts The host and placement tables.
 * @param clearLeases Clears every lease (alarms and jobs) of an actor.
 * @param req The validated request.
 * @param now The current time in epoch ms.
 * @returns The placement.
 *
 * @example
 * ```ts
 * import { lookupPlacement } from "./_placement.ts";
 * import { HostTable } from "./_hosts.ts";
 * const req = { actorType: "t", actorId: "a", activeOnly: true, healthCheckDeadlineMs: 1 };
 * try {
 *   lookupPlacement(new HostTable(), () => {}, req, 0);
 * } catch (err) {
 *   console.log((err as Error).name); // ActorNotActiveError
 * }
 * ```
 */
export function lookupPlacement(
  hosts: HostTable,
  clearLeases: (actorKey: string) => void,
  req: LookupActorRequest,
  now: number,
): ActorPlacement {
  const { actorType, actorId, healthCheckDeadlineMs: deadline, allowedHostIds: allowed } = req;
  const ref = show(`${actorType}/${actorId}`);
  const key = actorKey(actorType, actorId);
  const existing = hosts.placement(key);
  if (existing !== undefined && hosts.isHealthy(existing.hostId, now, deadline)) {
    if (allowed !== undefined && !allowed.includes(existing.hostId)) {
      throw new NoHostError(`Cannot look up actor ${ref}: it is active on a host outside allowedHostIds`);
    }
    const address = hosts.hosts.get(existing.hostId)!.address;
    return { hostId: existing.hostId, address, idleTimeoutMs: existing.idleTimeoutMs };
  }
  if (req.activeOnly) throw new ActorNotActiveError(`Cannot look up actor ${ref}: it is not active`);

  const serving = [...hosts.hosts.values()].filter((h) =>
    h.types.has(actorType) && hosts.isHealthy(h.hostId, now, deadline)
  );
  if (serving.length === 0) {
    throw new ActorTypeUnsupportedError(`Cannot place actor ${ref}: no healthy host serves type ${show(actorType)}`);
  }
  const eligible = serving.filter((h) =>
    (allowed === undefined || allowed.includes(h.hostId)) && hosts.capacity(h, actorType) > 0
  );
  if (eligible.length === 0) {
    throw new NoHostError(`Cannot place actor ${ref}: no allowed host has room under its concurrencyLimit`);
  }

  const host = eligible[Math.floor(Math.random() * eligible.length)];
  const idleTimeoutMs = host.types.get(actorType)!.idleTimeoutMs;
  if (existing !== undefined) clearLeases(key);
  hosts.place({ actorKey: key, actorType, actorId, hostId: host.hostId, idleTimeoutMs });
  return { hostId: host.hostId, address: host.address, idleTimeoutMs };
}
