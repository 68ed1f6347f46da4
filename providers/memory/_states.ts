/**
 * The memory provider's state table: one value per `(actorType, actorId)`
 * with an optional expiry, plus a sorted ID list per type for `listStates`.
 *
 * Expired rows stay until {@linkcode StateTable.purgeExpired} but are invisible
 * to every read. Bytes are copied in and out by the provider, not here.
 *
 * @module
 */

import type { StatePage } from "../types.ts";

interface StateRow {
  data: Uint8Array;
  /** Epoch ms at which the value expires; `undefined` means never. */
  expiresAt: number | undefined;
}

interface TypeTable {
  rows: Map<string, StateRow>;
  /** Every actor ID of `rows`, ascending by UTF-16 code unit. */
  ids: string[];
}

/**
 * State rows grouped by actor type.
 *
 * @example
 * ```ts
 * import { StateTable } from "./_states.ts";
 * const t = new StateTable();
 * t.set("counter", "c1", new Uint8Array([1]), undefined);
 * console.log(t.get("counter", "c1", Date.now())); // Uint8Array(1) [ 1 ]
 * ```
 */
export class StateTable {
  #types = new Map<string, TypeTable>();

  /**
   * The live value, or `undefined` if absent or expired at `now`.
   *
   * @param actorType The actor type.
   * @param actorId The actor ID.
   * @param now The current time in epoch ms.
   * @returns The stored bytes (not copied).
   */
  get(actorType: string, actorId: string, now: number): Uint8Array | undefined {
    const row = this.#types.get(actorType)?.rows.get(actorId);
    return row === undefined || isExpired(row, now) ? undefined : row.data;
  }

  /**
   * Creates or replaces a value and its expiry.
   *
   * @param actorType The actor type.
   * @param actorId The actor ID.
   * @param data The bytes to keep (already copied by the caller).
   * @param expiresAt Expiry in epoch ms, or `undefined` for never.
   */
  set(actorType: string, actorId: string, data: Uint8Array, expiresAt: number | undefined): void {
    let table = this.#types.get(actorType);
    if (table === undefined) {
      table = { rows: new Map(), ids: [] };
      this.#types.set(actorType, table);
    }
    if (!table.rows.has(actorId)) table.ids.splice(lowerBound(table.ids, actorId), 0, actorId);
    table.rows.set(actorId, { data, expiresAt });
  }

  /**
   * Deletes a row whether or not it has expired.
   *
   * @param actorType The actor type.
   * @param actorId The actor ID.
   */
  delete(actorType: string, actorId: string): void {
    const table = this.#types.get(actorType);
    if (table === undefined || !table.rows.delete(actorId)) return;
    table.ids.splice(lowerBound(table.ids, actorId), 1);
    if (table.rows.size === 0) this.#types.delete(actorType);
  }

  /**
   * One page of live entries of a type, ascending by actor ID, after `after`.
   *
   * @param actorType The actor type.
   * @param after Exclusive lower bound, or `undefined` to start at the beginning.
   * @param limit Page size.
   * @param now The current time in epoch ms.
   * @returns Entries with their (uncopied) bytes, and whether more follow.
   */
  list(actorType: string, after: string | undefined, limit: number, now: number): StatePage {
    const table = this.#types.get(actorType);
    const entries: { actorId: string; data: Uint8Array }[] = [];
    if (table === undefined) return { entries, hasMore: false };
    const start = after === undefined ? 0 : upperBound(table.ids, after);
    for (let i = start; i < table.ids.length; i++) {
      const actorId = table.ids[i];
      const row = table.rows.get(actorId)!;
      if (isExpired(row, now)) continue;
      if (entries.length === limit) return { entries, hasMore: true };
      entries.push({ actorId, data: row.data });
    }
    return { entries, hasMore: false };
  }

  /**
   * Physically deletes every row expired at `now`.
   *
   * @param now The current time in epoch ms.
   * @returns The number of rows deleted.
   */
  purgeExpired(now: number): number {
    let removed = 0;
    for (const [actorType, table] of [...this.#types]) {
      for (const [actorId, row] of [...table.rows]) {
        if (!isExpired(row, now)) continue;
        this.delete(actorType, actorId);
        removed++;
      }
    }
    return removed;
  }
}

/** A row expires at the instant `expiresAt`. */
function isExpired(row: StateRow, now: number): boolean {
  return row.expiresAt !== undefined && row.expiresAt <= now;
}

/** Index of the first element `>= value` (JavaScript `<` compares UTF-16 code units). */
function lowerBound(sorted: readonly string[], value: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first element `> value`. */
function upperBound(sorted: readonly string[], value: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
