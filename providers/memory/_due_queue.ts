/**
 * A binary min-heap ordered by `(dueTime, id)`: the due-time index of the
 * memory provider's alarm and job tables. A fetch pops only the alarms due within its
 * window, so far-future alarms are never touched.
 *
 * Entries are deleted lazily: the table marks an entry stale when its alarm is
 * deleted or moved, and {@linkcode DueQueue.compact} drops stale entries in
 * one pass when they outnumber live ones.
 *
 * @module
 */

/** One heap entry. */
export interface DueEntry {
  readonly dueTime: number;
  /** The row's ID (alarm or job ID), the tiebreak between equal due times. */
  readonly id: string;
}

/**
 * A min-heap of {@linkcode DueEntry} values.
 *
 * @example
 * ```ts
 * import { DueQueue } from "./_due_queue.ts";
 * const q = new DueQueue<{ dueTime: number; id: string }>();
 * q.push({ dueTime: 20, id: "b" });
 * q.push({ dueTime: 10, id: "a" });
 * console.log(q.pop()?.id); // a
 * ```
 */
export class DueQueue<T extends DueEntry> {
  #heap: T[] = [];

  /** Number of entries, stale ones included. */
  get size(): number {
    return this.#heap.length;
  }

  /**
   * The smallest entry without removing it.
   *
   * @returns The entry, or `undefined` when empty.
   */
  peek(): T | undefined {
    return this.#heap[0];
  }

  /**
   * Adds an entry in O(log n).
   *
   * @param entry The entry to add.
   */
  push(entry: T): void {
    const heap = this.#heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!less(heap[i], heap[parent])) break;
      swap(heap, i, parent);
      i = parent;
    }
  }

  /**
   * Removes the smallest entry in O(log n).
   *
   * @returns The entry, or `undefined` when empty.
   */
  pop(): T | undefined {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last !== undefined) {
      heap[0] = last;
      this.#siftDown(0);
    }
    return top;
  }

  /**
   * Keeps only the entries `keep` accepts and restores heap order in O(n).
   *
   * @param keep Predicate for entries to keep.
   */
  compact(keep: (entry: T) => boolean): void {
    this.#heap = this.#heap.filter(keep);
    for (let i = (this.#heap.length >> 1) - 1; i >= 0; i--) this.#siftDown(i);
  }

  #siftDown(start: number): void {
    const heap = this.#heap;
    const n = heap.length;
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < n && less(heap[left], heap[smallest])) smallest = left;
      if (right < n && less(heap[right], heap[smallest])) smallest = right;
      if (smallest === i) return;
      swap(heap, i, smallest);
      i = smallest;
    }
  }
}

/** Orders by due time, then by ID so that equal due times are stable. */
function less(a: DueEntry, b: DueEntry): boolean {
  return a.dueTime < b.dueTime || (a.dueTime === b.dueTime && a.id < b.id);
}

function swap<T>(heap: T[], i: number, j: number): void {
  const tmp = heap[i];
  heap[i] = heap[j];
  heap[j] = tmp;
}
