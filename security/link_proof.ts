/**
 * The exporter-bound PSK proof of a peer link (API.md §18): after the mTLS
 * handshake each side sends `HMAC-SHA256(authKey, transcript)`, where the
 * transcript binds a fixed label, the sender's role, the TLS session exporter
 * and both identities. A relay that terminates TLS sees a different exporter
 * on each leg, so a forwarded proof fails.
 *
 * Transcript: `lp(label) ‖ lp(role) ‖ lp(exporter) ‖ lp(clientId) ‖ lp(serverId)`,
 * where `lp(x)` is the 4-byte big-endian length of `x` followed by `x`.
 *
 * @module
 */

import { describe, typeName } from "../_internal/validate.ts";
import { hkdfSha256, hmacSha256, lengthPrefixed, timingSafeEqual, utf8 } from "./_bytes.ts";

export { EXPORTER_LABEL, tlsExporter } from "./tls_exporter.ts";
export type { ExporterSocket } from "./tls_exporter.ts";

/** Which end of a link computes a proof: the dialler or the listener. */
export type LinkRole = "client" | "server";

/** The two ends of a link, by identity. */
export interface LinkIdentities {
  /** The dialling side's ID (host ID, or the identity string the protocol agrees on). */
  clientId: string;
  /** The listening side's ID. */
  serverId: string;
}

/** Length of a link auth key, of an exporter and of a proof, bytes. */
export const LINK_PROOF_BYTES = 32;

const AUTH_SALT = "francis/link-auth/v1";
const AUTH_INFO = "hmac-sha256";
const PROOF_LABEL = "francis/link-proof/v1";
/** The smallest PSK the API accepts anywhere (host PSKs, §24). */
const MIN_PSK_BYTES = 16;

/**
 * Derives the link-proof key of a PSK: HKDF-SHA256 with its own salt, so it
 * is independent of the cluster CA key derived from the same PSK.
 *
 * @param psk The PSK bytes (at least 16).
 * @returns A 32-byte HMAC-SHA256 key.
 * @throws {TypeError} When `psk` is not a `Uint8Array`.
 * @throws {RangeError} When `psk` is shorter than 16 bytes.
 *
 * @example
 * ```ts
 * import { deriveLinkAuthKey } from "./link_proof.ts";
 * const key = await deriveLinkAuthKey(new TextEncoder().encode("an example runtime PSK, 32 bytes or more"));
 * console.log(key.length); // 32
 * ```
 */
export async function deriveLinkAuthKey(psk: Uint8Array): Promise<Uint8Array> {
  if (!(psk instanceof Uint8Array)) {
    throw new TypeError(`Cannot derive link auth key: psk must be a Uint8Array (got ${typeName(psk)})`);
  }
  if (psk.length < MIN_PSK_BYTES) {
    throw new RangeError(
      `Cannot derive link auth key: psk must be at least ${MIN_PSK_BYTES} bytes (got ${psk.length})`,
    );
  }
  return await hkdfSha256(psk, AUTH_SALT, AUTH_INFO, LINK_PROOF_BYTES);
}

/**
 * Computes the proof one side of a link sends.
 *
 * @param key The link auth key (from {@linkcode deriveLinkAuthKey}; the first PSK's proves).
 * @param role The role of the side that sends this proof.
 * @param exporter The 32-byte TLS exporter of this connection (`tlsExporter`).
 * @param ids The client's and the server's IDs.
 * @returns The 32-byte proof.
 * @throws {TypeError} On a key or exporter that is not 32 bytes, an unknown role or non-string IDs.
 *
 * @example
 * ```ts
 * import { computeLinkProof } from "./link_proof.ts";
 * const proof = await computeLinkProof(new Uint8Array(32), "client", new Uint8Array(32), { clientId: "a", serverId: "b" });
 * console.log(proof.length); // 32
 * ```
 */
export async function computeLinkProof(
  key: Uint8Array,
  role: LinkRole,
  exporter: Uint8Array,
  ids: LinkIdentities,
): Promise<Uint8Array> {
  const action = "compute link proof";
  checkKey(key, action, "key");
  return await hmacSha256(key, transcript(role, exporter, ids, action));
}

/**
 * Checks a peer's proof against every trusted key (PSK rotation): true when
 * it matches under any of them. Each comparison is constant-time, and every
 * key is tried whatever the outcome.
 *
 * @param keys The link auth keys of every trusted PSK.
 * @param role The role of the side that sent the proof.
 * @param exporter The 32-byte TLS exporter of this connection, as seen locally.
 * @param ids The client's and the server's IDs.
 * @param proof The proof received.
 * @returns Whether the proof is valid; false for a proof of the wrong length.
 * @throws {TypeError} On malformed keys, exporter, role or IDs (programming errors, not a bad peer).
 *
 * @example
 * ```ts
 * import { computeLinkProof, verifyLinkProof } from "./link_proof.ts";
 * const key = new Uint8Array(32).fill(1);
 * const exporter = new Uint8Array(32).fill(2);
 * const ids = { clientId: "a", serverId: "b" };
 * const proof = await computeLinkProof(key, "server", exporter, ids);
 * console.log(await verifyLinkProof([key], "server", exporter, ids, proof)); // true
 * ```
 */
export async function verifyLinkProof(
  keys: readonly Uint8Array[],
  role: LinkRole,
  exporter: Uint8Array,
  ids: LinkIdentities,
  proof: Uint8Array,
): Promise<boolean> {
  const action = "verify link proof";
  if (!Array.isArray(keys)) throw new TypeError(`Cannot ${action}: keys must be an array (got ${typeName(keys)})`);
  keys.forEach((key, i) => checkKey(key, action, `keys[${i}]`));
  const data = transcript(role, exporter, ids, action);
  if (!(proof instanceof Uint8Array) || proof.length !== LINK_PROOF_BYTES) return false;
  let ok = false;
  for (const key of keys) {
    if (timingSafeEqual(await hmacSha256(key, data), proof)) ok = true;
  }
  return ok;
}

function checkKey(key: unknown, action: string, field: string): void {
  if (!(key instanceof Uint8Array) || key.length !== LINK_PROOF_BYTES) {
    const got = key instanceof Uint8Array ? `${key.length} bytes` : typeName(key);
    throw new TypeError(`Cannot ${action}: ${field} must be a ${LINK_PROOF_BYTES}-byte Uint8Array (got ${got})`);
  }
}

function transcript(role: unknown, exporter: unknown, ids: LinkIdentities, action: string): Uint8Array {
  if (role !== "client" && role !== "server") {
    throw new TypeError(`Cannot ${action}: role must be "client" or "server" (got ${describe(role)})`);
  }
  if (!(exporter instanceof Uint8Array) || exporter.length !== LINK_PROOF_BYTES) {
    const got = exporter instanceof Uint8Array ? `${exporter.length} bytes` : typeName(exporter);
    throw new TypeError(`Cannot ${action}: exporter must be a ${LINK_PROOF_BYTES}-byte Uint8Array (got ${got})`);
  }
  if (typeof ids?.clientId !== "string" || typeof ids.serverId !== "string") {
    throw new TypeError(`Cannot ${action}: ids.clientId and ids.serverId must be strings`);
  }
  const parts = [utf8(PROOF_LABEL), utf8(role), exporter, utf8(ids.clientId), utf8(ids.serverId)];
  return lengthPrefixed(parts);
}
