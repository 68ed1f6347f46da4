/**
 * The runtime's WebTransport certificate (experimental transport, API.md
 * §18/§19): a leaf derived **deterministically** from a runtime PSK, so its
 * SHA-256 — what a worker pins with `serverCertificateHashes` — is the same
 * on every replica and across restarts, and an operator can print it ahead of
 * time (`francis print-ca --webtransport-hash`).
 *
 * - Key: Ed25519 whose seed is HKDF-SHA256(psk, salt `francis/runtime-webtransport/v1`).
 * - Issuer: the PSK's cluster CA (deterministic Ed25519 signature).
 * - Subject `CN=Francis runtime (WebTransport)`, SAN `spiffe://francis/runtime/webtransport`,
 *   serial from the public key, valid 2020-01-01 to 2100-01-01 (like the CA:
 *   rotating the PSK rotates it), EKU serverAuth, not a CA.
 *
 * Whoever holds the runtime PSK can derive this key; that is no new power
 * (a PSK holder can already derive the CA). Workers never hold it.
 *
 * @module
 */

import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { typeName } from "../_internal/validate.ts";
import { deriveClusterCa, MIN_RUNTIME_PSK_BYTES } from "../security/cluster_ca.ts";
import { copyBytes, hkdfSha256, positiveSerialHex, sha256, toHex, toPem, utf8 } from "../security/_bytes.ts";

/** The identity every runtime replica's WebTransport certificate names. */
export const RUNTIME_WT_IDENTITY = "spiffe://francis/runtime/webtransport";

const SALT = "francis/runtime-webtransport/v1";
const NOT_BEFORE = new Date("2020-01-01T00:00:00Z");
const NOT_AFTER = new Date("2100-01-01T00:00:00Z");
/** RFC 8410 PKCS#8 prefix of an Ed25519 private key; the 32-byte seed follows. */
const ED25519_PKCS8_PREFIX = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04];

/** A derived runtime WebTransport certificate. */
export interface RuntimeWtCertificate {
  /** The leaf (PEM), byte-identical for the same PSK everywhere. */
  certPem: string;
  /** Its private key (PKCS#8 PEM). */
  keyPem: string;
  /** SHA-256 of the leaf DER: what workers pin. */
  hash: Uint8Array;
}

/**
 * Derives the runtime WebTransport certificate of a runtime PSK.
 *
 * @param psk The runtime PSK (≥ 32 bytes; a string is used as its UTF-8 bytes).
 * @returns Certificate, key and hash.
 * @throws {TypeError} When `psk` is neither a string nor a `Uint8Array`.
 * @throws {RangeError} When `psk` is shorter than 32 bytes.
 *
 * @example
 * ```ts
 * import { deriveRuntimeWtCertificate } from "./_wt_certificate.ts";
 * const a = await deriveRuntimeWtCertificate("an example runtime PSK, 32 bytes or more");
 * const b = await deriveRuntimeWtCertificate("an example runtime PSK, 32 bytes or more");
 * console.log(a.certPem === b.certPem, a.hash.length); // true 32
 * ```
 */
export async function deriveRuntimeWtCertificate(psk: string | Uint8Array): Promise<RuntimeWtCertificate> {
  const action = "derive runtime WebTransport certificate";
  const bytes = typeof psk === "string" ? utf8(psk) : psk;
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`Cannot ${action}: psk must be a string or a Uint8Array (got ${typeName(psk)})`);
  }
  if (bytes.length < MIN_RUNTIME_PSK_BYTES) {
    throw new RangeError(`Cannot ${action}: psk must be at least ${MIN_RUNTIME_PSK_BYTES} bytes (got ${bytes.length})`);
  }
  const ca = await deriveClusterCa(bytes);
  const seed = await hkdfSha256(copyBytes(bytes), SALT, "ed25519", 32);
  const pkcs8 = new Uint8Array([...ED25519_PKCS8_PREFIX, 0x20, ...seed]);
  seed.fill(0);
  const privateKey = await crypto.subtle.importKey("pkcs8", pkcs8, "Ed25519", true, ["sign"]);
  const jwk = await crypto.subtle.exportKey("jwk", privateKey);
  const publicKey = await crypto.subtle.importKey("jwk", { kty: "OKP", crv: "Ed25519", x: jwk.x }, "Ed25519", true, [
    "verify",
  ]);
  const publicRaw = new Uint8Array(await crypto.subtle.exportKey("raw", publicKey));
  const keyId = ca.cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  if (keyId === undefined) throw new TypeError(`Cannot ${action}: the cluster CA has no subject key identifier`);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: positiveSerialHex((await sha256(publicRaw)).subarray(0, 16)),
    subject: "CN=Francis runtime (WebTransport)",
    issuer: ca.cert.subjectName,
    notBefore: NOT_BEFORE,
    notAfter: NOT_AFTER,
    publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: { name: "Ed25519" },
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: "url", value: RUNTIME_WT_IDENTITY }], false),
      new x509.AuthorityKeyIdentifierExtension(keyId, false),
      await x509.SubjectKeyIdentifierExtension.create(publicKey, false, crypto),
    ],
  }, crypto);
  const der = new Uint8Array(cert.rawData);
  const keyPem = toPem("PRIVATE KEY", pkcs8);
  pkcs8.fill(0);
  return { certPem: toPem("CERTIFICATE", der), keyPem, hash: await sha256(der) };
}

/**
 * The hex SHA-256 a worker pins (`RemoteHost` option `runtimeCertificateHash`)
 * for a runtime PSK: the same value `francis print-ca --webtransport-hash` prints.
 *
 * @param psk The runtime PSK (≥ 32 bytes).
 * @returns 64 lowercase hex digits.
 * @throws {TypeError} When `psk` is neither a string nor a `Uint8Array`.
 * @throws {RangeError} When `psk` is shorter than 32 bytes.
 *
 * @example
 * ```ts
 * import { deriveRuntimeWtCertificateHash } from "./_wt_certificate.ts";
 * console.log((await deriveRuntimeWtCertificateHash("an example runtime PSK, 32 bytes or more")).length); // 64
 * ```
 */
export async function deriveRuntimeWtCertificateHash(psk: string | Uint8Array): Promise<string> {
  return toHex((await deriveRuntimeWtCertificate(psk)).hash);
}
