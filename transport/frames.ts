/**
 * The link frame format and its incremental reader.
 *
 * A frame is a 9-byte header followed by the body:
 *
 * | bytes | field |
 * | --- | --- |
 * | 0–3 | body length, u32 big-endian (≤ `maxFrameBytes`) |
 * | 4 | frame type ({@linkcode FrameType}) |
 * | 5–8 | request ID, u32 big-endian (0 for link-level frames) |
 * | 9… | body |
 *
 * @module
 */

/** Frame types. Any other value is a protocol error. */
export const FrameType = {
  /** First frame each way: `{hostId, proof}` (TLS only). */
  Hello: 1,
  /** A request; body is opaque. */
  Request: 2,
  /** A successful answer; body is opaque. */
  Response: 3,
  /** A failed answer; body is an encoded wire error. */
  Error: 4,
  /** The caller gave up on a request; body is empty or an encoded wire error (the reason). */
  Cancel: 5,
  /** The sender is closing the link on purpose. */
  Goodbye: 6,
  /** Liveness probe while requests are in flight; answered with `Pong`. */
  Ping: 7,
  /** Answer to `Ping`. */
  Pong: 8,
} as const;

/** A value of {@linkcode FrameType}. */
export type FrameTypeValue = typeof FrameType[keyof typeof FrameType];

/** Header size in bytes. */
export const FRAME_HEADER_BYTES = 9;

/** Default largest body, bytes (16 MiB). */
export const DEFAULT_MAX_FRAME_BYTES = 16_777_216;

const MAX_TYPE = FrameType.Pong;

/**
 * A malformed or oversized frame: the link must be closed.
 *
 * @example
 * ```ts
 * import { FrameError, FrameReader } from "./frames.ts";
 * try {
 *   new FrameReader(() => {}).push(new Uint8Array([0, 0, 0, 0, 99, 0, 0, 0, 0]));
 * } catch (err) {
 *   console.log(err instanceof FrameError); // true
 * }
 * ```
 */
export class FrameError extends Error {
  /** @param message `Cannot read frame: …`. */
  constructor(message: string) {
    super(message);
    this.name = "FrameError";
  }
}

/** Receives each complete frame; `body` may be a view into a received chunk. */
export type FrameListener = (type: FrameTypeValue, requestId: number, body: Uint8Array) => void;

/** Frames up to this size are carved from a shared slab: a small `new Uint8Array` costs about 1 µs in Deno. */
const SLAB_MAX_FRAME = 4_096;
const SLAB_BYTES = 65_536;
let slab = new Uint8Array(SLAB_BYTES);
let slabUsed = 0;

/**
 * Encodes one frame (the body is copied). Small frames are views into a
 * shared slab (never reused once handed out); the result must not be
 * modified after it is written.
 *
 * @example
 * ```ts
 * import { encodeFrame, FrameType } from "./frames.ts";
 * console.log(encodeFrame(FrameType.Request, 7, new Uint8Array([1, 2])).length); // 11
 * ```
 */
export function encodeFrame(type: FrameTypeValue, requestId: number, body?: Uint8Array): Uint8Array {
  const len = body === undefined ? 0 : body.length;
  const size = FRAME_HEADER_BYTES + len;
  let out: Uint8Array;
  if (size <= SLAB_MAX_FRAME) {
    if (slabUsed + size > SLAB_BYTES) {
      slab = new Uint8Array(SLAB_BYTES);
      slabUsed = 0;
    }
    out = slab.subarray(slabUsed, slabUsed + size);
    slabUsed += (size + 7) & ~7;
  } else {
    out = new Uint8Array(size);
  }
  writeHeader(out, len, type, requestId);
  if (len > 0) out.set(body!, FRAME_HEADER_BYTES);
  return out;
}

function writeHeader(out: Uint8Array, len: number, type: number, id: number): void {
  out[0] = len >>> 24;
  out[1] = (len >>> 16) & 0xff;
  out[2] = (len >>> 8) & 0xff;
  out[3] = len & 0xff;
  out[4] = type;
  out[5] = id >>> 24;
  out[6] = (id >>> 16) & 0xff;
  out[7] = (id >>> 8) & 0xff;
  out[8] = id & 0xff;
}

function u32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

