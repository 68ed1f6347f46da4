/**
 * Test fixtures for the join-token verifier: key pairs, a JWKS, a token
 * signer with a fixed clock, and an in-memory single-use store.
 *
 * @module
 */

import { exportJWK, generateKeyPair, SignJWT } from "jose";
import type { JWK } from "jose";

/** The fixed clock every test uses, epoch ms. */
export const NOW_MS = 1_700_000_000_000;
/** {@linkcode NOW_MS} in seconds, as JWT claims want it. */
export const NOW_S = NOW_MS / 1000;
/** Issuer and audience the verifier expects. */
export const ISSUER = "https://issuer.example";
/** The audience the verifier expects. */
export const AUDIENCE = "francis-runtime";

/** A signing key with its `alg` and `kid`. */
export interface TestKey {
  alg: string;
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

/**
 * Generates a key pair and its public JWK (with `kid`, `alg` and `use`).
 *
 * @example
 * ```ts
 * import { makeKey } from "./_jwt_fixtures.ts";
 * console.log((await makeKey("ES256", "k")).publicJwk.kty); // EC
 * ```
 */
export async function makeKey(alg: string, kid: string, options: { bareJwk?: boolean } = {}): Promise<TestKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(publicKey);
  const publicJwk = options.bareJwk ? jwk : { ...jwk, kid, alg, use: "sig" };
  return { alg, kid, privateKey, publicJwk };
}

/**
 * A JWKS (JSON string) of some keys' public halves.
 *
 * @example
 * ```ts
 * import { jwksOf, makeKey } from "./_jwt_fixtures.ts";
 * console.log(JSON.parse(jwksOf([await makeKey("EdDSA", "e")])).keys.length); // 1
 * ```
 */
export function jwksOf(keys: readonly TestKey[]): string {
  return JSON.stringify({ keys: keys.map((k) => k.publicJwk) });
}

/** Claims of a test token; `null` leaves a claim out. Times are seconds relative to {@linkcode NOW_S}. */
export interface TokenSpec {
  iss?: string | null;
  aud?: string | string[] | null;
  sub?: string | null;
  jti?: string | null;
  expIn?: number | null;
  nbfIn?: number;
  kid?: string | null;
  alg?: string;
}

/**
 * Signs a token: by default iss/aud as expected, `sub` "worker-1", a random
 * `jti`, expiring in 10 minutes, with the key's `kid`.
 *
 * @example
 * ```ts
 * import { makeKey, sign } from "./_jwt_fixtures.ts";
 * console.log((await sign(await makeKey("ES256", "k"))).split(".").length); // 3
 * ```
 */
export async function sign(key: TestKey, spec: TokenSpec = {}): Promise<string> {
  const claims: Record<string, unknown> = { iat: NOW_S };
  const set = (name: string, value: unknown, fallback: unknown) => {
    const v = value === undefined ? fallback : value;
    if (v !== null) claims[name] = v;
  };
  set("iss", spec.iss, ISSUER);
  set("aud", spec.aud, AUDIENCE);
  set("sub", spec.sub, "worker-1");
  set("jti", spec.jti, crypto.randomUUID());
  set("exp", spec.expIn === undefined || spec.expIn === null ? spec.expIn : NOW_S + spec.expIn, NOW_S + 600);
  if (spec.nbfIn !== undefined) claims.nbf = NOW_S + spec.nbfIn;
  const kid = spec.kid === undefined ? key.kid : spec.kid;
  const header = kid === null ? { alg: spec.alg ?? key.alg } : { alg: spec.alg ?? key.alg, kid };
  return await new SignJWT(claims).setProtectedHeader(header).sign(key.privateKey);
}

/** An in-memory `claimOnce` that records every call. */
export interface MemoryClaims {
  claimOnce: (jti: string, expiresAtMs: number) => Promise<boolean>;
  calls: Array<{ jti: string; expiresAtMs: number }>;
}

/**
 * Creates an in-memory single-use store.
 *
 * @example
 * ```ts
 * import { memoryClaims } from "./_jwt_fixtures.ts";
 * const store = memoryClaims();
 * console.log(await store.claimOnce("a", 1), await store.claimOnce("a", 1)); // true false
 * ```
 */
export function memoryClaims(): MemoryClaims {
  const seen = new Set<string>();
  const calls: MemoryClaims["calls"] = [];
  return {
    calls,
    claimOnce(jti, expiresAtMs) {
      calls.push({ jti, expiresAtMs });
      if (seen.has(jti)) return Promise.resolve(false);
      seen.add(jti);
      return Promise.resolve(true);
    },
  };
}
