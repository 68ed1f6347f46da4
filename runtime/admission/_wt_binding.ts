/**
 * The admission binding of the experimental WebTransport worker session
 * (API.md §18; `transport/WEBTRANSPORT.md`). Deno's WebTransport has no TLS
 * exporter and no client certificates, so the worker's admission is bound to
 * what it *did* authenticate: the runtime certificate it pinned by SHA-256.
 *
 * ```text
 * T = SHA-256(lp(LABEL) | lp(runtimeCertHash) | lp(clientNonce) | lp(serverNonce)
 *             | lp(kind) | lp(subject) | lp(SHA-256(token) or "") | lp(clientOnly ? 1 : 0))
 * ```
 *
 * `lp(x)` is a 4-byte big-endian length then `x`; `subject` is the SPKI the
 * worker asks to have certified (`psk`, `jwt`) or its workload certificate
 * (DER, `cert`). Then:
 *
 * - **signature** (every kind): `Ed25519(workerKey, "francis/wt-admission/v1 signature" | T)`:
 *   proof of possession of the key being certified (or of the certificate's key);
 * - **PSK proof** (`psk`): `computeBootstrapProof(hostPskKey, T, clientNonce, serverNonce)`:
 *   `T` takes the place of the TLS exporter;
 * - **token** (`jwt`): sent only in the last message, after the worker checked the runtime.
 *
 * A proof is valid for one challenge (fresh server nonce), one runtime
 * certificate, one key, one kind and one token. A relay that does not hold
 * the pinned certificate's private key cannot terminate the worker's QUIC;
 * one that holds it (a runtime PSK holder) can relay — see WEBTRANSPORT.md.
 *
 * @module
 */

import { typeName } from "../../_internal/validate.ts";
import { lengthPrefixed, sha256, utf8 } from "../../security/_bytes.ts";

/** Label of the transcript. */
export const WT_ADMISSION_LABEL = "francis/wt-admission/v1";
const SIGNATURE_LABEL = `${WT_ADMISSION_LABEL} signature`;

/** The inputs of the transcript `T`. */
export interface WtAdmissionInput {
  /** SHA-256 of the runtime's WebTransport certificate (32 bytes): the one the worker pinned. */
  runtimeCertHash: Uint8Array;
  /** The worker's hello nonce (32 bytes). */
  clientNonce: Uint8Array;
  /** The runtime's challenge nonce (32 bytes). */
  serverNonce: Uint8Array;
  kind: "psk" | "jwt" | "cert";
  /** SPKI (DER) for `psk`/`jwt`, the workload certificate (DER) for `cert`. */
  subject: Uint8Array;
  /** The join token, for `jwt`. */
  token?: string;
  clientOnly: boolean;
}

/**
 * Computes `T`.
 *
 * @param input The transcript inputs.
 * @returns 32 bytes.
 * @throws {TypeError} When a hash or nonce is not 32 bytes, or `subject` is not bytes.
 *
 * @example
 * ```ts
 * import { wtAdmissionTranscript } from "./_wt_binding.ts";
 * const z = new Uint8Array(32);
 * const t = await wtAdmissionTranscript({
 *   runtimeCertHash: z, clientNonce: z, serverNonce: z, kind: "psk", subject: new Uint8Array(44), clientOnly: false,
 * });
 * console.log(t.length); // 32
 * ```
 */
export async function wtAdmissionTranscript(input: WtAdmissionInput): Promise<Uint8Array<ArrayBuffer>> {
  for (const field of ["runtimeCertHash", "clientNonce", "serverNonce"] as const) {
    const v = input[field];
    if (!(v instanceof Uint8Array) || v.length !== 32) {
      throw new TypeError(`Cannot compute admission transcript: ${field} must be 32 bytes (got ${typeName(v)})`);
    }
  }
  if (!(input.subject instanceof Uint8Array)) {
    throw new TypeError(`Cannot compute admission transcript: subject must be a Uint8Array`);
  }
  const token = input.token === undefined ? new Uint8Array(0) : await sha256(utf8(input.token));
  const parts = [
    utf8(WT_ADMISSION_LABEL),
    input.runtimeCertHash,
    input.clientNonce,
    input.serverNonce,
    utf8(input.kind),
    input.subject,
    token,
    new Uint8Array([input.clientOnly ? 1 : 0]),
  ];
  return await sha256(lengthPrefixed(parts));
}

/**
 * Signs `T` with the worker's Ed25519 private key.
 *
 * @example
 * ```ts ignore
 * const signature = await signWtAdmission(privateKey, t);
 * ```
 */
export async function signWtAdmission(privateKey: CryptoKey, t: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign("Ed25519", privateKey, signedBytes(t)));
}

/**
 * Verifies a worker's signature over `T`; `false` on any failure (wrong key
 * type, malformed signature).
 *
 * @example
 * ```ts
 * import { signWtAdmission, verifyWtAdmission } from "./_wt_binding.ts";
 * const keys = await crypto.subtle.generateKey("Ed25519", true, ["sign", "verify"]) as CryptoKeyPair;
 * const t = new Uint8Array(32);
 * const sig = await signWtAdmission(keys.privateKey, t);
 * console.log(await verifyWtAdmission(keys.publicKey, t, sig)); // true
 * ```
 */
export async function verifyWtAdmission(publicKey: CryptoKey, t: Uint8Array, signature: Uint8Array): Promise<boolean> {
  try {
    return await crypto.subtle.verify("Ed25519", publicKey, signature.slice(), signedBytes(t));
  } catch {
    return false;
  }
}

function signedBytes(t: Uint8Array): Uint8Array<ArrayBuffer> {
  const label = utf8(SIGNATURE_LABEL);
  const out = new Uint8Array(label.length + t.length);
  out.set(label);
  out.set(t, label.length);
  return out;
}
