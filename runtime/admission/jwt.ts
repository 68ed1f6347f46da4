/**
 * Join-token verification for the JWT bootstrap (API.md §18, C-95). A token
 * is admitted when, in this order:
 *
 * 1. it is a compact JWS of at most 16 KiB whose `alg` is one of
 *    {@linkcode JWT_ALGORITHMS} (never `none` or `HS*`; checked before any key lookup);
 * 2. its signature verifies under a key of the JWKS;
 * 3. `iss` and `aud` match, `exp` is present and not past, `nbf` (if any) is
 *    reached, each with a leeway of 60 s;
 * 4. if it has a `jti`: `exp` is at most 1 h (plus the leeway) away, and
 *    `claimOnce(jti, …)` grants it. The claim is asked for last, so a token
 *    that fails any other check never burns its `jti`.
 *
 * **Why `exp` is always required:** Go Francis parses with
 * `WithExpirationRequired`; a join token that never expires is a standing
 * credential.
 *
 * **Remote JWKS (`jwksUrl`), jose's caching semantics.** The set is fetched
 * on the first `verify` (not at creation) and kept. It is fetched again,
 * inline with a `verify`, when (a) it is older than `cacheMaxAge` (10 min), or
 * (b) a token names a key the set lacks and the last fetch is older than the
 * `cooldownDuration` (30 s) — so a rotated-in key is picked up on first use,
 * while unknown-`kid` tokens can trigger at most one fetch per 30 s.
 * Concurrent verifies share one in-flight fetch. Each fetch times out after
 * 5 s, does not follow redirects and needs `200` with JSON. jose starts no
 * timer between fetches, so there is nothing to stop (`close()` only refuses
 * further use). A failed fetch rejects that `verify` with the retryable
 * `RuntimeUnavailableError` (the token may be fine), not `UnauthorizedError`.
 *
 * @module
 */

import { createLocalJWKSet, createRemoteJWKSet, customFetch, decodeProtectedHeader, jwtVerify } from "jose";
import type { JWTPayload, JWTVerifyGetKey, JWTVerifyOptions } from "jose";
import { describe, typeName } from "../../_internal/validate.ts";
import { isJwksFetchFailure, JwksUnavailable, toAdmissionError, unauthorized } from "./jwt_errors.ts";

/** The signing algorithms a join token may use (API.md §18). */
export const JWT_ALGORITHMS: readonly string[] = Object.freeze([
  "RS256",
  "RS384",
  "RS512",
  "ES256",
  "ES384",
  "ES512",
  "PS256",
  "PS384",
  "PS512",
  "EdDSA",
]);
/** Clock leeway for `exp`, `nbf` and the `jti` lifetime, seconds (API.md §24). */
export const JWT_LEEWAY_SECONDS = 60;
/** Longest lifetime (`exp` − now) of a token with a `jti`, seconds (API.md §24). */
export const JWT_MAX_JTI_LIFETIME_SECONDS = 3600;
/** Longest token accepted, characters. */
export const JWT_MAX_TOKEN_CHARS = 16384;

/** Options of {@linkcode createJwtVerifier}; exactly one of `jwksUrl` / `staticJwks`. */
export interface JwtVerifierOptions {
  /** The required `iss`. */
  issuer: string;
  /** The required `aud` (a token's `aud` may be an array that contains it). */
  audience: string;
  /** An `http:` or `https:` JWKS URL, fetched and cached by jose (see the module notes). */
  jwksUrl?: string;
  /** A JWKS as a JSON string (`{"keys":[…]}`), public keys only. */
  staticJwks?: string;
  /**
   * Single-use check, shared by every replica (store-backed): atomically
   * records `jti` and resolves `true` the first time, `false` ever after.
   * `expiresAtMs` (epoch ms, `exp` + leeway) is when the record may be purged:
   * past it, the token fails the `exp` check anyway. A rejection propagates
   * unchanged from `verify` (a store failure is not the token's fault).
   */
  claimOnce: (jti: string, expiresAtMs: number) => Promise<boolean>;
  /** Clock, epoch ms. Default `Date.now`. */
  now?: () => number;
}

