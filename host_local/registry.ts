/**
 * Actor types registered on a host, with validated registration options.
 *
 * @module
 */

import {
  type ActorFactory,
  REGISTER_ACTOR_DEFAULTS,
  type RegisterActorOptions,
  type RegisterSingletonOptions,
} from "../actor/types.ts";
import { type Codec, encodePayload } from "../_internal/codec.ts";
import { checkInt, checkName, checkOptions } from "../_internal/validate.ts";
import { RESERVED_PREFIX } from "./names.ts";

/** Registration options after defaults. */
export type ResolvedRegisterActorOptions = Readonly<
  Required<Omit<RegisterActorOptions, "capacityGroup">> & { capacityGroup?: { name: string; limit: number } }
>;

/** One registered actor type. */
export interface ActorTypeEntry {
  readonly actorType: string;
  readonly factory: ActorFactory;
  readonly options: ResolvedRegisterActorOptions;
  /** Set for a singleton: the encoded `bootstrapData` its bootstrap receives (API.md §13). */
  readonly bootstrapData?: Uint8Array;
}

/** How a type is registered, beyond its options. */
export interface RegisterExtra {
  /** A built-in's `francis.builtin.*` type: skips the reserved-type check. */
  reserved?: boolean;
  /** Registers a singleton with this encoded bootstrap data. */
  bootstrapData?: Uint8Array;
}

const ACTION = "register actor";
const KNOWN_OPTIONS = new Set([...Object.keys(REGISTER_ACTOR_DEFAULTS), "capacityGroup"]);

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
    if (key === "bootstrapData") {
      throw new TypeError(`Cannot ${ACTION}: bootstrapData is only for singletons (use registerSingletonActor)`);
    }
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
    ...(options.capacityGroup === undefined ? {} : { capacityGroup: resolveCapacityGroup(options.capacityGroup) }),
  });
}

function resolveCapacityGroup(group: unknown): { name: string; limit: number } {
  if (typeof group !== "object" || group === null) {
    throw new TypeError(`Cannot ${ACTION}: capacityGroup must be an object with name and limit`);
  }
  const g = group as { name?: unknown; limit?: unknown };
  checkName(g.name, ACTION, "capacityGroup.name");
  return Object.freeze({
    name: g.name as string,
    limit: checkInt(g.limit, ACTION, "capacityGroup.limit", 1, 2_147_483_647),
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
  readonly #builtIns = new Set<string>();
  #sealed = false;

  /** Refuses further registrations (called by `start()`). */
  seal(): void {
    this.#sealed = true;
  }

  /** Validates and adds a type; `TypeError` on a duplicate, a reserved type or after start. */
  register(
    actorType: string,
    factory: ActorFactory,
    options: RegisterActorOptions | undefined,
    extra?: RegisterExtra,
  ): void {
    checkName(actorType, ACTION, "actorType");
    if (actorType.startsWith(RESERVED_PREFIX) && extra?.reserved !== true) {
      throw new TypeError(`Cannot ${ACTION}: actorType ${JSON.stringify(actorType)} is reserved`);
    }
    if (typeof factory !== "function") throw new TypeError(`Cannot ${ACTION}: factory must be a function`);
    if (this.#sealed) throw new TypeError(`Cannot ${ACTION}: the host has already started`);
    if (this.#types.has(actorType)) {
      throw new TypeError(`Cannot ${ACTION}: actorType ${JSON.stringify(actorType)} is already registered`);
    }
    const resolved = resolveRegisterOptions(options);
    const group = resolved.capacityGroup;
    if (group !== undefined) {
      for (const other of this.#types.values()) {
        const g = other.options.capacityGroup;
        if (g !== undefined && g.name === group.name && g.limit !== group.limit) {
          throw new TypeError(
            `Cannot ${ACTION}: capacity group ${JSON.stringify(group.name)} has limit ${g.limit} (got ${group.limit})`,
          );
        }
      }
    }
    const bootstrapData = extra?.bootstrapData;
    this.#types.set(actorType, { actorType, factory, options: resolved, ...(bootstrapData ? { bootstrapData } : {}) });
  }

  /** Validates and adds a singleton type, encoding its `bootstrapData` with `codec` (`TypeError` if it cannot). */
  registerSingleton(
    actorType: string,
    factory: ActorFactory,
    options: RegisterSingletonOptions | undefined,
    codec: Codec,
  ): void {
    const { bootstrapData, ...rest } = checkOptions(options, ACTION);
    const encoded = encodePayload(codec, bootstrapData, "bootstrap data");
    this.register(actorType, factory, options === undefined ? undefined : rest, { bootstrapData: encoded });
  }

  /** Records a built-in's kind and name; `TypeError` if it is already registered here. */
  claimBuiltIn(kind: string, name: string): void {
    if (this.#sealed) throw new TypeError("Cannot register built-in actor: the host has already started");
    const key = `${kind}/${name}`;
    if (this.#builtIns.has(key)) {
      throw new TypeError(`Cannot register built-in actor: ${kind} ${JSON.stringify(name)} is already registered`);
    }
    this.#builtIns.add(key);
  }

  /** The registered singletons. */
  singletons(): ActorTypeEntry[] {
    return this.entries().filter((e) => e.bootstrapData !== undefined);
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
