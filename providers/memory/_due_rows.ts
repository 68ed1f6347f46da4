/**
 * The due-time index of the memory provider's leasable tables (alarms in
 * `_alarms.ts`, jobs in `_jobs.ts`): a {@linkcode DueQueue} of entries that
 * point at their rows, deleted lazily.
 *
 * Every indexed row owns exactly one live queue entry (`row.entry`); an entry
 * whose row no longer points at it is stale and is dropped when popped or when
 * stale entries outnumber live ones (a compaction).
 *
 * @module
 */

import { type DueEntry, DueQueue } from "./_due_queue.ts";

/** A queue entry of a row. */
export interface RowEntry<R> extends DueEntry {
  readonly row: R;
}

/** A leasable row: an alarm or a live job. */
export interface DueRow<R> {
  dueTime: number;
  leaseId: string | undefined;
  leaseExpiresAt: number | undefined;
  /** The row's live entry in the index, if indexed. */
  entry: RowEntry<R> | undefined;
}

/** Minimum number of stale entries before a compaction is considered. */
const COMPACT_MIN_STALE = 1024;

/** Whether a row holds a lease that has not expired at `now` (a lease ends at its expiry instant). */
export function hasValidLease(
  row: { readonly leaseId: string | undefined; readonly leaseExpiresAt: number | undefined },
  now: number,
): boolean {
  return row.leaseId !== undefined && row.leaseExpiresAt !== undefined && row.leaseExpiresAt > now;
}

/** Clears the lease of each row. */
export function clearLeases(rows: Iterable<{ leaseId: string | undefined; leaseExpiresAt: number | undefined }>): void {
  for (const row of rows) {
    row.leaseId = undefined;
    row.leaseExpiresAt = undefined;
  }
}

/**
 * Rows in `(dueTime, id)` order.
 *
 * @example
 * ```ts
 * import { DueRows, type RowEntry } from "./_due_rows.ts";
 * interface Row {
 *   id: string;
 *   dueTime: number;
 *   leaseId: string | undefined;
 *   leaseExpiresAt: number | undefined;
 *   entry: RowEntry<Row> | undefined;
 * }
 * const rows = new DueRows<Row>((r) => r.id);
 * rows.put({ id: "a", dueTime: 5, leaseId: undefined, leaseExpiresAt: undefined, entry: undefined });
 * rows.scanDue(10, (row) => {
 *   console.log(row.id); // a
 *   return true;
 * });
 * ```
 */
export class DueRows<R extends DueRow<R>> {
  readonly #queue = new DueQueue<RowEntry<R>>();
  readonly #idOf: (row: R) => string;
  #stale = 0;

  /** @param idOf The row's ID, the tiebreak of due-time order. */
  constructor(idOf: (row: R) => string) {
    this.#idOf = idOf;
  }

  /** Indexes a row at its current due time, replacing its old entry. */
  put(row: R): void {
    this.remove(row);
    row.entry = { dueTime: row.dueTime, id: this.#idOf(row), row };
    this.#queue.push(row.entry);
  }

  /** Drops a row from the index. */
  remove(row: R): void {
    if (row.entry === undefined) return;
    row.entry = undefined;
    this.#stale++;
    if (this.#stale >= COMPACT_MIN_STALE && this.#stale * 2 > this.#queue.size) {
      this.#queue.compact((entry) => entry.row.entry === entry);
      this.#stale = 0;
    }
  }

  /**
   * Visits live rows due at or before `horizon` in `(dueTime, id)` order
   * until `visit` returns `false`. Only the visited part of the queue is
   * touched. `visit` must not change any row's due time.
   */
  scanDue(horizon: number, visit: (row: R) => boolean): void {
    const popped: RowEntry<R>[] = [];
    try {
      for (let top = this.#queue.peek(); top !== undefined && top.dueTime <= horizon; top = this.#queue.peek()) {
        this.#queue.pop();
        if (top.row.entry !== top) {
          this.#stale--;
          continue;
        }
        popped.push(top);
        if (!visit(top.row)) break;
      }
    } finally {
      for (const entry of popped) this.#queue.push(entry);
    }
  }
}