/** What an admitted token says. */
export interface VerifiedJoinToken {
  /** `sub`, when it is a string: the host's platform identity. */
  subject?: string;
  /** `jti`, when present (it has then been claimed). */
  jti?: string;
  /** `exp`, epoch ms. */
  expiresAt: number;
}

/** Checks join tokens; see {@linkcode createJwtVerifier}. */
export interface JwtVerifier {
  /**
   * Verifies one token. Rejects with `UnauthorizedError`
   * (`Cannot admit host: <reason>`) for any bad token, with
   * `RuntimeUnavailableError` when the remote JWKS cannot be fetched, with
   * whatever `claimOnce` rejects with, and with `TypeError` after `close()`.
   */
  verify(token: string): Promise<VerifiedJoinToken>;
  /** Refuses further use. Idempotent; nothing else needs releasing. */
  close(): void;
}

/**
 * Creates a join-token verifier (the runtime's `bootstrap.jwt` settings).
 *
 * @param options Issuer, audience, key source and the single-use check.
 * @returns The verifier.
 * @throws {TypeError} On a missing or malformed option, or both/neither key sources.
 *
 * @example
 * ```ts
 * import { exportJWK, generateKeyPair, SignJWT } from "jose";
 * import { createJwtVerifier } from "./jwt.ts";
 *
 * const { publicKey, privateKey } = await generateKeyPair("ES256");
 * const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: "k1" }] });
 * const used = new Set<string>();
 * const verifier = createJwtVerifier({
 *   issuer: "https://issuer.example", audience: "francis", staticJwks: jwks,
 *   claimOnce: (jti) => Promise.resolve(!used.has(jti) && !!used.add(jti)),
 * });
 * const token = await new SignJWT({ sub: "worker-1" }).setProtectedHeader({ alg: "ES256", kid: "k1" })
 *   .setIssuer("https://issuer.example").setAudience("francis").setJti(crypto.randomUUID())
 *   .setIssuedAt().setExpirationTime("10m").sign(privateKey);
 * console.log((await verifier.verify(token)).subject); // worker-1
 * ```
 */
export function createJwtVerifier(options: JwtVerifierOptions): JwtVerifier {
  const action = "create JWT verifier";
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`Cannot ${action}: options must be an object (got ${typeName(options)})`);
  }
  const { issuer, audience, jwksUrl, staticJwks, claimOnce, now = Date.now } = options;
  for (const [field, value] of [["issuer", issuer], ["audience", audience]] as const) {
    if (typeof value !== "string" || value === "") {
      throw new TypeError(`Cannot ${action}: ${field} must be a non-empty string (got ${describe(value)})`);
    }
  }
  if (typeof claimOnce !== "function") {
    throw new TypeError(`Cannot ${action}: claimOnce must be a function (got ${typeName(claimOnce)})`);
  }
  if (typeof now !== "function") throw new TypeError(`Cannot ${action}: now must be a function (got ${typeName(now)})`);
  if ((jwksUrl === undefined) === (staticJwks === undefined)) {
    throw new TypeError(`Cannot ${action}: exactly one of jwksUrl and staticJwks is required`);
  }
  const getKey = jwksUrl !== undefined ? remoteKeys(jwksUrl, action) : staticKeys(staticJwks, action);
  const verifyOptions = { issuer, audience, algorithms: [...JWT_ALGORITHMS], requiredClaims: ["exp"] };
  let closed = false;

  async function verify(token: string): Promise<VerifiedJoinToken> {
    if (closed) throw new TypeError("Cannot verify join token: the verifier is closed");
    if (typeof token !== "string" || token === "") throw unauthorized("no token");
    if (token.length > JWT_MAX_TOKEN_CHARS) throw unauthorized("token is too large");
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch (err) {
      throw unauthorized("malformed token", err);
    }
    if (typeof alg !== "string" || !JWT_ALGORITHMS.includes(alg)) throw unauthorized("algorithm not allowed");
    const nowMs = now();
    const payload = await checkToken(token, getKey, {
      ...verifyOptions,
      clockTolerance: JWT_LEEWAY_SECONDS,
      currentDate: new Date(nowMs),
    });
    const exp = payload.exp as number; // present (requiredClaims) and numeric (jose checks it)
    const subject = typeof payload.sub === "string" ? payload.sub : undefined;
    if (payload.jti === undefined) return { subject, expiresAt: exp * 1000 };
    const jti = payload.jti;
    if (typeof jti !== "string" || jti === "") throw unauthorized('invalid "jti" claim');
    if (exp * 1000 - nowMs > (JWT_MAX_JTI_LIFETIME_SECONDS + JWT_LEEWAY_SECONDS) * 1000) {
      throw unauthorized("token lifetime exceeds 1 h");
    }
    if (!(await claimOnce(jti, (exp + JWT_LEEWAY_SECONDS) * 1000))) {
      throw unauthorized("join token has already been used");
    }
    return { subject, jti, expiresAt: exp * 1000 };
  }

  return {
    verify,
    close(): void {
      closed = true;
    },
  };
}

