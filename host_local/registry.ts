/**
 * Actor types registered on a host, with validated registration options.
 *
 * @module
 */

import { type ActorFactory, REGISTER_ACTOR_DEFAULTS, type RegisterActorOptions } from "../actor/types.ts";
import { checkInt, checkName, checkOptions } from "../_internal/validate.ts";
import { RESERVED_PREFIX } from "./names.ts";

/** Registration options after defaults. */
export type ResolvedRegisterActorOptions = Readonly<Required<RegisterActorOptions>>;

/** One registered actor type. */
export interface ActorTypeEntry {
  readonly actorType: string;
  readonly factory: ActorFactory;
  readonly options: ResolvedRegisterActorOptions;
}

const ACTION = "register actor";
const KNOWN_OPTIONS = new Set(Object.keys(REGISTER_ACTOR_DEFAULTS));

/**
 * Validates registration options (API.md §12.1), throwing `TypeError` or
 * `RangeError`. Nothing is clamped.
 *
 * @example
 * ```ts
 * import { resolveRegisterOptions } from "./registry.ts";
 * console.log(resolveRegisterOptions({ idleTimeoutMs: Infinity }).idleTimeoutMs); // Infinity
 * ```
 */
export function resolveRegisterOptions(options: RegisterActorOptions | undefined): ResolvedRegisterActorOptions {
  if (options === undefined) return REGISTER_ACTOR_DEFAULTS;
  checkOptions(options, ACTION);
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) {
      throw new TypeError(`Cannot ${ACTION}: unknown option ${JSON.stringify(key)}`);
    }
  }
  const d = REGISTER_ACTOR_DEFAULTS;
  return Object.freeze({
    idleTimeoutMs: checkInt(options.idleTimeoutMs ?? d.idleTimeoutMs, ACTION, "idleTimeoutMs", 1, undefined, {
      allowInfinity: true,
    }),
    deactivationTimeoutMs: checkInt(
      options.deactivationTimeoutMs ?? d.deactivationTimeoutMs,
      ACTION,
      "deactivationTimeoutMs",
      1,
      2_147_483_647,
    ),
    concurrencyLimit: checkInt(
      options.concurrencyLimit ?? d.concurrencyLimit,
      ACTION,
      "concurrencyLimit",
      0,
      2147483647,
    ),
    maxAttempts: checkInt(options.maxAttempts ?? d.maxAttempts, ACTION, "maxAttempts", 1),
    initialRetryDelayMs: checkInt(
      options.initialRetryDelayMs ?? d.initialRetryDelayMs,
      ACTION,
      "initialRetryDelayMs",
      1,
    ),
  });
}

/**
 * The registered types of one host.
 *
 * @example
 * ```ts
 * import { ActorRegistry } from "./registry.ts";
 * const r = new ActorRegistry();
 * r.register("counter", () => ({}), undefined);
 * console.log(r.get("counter")?.options.maxAttempts); // 3
 * ```
 */
export class ActorRegistry {
  readonly #types = new Map<string, ActorTypeEntry>();
  #sealed = false;

  /** Refuses further registrations (called by `start()`). */
  seal(): void {
    this.#sealed = true;
  }

  /** Validates and adds a type; `TypeError` on a duplicate, a reserved type or after start. */
  register(actorType: string, factory: ActorFactory, options: RegisterActorOptions | undefined): void {
    checkName(actorType, ACTION, "actorType");
    if (actorType.startsWith(RESERVED_PREFIX)) {
      throw new TypeError(`Cannot ${ACTION}: actorType ${JSON.stringify(actorType)} is reserved`);
    }
    if (typeof factory !== "function") throw new TypeError(`Cannot ${ACTION}: factory must be a function`);
    if (this.#sealed) throw new TypeError(`Cannot ${ACTION}: the host has already started`);
    if (this.#types.has(actorType)) {
      throw new TypeError(`Cannot ${ACTION}: actorType ${JSON.stringify(actorType)} is already registered`);
    }
    this.#types.set(actorType, { actorType, factory, options: resolveRegisterOptions(options) });
  }

  /** The entry of `actorType`, if registered here. */
  get(actorType: string): ActorTypeEntry | undefined {
    return this.#types.get(actorType);
  }

  /** Every registered entry. */
  entries(): ActorTypeEntry[] {
    return [...this.#types.values()];
  }
}
