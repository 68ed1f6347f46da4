/**
 * Base64 (standard alphabet, padded), natively where the runtime has
 * `Uint8Array.prototype.toBase64` / `Uint8Array.fromBase64`, else through
 * `btoa`/`atob` in chunks (large arrays never overflow the argument limit).
 *
 * @module
 */

interface Base64Native {
  toBase64?: (this: Uint8Array) => string;
}
interface Base64NativeCtor {
  fromBase64?: (text: string) => Uint8Array;
}
const nativeToBase64 = (Uint8Array.prototype as Base64Native).toBase64;
const nativeFromBase64 = (Uint8Array as Base64NativeCtor).fromBase64;

/**
 * Base64 of `bytes`.
 *
 * @example
 * ```ts
 * import { toBase64 } from "./base64.ts";
 * console.log(toBase64(new Uint8Array([1, 2, 3]))); // AQID
 * ```
 */
export function toBase64(bytes: Uint8Array): string {
  if (nativeToBase64 !== undefined) return nativeToBase64.call(bytes);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000) as unknown as number[]);
  }
  return btoa(binary);
}

/**
 * Bytes of a base64 string; throws on malformed input.
 *
 * @example
 * ```ts
 * import { fromBase64 } from "./base64.ts";
 * console.log(fromBase64("AQID")); // Uint8Array(3) [ 1, 2, 3 ]
 * ```
 */
export function fromBase64(text: string): Uint8Array {
  if (nativeFromBase64 !== undefined) return nativeFromBase64(text);
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}
