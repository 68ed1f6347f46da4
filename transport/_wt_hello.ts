/**
 * Reading and encoding the HELLO messages of the WebTransport link
 * authentication, before a {@linkcode MuxLink} takes the channel over.
 *
 * HELLOs are frames of `frames.ts` (type `Hello`, request ID = message step)
 * whose body is `u8 version (1) | field*`, each field `u16 length | bytes`.
 * While authenticating, at most {@linkcode MAX_HELLO_BYTES} per message and
 * {@linkcode MAX_HANDSHAKE_BUFFER} in total are buffered, whatever the
 * link's `maxFrameBytes`: an unauthenticated peer cannot make us allocate more.
 *
 * @module
 */

import { UnauthorizedError } from "../errors.ts";
import { encodeFrame, FRAME_HEADER_BYTES, FrameReader, FrameType, type FrameTypeValue } from "./frames.ts";
import type { ByteChannel } from "./mux.ts";

const VERSION = 1;
/** Largest HELLO body. */
export const MAX_HELLO_BYTES = 8_192;
/** Largest number of bytes buffered before authentication completes. */
export const MAX_HANDSHAKE_BUFFER = 4 * MAX_HELLO_BYTES;

/** A frame read past the last HELLO, replayed by the link. */
export interface EarlyFrame {
  type: FrameTypeValue;
  id: number;
  body: Uint8Array;
}

/**
 * Encodes a HELLO frame for message `step` with the given fields.
 *
 * @example
 * ```ts
 * import { decodeHello, encodeHello } from "./_wt_hello.ts";
 * const frame = encodeHello(1, [new Uint8Array([7])]);
 * console.log(decodeHello(frame.subarray(9), 1)?.[0]); // Uint8Array(1) [ 7 ]
 * ```
 */
export function encodeHello(step: number, fields: readonly Uint8Array[]): Uint8Array {
  const body = new Uint8Array(1 + fields.reduce((n, f) => n + 2 + f.length, 0));
  if (body.length > MAX_HELLO_BYTES) throw new RangeError(`Cannot encode hello: ${body.length} bytes is too large`);
  body[0] = VERSION;
  let at = 1;
  for (const f of fields) {
    body[at] = f.length >>> 8;
    body[at + 1] = f.length & 0xff;
    body.set(f, at + 2);
    at += 2 + f.length;
  }
  return encodeFrame(FrameType.Hello, step, body);
}

/**
 * Decodes a HELLO body into exactly `count` fields, or `undefined` when malformed.
 *
 * @example
 * ```ts
 * import { decodeHello } from "./_wt_hello.ts";
 * console.log(decodeHello(new Uint8Array([1, 0, 1, 9]), 1)); // [ Uint8Array(1) [ 9 ] ]
 * ```
 */
export function decodeHello(body: Uint8Array, count: number): Uint8Array<ArrayBuffer>[] | undefined {
  if (body.length < 1 || body[0] !== VERSION) return undefined;
  const out: Uint8Array<ArrayBuffer>[] = [];
  let at = 1;
  while (out.length < count) {
    if (at + 2 > body.length) return undefined;
    const len = (body[at] << 8) | body[at + 1];
    if (at + 2 + len > body.length) return undefined;
    out.push(body.slice(at + 2, at + 2 + len));
    at += 2 + len;
  }
  return at === body.length ? out : undefined;
}

/**
 * Collects the bytes of a channel during authentication and hands out HELLO
 * bodies one at a time; afterwards, {@linkcode rest} turns what was read past
 * the last HELLO into a reader and early frames for the link.
 *
 * @example
 * ```ts ignore
 * const hellos = new HelloReader(channel);
 * const body = await hellos.next(1);
 * ```
 */
export class HelloReader {
  #buffer = new Uint8Array(0);
  #waiter: { step: number; last: boolean; resolve: (b: Uint8Array) => void; reject: (e: unknown) => void } | undefined;
  #failure: unknown;
  /** Set once the last HELLO was read: what follows is link traffic, bounded by the link. */
  #unbounded = false;
  readonly #maxHello: number;
  readonly #maxBuffer: number;

  /**
   * @param channel The channel; its data and close listeners are taken until the link replaces them.
   * @param limits Largest HELLO body and largest pre-authentication buffer.
   * @default {{ maxHelloBytes: MAX_HELLO_BYTES, maxBufferBytes: MAX_HANDSHAKE_BUFFER }}
   */
  constructor(channel: ByteChannel, limits?: { maxHelloBytes: number; maxBufferBytes: number }) {
    this.#maxHello = limits?.maxHelloBytes ?? MAX_HELLO_BYTES;
    this.#maxBuffer = limits?.maxBufferBytes ?? MAX_HANDSHAKE_BUFFER;
    channel.onData((chunk) => this.#push(chunk));
    channel.onClose((err) =>
      this.#fail(
        new UnauthorizedError("Cannot authenticate link: the peer closed during the handshake", { cause: err }),
      )
    );
  }

  /** Bytes received past the HELLOs handed out so far. */
  get buffered(): number {
    return this.#buffer.length;
  }

  /** Resolves with the body of the next frame, which must be the HELLO of `step` (`last`: no HELLO follows). */
  next(step: number, last = false): Promise<Uint8Array> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#waiter = { step, last, resolve, reject };
      this.#parse();
    });
  }

  /** The rest of the stream as a link reader (with `maxFrameBytes`) plus the complete frames it already holds. */
  rest(maxFrameBytes: number): { reader: FrameReader; early: EarlyFrame[] } {
    const early: EarlyFrame[] = [];
    const reader = new FrameReader((type, id, body) => void early.push({ type, id, body }), maxFrameBytes);
    if (this.#buffer.length > 0) reader.push(this.#buffer);
    this.#buffer = new Uint8Array(0);
    return { reader, early };
  }

  #push(chunk: Uint8Array): void {
    if (this.#failure !== undefined) return;
    if (!this.#unbounded && this.#buffer.length + chunk.length > this.#maxBuffer) {
      return this.#fail(new UnauthorizedError("Cannot authenticate link: the peer sent too much during the handshake"));
    }
    const next = new Uint8Array(this.#buffer.length + chunk.length);
    next.set(this.#buffer);
    next.set(chunk, this.#buffer.length);
    this.#buffer = next;
    this.#parse();
  }

  #parse(): void {
    const w = this.#waiter;
    const b = this.#buffer;
    if (w === undefined || b.length < FRAME_HEADER_BYTES) return;
    const view = new DataView(b.buffer, b.byteOffset, b.length);
    const len = view.getUint32(0);
    const type = b[4];
    const id = view.getUint32(5);
    if (type !== FrameType.Hello || id !== w.step || len > this.#maxHello) {
      return this.#fail(
        new UnauthorizedError(`Cannot authenticate link: expected hello ${w.step}, got frame type ${type} id ${id}`),
      );
    }
    if (b.length < FRAME_HEADER_BYTES + len) return;
    this.#waiter = undefined;
    this.#unbounded = w.last;
    this.#buffer = b.slice(FRAME_HEADER_BYTES + len);
    w.resolve(b.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + len));
  }

  #fail(err: unknown): void {
    if (this.#failure !== undefined) return;
    this.#failure = err;
    this.#buffer = new Uint8Array(0);
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.reject(err);
  }
}
