/**
 * A host's link credentials (API.md §18, §24): a fresh leaf under the first
 * runtime PSK's cluster CA, every PSK's CA as trust anchor, and every PSK's
 * link-proof key, in PSK order (the first proves and signs, all verify).
 *
 * @module
 */

import { checkTime, typeName } from "../_internal/validate.ts";
import type { LinkCredentials } from "../transport/types.ts";
import { deriveClusterCa } from "./cluster_ca.ts";
import { hostIdentity } from "./identity.ts";
import { issueLeafCertificate } from "./leaf.ts";
import { deriveLinkAuthKey } from "./link_proof.ts";

/** Default TTL of a local host's leaf certificate: 90 days (API.md §24). */
export const LOCAL_LEAF_TTL_MS = 90 * 24 * 3_600_000;

/** Options of {@linkcode createHostCredentials}. */
export interface HostCredentialsOptions {
  /** Leaf TTL, ms (1 ms to 365 days). @default {7776000000} (90 days) */
  ttlMs?: number;
  /** Issue time, epoch ms or `Date`, for tests. @default {Date.now()} */
  now?: number | Date;
}

/** Link credentials plus the validity of their leaf. */
export interface HostCredentials extends LinkCredentials {
  /** Start of the leaf's validity (backdated 5 minutes). */
  notBefore: Date;
  /** End of the leaf's validity; renew before it ({@linkcode renewalDelayMs}). */
  notAfter: Date;
}

const ACTION = "create host credentials";

/**
 * Builds a host's link credentials from the runtime PSKs.
 *
 * @param psks The runtime PSKs as bytes, in configured order (each at least 32 bytes).
 * @param hostId The host ID the leaf certifies (`spiffe://francis/host/<hostId>`).
 * @param options Leaf TTL and (for tests) the issue time.
 * @returns The credentials, with the leaf's `notBefore` and `notAfter`.
 * @throws {TypeError} When `psks` is empty or holds a non-`Uint8Array`, or `hostId` is invalid.
 * @throws {RangeError} When a PSK is shorter than 32 bytes or `ttlMs` is out of range.
 *
 * @example
 * ```ts
 * import { createHostCredentials } from "./credentials.ts";
 * const psk = new TextEncoder().encode("an example runtime PSK, 32 bytes or more");
 * const creds = await createHostCredentials([psk], "h1");
 * console.log(creds.caPems.length, creds.authKeys.length); // 1 1
 * ```
 */
export async function createHostCredentials(
  psks: readonly Uint8Array[],
  hostId: string,
  options?: HostCredentialsOptions,
): Promise<HostCredentials> {
  if (!Array.isArray(psks) || psks.length === 0) {
    throw new TypeError(`Cannot ${ACTION}: psks must be a non-empty array (got ${typeName(psks)})`);
  }
  psks.forEach((psk, i) => {
    if (!(psk instanceof Uint8Array)) {
      throw new TypeError(`Cannot ${ACTION}: psks[${i}] must be a Uint8Array (got ${typeName(psk)})`);
    }
  });
  const identity = hostIdentity(hostId);
  const cas = await Promise.all(psks.map((psk) => deriveClusterCa(psk)));
  const authKeys = await Promise.all(psks.map((psk) => deriveLinkAuthKey(psk)));
  const leaf = await issueLeafCertificate(cas[0], {
    identity,
    ttlMs: options?.ttlMs ?? LOCAL_LEAF_TTL_MS,
    now: options?.now,
  });
  return {
    hostId,
    certPem: leaf.certPem,
    keyPem: leaf.keyPem,
    caPems: Object.freeze(cas.map((ca) => ca.pem)),
    authKeys: Object.freeze(authKeys),
    notBefore: leaf.notBefore,
    notAfter: leaf.notAfter,
  };
}

/**
 * How long to wait before renewing a leaf: half of its remaining life
 * (API.md §24), counted from `now` (or from `notBefore`, if `now` is earlier).
 * An expired leaf gives 0.
 *
 * @param notBefore Start of validity (`Date` or epoch ms).
 * @param notAfter End of validity (`Date` or epoch ms).
 * @param now The current time (`Date` or epoch ms).
 * @returns The delay in whole ms, at least 0.
 * @throws {TypeError} When a time is not a valid `Date` or integer epoch ms.
 * @throws {RangeError} When `notAfter` is before `notBefore`.
 *
 * @example
 * ```ts
 * import { renewalDelayMs } from "./credentials.ts";
 * console.log(renewalDelayMs(0, 100_000, 20_000)); // 40000
 * ```
 */
export function renewalDelayMs(notBefore: Date | number, notAfter: Date | number, now: Date | number): number {
  const action = "compute renewal delay";
  const start = checkTime(notBefore, action, "notBefore");
  const end = checkTime(notAfter, action, "notAfter");
  const at = checkTime(now, action, "now");
  if (end < start) {
    throw new RangeError(`Cannot ${action}: notAfter must not be before notBefore (got ${end} < ${start})`);
  }
  if (at >= end) return 0;
  const from = Math.max(at, start);
  return from - at + Math.floor((end - from) / 2);
}
