/**
 * Byte helpers shared by the security modules: hex and PEM encoding, HKDF,
 * SHA-256 and a constant-time comparison. Pure WebCrypto, no runtime APIs.
 *
 * @module
 */

const encoder = new TextEncoder();

/**
 * Returns the UTF-8 bytes of a string.
 *
 * @example
 * ```ts
 * import { utf8 } from "./_bytes.ts";
 * console.log(utf8("ab").length); // 2
 * ```
 */
export function utf8(text: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(text);
}

/**
 * Encodes bytes as lowercase hex.
 *
 * @example
 * ```ts
 * import { toHex } from "./_bytes.ts";
 * console.log(toHex(new Uint8Array([1, 255]))); // 01ff
 * ```
 */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

/**
 * Wraps DER bytes in a PEM block with 64-character lines and a trailing newline.
 *
 * @example
 * ```ts
 * import { toPem } from "./_bytes.ts";
 * console.log(toPem("TEST", new Uint8Array([1, 2, 3]))); // -----BEGIN TEST-----\nAQID\n-----END TEST-----\n
 * ```
 */
export function toPem(label: string, der: Uint8Array): string {
  let bin = "";
  for (const b of der) bin += String.fromCharCode(b);
  const lines = btoa(bin).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/**
 * Copies bytes into a fresh `ArrayBuffer`-backed array (what WebCrypto wants).
 *
 * @example
 * ```ts
 * import { copyBytes } from "./_bytes.ts";
 * console.log(copyBytes(new Uint8Array([7]))[0]); // 7
 * ```
 */
export function copyBytes(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(bytes.length);
  out.set(bytes);
  return out;
}

/**
 * HKDF-SHA256 (RFC 5869) of `ikm` with a UTF-8 salt and info.
 *
 * @example
 * ```ts
 * import { hkdfSha256 } from "./_bytes.ts";
 * const okm = await hkdfSha256(new Uint8Array(32), "salt", "info", 32);
 * console.log(okm.length); // 32
 * ```
 */
export async function hkdfSha256(ikm: Uint8Array, salt: string, info: string, length: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", copyBytes(ikm), "HKDF", false, ["deriveBits"]);
  const params = { name: "HKDF", hash: "SHA-256", salt: utf8(salt), info: utf8(info) };
  return new Uint8Array(await crypto.subtle.deriveBits(params, key, length * 8));
}

/**
 * SHA-256 of some bytes.
 *
 * @example
 * ```ts
 * import { sha256 } from "./_bytes.ts";
 * console.log((await sha256(new Uint8Array())).length); // 32
 * ```
 */
export async function sha256(bytes: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", copyBytes(bytes)));
}

/**
 * Concatenates parts, each preceded by its length as a 4-byte big-endian
 * integer: `lp(a) | lp(b) | ...`, the framing of every transcript.
 *
 * @example
 * ```ts
 * import { lengthPrefixed } from "./_bytes.ts";
 * console.log(lengthPrefixed([new Uint8Array([9])])); // Uint8Array(5) [ 0, 0, 0, 1, 9 ]
 * ```
 */
export function lengthPrefixed(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + 4 + p.length, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const part of parts) {
    view.setUint32(at, part.length);
    out.set(part, at + 4);
    at += 4 + part.length;
  }
  return out;
}

/**
 * HMAC-SHA256 of `data` under `key`.
 *
 * @example
 * ```ts
 * import { hmacSha256 } from "./_bytes.ts";
 * console.log((await hmacSha256(new Uint8Array(32), new Uint8Array())).length); // 32
 * ```
 */
export async function hmacSha256(key: Uint8Array, data: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  const k = await crypto.subtle.importKey("raw", copyBytes(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, copyBytes(data)));
}

/**
 * Compares two byte arrays in time that depends only on their lengths.
 *
 * @example
 * ```ts
 * import { timingSafeEqual } from "./_bytes.ts";
 * console.log(timingSafeEqual(new Uint8Array([1]), new Uint8Array([1]))); // true
 * ```
 */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/**
 * Turns bytes into a positive, minimal-length DER INTEGER body in hex: the top
 * bit is cleared and the next one set, so the value keeps all its bytes and is
 * never read as negative.
 *
 * @example
 * ```ts
 * import { positiveSerialHex } from "./_bytes.ts";
 * console.log(positiveSerialHex(new Uint8Array([0xff, 0x01]))); // 7f01
 * ```
 */
export function positiveSerialHex(bytes: Uint8Array): string {
  const copy = copyBytes(bytes);
  copy[0] = (copy[0] & 0x7f) | 0x40;
  return toHex(copy);
}
