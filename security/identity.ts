/**
 * SPIFFE-style identities carried in leaf certificates (API.md §18):
 * `spiffe://francis/host/<hostId>` and `spiffe://francis/runtime/<runtimeId>`.
 *
 * IDs are restricted to 1–64 URI-unreserved characters (`A-Z a-z 0-9 . _ ~ -`)
 * so that an identity needs no escaping in a URI, fits a certificate CN
 * (at most 64 characters) and parses unambiguously out of the
 * comma-separated `subjectaltname` string of `node:tls`.
 *
 * @module
 */

import { describe, typeName } from "../_internal/validate.ts";

/** The kinds of peers that hold a leaf certificate. */
export type IdentityKind = "host" | "runtime";

/** A parsed identity. */
export interface ParsedIdentity {
  /** Whether the peer is a host or the runtime. */
  kind: IdentityKind;
  /** The host or runtime ID. */
  id: string;
}

const PREFIX = "spiffe://francis/";
const ID_PATTERN = /^[A-Za-z0-9._~-]{1,64}$/;
const IDENTITY_PATTERN = /^spiffe:\/\/francis\/(host|runtime)\/([A-Za-z0-9._~-]{1,64})$/;

function makeIdentity(kind: IdentityKind, id: unknown, field: string): string {
  if (typeof id !== "string") {
    throw new TypeError(`Cannot create ${kind} identity: ${field} must be a string (got ${typeName(id)})`);
  }
  if (!ID_PATTERN.test(id)) {
    throw new TypeError(
      `Cannot create ${kind} identity: ${field} must be 1 to 64 characters of A-Z, a-z, 0-9, ".", "_", "~" or "-" (got ${
        describe(id)
      })`,
    );
  }
  return `${PREFIX}${kind}/${id}`;
}

/**
 * Returns the identity URI of a host.
 *
 * @param hostId The host ID: 1–64 characters of `A-Z a-z 0-9 . _ ~ -` (a UUID fits).
 * @returns `spiffe://francis/host/<hostId>`.
 * @throws {TypeError} When `hostId` is not such a string.
 *
 * @example
 * ```ts
 * import { hostIdentity } from "./identity.ts";
 * console.log(hostIdentity("h1")); // spiffe://francis/host/h1
 * ```
 */
export function hostIdentity(hostId: string): string {
  return makeIdentity("host", hostId, "hostId");
}

/**
 * Returns the identity URI of a runtime.
 *
 * @param runtimeId The runtime ID: 1–64 characters of `A-Z a-z 0-9 . _ ~ -`.
 * @returns `spiffe://francis/runtime/<runtimeId>`.
 * @throws {TypeError} When `runtimeId` is not such a string.
 *
 * @example
 * ```ts
 * import { runtimeIdentity } from "./identity.ts";
 * console.log(runtimeIdentity("r1")); // spiffe://francis/runtime/r1
 * ```
 */
export function runtimeIdentity(runtimeId: string): string {
  return makeIdentity("runtime", runtimeId, "runtimeId");
}

/**
 * Parses an identity URI; anything that is not exactly a Francis host or
 * runtime identity gives `undefined`.
 *
 * @param uri The candidate URI.
 * @returns The kind and ID, or `undefined`.
 *
 * @example
 * ```ts
 * import { parseIdentity } from "./identity.ts";
 * console.log(parseIdentity("spiffe://francis/host/h1")); // { kind: "host", id: "h1" }
 * console.log(parseIdentity("spiffe://other/host/h1")); // undefined
 * ```
 */
export function parseIdentity(uri: string): ParsedIdentity | undefined {
  if (typeof uri !== "string") return undefined;
  const match = IDENTITY_PATTERN.exec(uri);
  if (match === null) return undefined;
  return { kind: match[1] as IdentityKind, id: match[2] };
}

/**
 * Extracts the Francis identity from a peer certificate as `node:tls`
 * `getPeerCertificate()` describes it (`subjectaltname` such as
 * `URI:spiffe://francis/host/abc, DNS:x`). Fails closed: no Francis URI, or
 * more than one, gives `undefined`.
 *
 * @param cert The peer certificate object (only `subjectaltname` is read).
 * @returns The identity URI, or `undefined`.
 *
 * @example
 * ```ts
 * import { identityFromPeerCertificate } from "./identity.ts";
 * const id = identityFromPeerCertificate({ subjectaltname: "DNS:x, URI:spiffe://francis/host/abc" });
 * console.log(id); // spiffe://francis/host/abc
 * ```
 */
export function identityFromPeerCertificate(cert: { subjectaltname?: string }): string | undefined {
  const san = cert?.subjectaltname;
  if (typeof san !== "string") return undefined;
  let found: string | undefined;
  for (const entry of san.split(",")) {
    const trimmed = entry.trim();
    if (!trimmed.startsWith("URI:")) continue;
    const uri = trimmed.slice(4);
    if (!uri.startsWith(PREFIX) && !uri.startsWith(`"${PREFIX}`)) continue;
    // A Francis URI that does not parse (quoted, escaped, malformed) or a second one: refuse.
    if (parseIdentity(uri) === undefined || found !== undefined) return undefined;
    found = uri;
  }
  return found;
}
