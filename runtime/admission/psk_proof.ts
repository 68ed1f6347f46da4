/**
 * The exporter-bound proof of the host-PSK bootstrap (API.md §18, protocol
 * `psk` → `challenge` → `proof`). The worker never sends the host PSK: it
 * sends `HMAC-SHA256(key, transcript)`, where `key` is derived from the PSK
 * and the transcript binds a fixed label, the TLS session exporter and both
 * nonces. So a proof is valid for one TLS session (a relay that terminates
 * TLS sees another exporter on each leg) and one challenge (a recorded proof
 * does not answer a fresh server nonce).
 *
 * Transcript: `lp(label) ‖ lp(exporter) ‖ lp(clientNonce) ‖ lp(serverNonce)`,
 * where `lp(x)` is the 4-byte big-endian length of `x` followed by `x` and the
 * label is `"francis/bootstrap/v1"`. This mirrors `security/link_proof.ts`;
 * the key uses its own HKDF salt, so it is independent of the link key and of
 * the cluster CA even if an operator reuses one secret for both.
 *
 * @module
 */

import { typeName } from "../../_internal/validate.ts";
import { hkdfSha256, hmacSha256, lengthPrefixed, timingSafeEqual, utf8 } from "../../security/_bytes.ts";

/** Length of a bootstrap key, of a proof, of each nonce and of the exporter, bytes. */
export const BOOTSTRAP_PROOF_BYTES = 32;
/** Length of a nonce from {@linkcode newNonce}, bytes. */
export const BOOTSTRAP_NONCE_BYTES = 32;
/** The smallest host PSK (API.md §24). */
export const MIN_HOST_PSK_BYTES = 16;

const KEY_SALT = "francis/bootstrap-auth/v1";
const KEY_INFO = "hmac-sha256";
const PROOF_LABEL = "francis/bootstrap/v1";

/**
 * Derives the bootstrap-proof key of a host PSK: HKDF-SHA256 with a salt of
 * its own (`francis/bootstrap-auth/v1`), distinct from the link-proof key's.
 * A string PSK is used as its UTF-8 bytes (API.md §1.1).
 *
 * @param hostPsk The host PSK (at least 16 bytes).
 * @returns A 32-byte HMAC-SHA256 key. Derive it once and keep it.
 * @throws {TypeError} When `hostPsk` is neither a string nor a `Uint8Array`.
 * @throws {RangeError} When `hostPsk` is shorter than 16 bytes.
 *
 * @example
 * ```ts
 * import { deriveHostPskKey } from "./psk_proof.ts";
 * const key = await deriveHostPskKey(new TextEncoder().encode("worker-bootstrap-secret-123"));
 * console.log(key.length); // 32
 * ```
 */
export async function deriveHostPskKey(hostPsk: string | Uint8Array): Promise<Uint8Array> {
  const action = "derive host PSK key";
  const bytes = typeof hostPsk === "string" ? utf8(hostPsk) : hostPsk;
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`Cannot ${action}: hostPsk must be a string or a Uint8Array (got ${typeName(hostPsk)})`);
  }
  if (bytes.length < MIN_HOST_PSK_BYTES) {
    throw new RangeError(
      `Cannot ${action}: hostPsk must be at least ${MIN_HOST_PSK_BYTES} bytes (got ${bytes.length})`,
    );
  }
  return await hkdfSha256(bytes, KEY_SALT, KEY_INFO, BOOTSTRAP_PROOF_BYTES);
}

/**
 * Returns 32 fresh random bytes: the worker's `psk` hello nonce or the
 * runtime's `challenge` nonce.
 *
 * @returns A new nonce.
 *
 * @example
 * ```ts
 * import { newNonce } from "./psk_proof.ts";
 * console.log(newNonce().length); // 32
 * ```
 */
export function newNonce(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(BOOTSTRAP_NONCE_BYTES));
}

