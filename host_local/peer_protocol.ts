/**
 * The body of a forwarded invocation between hosts: a small JSON header
 * followed by the already-encoded payload bytes, so the payload is never
 * re-encoded on the way.
 *
 * Layout: `u8 version (1)` · `u32 header length` · header (UTF-8 JSON) ·
 * payload. The decoder bounds every field and rejects anything else with
 * `DecodeError`; a peer can never crash the host with a malformed body.
 *
 * @module
 */

import { DecodeError } from "../errors.ts";
import { MAX_PAYLOAD_BYTES } from "../_internal/codec.ts";

/** The version byte of the invoke body. */
const VERSION = 1;
/** A header larger than this is rejected (names, chain and IDs are small). */
const MAX_HEADER_BYTES = 64 * 1024;
/** The longest call chain carried across hosts. */
const MAX_CHAIN = 256;

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
  const header = encoder.encode(JSON.stringify([
    req.targetHostId,
    req.actorType,
    req.actorId,
    req.method,
    req.mode === "peek" ? 1 : 0,
    req.requestId,
    req.chain,
    req.activeOnly ? 1 : 0,
  ]));
  const out = new Uint8Array(5 + header.length + req.data.length);
  out[0] = VERSION;
  new DataView(out.buffer).setUint32(1, header.length);
  out.set(header, 5);
  out.set(req.data, 5 + header.length);
  return out;
}

/**
 * Decodes and validates a forwarded invocation.
 *
 * @throws {DecodeError} On anything that is not a well-formed version-1 body.
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
  if (body.length < 5 || body[0] !== VERSION) throw bad("unknown version or truncated body");
  const headerLength = new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(1);
  if (headerLength > MAX_HEADER_BYTES || 5 + headerLength > body.length) throw bad("header length out of range");
  const data = body.subarray(5 + headerLength);
  if (data.length > MAX_PAYLOAD_BYTES) throw bad("payload over the limit");
  let h: unknown;
  try {
    h = JSON.parse(decoder.decode(body.subarray(5, 5 + headerLength)));
  } catch (err) {
    throw bad("header is not JSON", err);
  }
  if (!Array.isArray(h) || h.length !== 8) throw bad("header is not an 8-element array");
  const [targetHostId, actorType, actorId, method, mode, requestId, chain, activeOnly] = h;
  for (const s of [targetHostId, actorType, actorId, method, requestId]) {
    if (typeof s !== "string" || s.length > 4096) throw bad("header string field missing or too long");
  }
  if ((mode !== 0 && mode !== 1) || (activeOnly !== 0 && activeOnly !== 1)) throw bad("bad flag");
  if (
    !Array.isArray(chain) || chain.length > MAX_CHAIN ||
    !chain.every((k) => typeof k === "string" && k.length <= 8192)
  ) {
    throw bad("bad call chain");
  }
  return {
    targetHostId,
    actorType,
    actorId,
    method,
    mode: mode === 1 ? "peek" : "invoke",
    requestId,
    chain,
    activeOnly: activeOnly === 1,
    data,
  };
}

function bad(reason: string, cause?: unknown): DecodeError {
  return new DecodeError(`Cannot decode peer invocation: ${reason}`, cause === undefined ? undefined : { cause });
}
