/**
 * A FIFO read/write lock granting actor turns.
 *
 * - Exclusive turns (invoke, alarm) run alone; shared turns (peek) overlap each other.
 * - Waiters are granted strictly in arrival order. Consecutive shared waiters at
 *   the head of the queue are granted together; a waiting exclusive request
 *   blocks shared requests that arrive after it, so writers never starve.
 * - The uncontended case grants synchronously ({@linkcode TurnLock.tryAcquire}),
 *   so the hot path allocates no promise.
 *
 * @module
 */

interface Waiter {
  shared: boolean;
  resolve: () => void;
  reject: (reason: unknown) => void;
  /** Set once granted or removed, so abort and grant cannot both win. */
  done: boolean;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/**
 * A per-actor turn lock.
 *
 * @example
 * ```ts
 * import { TurnLock } from "./turn_lock.ts";
 * const lock = new TurnLock();
 * if (!lock.tryAcquire(false)) await lock.acquire(false);
 * try {
 *   console.log("exclusive work");
 * } finally {
 *   lock.release(false);
 * }
 * ```
 */
export class TurnLock {
  /** Number of shared holders. */
  #readers = 0;
  #writer = false;
  #queue: Waiter[] = [];
  #head = 0;
  #closedReason: unknown = undefined;
  #closed = false;
  #idleWaiters: (() => void)[] = [];

  /** Whether any turn is running or waiting. */
  get busy(): boolean {
    return this.#writer || this.#readers > 0 || this.#head < this.#queue.length;
  }

  /** Grants the turn synchronously if possible; returns whether it did. */
  tryAcquire(shared: boolean): boolean {
    if (this.#closed || this.#head < this.#queue.length || this.#writer) return false;
    if (shared) {
      this.#readers++;
      return true;
    }
    if (this.#readers > 0) return false;
    this.#writer = true;
    return true;
  }

  /**
   * Waits for the turn in FIFO order. Rejects with `signal.reason` if the
   * signal aborts first, or with the close reason if the lock is closed.
   */
  acquire(shared: boolean, signal?: AbortSignal): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closedReason);
    if (this.tryAcquire(shared)) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { shared, resolve, reject, done: false, signal };
      if (signal) {
        waiter.onAbort = () => {
          if (waiter.done) return;
          waiter.done = true;
          reject(signal.reason);
          this.#grant();
        };
        signal.addEventListener("abort", waiter.onAbort, { once: true });
      }
      this.#queue.push(waiter);
    });
  }

  /** Ends a turn acquired with the same `shared` flag. */
  release(shared: boolean): void {
    if (shared) this.#readers--;
    else this.#writer = false;
    this.#grant();
  }

  /**
   * Rejects every waiter with `reason` and refuses new ones. Running turns are
   * unaffected; {@linkcode whenIdle} tells when they have ended.
   */
  close(reason: unknown): void {
    this.#closed = true;
    this.#closedReason = reason;
    const waiting = this.#queue.slice(this.#head);
    this.#queue = [];
    this.#head = 0;
    for (const w of waiting) {
      if (w.done) continue;
      w.done = true;
      this.#detach(w);
      w.reject(reason);
    }
    this.#notifyIdle();
  }

  /** Resolves when no turn is running (waiters are ignored once closed). */
  whenIdle(): Promise<void> {
    if (!this.#writer && this.#readers === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #grant(): void {
    // Drop waiters removed by abort.
    while (this.#head < this.#queue.length && this.#queue[this.#head].done) this.#head++;
    while (this.#head < this.#queue.length && !this.#writer) {
      const next = this.#queue[this.#head];
      if (next.done) {
        this.#head++;
        continue;
      }
      if (next.shared) {
        this.#readers++;
      } else {
        if (this.#readers > 0) break;
        this.#writer = true;
      }
      this.#head++;
      next.done = true;
      this.#detach(next);
      next.resolve();
    }
    if (this.#head > 64 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    this.#notifyIdle();
  }

  #notifyIdle(): void {
    if (this.#writer || this.#readers > 0 || this.#idleWaiters.length === 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }

  #detach(w: Waiter): void {
    if (w.signal && w.onAbort) w.signal.removeEventListener("abort", w.onAbort);
  }
}