/**
 * Computes the proof the worker sends in answer to a challenge.
 *
 * @param key The bootstrap key ({@linkcode deriveHostPskKey}).
 * @param exporter The 32-byte TLS exporter of this connection (`tlsExporter(socket, "client")`).
 * @param clientNonce The nonce the worker sent in its `psk` hello (32 bytes).
 * @param serverNonce The nonce of the runtime's `challenge` (32 bytes).
 * @returns The 32-byte proof.
 * @throws {TypeError} When any argument is not a 32-byte `Uint8Array`.
 *
 * @example
 * ```ts
 * import { computeBootstrapProof, deriveHostPskKey, newNonce } from "./psk_proof.ts";
 * const key = await deriveHostPskKey("worker-bootstrap-secret-123");
 * const proof = await computeBootstrapProof(key, new Uint8Array(32), newNonce(), newNonce());
 * console.log(proof.length); // 32
 * ```
 */
export async function computeBootstrapProof(
  key: Uint8Array,
  exporter: Uint8Array,
  clientNonce: Uint8Array,
  serverNonce: Uint8Array,
): Promise<Uint8Array> {
  const action = "compute bootstrap proof";
  check(key, action, "key");
  check(exporter, action, "exporter");
  check(clientNonce, action, "clientNonce");
  check(serverNonce, action, "serverNonce");
  return await hmacSha256(key, transcript(exporter, clientNonce, serverNonce));
}

/**
 * Checks a worker's proof, in constant time. Values that come from the peer
 * (`clientNonce`, `proof`) never throw: a wrong length or type is simply
 * `false`. Local values that are malformed are programming errors and throw.
 *
 * @param key The bootstrap key ({@linkcode deriveHostPskKey}).
 * @param exporter The 32-byte TLS exporter of this connection, as the runtime sees it.
 * @param clientNonce The nonce from the worker's `psk` hello (decoded).
 * @param serverNonce The nonce this runtime sent in its `challenge`.
 * @param proof The proof received (decoded).
 * @returns Whether the proof is valid.
 * @throws {TypeError} When `key`, `exporter` or `serverNonce` is not a 32-byte `Uint8Array`.
 *
 * @example
 * ```ts
 * import { computeBootstrapProof, deriveHostPskKey, newNonce, verifyBootstrapProof } from "./psk_proof.ts";
 * const key = await deriveHostPskKey("worker-bootstrap-secret-123");
 * const exporter = newNonce(), clientNonce = newNonce(), serverNonce = newNonce();
 * const proof = await computeBootstrapProof(key, exporter, clientNonce, serverNonce);
 * console.log(await verifyBootstrapProof(key, exporter, clientNonce, serverNonce, proof)); // true
 * ```
 */
export async function verifyBootstrapProof(
  key: Uint8Array,
  exporter: Uint8Array,
  clientNonce: Uint8Array,
  serverNonce: Uint8Array,
  proof: Uint8Array,
): Promise<boolean> {
  const action = "verify bootstrap proof";
  check(key, action, "key");
  check(exporter, action, "exporter");
  check(serverNonce, action, "serverNonce");
  if (!isBlock(clientNonce) || !isBlock(proof)) return false;
  const expected = await hmacSha256(key, transcript(exporter, clientNonce, serverNonce));
  return timingSafeEqual(expected, proof);
}

function isBlock(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.length === BOOTSTRAP_PROOF_BYTES;
}

function check(value: unknown, action: string, field: string): void {
  if (!isBlock(value)) {
    const got = value instanceof Uint8Array ? `${value.length} bytes` : typeName(value);
    throw new TypeError(`Cannot ${action}: ${field} must be a ${BOOTSTRAP_PROOF_BYTES}-byte Uint8Array (got ${got})`);
  }
}

function transcript(exporter: Uint8Array, clientNonce: Uint8Array, serverNonce: Uint8Array): Uint8Array {
  const parts = [utf8(PROOF_LABEL), exporter, clientNonce, serverNonce];
  return lengthPrefixed(parts);
}
