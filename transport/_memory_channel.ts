/**
 * An in-process {@linkcode ByteChannel} pair with asynchronous delivery and
 * socket-like backpressure, for the memory transport.
 *
 * @module
 */

import type { ByteChannel } from "./mux.ts";

/** Queued bytes at which `write` reports the channel full. */
const HIGH_WATER_MARK = 1 << 20;

/**
 * One end of an in-memory pipe: writes are delivered to the other end on a
 * later microtask, in order; `write` returns `false` once more than 1 MiB is
 * queued and `onDrain` fires after delivery.
 *
 * @example
 * ```ts
 * import { MemoryChannel } from "./_memory_channel.ts";
 * const [a, b] = MemoryChannel.pair();
 * b.onData((chunk) => console.log(chunk.length)); // 3
 * a.write(new Uint8Array(3));
 * a.close();
 * ```
 */
export class MemoryChannel implements ByteChannel {
  #peer!: MemoryChannel;
  #queue: Uint8Array[] = [];
  #queued = 0;
  #scheduled = false;
  #needDrain = false;
  #ending = false;
  #closed = false;
  #onData: (chunk: Uint8Array) => void = () => {};
  #onDrain: () => void = () => {};
  #onClose: (error?: unknown) => void = () => {};

  /** Two connected ends. */
  static pair(): [MemoryChannel, MemoryChannel] {
    const a = new MemoryChannel();
    const b = new MemoryChannel();
    a.#peer = b;
    b.#peer = a;
    return [a, b];
  }

  /** Queues bytes for the other end. */
  write(bytes: Uint8Array): boolean {
    if (this.#closed || this.#ending) return true;
    this.#queue.push(bytes);
    this.#queued += bytes.length;
    this.#schedule();
    if (this.#queued >= HIGH_WATER_MARK) this.#needDrain = true;
    return !this.#needDrain;
  }

  /** Delivers what is queued, then closes both ends. */
  close(): void {
    if (this.#closed || this.#ending) return;
    this.#ending = true;
    this.#schedule();
  }

  /** Drops what is queued and closes both ends. */
  destroy(): void {
    this.#queue = [];
    this.#queued = 0;
    this.#shut();
  }

  /** Sets the data listener. */
  onData(listener: (chunk: Uint8Array) => void): void {
    this.#onData = listener;
  }

  /** Sets the drain listener. */
  onDrain(listener: () => void): void {
    this.#onDrain = listener;
  }

  /** Sets the close listener. */
  onClose(listener: (error?: unknown) => void): void {
    this.#onClose = listener;
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => this.#flush());
  }

  #flush(): void {
    this.#scheduled = false;
    if (this.#closed) return;
    const queue = this.#queue;
    this.#queue = [];
    this.#queued = 0;
    for (const chunk of queue) {
      if (this.#peer.#closed) break;
      try {
        this.#peer.#onData(chunk);
      } catch {
        // A listener failure is the listener's problem, as with sockets.
      }
    }
    if (this.#ending) return this.#shut();
    if (this.#needDrain) {
      this.#needDrain = false;
      this.#onDrain();
    }
  }

  #shut(): void {
    for (const end of [this, this.#peer]) {
      if (end.#closed) continue;
      end.#closed = true;
      end.#queue = [];
      queueMicrotask(() => end.#onClose());
    }
  }
}
