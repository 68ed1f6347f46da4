/**
 * Leaf certificates under a cluster CA (API.md §18, §24): a fresh Ed25519 key
 * pair each time (never persisted), the identity as SAN URI, backdated 5
 * minutes for clock skew, usable for both TLS server and client auth.
 *
 * @module
 */

import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { checkInt, checkTime, typeName } from "../_internal/validate.ts";
import { positiveSerialHex, toPem } from "./_bytes.ts";
import type { ClusterCa } from "./cluster_ca.ts";
import { parseIdentity } from "./identity.ts";

/** How far back a leaf's `notBefore` is set, for clock skew (API.md §24). */
export const LEAF_BACKDATE_MS = 5 * 60_000;
/** The longest leaf TTL (API.md §24). */
export const MAX_LEAF_TTL_MS = 365 * 24 * 3_600_000;

/** Options of {@linkcode issueLeafCertificate}. */
export interface IssueLeafOptions {
  /** The identity URI (`spiffe://francis/host/<id>` or `spiffe://francis/runtime/<id>`). */
  identity: string;
  /** Life from `now`, ms (1 to 365 days). */
  ttlMs: number;
  /** Issue time, epoch ms or `Date`, for tests (e.g. an already-expired leaf). @default {Date.now()} */
  now?: number | Date;
}

/** An issued leaf certificate with its private key. */
export interface IssuedLeaf {
  /** The leaf certificate (PEM). */
  certPem: string;
  /** The leaf's private key (PKCS#8 PEM). */
  keyPem: string;
  /** Start of validity as written in the certificate (`now` − 5 min, whole seconds). */
  notBefore: Date;
  /** End of validity as written in the certificate (`now` + `ttlMs`, whole seconds). */
  notAfter: Date;
}

const ACTION = "issue leaf certificate";

/**
 * Issues a leaf certificate for an identity, signed by a cluster CA.
 *
 * @param ca The issuing cluster CA (from `deriveClusterCa`).
 * @param options Identity, TTL and (for tests) the issue time.
 * @returns The certificate and key as PEM, and the validity written in the certificate.
 * @throws {TypeError} When the identity is not a Francis identity URI or an option has the wrong type.
 * @throws {RangeError} When `ttlMs` is below 1 ms or above 365 days.
 *
 * @example
 * ```ts
 * import { deriveClusterCa } from "./cluster_ca.ts";
 * import { issueLeafCertificate } from "./leaf.ts";
 * const ca = await deriveClusterCa(new TextEncoder().encode("an example runtime PSK, 32 bytes or more"));
 * const leaf = await issueLeafCertificate(ca, { identity: "spiffe://francis/host/h1", ttlMs: 3_600_000 });
 * console.log(leaf.keyPem.startsWith("-----BEGIN PRIVATE KEY-----")); // true
 * ```
 */
export async function issueLeafCertificate(ca: ClusterCa, options: IssueLeafOptions): Promise<IssuedLeaf> {
  const keys = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]) as CryptoKeyPair;
  const issued = await certifyPublicKey(ca, keys.publicKey, options);
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  const keyPem = toPem("PRIVATE KEY", pkcs8);
  pkcs8.fill(0);
  return { ...issued, keyPem };
}

/**
 * Certifies a public key someone else holds (a worker's, whose private key
 * never leaves it) for an identity, signed by a cluster CA.
 *
 * @param ca The issuing cluster CA.
 * @param publicKey The subject's public key (Ed25519).
 * @param options Identity, TTL and (for tests) the issue time.
 * @returns The certificate as PEM and the validity written in it.
 *
 * @example
 * ```ts
 * import { deriveClusterCa } from "./cluster_ca.ts";
 * import { certifyPublicKey } from "./leaf.ts";
 * const ca = await deriveClusterCa(new TextEncoder().encode("an example runtime PSK, 32 bytes or more"));
 * const keys = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]) as CryptoKeyPair;
 * const leaf = await certifyPublicKey(ca, keys.publicKey, { identity: "spiffe://francis/host/w1", ttlMs: 3_600_000 });
 * console.log(leaf.certPem.startsWith("-----BEGIN CERTIFICATE-----")); // true
 * ```
 */
export async function certifyPublicKey(
  ca: ClusterCa,
  publicKey: CryptoKey,
  options: IssueLeafOptions,
): Promise<Omit<IssuedLeaf, "keyPem">> {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`Cannot ${ACTION}: options must be an object (got ${typeName(options)})`);
  }
  const parsed = parseIdentity(options.identity);
  if (parsed === undefined) {
    const got = typeof options.identity === "string" ? JSON.stringify(options.identity) : typeName(options.identity);
    throw new TypeError(`Cannot ${ACTION}: identity must be a Francis identity URI (got ${got})`);
  }
  const ttlMs = checkInt(options.ttlMs, ACTION, "ttlMs", 1, MAX_LEAF_TTL_MS);
  const now = options.now === undefined ? Date.now() : checkTime(options.now, ACTION, "now");
  if (!(ca?.cert instanceof x509.X509Certificate) || !(ca.keys?.privateKey instanceof CryptoKey)) {
    throw new TypeError(`Cannot ${ACTION}: ca must be a cluster CA (got ${typeName(ca)})`);
  }

  if (!(publicKey instanceof CryptoKey) || publicKey.type !== "public") {
    throw new TypeError(`Cannot ${ACTION}: publicKey must be a public CryptoKey (got ${typeName(publicKey)})`);
  }
  const keys = { publicKey };
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: positiveSerialHex(crypto.getRandomValues(new Uint8Array(16))),
    subject: [{ CN: [parsed.id] }],
    issuer: ca.cert.subjectName,
    notBefore: new Date(now - LEAF_BACKDATE_MS),
    notAfter: new Date(now + ttlMs),
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: { name: "Ed25519" },
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: "url", value: options.identity }], false),
      authorityKeyId(ca),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
    ],
  }, crypto);
  return {
    certPem: toPem("CERTIFICATE", new Uint8Array(cert.rawData)),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
  };
}

/** The AKI of leaves under `ca`: the CA's own SKI (same SHA-1 key hash), read instead of recomputed. */
function authorityKeyId(ca: ClusterCa): x509.AuthorityKeyIdentifierExtension {
  const keyId = ca.cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  if (keyId === undefined) throw new TypeError(`Cannot ${ACTION}: ca has no subject key identifier`);
  return new x509.AuthorityKeyIdentifierExtension(keyId, false);
}
