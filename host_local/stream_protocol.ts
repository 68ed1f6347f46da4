/**
 * The peer messages of a streamed call between hosts (API.md §11), carried as
 * ordinary request/response pairs on the peer link.
 *
 * Every message starts `u8 version (3)` · `u8 op`, so a host tells it from a
 * forwarded invocation (version 2) by its first byte. Strings are `u16 length`
 * · UTF-8.
 *
 * | op | caller → owner | answer |
 * | --- | --- | --- |
 * | 1 `open` | `u8 flags` (bit 0 peek, bit 1 activeOnly, bit 2 body complete) · target host, type, ID, method, stream ID (the request ID), content type · `u16` chain length · chain · first body bytes | once the handler returned: `u8` (0 no bytes yet, 1 the whole body follows, 2 its first bytes follow) · content type (string) · bytes |
 * | 2 `chunk` | stream ID · `u8` end flag · body bytes | `0` taken, `1` the actor no longer reads |
 * | 3 `read` | stream ID | `0` · bytes, `2` · the last bytes, or `1` (end of body) |
 * | 4 `cancel` | stream ID | empty |
 * | 5 `watch` | stream ID | empty, once the stream is over (held open meanwhile, so a lost link is noticed) |
 *
 * Decoders bound every field and throw `DecodeError` on anything else.
 *
 * @module
 */

import { DecodeError } from "../errors.ts";

/** First byte of every stream message. */
export const STREAM_VERSION = 3;
/** The most body bytes carried by one `chunk` or `read` answer. */
export const STREAM_CHUNK_BYTES = 1_048_576;
const MAX_CHAIN = 256;

/** Operations of {@linkcode StreamMessage}. */
export const StreamOp = { open: 1, chunk: 2, read: 3, cancel: 4, watch: 5 } as const;

/** The `open` message: the call, and the first bytes of its request body. */
export interface StreamOpen {
  op: "open";
  targetHostId: string;
  actorType: string;
  actorId: string;
  method: string;
  mode: "invokeStream" | "peekStream";
  streamId: string;
  contentType: string;
  chain: readonly string[];
  activeOnly: boolean;
  /** Whether `data` is the whole request body. */
  complete: boolean;
  data: Uint8Array;
}

/** Any stream message. */
export type StreamMessage =
  | StreamOpen
  | { op: "chunk"; streamId: string; end: boolean; data: Uint8Array }
  | { op: "read" | "cancel" | "watch"; streamId: string };

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Encodes a stream message.
 *
 * @example
 * ```ts
 * import { decodeStreamMessage, encodeStreamMessage } from "./stream_protocol.ts";
 * const body = encodeStreamMessage({ op: "read", streamId: "s1" });
 * console.log(decodeStreamMessage(body).op); // read
 * ```
 */