/**
 * Parses frames out of a byte stream pushed in arbitrary chunks. A frame
 * wholly inside one chunk is passed on as a view of that chunk (no copy); a
 * frame spanning chunks is assembled once into a buffer of exactly its size.
 * Throws {@linkcode FrameError} for an oversized length or an unknown type,
 * as soon as the header is seen; the reader is unusable afterwards.
 *
 * Chunks must not be modified after being pushed (socket chunks never are).
 *
 * @example
 * ```ts
 * import { encodeFrame, FrameReader, FrameType } from "./frames.ts";
 * const frame = encodeFrame(FrameType.Response, 1, new Uint8Array([9]));
 * const reader = new FrameReader((type, id, body) => console.log(type, id, body[0]), 1024); // 3 1 9
 * reader.push(frame.subarray(0, 4));
 * reader.push(frame.subarray(4));
 * ```
 */
export class FrameReader {
  /** Where complete frames go; may be replaced (e.g. after a handshake). */
  onFrame: FrameListener;
  readonly #max: number;
  readonly #header = new Uint8Array(FRAME_HEADER_BYTES);
  #headerFill = 0;
  #body: Uint8Array | undefined;
  #bodyFill = 0;
  #type: FrameTypeValue = FrameType.Request;
  #id = 0;
  #failed = false;

  /**
   * @param onFrame Receives complete frames.
   * @param maxFrameBytes Largest accepted body.
   */
  constructor(onFrame: FrameListener, maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES) {
    this.onFrame = onFrame;
    this.#max = maxFrameBytes;
  }

  /** Bytes of a frame still being assembled (0 between frames). */
  get buffered(): number {
    return this.#headerFill + this.#bodyFill;
  }

  /** Feeds received bytes; delivers every frame they complete. */
  push(chunk: Uint8Array): void {
    if (this.#failed) throw new FrameError("Cannot read frame: the reader already failed");
    let at = 0;
    const n = chunk.length;
    // Finish a frame that spans chunks.
    if (this.#headerFill > 0 || this.#body !== undefined) {
      at = this.#continue(chunk);
      if (at < 0) return;
    }
    // Fast path: whole frames inside this chunk.
    while (n - at >= FRAME_HEADER_BYTES) {
      const len = u32(chunk, at);
      const type = chunk[at + 4];
      this.#check(len, type);
      const id = u32(chunk, at + 5);
      const start = at + FRAME_HEADER_BYTES;
      if (n - start < len) {
        this.#type = type as FrameTypeValue;
        this.#id = id;
        this.#startBody(len, chunk.subarray(start));
        return;
      }
      at = start + len;
      this.onFrame(type as FrameTypeValue, id, chunk.subarray(start, at));
    }
    if (at < n) {
      this.#header.set(chunk.subarray(at));
      this.#headerFill = n - at;
    }
  }

  /** Continues a split frame; returns the offset after it, or -1 when the chunk was consumed. */
  #continue(chunk: Uint8Array): number {
    let at = 0;
    if (this.#body === undefined) {
      const need = FRAME_HEADER_BYTES - this.#headerFill;
      if (chunk.length < need) {
        this.#header.set(chunk, this.#headerFill);
        this.#headerFill += chunk.length;
        return -1;
      }
      this.#header.set(chunk.subarray(0, need), this.#headerFill);
      this.#headerFill = 0;
      at = need;
      const len = u32(this.#header, 0);
      const type = this.#header[4];
      this.#check(len, type);
      this.#type = type as FrameTypeValue;
      this.#id = u32(this.#header, 5);
      const rest = chunk.length - at;
      if (rest >= len) {
        this.onFrame(this.#type, this.#id, chunk.subarray(at, at + len));
        return at + len;
      }
      this.#startBody(len, chunk.subarray(at));
      return -1;
    }
    const body = this.#body;
    const need = body.length - this.#bodyFill;
    if (chunk.length < need) {
      body.set(chunk, this.#bodyFill);
      this.#bodyFill += chunk.length;
      return -1;
    }
    body.set(chunk.subarray(0, need), this.#bodyFill);
    this.#body = undefined;
    this.#bodyFill = 0;
    this.onFrame(this.#type, this.#id, body);
    return need;
  }

  #startBody(len: number, part: Uint8Array): void {
    const body = new Uint8Array(len);
    body.set(part);
    this.#body = body;
    this.#bodyFill = part.length;
  }

  #check(len: number, type: number): void {
    if (len > this.#max) {
      this.#failed = true;
      throw new FrameError(`Cannot read frame: body of ${len} bytes exceeds maxFrameBytes ${this.#max}`);
    }
    if (type < 1 || type > MAX_TYPE) {
      this.#failed = true;
      throw new FrameError(`Cannot read frame: unknown frame type ${type}`);
    }
  }
}
