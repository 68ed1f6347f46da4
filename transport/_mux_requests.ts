/**
 * Per-request bookkeeping of {@linkcode MuxLink}: an outbound request waiting
 * for its answer (deadline and caller signal included), and an inbound
 * request whose handler is running.
 *
 * @module
 */

import { DeadlineExceededError } from "../errors.ts";

/** Longest delay `setTimeout` honours; longer deadlines are not armed. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * An outbound request awaiting its answer. Settles once; settling removes
 * its deadline and signal listener and unregisters the request.
 *
 * @example
 * ```ts
 * import { Outbound } from "./_mux_requests.ts";
 * const out = new Outbound((b) => console.log(b.length), () => {}, () => {}); // 0
 * out.resolve(new Uint8Array(0));
 * ```
 */
export class Outbound {
  /** Whether the request frame was handed to the channel (loss is then `TransportError`, not `RetryLaterError`). */
  sent = false;
  /** Whether the request has settled. */
  settled = false;
  /** When the deadline passes, in `performance.now()` ms (`Infinity`: none). */
  due = Infinity;
  /** Position in the {@linkcode DeadlineQueue} heap, -1 when not queued. */
  heapIndex = -1;
  readonly #resolve: (body: Uint8Array) => void;
  readonly #reject: (err: unknown) => void;
  readonly #unregister: () => void;
  #deadlines: DeadlineQueue | undefined;
  #cancel: ((reason: unknown) => void) | undefined;
  #timeoutMs = 0;
  #peerId = "";
  #signal: AbortSignal | undefined;
  #onAbort: (() => void) | undefined;

  /**
   * @param resolve Settles the caller's promise with the answer.
   * @param reject Settles the caller's promise with an error.
   * @param unregister Removes the request from the link's table.
   */
  constructor(resolve: (body: Uint8Array) => void, reject: (err: unknown) => void, unregister: () => void) {
    this.#resolve = resolve;
    this.#reject = reject;
    this.#unregister = unregister;
  }

  /**
   * Arms the deadline and the caller's signal; either rejects the request and
   * calls `cancel` with the reason so that the peer is told.
   */
  arm(
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    cancel: (reason: unknown) => void,
    peerId: string,
    deadlines: DeadlineQueue,
  ): void {
    this.#cancel = cancel;
    if (timeoutMs !== undefined && Number.isFinite(timeoutMs)) {
      this.#timeoutMs = timeoutMs;
      this.#peerId = peerId;
      this.due = performance.now() + timeoutMs;
      this.#deadlines = deadlines;
      deadlines.add(this);
    }
    if (signal !== undefined) {
      this.#signal = signal;
      this.#onAbort = () => {
        this.#onAbort = undefined;
        this.#cancel?.(signal.reason);
        this.reject(signal.reason);
      };
      signal.addEventListener("abort", this.#onAbort, { once: true });
    }
  }

  /** Called by the deadline queue when `due` has passed. */
  expire(): void {
    const reason = new DeadlineExceededError(
      `Cannot complete request: host "${this.#peerId}" did not answer within ${this.#timeoutMs} ms`,
    );
    this.#cancel?.(reason);
    this.reject(reason);
  }

  /** Settles with the peer's answer. */
  resolve(body: Uint8Array): void {
    if (this.#settle()) this.#resolve(body);
  }

  /** Settles with an error. */
  reject(err: unknown): void {
    if (this.#settle()) this.#reject(err);
  }

  #settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.#unregister();
    if (this.heapIndex >= 0) this.#deadlines!.remove(this);
    if (this.#onAbort !== undefined) this.#signal!.removeEventListener("abort", this.#onAbort);
    this.#onAbort = undefined;
    return true;
  }
}

/**
 * The deadlines of a link's outbound requests: a binary min-heap by due time
 * with one `setTimeout` armed for the earliest, so that a request costs no
 * timer of its own (a per-request timer costs about half the throughput).
 *
 * @example
 * ```ts
 * import { DeadlineQueue, Outbound } from "./_mux_requests.ts";
 * const q = new DeadlineQueue();
 * const failed = Promise.withResolvers<string>();
 * const out = new Outbound(() => {}, (e) => failed.resolve((e as Error).name), () => {});
 * out.arm(undefined, 1, () => {}, "peer", q);
 * console.log(await failed.promise); // DeadlineExceededError
 * ```
 */
export class DeadlineQueue {
  readonly #heap: Outbound[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerDue = Infinity;

  /** Queues `o` by `o.due`. */
  add(o: Outbound): void {
    o.heapIndex = this.#heap.length;
    this.#heap.push(o);
    this.#up(o.heapIndex);
    this.#arm();
  }

  /** Unqueues `o`. */
  remove(o: Outbound): void {
    const i = o.heapIndex;
    if (i < 0) return;
    o.heapIndex = -1;
    const last = this.#heap.pop()!;
    if (last !== o) {
      this.#heap[i] = last;
      last.heapIndex = i;
      this.#down(i);
      this.#up(last.heapIndex);
    }
    if (this.#heap.length === 0) this.#disarm();
  }

  #arm(): void {
    const first = this.#heap[0];
    if (first === undefined) return this.#disarm();
    if (this.#timer !== undefined && this.#timerDue <= first.due) return;
    this.#disarm();
    this.#timerDue = first.due;
    const ms = Math.min(Math.max(0, Math.ceil(first.due - performance.now())), MAX_TIMER_MS);
    this.#timer = setTimeout(() => this.#fire(), ms);
  }

  #disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerDue = Infinity;
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerDue = Infinity;
    const now = performance.now();
    while (this.#heap.length > 0 && this.#heap[0].due <= now) {
      const o = this.#heap[0];
      this.remove(o);
      o.expire();
    }
    this.#arm();
  }

  #up(i: number): void {
    const h = this.#heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p].due <= h[i].due) break;
      this.#swap(i, p);
      i = p;
    }
  }

  #down(i: number): void {
    const h = this.#heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && h[l].due < h[m].due) m = l;
      if (r < h.length && h[r].due < h[m].due) m = r;
      if (m === i) return;
      this.#swap(i, m);
      i = m;
    }
  }

  #swap(a: number, b: number): void {
    const h = this.#heap;
    const x = h[a];
    h[a] = h[b];
    h[b] = x;
    h[a].heapIndex = a;
    x.heapIndex = b;
  }
}

/**
 * An inbound request whose handler is running; its controller is the
 * handler's `ctx.signal`.
 *
 * @example
 * ```ts
 * import { Inbound } from "./_mux_requests.ts";
 * console.log(new Inbound().controller.signal.aborted); // false
 * ```
 */
export class Inbound {
  /** Aborts when the caller cancels, its deadline passes or the link closes. */
  readonly controller: AbortController = new AbortController();
}
