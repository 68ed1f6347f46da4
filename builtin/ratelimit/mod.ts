/**
 * Rate limit built-in (API.md §21.2): a token bucket per key, shared by every
 * host of the cluster.
 *
 * Each key is its own actor (`francis.builtin.ratelimit.<name>` / key), so the
 * single-activation guarantee makes one bucket per key cluster-wide, buckets
 * of different keys spread over the hosts and never queue behind each other,
 * and an idle key's memory is freed by the ordinary idle timeout. (One actor
 * per limiter would serialise every key through one turn queue on one host.)
 * The bucket lives in memory only: a deactivation resets it to full.
 *
 * @example
 * ```ts
 * import { createRateLimit } from "./mod.ts";
 * import { createTestHost } from "../../testing/mod.ts";
 *
 * const api = createRateLimit("api", { rate: 1, perMs: 1_000 });
 * await using host = createTestHost();
 * host.registerBuiltInActor(api);
 * await host.start();
 * const limiter = api.service(host.service);
 * console.log((await limiter.allow("client-1")).allowed); // true
 * console.log((await limiter.allow("client-1")).allowed); // false
 * ```
 *
 * @module
 */

import type { ActorContext, ActorService, BuiltInActor, CallOptions } from "../../actor/types.ts";
import { checkInt, checkName, checkOptions, checkSignal } from "../../_internal/validate.ts";
import { BUILTIN_SPEC, builtInAccess, type BuiltInSpec, builtInType } from "../../host_local/builtin.ts";

/** Options of {@linkcode createRateLimit}. */
export interface RateLimitOptions {
  /** Tokens added per `perMs` (integer ≥ 1). Required. */
  rate: number;
  /** The refill period in ms (integer ≥ 1). @default {1000} */
  perMs?: number;
  /** The bucket size: how many calls may pass at once (integer ≥ 1). @default {1} */
  burst?: number;
  /** Forget an unused key's bucket after this long (integer ≥ 1). @default {max(2 × perMs, 60000)} */
  idleTimeoutMs?: number;
}

/** The outcome of {@linkcode RateLimitService.allow}. */
export interface RateLimitResult {
  allowed: boolean;
  /** Integer ms until a token is available (rounded up); 0 when allowed. */
  retryAfterMs: number;
}

/** The typed service of a rate limit. */
export interface RateLimitService {
  /**
   * Takes a token from `key`'s bucket if one is available. Never blocks and
   * never signals throttling with an error; a refused call takes no token.
   * `key` is any non-empty string.
   */
  allow(key: string, options?: CallOptions): Promise<RateLimitResult>;
}

/** A rate limit built-in, as {@linkcode createRateLimit} returns it. */
export interface RateLimit extends BuiltInActor {
  readonly kind: "ratelimit";
  /** The typed service, usable through any host's service (client-only included). */
  service(s: ActorService): RateLimitService;
}

const ACTION = "create rate limit";
const KNOWN = new Set(["rate", "perMs", "burst", "idleTimeoutMs"]);

/**
 * Creates a rate limit. Validates synchronously (`TypeError`/`RangeError`).
 *
 * @example
 * ```ts
 * import { createRateLimit } from "./mod.ts";
 * const api = createRateLimit("api", { rate: 100, perMs: 60_000, burst: 10 });
 * console.log(api.kind, api.name); // ratelimit api
 * ```
 */
export function createRateLimit(name: string, options: RateLimitOptions): RateLimit {
  checkName(name, ACTION, "name");
  if (options === undefined) throw new TypeError(`Cannot ${ACTION}: rate is required`);
  checkOptions(options, ACTION);
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new TypeError(`Cannot ${ACTION}: unknown option ${JSON.stringify(key)}`);
  }
  if (options.rate === undefined) throw new TypeError(`Cannot ${ACTION}: rate is required`);
  const rate = checkInt(options.rate, ACTION, "rate", 1);
  const perMs = checkInt(options.perMs ?? 1_000, ACTION, "perMs", 1);
  const burst = checkInt(options.burst ?? 1, ACTION, "burst", 1);
  const idleTimeoutMs = checkInt(options.idleTimeoutMs ?? Math.max(2 * perMs, 60_000), ACTION, "idleTimeoutMs", 1);
  return new RateLimitImpl(name, { rate, perMs, burst, idleTimeoutMs });
}

class RateLimitImpl implements RateLimit {
  readonly kind = "ratelimit" as const;
  readonly name: string;
  readonly [BUILTIN_SPEC]: BuiltInSpec;
  readonly #type: string;
  readonly #services = new WeakMap<ActorService, RateLimitService>();

  constructor(name: string, o: Required<RateLimitOptions>) {
    this.name = name;
    this.#type = builtInType("ratelimit", name);
    this[BUILTIN_SPEC] = {
      registrations: [{
        actorType: this.#type,
        factory: () => new Bucket(o.rate, o.perMs, o.burst),
        options: { idleTimeoutMs: o.idleTimeoutMs },
      }],
    };
  }

  service(s: ActorService): RateLimitService {
    let svc = this.#services.get(s);
    if (svc === undefined) {
      const access = builtInAccess(s, "use rate limit");
      const type = this.#type;
      svc = {
        async allow(key: string, options?: CallOptions): Promise<RateLimitResult> {
          const action = "check rate limit";
          if (typeof key !== "string" || key === "") {
            throw new TypeError(`Cannot ${action}: key must be a non-empty string`);
          }
          checkSignal(checkOptions(options, action).signal, action)?.throwIfAborted();
          // Keys may contain "/", which actor IDs may not: the ID is the key, URI-encoded (injective).
          const result = await access.invoke<RateLimitResult | null>(
            type,
            encodeURIComponent(key),
            "allow",
            undefined,
            {
              signal: options?.signal,
            },
          );
          // null: the caller's signal aborted before the bucket was touched; the call rejected with its reason.
          options?.signal?.throwIfAborted();
          return result ?? { allowed: false, retryAfterMs: 0 };
        },
      };
      this.#services.set(s, svc);
    }
    return svc;
  }
}

/** One key's token bucket: starts full, refills continuously at `rate / perMs` tokens per ms. */
class Bucket {
  readonly #rate: number;
  readonly #perMs: number;
  readonly #burst: number;
  #tokens: number;
  #at = performance.now();

  constructor(rate: number, perMs: number, burst: number) {
    this.#rate = rate;
    this.#perMs = perMs;
    this.#burst = burst;
    this.#tokens = burst;
  }

  invoke(method: string, _data: unknown, ctx: ActorContext): RateLimitResult | null {
    if (method !== "allow") throw new TypeError(`Cannot check rate limit: unknown method ${JSON.stringify(method)}`);
    if (ctx.signal.aborted) return null; // checked before a token is consumed
    const now = performance.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#at) * this.#rate / this.#perMs);
    this.#at = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return { allowed: true, retryAfterMs: 0 };
    }
    const retryAfterMs = Math.max(1, Math.ceil((1 - this.#tokens) * this.#perMs / this.#rate));
    return { allowed: false, retryAfterMs };
  }
}