export function encodeStreamMessage(msg: StreamMessage): Uint8Array {
  const parts: Uint8Array[] = [new Uint8Array([STREAM_VERSION, StreamOp[msg.op]])];
  const str = (s: string) => {
    const bytes = encoder.encode(s);
    if (bytes.length > 0xffff) throw new RangeError("Cannot encode stream message: a field exceeds 65535 bytes");
    parts.push(new Uint8Array([bytes.length >> 8, bytes.length & 0xff]), bytes);
  };
  if (msg.op === "open") {
    parts.push(
      new Uint8Array([(msg.mode === "peekStream" ? 1 : 0) | (msg.activeOnly ? 2 : 0) | (msg.complete ? 4 : 0)]),
    );
    for (const s of [msg.targetHostId, msg.actorType, msg.actorId, msg.method, msg.streamId, msg.contentType]) str(s);
    if (msg.chain.length > MAX_CHAIN) throw new RangeError("Cannot encode stream message: call chain too long");
    parts.push(new Uint8Array([msg.chain.length >> 8, msg.chain.length & 0xff]));
    for (const s of msg.chain) str(s);
    parts.push(msg.data);
  } else {
    str(msg.streamId);
    if (msg.op === "chunk") parts.push(new Uint8Array([msg.end ? 1 : 0]), msg.data);
  }
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Decodes and validates a stream message.
 *
 * @throws {DecodeError} On anything that is not a well-formed message.
 *
 * @example
 * ```ts
 * import { decodeStreamMessage } from "./stream_protocol.ts";
 * try {
 *   decodeStreamMessage(new Uint8Array([3, 99]));
 * } catch (err) {
 *   console.log((err as Error).name); // DecodeError
 * }
 * ```
 */
export function decodeStreamMessage(body: Uint8Array): StreamMessage {
  if (body.length < 2 || body[0] !== STREAM_VERSION) throw bad("unknown version or truncated body");
  const op = body[1];
  let at = 2;
  const byte = () => {
    if (at >= body.length) throw bad("truncated header");
    return body[at++];
  };
  const u16 = () => (byte() << 8) | byte();
  const str = () => {
    const n = u16();
    if (at + n > body.length) throw bad("truncated field");
    try {
      return decoder.decode(body.subarray(at, at + n));
    } catch (err) {
      throw bad("a field is not UTF-8", err);
    } finally {
      at += n;
    }
  };
  switch (op) {
    case StreamOp.open: {
      const flags = byte();
      if (flags > 7) throw bad("unknown flags");
      const [targetHostId, actorType, actorId, method, streamId, contentType] = [
        str(),
        str(),
        str(),
        str(),
        str(),
        str(),
      ];
      const chainLength = u16();
      if (chainLength > MAX_CHAIN) throw bad("call chain too long");
      const chain: string[] = [];
      for (let i = 0; i < chainLength; i++) chain.push(str());
      const data = body.subarray(at);
      if (data.length > STREAM_CHUNK_BYTES) throw bad("first body bytes over the chunk limit");
      return {
        op: "open",
        targetHostId,
        actorType,
        actorId,
        method,
        mode: (flags & 1) === 1 ? "peekStream" : "invokeStream",
        streamId,
        contentType,
        chain,
        activeOnly: (flags & 2) === 2,
        complete: (flags & 4) === 4,
        data,
      };
    }
    case StreamOp.chunk: {
      const streamId = str();
      const end = byte();
      if (end > 1) throw bad("unknown end flag");
      const data = body.subarray(at);
      if (data.length > STREAM_CHUNK_BYTES) throw bad("chunk over the limit");
      return { op: "chunk", streamId, end: end === 1, data };
    }
    case StreamOp.read:
    case StreamOp.cancel:
    case StreamOp.watch: {
      const streamId = str();
      if (at !== body.length) throw bad("trailing bytes");
      return { op: op === StreamOp.read ? "read" : op === StreamOp.cancel ? "cancel" : "watch", streamId };
    }
    default:
      throw bad("unknown operation");
  }
}

/**
 * Encodes the answer to `open`: the response content type and, when the
 * handler gave its body whole (at most one chunk), that body.
 *
 * @example
 * ```ts
 * import { decodeOpenAnswer, encodeOpenAnswer } from "./stream_protocol.ts";
 * console.log(decodeOpenAnswer(encodeOpenAnswer("text/plain", "none", undefined)).contentType); // text/plain
 * ```
 */
export function encodeOpenAnswer(
  contentType: string,
  kind: "none" | "first" | "whole",
  bytes: Uint8Array | undefined,
): Uint8Array {
  const whole = kind === "none" ? undefined : bytes ?? new Uint8Array(0);
  const type = encoder.encode(contentType);
  if (type.length > 0xffff) throw new RangeError("Cannot encode stream answer: content type too long");
  const out = new Uint8Array(3 + type.length + (whole?.length ?? 0));
  out[0] = kind === "none" ? 0 : kind === "whole" ? 1 : 2;
  out[1] = type.length >> 8;
  out[2] = type.length & 0xff;
  out.set(type, 3);
  if (whole !== undefined) out.set(whole, 3 + type.length);
  return out;
}

/**
 * Decodes the answer to `open`.
 *
 * @throws {DecodeError} On a malformed answer.
 *
 * @example
 * ```ts
 * import { decodeOpenAnswer, encodeOpenAnswer } from "./stream_protocol.ts";
 * console.log(decodeOpenAnswer(encodeOpenAnswer("a/b", "whole", new Uint8Array([1]))).bytes?.length); // 1
 * ```
 */
export function decodeOpenAnswer(
  answer: Uint8Array,
): { contentType: string; bytes: Uint8Array | undefined; complete: boolean } {
  if (answer.length < 3 || answer[0] > 2) throw bad("malformed open answer");
  const n = (answer[1] << 8) | answer[2];
  if (3 + n > answer.length) throw bad("truncated open answer");
  let contentType: string;
  try {
    contentType = decoder.decode(answer.subarray(3, 3 + n));
  } catch (err) {
    throw bad("content type is not UTF-8", err);
  }
  const rest = answer.subarray(3 + n);
  if (answer[0] === 0 && rest.length > 0) throw bad("trailing bytes after the open answer");
  return { contentType, bytes: answer[0] === 0 ? undefined : rest, complete: answer[0] === 1 };
}

function bad(reason: string, cause?: unknown): DecodeError {
  return new DecodeError(`Cannot decode stream message: ${reason}`, cause === undefined ? undefined : { cause });
}
