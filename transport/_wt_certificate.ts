/**
 * Certificate checks of the WebTransport link authentication, where no TLS
 * client certificate exists: parsing a peer's leaf (DER) sent on the stream,
 * verifying its chain to a cluster CA, its validity and its SAN identity, and
 * signing or verifying a transcript with a leaf key (Ed25519 or ECDSA P-256).
 *
 * @module
 */

import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { UnauthorizedError } from "../errors.ts";
import { fromBase64 } from "../_internal/base64.ts";
import { copyBytes, sha256 } from "../security/_bytes.ts";
import { parseIdentity } from "../security/identity.ts";

/** A verified peer certificate. */
export interface VerifiedPeer {
  /** The host ID (or, with `kind: "runtime"`, the runtime ID) from the certificate's SAN URI. */
  hostId: string;
  /** The leaf's public key, for transcript signatures. */
  publicKey: CryptoKey;
}

/**
 * Decodes the first PEM block of a string to DER.
 *
 * @example
 * ```ts
 * import { pemToDer } from "./_wt_certificate.ts";
 * console.log(pemToDer("-----BEGIN X-----\nAQID\n-----END X-----\n")); // Uint8Array(3) [ 1, 2, 3 ]
 * ```
 */
export function pemToDer(pem: string): Uint8Array<ArrayBuffer> {
  const m = /-----BEGIN [^-]+-----([^-]*)-----END [^-]+-----/.exec(pem);
  if (m === null) throw new TypeError("Cannot decode PEM: no PEM block found");
  return copyBytes(fromBase64(m[1].replace(/\s/g, "")));
}

/**
 * The SHA-256 of a certificate's DER: what a WebTransport client pins with
 * `serverCertificateHashes`. Publish it wherever dialers look peers up.
 *
 * @param certPem The certificate (PEM).
 * @returns 32 bytes.
 *
 * @example
 * ```ts
 * import { createHostCredentials } from "../security/credentials.ts";
 * import { certificateHash } from "./_wt_certificate.ts";
 * const creds = await createHostCredentials([new Uint8Array(32).fill(1)], "h1");
 * console.log((await certificateHash(creds.certPem)).length); // 32
 * ```
 */
export async function certificateHash(certPem: string): Promise<Uint8Array> {
  return await sha256(pemToDer(certPem));
}

const caCache = new WeakMap<readonly string[], x509.X509Certificate[]>();

function parseCas(caPems: readonly string[]): x509.X509Certificate[] {
  let cas = caCache.get(caPems);
  if (cas === undefined) caCache.set(caPems, cas = caPems.map((pem) => new x509.X509Certificate(pem)));
  return cas;
}

/**
 * Verifies a peer's leaf (DER): it must chain directly to one of the cluster
 * CAs, be valid now, not be a CA, and carry exactly one Francis identity of
 * `kind` (a host unless told otherwise). Any failure is an `UnauthorizedError`.
 *
 * @example
 * ```ts ignore
 * const { hostId, publicKey } = await verifyPeerCertificate(der, credentials.caPems, "client");
 * ```
 */
export async function verifyPeerCertificate(
  der: Uint8Array<ArrayBuffer>,
  caPems: readonly string[],
  who: string,
  kind: "host" | "runtime" = "host",
): Promise<VerifiedPeer> {
  const fail = (why: string, cause?: unknown): never => {
    throw new UnauthorizedError(`Cannot authenticate link: the ${who} certificate ${why}`, { cause });
  };
  let leaf: x509.X509Certificate;
  try {
    leaf = new x509.X509Certificate(der);
  } catch (err) {
    return fail("is malformed", err);
  }
  const now = new Date();
  if (now < leaf.notBefore || now > leaf.notAfter) fail("is not valid now (expired or not yet valid)");
  if (leaf.getExtension(x509.BasicConstraintsExtension)?.ca) fail("is a CA certificate");
  let chained = false;
  for (const ca of parseCas(caPems)) {
    if (leaf.issuer !== ca.subject) continue;
    try {
      if (await leaf.verify({ publicKey: ca, date: now }, crypto)) chained = true;
    } catch {
      // Wrong key type for this CA: try the next one.
    }
  }
  if (!chained) fail("does not chain to a cluster CA");
  const san = leaf.getExtension(x509.SubjectAlternativeNameExtension);
  const uris = (san?.names.items ?? []).filter((n) => n.type === "url").map((n) => n.value);
  const francis = uris.filter((u) => u.startsWith("spiffe://francis/"));
  const parsed = francis.length === 1 ? parseIdentity(francis[0]) : undefined;
  if (parsed === undefined || parsed.kind !== kind) fail(`carries no single ${kind} identity`);
  let publicKey: CryptoKey;
  try {
    publicKey = await leaf.publicKey.export(crypto);
  } catch (err) {
    return fail("has an unsupported key type", err);
  }
  return { hostId: parsed!.id, publicKey };
}

const keyCache = new Map<string, Promise<CryptoKey>>();

/**
 * Imports a leaf's PKCS#8 private key (Ed25519, else ECDSA P-256) for signing;
 * memoised per PEM.
 *
 * @example
 * ```ts ignore
 * const key = await importSigningKey(credentials.keyPem);
 * ```
 */
export function importSigningKey(keyPem: string): Promise<CryptoKey> {
  let key = keyCache.get(keyPem);
  if (key === undefined) {
    const der = pemToDer(keyPem);
    key = crypto.subtle.importKey("pkcs8", der, "Ed25519", false, ["sign"])
      .catch(() => crypto.subtle.importKey("pkcs8", der, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]));
    if (keyCache.size > 16) keyCache.clear();
    keyCache.set(keyPem, key);
  }
  return key;
}

function algorithm(key: CryptoKey): AlgorithmIdentifier | EcdsaParams {
  return key.algorithm.name === "ECDSA" ? { name: "ECDSA", hash: "SHA-256" } : { name: key.algorithm.name };
}

/**
 * Signs bytes with a leaf private key.
 *
 * @example
 * ```ts ignore
 * const sig = await signWith(await importSigningKey(keyPem), data);
 * ```
 */
export async function signWith(key: CryptoKey, data: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign(algorithm(key), key, data));
}

/**
 * Verifies a signature made by {@linkcode signWith}; `false` on any failure.
 *
 * @example
 * ```ts ignore
 * const ok = await verifyWith(peer.publicKey, data, sig);
 * ```
 */
export async function verifyWith(
  key: CryptoKey,
  data: Uint8Array<ArrayBuffer>,
  signature: Uint8Array<ArrayBuffer>,
): Promise<boolean> {
  try {
    return await crypto.subtle.verify(algorithm(key), key, signature, data);
  } catch {
    return false;
  }
}
