/**
 * The payload codec: the {@linkcode Codec} interface, the default
 * {@linkcode jsonCodec} (API.md §4.1, §4.4) and the size-checked
 * {@linkcode encodePayload} / {@linkcode decodePayload} used by every call site.
 *
 * Runtime-neutral: web APIs only.
 *
 * @module
 */

import { DecodeError, isFrancisError } from "../errors.ts";
import { fromBase64, toBase64 } from "./base64.ts";

/**
 * Turns values into bytes and back. Every host of a cluster must use the same codec.
 *
 * @example A codec that stores UTF-8 strings only
 * ```ts
 * import type { Codec } from "./codec.ts";
 *
 * const textCodec: Codec = {
 *   name: "text",
 *   encode: (value) => new TextEncoder().encode(String(value)),
 *   decode: (bytes) => new TextDecoder().decode(bytes),
 * };
 * console.log(textCodec.decode(textCodec.encode("hi"))); // "hi"
 * ```
 */
export interface Codec {
  /** A stable name, recorded in backups. */
  readonly name: string;
  /** Encodes a value; throws `TypeError` for a value outside the codec's domain. */
  encode(value: unknown): Uint8Array;
  /** Decodes bytes made by {@linkcode Codec.encode}; throws `DecodeError` for malformed bytes. */
  decode(bytes: Uint8Array): unknown;
}

/**
 * The largest encoded payload, in bytes (16 MiB − 64 KiB, API.md §4.2).
 *
 * @example
 * ```ts
 * import { MAX_PAYLOAD_BYTES } from "./codec.ts";
 * console.log(MAX_PAYLOAD_BYTES); // 16711680
 * ```
 */
export const MAX_PAYLOAD_BYTES = 16_711_680;

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** Per-call walk state: the key and the container at each depth (for paths and cycles). */
interface Walk {
  /** Prefix of the error message, e.g. `Cannot encode value`. */
  readonly head: string;
  /** `keys[d]` is the key of the value at depth `d` (`keys[0]` is unused). */
  readonly keys: (string | number)[];
  /** `parents[d]` is the container being walked at depth `d`. */
  readonly parents: object[];
}

/** Formats the JSON path of the value at `depth`, e.g. `$.items[2]` or `$["a b"]`. */
function pathAt(walk: Walk, depth: number): string {
  let path = "$";
  for (let d = 1; d <= depth; d++) {
    const key = walk.keys[d];
    if (typeof key === "number") path += `[${key}]`;
    else path += IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
  }
  return path;
}

function fail(walk: Walk, depth: number, what: string): never {
  throw new TypeError(`${walk.head}: value at ${pathAt(walk, depth)} is ${what}`);
}

function article(name: string): string {
  return /^[AEIO]/.test(name) ? `an ${name}` : `a ${name}`;
}

/**
 * Validates `value` and returns what `JSON.stringify` must serialise: `value`
 * itself when nothing changes, otherwise a transformed copy (bytes, `toJSON`).
 */
