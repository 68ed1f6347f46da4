/**
 * A small, bounded cache of actor placements (API.md §12.2): entries live for
 * min(idleTimeoutMs, 5000) ms and the oldest are evicted past the size bound.
 *
 * @module
 */

/** The longest any placement is cached. */
export const PLACEMENT_CACHE_TTL_CAP_MS = 5_000;

interface Entry {
  hostId: string;
  address: string;
  expiresAt: number;
}

/**
 * Placement cache keyed by `"<type>/<id>"`.
 *
 * @example
 * ```ts
 * import { PlacementCache } from "./placement_cache.ts";
 * const c = new PlacementCache(100);
 * c.set("t/a", { hostId: "h", address: "127.0.0.1:1", idleTimeoutMs: 60_000 });
 * console.log(c.get("t/a")?.hostId); // h
 * ```
 */
export class PlacementCache {
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number;

  constructor(maxEntries = 10_000) {
    this.#maxEntries = maxEntries;
  }

  /** The cached placement, if fresh. */
  get(key: string): { hostId: string; address: string } | undefined {
    const e = this.#entries.get(key);
    if (e === undefined) return undefined;
    if (e.expiresAt <= Date.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return e;
  }

  /** Caches a placement for min(idleTimeoutMs, 5000) ms. */
  set(key: string, p: { hostId: string; address: string; idleTimeoutMs: number }): void {
    this.#entries.delete(key);
    if (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    const ttl = Math.min(p.idleTimeoutMs, PLACEMENT_CACHE_TTL_CAP_MS);
    this.#entries.set(key, { hostId: p.hostId, address: p.address, expiresAt: Date.now() + ttl });
  }

  /** Forgets one placement. */
  delete(key: string): void {
    this.#entries.delete(key);
  }

  /** Forgets every placement on `hostId` (the host was evicted). */
  deleteHost(hostId: string): void {
    for (const [key, e] of this.#entries) if (e.hostId === hostId) this.#entries.delete(key);
  }
}
