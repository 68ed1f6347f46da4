/**
 * Many keyed callbacks on one timer: a binary min-heap by due time, with a
 * single `setTimeout` armed for the earliest entry. Scheduling a key again
 * replaces its earlier entry.
 *
 * @module
 */

interface Entry {
  key: string;
  due: number;
  fn: () => void;
  live: boolean;
}

/**
 * A keyed timer queue.
 *
 * @example
 * ```ts
 * import { TimerQueue } from "./timer_queue.ts";
 * const q = new TimerQueue();
 * await new Promise<void>((resolve) => q.schedule("a", Date.now() + 5, resolve));
 * q.clear();
 * ```
 */
export class TimerQueue {
  #heap: Entry[] = [];
  readonly #byKey = new Map<string, Entry>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerDue = Infinity;

  /** Number of scheduled keys. */
  get size(): number {
    return this.#byKey.size;
  }

  /** Whether `key` is scheduled. */
  has(key: string): boolean {
    return this.#byKey.has(key);
  }

  /** Runs `fn` at epoch ms `due` (at once if it is due), replacing an earlier entry for `key`. */
  schedule(key: string, due: number, fn: () => void): void {
    this.cancel(key);
    const entry: Entry = { key, due, fn, live: true };
    this.#byKey.set(key, entry);
    this.#push(entry);
    if (due < this.#timerDue) this.#arm();
  }

  /** Removes the entry of `key`, if any. */
  cancel(key: string): void {
    const e = this.#byKey.get(key);
    if (e === undefined) return;
    e.live = false;
    this.#byKey.delete(key);
  }

  /** Removes every entry and stops the timer. */
  clear(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerDue = Infinity;
    this.#heap = [];
    this.#byKey.clear();
  }

  #arm(): void {
    while (this.#heap.length > 0 && !this.#heap[0].live) this.#pop();
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerDue = Infinity;
    if (this.#heap.length === 0) return;
    const due = this.#heap[0].due;
    this.#timerDue = due;
    // setTimeout caps at 2^31-1 ms; a later entry is reached by re-arming when this timer fires early.
    this.#timer = setTimeout(() => this.#fire(), Math.min(2_147_483_647, Math.max(0, due - Date.now())));
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerDue = Infinity;
    // Timers may fire up to a millisecond early; treat anything due within 1 ms as due.
    const now = Date.now() + 1;
    const ready: Entry[] = [];
    while (this.#heap.length > 0 && this.#heap[0].due <= now) {
      const e = this.#pop();
      if (!e.live) continue;
      e.live = false;
      this.#byKey.delete(e.key);
      ready.push(e);
    }
    this.#arm();
    for (const e of ready) e.fn();
  }

  #push(e: Entry): void {
    const h = this.#heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p].due <= e.due) break;
      h[i] = h[p];
      i = p;
    }
    h[i] = e;
  }

  #pop(): Entry {
    const h = this.#heap;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const r = l + 1;
        const c = r < h.length && h[r].due < h[l].due ? r : l;
        if (h[c].due >= last.due) break;
        h[i] = h[c];
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}
