/**
 * A {@linkcode ByteChannel} over a connected `node:net`/`node:tls` socket.
 *
 * @module
 */

import type { Socket } from "node:net";
import type { ByteChannel } from "./mux.ts";

/**
 * Adapts a socket: `write` reports the socket's backpressure, `close` ends it
 * after flushing, chunks are passed on as plain `Uint8Array` views (no copy).
 * An `error` listener is attached at once, so a socket error never goes
 * unhandled; the error is passed to the close listener.
 *
 * @example
 * ```ts ignore
 * const link = new MuxLink(new SocketChannel(tlsSocket), { peerId, handler, maxInFlightRequests: 100 });
 * ```
 */
export class SocketChannel implements ByteChannel {
  readonly #socket: Socket;
  #error: unknown;
  #corked = false;

  /** @param socket A connected socket; the channel takes it over. */
  constructor(socket: Socket) {
    this.#socket = socket;
    socket.on("error", (err) => (this.#error ??= err));
  }

  /**
   * Writes bytes; `false` when the socket's buffer is over its high-water
   * mark. Frames written in the same tick are corked together and leave as
   * one TLS write at the end of the microtask, which saves a record and a
   * syscall per frame when many requests are in flight.
   */
  write(bytes: Uint8Array): boolean {
    const socket = this.#socket;
    if (socket.destroyed || socket.writableEnded) return true;
    if (!this.#corked) {
      this.#corked = true;
      socket.cork();
      queueMicrotask(() => {
        this.#corked = false;
        socket.uncork();
      });
    }
    return socket.write(bytes);
  }

  /** Ends the socket after queued bytes are flushed. */
  close(): void {
    if (!this.#socket.destroyed) this.#socket.end();
  }

  /** Destroys the socket. */
  destroy(): void {
    this.#socket.destroy();
  }

  /** Sets the data listener. */
  onData(listener: (chunk: Uint8Array) => void): void {
    this.#socket.on(
      "data",
      (chunk: Uint8Array) => listener(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)),
    );
  }

  /** Sets the drain listener. */
  onDrain(listener: () => void): void {
    this.#socket.on("drain", listener);
  }

  /** Sets the close listener (called at once, asynchronously, when the socket is already closed). */
  onClose(listener: (error?: unknown) => void): void {
    if (this.#socket.destroyed && this.#socket.closed) queueMicrotask(() => listener(this.#error));
    else this.#socket.once("close", () => listener(this.#error));
  }
}
