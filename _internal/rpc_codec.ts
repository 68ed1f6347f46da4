/**
 * The body encoding of runtime RPCs (worker ↔ runtime): JSON for the shape,
 * with every `Uint8Array` carried as raw bytes after it instead of base64, and
 * `±Infinity` (unlimited idle timeouts) kept.
 *
 * Layout: `u32 JSON length` · JSON (UTF-8) · for each byte array in order,
 * `u32 length` · bytes. In the JSON a byte array is `{"$b": <index>}` and an
 * infinity is `{"$n": "Infinity"}` or `{"$n": "-Infinity"}`. Provider calls
 * carry only strings, numbers, booleans, arrays, plain objects and byte
 * arrays, so these wrappers cannot collide with user data (payloads are
 * always byte arrays here, never JSON).
 *
 * @module
 */

import { DecodeError } from "../errors.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Encodes an RPC value.
 *
 * @example
 * ```ts
 * import { decodeRpc, encodeRpc } from "./rpc_codec.ts";
 * const v = decodeRpc(encodeRpc({ data: new Uint8Array([1, 2]), idle: Infinity })) as { data: Uint8Array; idle: number };
 * console.log(v.data[1], v.idle); // 2 Infinity
 * ```
 */
export function encodeRpc(value: unknown): Uint8Array {
  const blobs: Uint8Array[] = [];
  const json = JSON.stringify(value === undefined ? null : value, function (_key, v) {
    if (v instanceof Uint8Array) {
      blobs.push(v);
      return { $b: blobs.length - 1 };
    }
    if (typeof v === "number" && !Number.isFinite(v)) {
      if (Number.isNaN(v)) throw new TypeError("Cannot encode RPC: NaN");
      return { $n: v > 0 ? "Infinity" : "-Infinity" };
    }
    return v;
  });
  const head = encoder.encode(json);
  let size = 4 + head.length;
  for (const b of blobs) size += 4 + b.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, head.length);
  out.set(head, 4);
  let at = 4 + head.length;
  for (const b of blobs) {
    view.setUint32(at, b.length);
    out.set(b, at + 4);
    at += 4 + b.length;
  }
  return out;
}

/**
 * Decodes an RPC value; byte arrays are copies, never views of `bytes`.
 *
 * @throws {DecodeError} On a malformed body.
 *
 * @example
 * ```ts
 * import { decodeRpc } from "./rpc_codec.ts";
 * try {
 *   decodeRpc(new Uint8Array([0, 0, 0, 9]));
 * } catch (err) {
 *   console.log((err as Error).name); // DecodeError
 * }
 * ```
 */
export function decodeRpc(bytes: Uint8Array): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4) throw bad("truncated header");
  const headLength = view.getUint32(0);
  if (4 + headLength > bytes.length) throw bad("truncated JSON");
  const blobs: Uint8Array[] = [];
  let at = 4 + headLength;
  while (at < bytes.length) {
    if (at + 4 > bytes.length) throw bad("truncated byte array length");
    const n = view.getUint32(at);
    if (at + 4 + n > bytes.length) throw bad("truncated byte array");
    blobs.push(bytes.slice(at + 4, at + 4 + n));
    at += 4 + n;
  }
  try {
    return JSON.parse(decoder.decode(bytes.subarray(4, 4 + headLength)), (_key, v) => {
      if (v !== null && typeof v === "object" && !Array.isArray(v)) {
        const keys = Object.keys(v);
        if (keys.length === 1 && keys[0] === "$b") {
          const blob = blobs[v.$b];
          if (!Number.isInteger(v.$b) || blob === undefined) throw bad("byte array index out of range");
          return blob;
        }
        if (keys.length === 1 && keys[0] === "$n") {
          if (v.$n === "Infinity") return Infinity;
          if (v.$n === "-Infinity") return -Infinity;
          throw bad("unknown number marker");
        }
      }
      return v;
    });
  } catch (err) {
    if (err instanceof DecodeError) throw err;
    throw bad("JSON is malformed", err);
  }
}

function bad(reason: string, cause?: unknown): DecodeError {
  return new DecodeError(`Cannot decode RPC: ${reason}`, cause === undefined ? undefined : { cause });
}
