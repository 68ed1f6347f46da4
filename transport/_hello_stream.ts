/**
 * Reads a sequence of `Hello` frames from a socket (a multi-step handshake,
 * such as the runtime admission), then hands the socket over to a `MuxLink`
 * with whatever arrived after the last one.
 *
 * @module
 */

import type { Socket } from "node:net";
import { UnauthorizedError } from "../errors.ts";
import { FrameError, FrameReader, FrameType } from "./frames.ts";
import type { EarlyFrame } from "./_tls_handshake.ts";

/** Largest handshake message. */
const MAX_HANDSHAKE_BYTES = 64 * 1024;

/**
 * Handshake reader over one socket.
 *
 * @example
 * ```ts ignore
 * const hs = new HelloStream(socket, 16_777_216);
 * const first = await hs.next(10_000);
 * const { reader, early } = hs.finish();
 * ```
 */
export class HelloStream {
  readonly #socket: Socket;
  readonly #reader: FrameReader;
  readonly #hellos: Uint8Array[] = [];
  readonly #early: EarlyFrame[] = [];
  #waiting: { resolve(b: Uint8Array): void; reject(e: unknown): void } | undefined;
  #failure: unknown;
  #done = false;
  readonly #onData: (chunk: Uint8Array) => void;
  readonly #onEnd: () => void;

  constructor(socket: Socket, maxFrameBytes: number) {
    this.#socket = socket;
    this.#reader = new FrameReader((type, id, body) => {
      if (this.#done) return void this.#early.push({ type, id, body });
      if (type !== FrameType.Hello || body.length > MAX_HANDSHAKE_BYTES) {
        throw new FrameError(`Cannot read handshake: got frame type ${type} of ${body.length} bytes`);
      }
      this.#hellos.push(body.slice());
      this.#deliver();
    }, maxFrameBytes);
    this.#onData = (chunk) => {
      try {
        this.#reader.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      } catch (err) {
        this.#fail(new UnauthorizedError("Cannot complete handshake: malformed frame", { cause: err }));
      }
    };
    this.#onEnd = () => this.#fail(new UnauthorizedError("Cannot complete handshake: the connection closed"));
    socket.on("data", this.#onData);
    socket.on("close", this.#onEnd);
    socket.on("end", this.#onEnd);
  }

  /** The next handshake message, or a rejection after `timeoutMs`. */
  next(timeoutMs: number): Promise<Uint8Array> {
    if (this.#hellos.length > 0) return Promise.resolve(this.#hellos.shift()!);
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting = undefined;
        reject(new UnauthorizedError(`Cannot complete handshake: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiting = {
        resolve: (b) => (clearTimeout(timer), resolve(b)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      };
    });
  }

  /** Ends the handshake: the socket is paused and the reader keeps any partial frame. */
  finish(): { reader: FrameReader; early: EarlyFrame[] } {
    this.#done = true;
    this.#socket.pause();
    this.#socket.off("data", this.#onData);
    this.#socket.off("close", this.#onEnd);
    this.#socket.off("end", this.#onEnd);
    return { reader: this.#reader, early: this.#early };
  }

  /** Stops listening (the caller destroys the socket). */
  abandon(): void {
    this.#done = true;
    this.#socket.off("data", this.#onData);
    this.#socket.off("close", this.#onEnd);
    this.#socket.off("end", this.#onEnd);
  }

  #deliver(): void {
    const w = this.#waiting;
    if (w !== undefined && this.#hellos.length > 0) {
      this.#waiting = undefined;
      w.resolve(this.#hellos.shift()!);
    }
  }

  #fail(err: unknown): void {
    this.#failure ??= err;
    const w = this.#waiting;
    this.#waiting = undefined;
    w?.reject(err);
  }
}
