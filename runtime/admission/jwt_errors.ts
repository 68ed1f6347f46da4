/**
 * Turns what `jose` throws while checking a join token into the errors the
 * runtime reports (API.md §18, C-95): every problem with the token itself is
 * an `UnauthorizedError` whose message is `Cannot admit host: <reason>`; a
 * JWKS endpoint that cannot be reached is a retryable
 * `RuntimeUnavailableError`, because the token may be fine.
 *
 * @module
 */

import { RuntimeUnavailableError, UnauthorizedError } from "../../errors.ts";

/** The action every admission failure names. */
export const ADMIT_ACTION = "admit host";

/** jose error codes that come from the key lookup but are the token's fault, not the JWKS endpoint's. */
const KEY_LOOKUP_CODES: ReadonlySet<string> = new Set([
  "ERR_JWKS_NO_MATCHING_KEY",
  "ERR_JWKS_MULTIPLE_MATCHING_KEYS",
  "ERR_JOSE_NOT_SUPPORTED",
  "ERR_JOSE_ALG_NOT_ALLOWED",
]);

/**
 * Marks a failure to obtain the JWKS (network, timeout, HTTP status, bad JSON)
 * so that {@linkcode toAdmissionError} does not blame the token for it.
 *
 * @example
 * ```ts
 * import { JwksUnavailable } from "./jwt_errors.ts";
 * console.log(new JwksUnavailable(new Error("down")).name); // JwksUnavailable
 * ```
 */
export class JwksUnavailable extends Error {
  /** @param cause What the fetch threw. */
  constructor(cause: unknown) {
    super("the JWKS endpoint is unavailable", { cause });
    this.name = "JwksUnavailable";
  }
}

/**
 * Whether an error from jose's key resolver means the JWKS could not be
 * fetched (as opposed to "the token names no key we have").
 *
 * @param err What the resolver threw.
 * @returns `true` for fetch failures.
 *
 * @example
 * ```ts
 * import { isJwksFetchFailure } from "./jwt_errors.ts";
 * console.log(isJwksFetchFailure(new TypeError("fetch failed"))); // true
 * ```
 */
export function isJwksFetchFailure(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return !(typeof code === "string" && KEY_LOOKUP_CODES.has(code));
}

/**
 * Builds the `UnauthorizedError` of one admission failure.
 *
 * @param reason The reason, e.g. `"join token has already been used"`.
 * @param cause The underlying error, if any.
 * @returns `UnauthorizedError("Cannot admit host: <reason>")`.
 *
 * @example
 * ```ts
 * import { unauthorized } from "./jwt_errors.ts";
 * console.log(unauthorized("token expired").message); // Cannot admit host: token expired
 * ```
 */
export function unauthorized(reason: string, cause?: unknown): UnauthorizedError {
  return new UnauthorizedError(`Cannot ${ADMIT_ACTION}: ${reason}`, cause === undefined ? undefined : { cause });
}

/**
 * Maps anything thrown while verifying a token to the error `verify` rejects
 * with. Errors that are already Francis errors pass through unchanged.
 *
 * @param err What was thrown.
 * @returns An `UnauthorizedError`, or a `RuntimeUnavailableError` when the JWKS could not be fetched.
 *
 * @example
 * ```ts
 * import { toAdmissionError } from "./jwt_errors.ts";
 * const err = Object.assign(new Error("x"), { code: "ERR_JWT_EXPIRED" });
 * console.log(toAdmissionError(err).message); // Cannot admit host: token expired
 * ```
 */
export function toAdmissionError(err: unknown): UnauthorizedError | RuntimeUnavailableError {
  if (err instanceof UnauthorizedError || err instanceof RuntimeUnavailableError) return err;
  if (err instanceof JwksUnavailable) {
    return new RuntimeUnavailableError(`Cannot ${ADMIT_ACTION}: the JWKS endpoint is unavailable`, {
      cause: err.cause,
    });
  }
  return unauthorized(reasonOf(err), err);
}

function reasonOf(err: unknown): string {
  const { code, claim, reason } = (err ?? {}) as { code?: unknown; claim?: unknown; reason?: unknown };
  switch (code) {
    case "ERR_JWT_EXPIRED":
      return "token expired";
    case "ERR_JWT_CLAIM_VALIDATION_FAILED":
      return claimReason(claim, reason);
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
      return "bad signature";
    case "ERR_JWKS_NO_MATCHING_KEY":
      return "bad signature (no matching key in the JWKS)";
    case "ERR_JOSE_ALG_NOT_ALLOWED":
      return "algorithm not allowed";
    case "ERR_JOSE_NOT_SUPPORTED":
      return "unsupported token header";
    case "ERR_JWKS_INVALID":
    case "ERR_JWK_INVALID":
      return "the JWKS key is unusable";
    default:
      return "malformed token";
  }
}

function claimReason(claim: unknown, reason: unknown): string {
  if (reason === "missing") return `token has no "${String(claim)}" claim`;
  switch (claim) {
    case "iss":
      return "wrong issuer";
    case "aud":
      return "wrong audience";
    case "nbf":
      return reason === "check_failed" ? "token is not yet valid" : 'invalid "nbf" claim';
    default:
      return `invalid "${String(claim)}" claim`;
  }
}