function walkValue(walk: Walk, value: unknown, depth: number): unknown {
  switch (typeof value) {
    case "string":
    case "boolean":
    case "undefined":
      return value;
    case "number":
      if (Number.isFinite(value)) return value;
      return fail(walk, depth, Number.isNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity");
    case "object":
      return value === null ? null : walkObject(walk, value, depth, false);
    case "bigint":
      return fail(walk, depth, "a bigint");
    case "symbol":
      return fail(walk, depth, "a symbol");
    default:
      return fail(walk, depth, "a function");
  }
}

function walkObject(walk: Walk, obj: object, depth: number, afterToJSON: boolean): unknown {
  for (let d = 0; d < depth; d++) if (walk.parents[d] === obj) fail(walk, depth, "a circular reference");
  if (Array.isArray(obj)) return walkArray(walk, obj, depth);
  const proto = Object.getPrototypeOf(obj);
  const plain = proto === Object.prototype || proto === null;
  if (!plain && ArrayBuffer.isView(obj)) {
    const tag = (obj as unknown as Record<symbol, string | undefined>)[Symbol.toStringTag] ?? "DataView";
    if (tag === "Uint8Array") return { $bytes: toBase64(obj as Uint8Array) };
    return fail(walk, depth, article(tag));
  }
  const toJSON = (obj as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === "function" && !afterToJSON) {
    const key = walk.keys[depth];
    const result = toJSON.call(obj, depth === 0 ? "" : String(key));
    if (typeof result !== "object" || result === null) return walkValue(walk, result, depth);
    return walkObject(walk, result, depth, true);
  }
  if (!plain) {
    if (obj instanceof Map) return fail(walk, depth, "a Map");
    if (obj instanceof Set) return fail(walk, depth, "a Set");
    if (obj instanceof WeakMap) return fail(walk, depth, "a WeakMap");
    if (obj instanceof WeakSet) return fail(walk, depth, "a WeakSet");
    if (obj instanceof ArrayBuffer) return fail(walk, depth, "an ArrayBuffer");
    if (typeof SharedArrayBuffer === "function" && obj instanceof SharedArrayBuffer) {
      return fail(walk, depth, "a SharedArrayBuffer");
    }
    // Boxed primitives serialise as their primitive, as JSON.stringify does.
    if (obj instanceof Number || obj instanceof String || obj instanceof Boolean || obj instanceof BigInt) {
      return walkValue(walk, obj.valueOf(), depth);
    }
  }
  // A `toJSON` left on a `toJSON()` result would run again inside JSON.stringify: copy instead.
  return walkProperties(walk, obj as Record<string, unknown>, depth, afterToJSON && typeof toJSON === "function");
}

function walkArray(walk: Walk, arr: unknown[], depth: number): unknown {
  walk.parents[depth] = arr;
  const next = depth + 1;
  let out: unknown[] | undefined;
  for (let i = 0; i < arr.length; i++) {
    const v = arr[i];
    walk.keys[next] = i;
    const e = walkValue(walk, v, next);
    if (e !== v && out === undefined) out = arr.slice(0, i);
    // An `undefined` element stays `undefined`: JSON.stringify writes it as `null`.
    if (out !== undefined) out.push(e);
  }
  return out ?? arr;
}

function walkProperties(walk: Walk, obj: Record<string, unknown>, depth: number, forceCopy: boolean): unknown {
  walk.parents[depth] = obj;
  const next = depth + 1;
  const keys = Object.keys(obj);
  let out: Record<string, unknown> | undefined;
  let emitted = 0;
  let lastKey = "";
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    const v = obj[k];
    walk.keys[next] = k;
    const e = walkValue(walk, v, next);
    if (e !== undefined) {
      emitted++;
      lastKey = k;
    }
    if (out === undefined && (e !== v || forceCopy)) {
      // A null-prototype copy keeps a "__proto__" key an ordinary property.
      out = Object.create(null) as Record<string, unknown>;
      for (let j = 0; j < i; j++) {
        const kept = obj[keys[j]];
        if (kept !== undefined) out[keys[j]] = kept;
      }
    }
    if (out !== undefined && e !== undefined) out[k] = e;
  }
  if (emitted === 1 && lastKey === "$bytes") fail(walk, depth, 'an object whose only key is "$bytes"');
  return out ?? (forceCopy ? {} : obj);
}

/** Encodes with the §4.1 rules; `what` names the payload in error messages. */
function encodeJson(value: unknown, what: string): Uint8Array {
  if (value === undefined) return new Uint8Array(0);
  const walk: Walk = { head: `Cannot encode ${what}`, keys: [""], parents: [] };
  let json: string;
  try {
    const prepared = walkValue(walk, value, 0);
    // A root `toJSON()` may return `undefined`, which also means "no payload".
    if (prepared === undefined) return new Uint8Array(0);
    json = JSON.stringify(prepared);
  } catch (err) {
    throw encodeFailure(walk.head, err);
  }
  return textEncoder.encode(json);
}

/**
 * Our own path errors pass through; a string too long for the engine is over
 * the size limit anyway; anything else (a throwing `toJSON` or getter, a value
 * nested too deeply for the stack) becomes a `TypeError` with the original as `cause`.
 */
