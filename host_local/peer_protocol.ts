/**
 * The body of a forwarded invocation between hosts: a compact binary header
 * followed by the already-encoded payload bytes, so the payload is never
 * re-encoded on the way.
 *
 * Layout: `u8 version (2)` · `u8 flags` (bit 0: peek, bit 1: activeOnly) ·
 * five strings (target host ID, actor type, actor ID, method, request ID),
 * each `u16 length` · UTF-8 · `u16 chain length` · that many strings · the
 * payload (the rest). The decoder bounds every field and rejects anything
 * else with `DecodeError`; a peer can never crash the host with a malformed
 * body.
 *
 * @module
 */

import { DecodeError } from "../errors.ts";
import { MAX_PAYLOAD_BYTES } from "../_internal/codec.ts";

/** The version byte of the invoke body. */
const VERSION = 2;
/** The longest call chain carried across hosts. */
const MAX_CHAIN = 256;
/** The longest string field, in UTF-8 bytes. */
const MAX_FIELD_BYTES = 0xffff;

/** One invocation as it crosses from the caller's host to the owner. */
export interface PeerInvokeRequest {
  /** The host the caller resolved as the owner; a different receiver answers `HostMismatchError`. */
  targetHostId: string;
  actorType: string;
  actorId: string;
  method: string;
  mode: "invoke" | "peek";
  requestId: string;
  /** Actors waiting on this call (re-entrancy across hosts). */
  chain: readonly string[];
  activeOnly: boolean;
  /** The encoded data. */
  data: Uint8Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });
/** Scratch space for headers; grown when a header does not fit. */
let scratch = new Uint8Array(16 * 1024);

/**
 * Encodes a forwarded invocation.
 *
 * @example
 * ```ts
 * import { decodePeerInvoke, encodePeerInvoke } from "./peer_protocol.ts";
 * const body = encodePeerInvoke({ targetHostId: "h1", actorType: "counter", actorId: "c1", method: "inc",
 *   mode: "invoke", requestId: "r1", chain: [], activeOnly: false, data: new Uint8Array([1]) });
 * console.log(decodePeerInvoke(body).actorId); // c1
 * ```
 */
export function encodePeerInvoke(req: PeerInvokeRequest): Uint8Array {
  const strings = [req.targetHostId, req.actorType, req.actorId, req.method, req.requestId];
  // UTF-8 needs at most 3 bytes per UTF-16 code unit.
  let bound = 4 + 2 * (strings.length + req.chain.length);
  for (const str of strings) bound += 3 * str.length;
  for (const str of req.chain) bound += 3 * str.length;
  if (scratch.length < bound) scratch = new Uint8Array(Math.max(bound, scratch.length * 2));
  const buf = scratch;
  buf[0] = VERSION;
  buf[1] = (req.mode === "peek" ? 1 : 0) | (req.activeOnly ? 2 : 0);
  let at = 2;
  const put = (str: string) => {
    const { written } = encoder.encodeInto(str, buf.subarray(at + 2));
    if (written > MAX_FIELD_BYTES) throw new RangeError(`Cannot encode peer invocation: a field exceeds 65535 bytes`);
    buf[at] = written >> 8;
    buf[at + 1] = written & 0xff;
    at += 2 + written;
  };
  for (const str of strings) put(str);
  if (req.chain.length > MAX_CHAIN) throw new RangeError("Cannot encode peer invocation: call chain too long");
  buf[at] = req.chain.length >> 8;
  buf[at + 1] = req.chain.length & 0xff;
  at += 2;
  for (const str of req.chain) put(str);
  const out = new Uint8Array(at + req.data.length);
  out.set(buf.subarray(0, at));
  out.set(req.data, at);
  return out;
}

/**
 * Decodes and validates a forwarded invocation.
 *
 * @throws {DecodeError} On anything that is not a well-formed version-2 body.
 *
 * @example
 * ```ts
 * import { decodePeerInvoke } from "./peer_protocol.ts";
 * try {
 *   decodePeerInvoke(new Uint8Array([9, 9, 9]));
 * } catch (err) {
 *   console.log((err as Error).name); // DecodeError
 * }
 * ```
 */
export function decodePeerInvoke(body: Uint8Array): PeerInvokeRequest {
  if (body.length < 2 || body[0] !== VERSION) throw bad("unknown version or truncated body");
  const flags = body[1];
  if (flags > 3) throw bad("unknown flags");
  let at = 2;
  const u16 = () => {
    if (at + 2 > body.length) throw bad("truncated header");
    const v = (body[at] << 8) | body[at + 1];
    at += 2;
    return v;
  };
  const str = () => {
    const n = u16();
    if (at + n > body.length) throw bad("truncated field");
    let v: string;
    try {
      v = decoder.decode(body.subarray(at, at + n));
    } catch (err) {
      throw bad("a field is not UTF-8", err);
    }
    at += n;
    return v;
  };
  const targetHostId = str(), actorType = str(), actorId = str(), method = str(), requestId = str();
  const chainLength = u16();
  if (chainLength > MAX_CHAIN) throw bad("call chain too long");
  const chain: string[] = [];
  for (let i = 0; i < chainLength; i++) chain.push(str());
  const data = body.subarray(at);
  if (data.length > MAX_PAYLOAD_BYTES) throw bad("payload over the limit");
  return {
    targetHostId,
    actorType,
    actorId,
    method,
    mode: (flags & 1) === 1 ? "peek" : "invoke",
    requestId,
    chain,
    activeOnly: (flags & 2) === 2,
    data,
  };
}

function bad(reason: string, cause?: unknown): DecodeError {
  return new DecodeError(`Cannot decode peer invocation: ${reason}`, cause === undefined ? undefined : { cause });
}
