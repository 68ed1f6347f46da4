/**
 * The cluster CA (API.md §18): every runtime PSK deterministically derives an
 * Ed25519 certificate authority, `CN=Francis CA`, valid 2020-01-01 to
 * 2100-01-01. Key, serial, extensions and (Ed25519) signature are all fixed by
 * the PSK, so the PEM is byte-identical on every machine and runtime (C-98).
 *
 * @module
 */

import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { typeName } from "../_internal/validate.ts";
import { copyBytes, hkdfSha256, positiveSerialHex, sha256, toHex, toPem, utf8 } from "./_bytes.ts";

/** A derived cluster CA: its PEM, parsed certificate and signing keys. */
export interface ClusterCa {
  /** The CA certificate (PEM), byte-identical for the same PSK everywhere. */
  readonly pem: string;
  /** The parsed CA certificate. */
  readonly cert: x509.X509Certificate;
  /** The CA key pair; the private key is not extractable. */
  readonly keys: CryptoKeyPair;
}

/** Smallest runtime PSK, bytes (API.md §24). */
export const MIN_RUNTIME_PSK_BYTES = 32;

const CA_SALT = "francis/cluster-ca/v1";
const CA_NAME = "CN=Francis CA";
const CA_NOT_BEFORE = new Date("2020-01-01T00:00:00Z");
const CA_NOT_AFTER = new Date("2100-01-01T00:00:00Z");
/** RFC 8410 PKCS#8 prefix of an Ed25519 private key; the 32-byte seed follows. */
const ED25519_PKCS8_PREFIX = [
  0x30,
  0x2e,
  0x02,
  0x01,
  0x00,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x70,
  0x04,
  0x22,
  0x04,
  0x20,
];
const ACTION = "derive cluster CA";

/** Memo of derived CAs, keyed by the hex SHA-256 of the PSK (never the PSK itself). */
const cache = new Map<string, Promise<ClusterCa>>();

/**
 * Derives the cluster CA certificate of a runtime PSK, as PEM. The same PSK
 * gives the same bytes on every run, machine and runtime (C-98).
 *
 * @param psk The runtime PSK: a string (used as its UTF-8 bytes, never
 * base64-decoded) or bytes, at least 32 bytes long.
 * @returns The CA certificate, PEM with a trailing newline.
 * @throws {TypeError} When `psk` is neither a string nor a `Uint8Array`.
 * @throws {RangeError} When `psk` is shorter than 32 bytes.
 *
 * @example
 * ```ts
 * import { deriveClusterCaPem } from "./cluster_ca.ts";
 * const pem = await deriveClusterCaPem("an example runtime PSK, 32 bytes or more");
 * console.log(pem.startsWith("-----BEGIN CERTIFICATE-----")); // true
 * ```
 */
export async function deriveClusterCaPem(psk: string | Uint8Array): Promise<string> {
  if (typeof psk === "string") return (await deriveClusterCa(utf8(psk))).pem;
  if (psk instanceof Uint8Array) return (await deriveClusterCa(psk)).pem;
  throw new TypeError(`Cannot ${ACTION}: psk must be a string or Uint8Array (got ${typeName(psk)})`);
}

/**
 * Derives (or returns the memoised) cluster CA of a runtime PSK: certificate
 * and signing keys. Concurrent calls for the same PSK share one derivation.
 *
 * @param psk The runtime PSK bytes, at least 32.
 * @returns The CA; the same object for equal PSK bytes.
 * @throws {TypeError} When `psk` is not a `Uint8Array`.
 * @throws {RangeError} When `psk` is shorter than 32 bytes.
 *
 * @example
 * ```ts
 * import { deriveClusterCa } from "./cluster_ca.ts";
 * const ca = await deriveClusterCa(new TextEncoder().encode("an example runtime PSK, 32 bytes or more"));
 * console.log(ca.cert.subject); // CN=Francis CA
 * ```
 */
export async function deriveClusterCa(psk: Uint8Array): Promise<ClusterCa> {
  if (!(psk instanceof Uint8Array)) {
    throw new TypeError(`Cannot ${ACTION}: psk must be a Uint8Array (got ${typeName(psk)})`);
  }
  if (psk.length < MIN_RUNTIME_PSK_BYTES) {
    throw new RangeError(
      `Cannot ${ACTION}: psk must be at least ${MIN_RUNTIME_PSK_BYTES} bytes (got ${psk.length})`,
    );
  }
  const bytes = copyBytes(psk);
  const id = toHex(await sha256(bytes));
  let pending = cache.get(id);
  if (pending === undefined) {
    pending = buildCa(bytes);
    cache.set(id, pending);
    pending.catch(() => cache.delete(id));
  }
  return await pending;
}

async function buildCa(psk: Uint8Array): Promise<ClusterCa> {
  const keys = await deriveCaKeys(psk);
  const publicRaw = new Uint8Array(await crypto.subtle.exportKey("raw", keys.publicKey));
  const serialNumber = positiveSerialHex((await sha256(publicRaw)).subarray(0, 16));
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber,
    name: CA_NAME,
    notBefore: CA_NOT_BEFORE,
    notAfter: CA_NOT_AFTER,
    keys,
    signingAlgorithm: { name: "Ed25519" },
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
    ],
  }, crypto);
  return Object.freeze({ pem: toPem("CERTIFICATE", new Uint8Array(cert.rawData)), cert, keys: Object.freeze(keys) });
}

/** HKDF(psk) → Ed25519 seed → key pair; the private key ends up non-extractable. */
async function deriveCaKeys(psk: Uint8Array): Promise<CryptoKeyPair> {
  const seed = await hkdfSha256(psk, CA_SALT, "ed25519", 32);
  const pkcs8 = new Uint8Array([...ED25519_PKCS8_PREFIX, ...seed]);
  seed.fill(0);
  try {
    const extractable = await crypto.subtle.importKey("pkcs8", pkcs8, "Ed25519", true, ["sign"]);
    const jwk = await crypto.subtle.exportKey("jwk", extractable);
    const publicKey = await crypto.subtle.importKey(
      "jwk",
      { kty: "OKP", crv: "Ed25519", x: jwk.x },
      "Ed25519",
      true,
      ["verify"],
    );
    const privateKey = await crypto.subtle.importKey("pkcs8", pkcs8, "Ed25519", false, ["sign"]);
    return { privateKey, publicKey };
  } finally {
    pkcs8.fill(0);
  }
}
