/**
 * Pre-shared key generation.
 *
 * @module
 */

/**
 * Returns 32 random bytes as base64url without padding (43 characters), a
 * suitable `runtimePsks` entry.
 *
 * @example
 * ```ts
 * import { generatePsk } from "./psk.ts";
 * console.log(generatePsk().length); // 43
 * ```
 */
export function generatePsk(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}
