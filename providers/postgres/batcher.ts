/**
 * A generic group-commit queue: calls queued within one macrotask (and while
 * earlier batches are in flight) run together as ONE statement, the way
 * `state_writer.ts` merges `setState` calls, so a hundred concurrent job
 * dispatches or completions cost one round trip and one WAL flush.
 *
 * - Each item settles with its own outcome (`run` returns one per item); if
 *   `run` throws, every item of that batch rejects with the error.
 * - Items that share a key never share a batch, and an item waits while a
 *   batch holding one of its keys is in flight, so calls on one key apply in
 *   call order (a dispatch with the same idempotency key sees the first's
 *   commit, as if the two had been sent one after the other).
 * - At most `maxInFlight` batches run at once; `maxBatch` items (and about
 *   `maxWeight` weight) per batch, an oversized item running alone.
 *
 * @module
 */

import { nextMacrotask } from "./context.ts";

/** The outcome of one item: a value or an error. */
export type Outcome<O> = { value: O } | { error: unknown };

/** How a {@linkcode Batcher} runs its batches. */
export interface BatcherOptions<I, O> {
  /** Runs one batch; returns one outcome per item, in order. */
  run(items: readonly I[]): Promise<Outcome<O>[]>;
  /** Keys of an item (items sharing a key never share or overlap a batch). */
  keys?(item: I): readonly string[];
  /** Weight of an item (e.g. payload bytes), capped per batch by `maxWeight`. */
  weight?(item: I): number;
  /** Largest number of items per batch. */
  maxBatch: number;
  /** Largest total weight per batch (an item heavier than this runs alone). */
  maxWeight?: number;
  /** Batches in flight at once. */
  maxInFlight: number;
}

interface Entry<I, O> {
  item: I;
  keys: readonly string[];
  resolve(value: O): void;
  reject(err: unknown): void;
}

const NO_KEYS: readonly string[] = [];

/** Merges concurrent calls into batches (see the module doc). */
export class Batcher<I, O> {
  #o: BatcherOptions<I, O>;
  #queue: Entry<I, O>[] = [];
  #busy = new Set<string>();
  #running = new Set<Promise<void>>();
  #scheduled = false;

  /** @param options How to run batches. */
  constructor(options: BatcherOptions<I, O>) {
    this.#o = options;
  }

  /** Queues an item; settles with its outcome once its batch ran. */
  submit(item: I): Promise<O> {
    const { promise, resolve, reject } = Promise.withResolvers<O>();
    this.#queue.push({ item, keys: this.#o.keys?.(item) ?? NO_KEYS, resolve, reject });
    if (!this.#scheduled && this.#running.size < this.#o.maxInFlight) {
      this.#scheduled = true;
      nextMacrotask(() => {
        this.#scheduled = false;
        this.#pump();
      });
    }
    return promise;
  }

  /** Resolves once nothing is queued or in flight. */
  async flush(): Promise<void> {
    while (this.#queue.length > 0 || this.#running.size > 0) {
      this.#pump();
      if (this.#running.size === 0) return; // only items blocked on keys of nothing: cannot happen
      await Promise.race(this.#running);
    }
  }

  #pump(): void {
    while (this.#running.size < this.#o.maxInFlight && this.#queue.length > 0) {
      const batch = this.#take();
      if (batch.length === 0) return;
      const run: Promise<void> = this.#execute(batch).finally(() => {
        this.#running.delete(run);
        for (const e of batch) for (const k of e.keys) this.#busy.delete(k);
        this.#pump();
      });
      this.#running.add(run);
    }
  }

  /** Takes the next batch from the queue, leaving items whose keys are taken. */
  #take(): Entry<I, O>[] {
    const { maxBatch, maxWeight = Infinity, weight } = this.#o;
    const batch: Entry<I, O>[] = [];
    const rest: Entry<I, O>[] = [];
    let total = 0;
    for (const e of this.#queue) {
      const w = weight?.(e.item) ?? 0;
      const fits = batch.length < maxBatch && (batch.length === 0 || total + w <= maxWeight);
      if (fits && !e.keys.some((k) => this.#busy.has(k))) {
        for (const k of e.keys) this.#busy.add(k);
        batch.push(e);
        total += w;
      } else {
        rest.push(e);
      }
    }
    this.#queue = rest;
    return batch;
  }

  async #execute(batch: Entry<I, O>[]): Promise<void> {
    let outcomes: Outcome<O>[];
    try {
      outcomes = await this.#o.run(batch.map((e) => e.item));
    } catch (err) {
      for (const e of batch) e.reject(err);
      return;
    }
    batch.forEach((e, i) => {
      const o = outcomes[i];
      if (o === undefined) e.reject(new Error("Batch ended without an outcome for this call"));
      else if ("error" in o) e.reject(o.error);
      else e.resolve(o.value);
    });
  }
}