function encodeFailure(head: string, err: unknown): Error {
  if (err instanceof TypeError && err.message.startsWith(`${head}: value at `)) return err;
  if (err instanceof RangeError && err.message === "Invalid string length") {
    return new RangeError(`${head}: encoded size exceeds the limit of ${MAX_PAYLOAD_BYTES} bytes`, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new TypeError(`${head}: ${message}`, { cause: err });
}

/** Replaces every `{"$bytes": "<base64>"}` object in a freshly parsed tree by its bytes. */
function reviveBytes(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = reviveBytes(value[i]);
    return value;
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (keys.length === 1 && keys[0] === "$bytes") {
    const text = obj.$bytes;
    if (typeof text !== "string") throw new DecodeError("Cannot decode value: $bytes is not a base64 string");
    try {
      return fromBase64(text);
    } catch (err) {
      throw new DecodeError("Cannot decode value: $bytes is not valid base64", { cause: err });
    }
  }
  for (const k of keys) obj[k] = reviveBytes(obj[k]);
  return obj;
}

function decodeJson(bytes: Uint8Array): unknown {
  if (bytes.length === 0) return undefined;
  // The lenient decoder is faster; invalid UTF-8 shows as U+FFFD, confirmed by the strict one.
  const text = textDecoder.decode(bytes);
  if (text.indexOf("\uFFFD") !== -1) {
    try {
      strictDecoder.decode(bytes);
    } catch (err) {
      throw new DecodeError("Cannot decode value: bytes are not valid UTF-8", { cause: err });
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new DecodeError("Cannot decode value: bytes are not valid JSON", { cause: err });
  }
  // Only a text that names "$bytes" (possibly through an escape) can hold bytes.
  if (text.indexOf('"$bytes"') === -1 && text.indexOf("\\u") === -1) return value;
  return reviveBytes(value);
}

/**
 * The default codec (`name: "json"`), following the value rules of API.md §4.1:
 * JSON values round-trip, `Uint8Array` (any depth, `Buffer` included) comes back
 * as a plain `Uint8Array`, `toJSON` is honoured, top-level `undefined` is the
 * empty byte array, and values JSON cannot carry faithfully throw a `TypeError`
 * that names their path.
 *
 * @throws {TypeError} From `encode`, e.g. `Cannot encode value: value at $.items[2] is a bigint`.
 * @throws {DecodeError} From `decode`, for invalid UTF-8, JSON or base64.
 *
 * @example Round-tripping bytes
 * ```ts
 * import { jsonCodec } from "./codec.ts";
 *
 * const bytes = jsonCodec.encode({ id: 1, blob: new Uint8Array([1, 2]) });
 * console.log(new TextDecoder().decode(bytes)); // {"id":1,"blob":{"$bytes":"AQI="}}
 * console.log(jsonCodec.decode(bytes)); // { id: 1, blob: Uint8Array(2) [ 1, 2 ] }
 * ```
 */
export const jsonCodec: Codec = Object.freeze({
  name: "json",
  encode(value: unknown): Uint8Array {
    return encodeJson(value, "value");
  },
  decode(bytes: Uint8Array): unknown {
    return decodeJson(bytes);
  },
});

/**
 * Encodes a payload with `codec` and enforces {@linkcode MAX_PAYLOAD_BYTES}.
 *
 * @param codec The cluster's codec.
 * @param value The value to encode.
 * @param what What the value is, for messages (e.g. `"invoke data"`).
 * @returns The encoded bytes.
 * @throws {TypeError} When the codec rejects the value: `Cannot encode <what>: <reason>`.
 * @throws {RangeError} When the encoding is larger than {@linkcode MAX_PAYLOAD_BYTES}.
 *
 * @example
 * ```ts
 * import { encodePayload, jsonCodec } from "./codec.ts";
 *
 * try {
 *   encodePayload(jsonCodec, { items: [1, 2, 3n] }, "invoke data");
 * } catch (err) {
 *   console.log((err as Error).message); // Cannot encode invoke data: value at $.items[2] is a bigint
 * }
 * ```
 */
export function encodePayload(codec: Codec, value: unknown, what: string): Uint8Array {
  let bytes: Uint8Array;
  if (codec === jsonCodec) {
    bytes = encodeJson(value, what);
  } else {
    try {
      bytes = codec.encode(value);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const reason = message.startsWith("Cannot encode value: ") ? message.slice(21) : message;
      throw new TypeError(`Cannot encode ${what}: ${reason}`, { cause: err });
    }
    if (!(bytes instanceof Uint8Array)) {
      throw new TypeError(`Cannot encode ${what}: codec "${codec.name}" did not return a Uint8Array`);
    }
  }
  if (bytes.length > MAX_PAYLOAD_BYTES) {
    throw new RangeError(
      `Cannot encode ${what}: encoded size ${bytes.length} bytes exceeds the limit of ${MAX_PAYLOAD_BYTES} bytes`,
    );
  }
  return bytes;
}

/**
 * Decodes a payload with `codec`. Anything a custom codec throws becomes a
 * `DecodeError` (with the original as `cause`).
 *
 * @param codec The cluster's codec.
 * @param bytes Bytes made by the same codec.
 * @returns The decoded value.
 * @throws {DecodeError} When the bytes cannot be decoded.
 *
 * @example
 * ```ts
 * import { decodePayload, jsonCodec } from "./codec.ts";
 *
 * console.log(decodePayload(jsonCodec, new TextEncoder().encode('{"n":1}'))); // { n: 1 }
 * console.log(decodePayload(jsonCodec, new Uint8Array(0))); // undefined
 * ```
 */
export function decodePayload(codec: Codec, bytes: Uint8Array): unknown {
  if (codec === jsonCodec) return decodeJson(bytes);
  try {
    return codec.decode(bytes);
  } catch (err) {
    if (isFrancisError(err, "decode_failed")) throw err;
    const message = err instanceof Error ? err.message : String(err);
    throw new DecodeError(`Cannot decode value: ${message}`, { cause: err });
  }
}
