/**
 * The memory provider's host and placement tables.
 *
 * A host is healthy while `now - lastHealthCheck <= deadline`. Placements are
 * indexed by actor key and by `(hostId, actorType)` so that concurrency
 * limits are counted and a host's placements are cascaded in O(its actors).
 * Removing a placement never touches alarms: the provider clears the leases
 * of the returned actor keys.
 *
 * @module
 */

import type { ActorTypeRegistration } from "../types.ts";
import { checkInteger, checkString, show } from "./_validate.ts";

/** A registered actor type on one host. */
export interface HostType {
  idleTimeoutMs: number;
  concurrencyLimit: number;
}

/** A host row. */
export interface HostRow {
  hostId: string;
  address: string;
  lastHealthCheck: number;
  types: Map<string, HostType>;
  /** The `maxHosts` the host registered with (0: unlimited). */
  maxHosts?: number;
  /** Set by `setHostDraining`: never chosen for a new placement. */
  draining?: boolean;
}

/** A placement row. */
export interface PlacementRow {
  actorKey: string;
  actorType: string;
  actorId: string;
  hostId: string;
  idleTimeoutMs: number;
}

/** The key of an actor in every memory table. */
export function actorKey(actorType: string, actorId: string): string {
  return JSON.stringify([actorType, actorId]);
}

/**
 * Validates the actor types of a `registerHost` request.
 *
 * @throws {TypeError} On a wrong type or a type listed twice.
 * @throws {RangeError} On an idle timeout or concurrency limit out of range.
 */
export function readHostTypes(actorTypes: readonly ActorTypeRegistration[]): Map<string, HostType> {
  const types = new Map<string, HostType>();
  for (const [i, t] of [...actorTypes].entries()) {
    checkString("registerHost", `actorTypes[${i}].actorType`, t.actorType);
    if (t.idleTimeoutMs !== Infinity) {
      checkInteger("registerHost", `actorTypes[${i}].idleTimeoutMs`, t.idleTimeoutMs, 1);
    }
    checkInteger("registerHost", `actorTypes[${i}].concurrencyLimit`, t.concurrencyLimit, 0, 2_147_483_647);
    if (types.has(t.actorType)) {
      throw new TypeError(`Cannot registerHost: actor type ${show(t.actorType)} is listed twice`);
    }
    types.set(t.actorType, { idleTimeoutMs: t.idleTimeoutMs, concurrencyLimit: t.concurrencyLimit });
  }
  return types;
}

/**
 * Hosts and placements.
 *
 * @example
 * ```ts
 * import { HostTable } from "./_hosts.ts";
 * const t = new HostTable();
 * t.addHost({ hostId: "h1", address: "a:1", lastHealthCheck: 0, types: new Map() });
 * console.log(t.isHealthy("h1", 1_000, 60_000)); // true
 * ```
 */
export class HostTable {
  readonly hosts: Map<string, HostRow> = new Map();
  readonly #byAddress = new Map<string, HostRow>();
  readonly #placements = new Map<string, PlacementRow>();
  /** hostId → actorType → actor keys placed there. */
  readonly #byHost = new Map<string, Map<string, Set<string>>>();

  /** The host holding `address`, healthy or not. */
  byAddress(address: string): HostRow | undefined {
    return this.#byAddress.get(address);
  }

  /** Whether `hostId` is registered and healthy at `now`. */
  isHealthy(hostId: string, now: number, deadlineMs: number): boolean {
    const host = this.hosts.get(hostId);
    return host !== undefined && now - host.lastHealthCheck <= deadlineMs;
  }

  /** Inserts a host; the caller has checked the address is free. */
  addHost(host: HostRow): void {
    this.hosts.set(host.hostId, host);
    this.#byAddress.set(host.address, host);
  }

  /**
   * Deletes a host and its placements.
   *
   * @returns The actor keys whose placements were removed.
   */
  removeHost(hostId: string): string[] {
    const host = this.hosts.get(hostId);
    if (host === undefined) return [];
    this.hosts.delete(hostId);
    this.#byAddress.delete(host.address);
    const removed: string[] = [];
    for (const keys of this.#byHost.get(hostId)?.values() ?? []) {
      for (const key of keys) {
        this.#placements.delete(key);
        removed.push(key);
      }
    }
    this.#byHost.delete(hostId);
    return removed;
  }

  /** IDs of every host that is dead at `now`. */
  deadHostIds(now: number, deadlineMs: number): string[] {
    const dead: string[] = [];
    for (const host of this.hosts.values()) if (now - host.lastHealthCheck > deadlineMs) dead.push(host.hostId);
    return dead;
  }

  /** The placement of an actor, on any host. */
  placement(key: string): PlacementRow | undefined {
    return this.#placements.get(key);
  }

  /** Number of actors of `actorType` placed on `hostId`. */
  countOn(hostId: string, actorType: string): number {
    return this.#byHost.get(hostId)?.get(actorType)?.size ?? 0;
  }

  /** Keys of every actor placed on `hostId`. */
  actorsOn(hostId: string): string[] {
    const keys: string[] = [];
    for (const set of this.#byHost.get(hostId)?.values() ?? []) keys.push(...set);
    return keys;
  }

  /** Remaining room for `actorType` on `host` (`Infinity` when unlimited, 0 when not served or draining). */
  capacity(host: HostRow, actorType: string): number {
    const type = host.types.get(actorType);
    if (type === undefined || host.draining === true) return 0;
    if (type.concurrencyLimit === 0) return Infinity;
    return type.concurrencyLimit - this.countOn(host.hostId, actorType);
  }

  /** Records a placement, replacing any earlier one of the same actor. */
  place(row: PlacementRow): void {
    this.removePlacement(row.actorKey);
    this.#placements.set(row.actorKey, row);
    let types = this.#byHost.get(row.hostId);
    if (types === undefined) this.#byHost.set(row.hostId, types = new Map());
    let keys = types.get(row.actorType);
    if (keys === undefined) types.set(row.actorType, keys = new Set());
    keys.add(row.actorKey);
  }

  /**
   * Deletes a placement.
   *
   * @returns Whether there was one.
   */
  removePlacement(key: string): boolean {
    const row = this.#placements.get(key);
    if (row === undefined) return false;
    this.#placements.delete(key);
    const types = this.#byHost.get(row.hostId);
    const keys = types?.get(row.actorType);
    keys?.delete(key);
    if (keys?.size === 0) types!.delete(row.actorType);
    if (types?.size === 0) this.#byHost.delete(row.hostId);
    return true;
  }
}