/** Signature and claims; tries every candidate key when a `kid`-less token matches several. */
async function checkToken(
  token: string,
  getKey: JWTVerifyGetKey,
  options: JWTVerifyOptions,
): Promise<JWTPayload> {
  try {
    return (await jwtVerify(token, getKey, options)).payload;
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    if (code !== "ERR_JWKS_MULTIPLE_MATCHING_KEYS" || !(Symbol.asyncIterator in (err as object))) {
      throw toAdmissionError(err);
    }
    let last: unknown = err;
    for await (const key of err as AsyncIterable<CryptoKey>) {
      try {
        return (await jwtVerify(token, key, options)).payload;
      } catch (inner) {
        last = inner;
        if ((inner as { code?: unknown })?.code !== "ERR_JWS_SIGNATURE_VERIFICATION_FAILED") break;
      }
    }
    throw toAdmissionError(last);
  }
}

function staticKeys(staticJwks: unknown, action: string): JWTVerifyGetKey {
  if (typeof staticJwks !== "string") {
    throw new TypeError(`Cannot ${action}: staticJwks must be a JSON string (got ${typeName(staticJwks)})`);
  }
  try {
    return createLocalJWKSet(JSON.parse(staticJwks));
  } catch (cause) {
    throw new TypeError(`Cannot ${action}: staticJwks must be a JSON Web Key Set ({"keys":[…]})`, { cause });
  }
}

function remoteKeys(jwksUrl: unknown, action: string): JWTVerifyGetKey {
  const url = typeof jwksUrl === "string" && URL.canParse(jwksUrl) ? new URL(jwksUrl) : undefined;
  if (url === undefined || (url.protocol !== "https:" && url.protocol !== "http:")) {
    throw new TypeError(`Cannot ${action}: jwksUrl must be an http: or https: URL (got ${describe(jwksUrl)})`);
  }
  const remote = createRemoteJWKSet(url, { [customFetch]: drainingFetch });
  return async (header, token) => {
    try {
      return await remote(header, token);
    } catch (err) {
      throw isJwksFetchFailure(err) ? new JwksUnavailable(err) : err;
    }
  };
}

/**
 * `fetch` for jose's remote JWKS: jose rejects a non-200 answer without
 * reading it, which would leave the response body open, so it is released here.
 */
async function drainingFetch(input: string, init: RequestInit): Promise<Response> {
  const response = await fetch(input, init);
  if (response.status === 200) return response;
  await response.body?.cancel().catch(() => {});
  return new Response(null, { status: response.status >= 200 && response.status <= 599 ? response.status : 502 });
}
