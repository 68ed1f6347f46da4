/**
 * Validation of call targets shared by the service and the client: names
 * (API.md §1.4) and reserved `francis.builtin.*` types and methods (§6.2).
 *
 * @module
 */

import { ActorTypeReservedError, MethodReservedError } from "../errors.ts";
import { checkName } from "../_internal/validate.ts";

/** Types and methods starting with this prefix belong to Francis. */
export const RESERVED_PREFIX = "francis.builtin.";

/**
 * Validates an actor type and ID for `action`; throws `TypeError` for a bad
 * name and `ActorTypeReservedError` for a reserved type.
 *
 * @example
 * ```ts
 * import { checkTarget } from "./names.ts";
 * checkTarget("invoke actor", "counter", "c1");
 * ```
 */
export function checkTarget(action: string, actorType: unknown, actorId: unknown): void {
  checkType(action, actorType);
  checkName(actorId, action, "actorId");
}

/**
 * Validates an actor type for `action`; throws `TypeError` for a bad name and
 * `ActorTypeReservedError` for a reserved type.
 *
 * @example
 * ```ts
 * import { checkType } from "./names.ts";
 * checkType("list states", "counter");
 * ```
 */
export function checkType(action: string, actorType: unknown): void {
  checkName(actorType, action, "actorType");
  if ((actorType as string).startsWith(RESERVED_PREFIX)) {
    throw new ActorTypeReservedError(`Cannot ${action}: actorType ${JSON.stringify(actorType)} is reserved`);
  }
}

/**
 * Validates a method name: any string, except reserved ones.
 *
 * @example
 * ```ts
 * import { checkMethod } from "./names.ts";
 * checkMethod("invoke actor", "increment");
 * ```
 */
export function checkMethod(action: string, method: unknown): void {
  if (typeof method !== "string") {
    throw new TypeError(`Cannot ${action}: method must be a string (got ${typeof method})`);
  }
  if (method.startsWith(RESERVED_PREFIX)) {
    throw new MethodReservedError(`Cannot ${action}: method ${JSON.stringify(method)} is reserved`);
  }
}
