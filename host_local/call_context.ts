/**
 * The checks every `ActorService` method starts with: the target, the options
 * and signal, whether the host runs, the ambient turn (default signal, call
 * chain) and the read-only rule of peeks.
 *
 * @module
 */

import { type AmbientTurn, currentTurn } from "../_internal/ambient.ts";
import { checkName, checkOptions, checkSignal } from "../_internal/validate.ts";
import { HostNotRunningError, ReadOnlyError, ReentrantCallError } from "../errors.ts";
import type { BuiltInCallOptions } from "./builtin.ts";
import { checkTarget } from "./names.ts";

/**
 * Validates a target; reserved types are refused unless the call is internal (a built-in's).
 *
 * @example
 * ```ts
 * import { checkCallTarget } from "./call_context.ts";
 * checkCallTarget("get state", "counter", "c1", false); // ok: no throw
 * ```
 */
export function checkCallTarget(action: string, actorType: unknown, actorId: unknown, internal: boolean): void {
  if (!internal) return checkTarget(action, actorType, actorId);
  checkName(actorType, action, "actorType");
  checkName(actorId, action, "actorId");
}

/**
 * Checks the options and that the host runs; returns the ambient turn (unless
 * `detached`) and the signal to use (the caller's, else the turn's).
 *
 * @example
 * ```ts
 * import { beginCall } from "./call_context.ts";
 * console.log(beginCall(() => true, "get state", undefined).turn); // undefined (not inside a turn)
 * ```
 */
export function beginCall(
  running: () => boolean,
  action: string,
  options: BuiltInCallOptions | undefined,
): { turn: AmbientTurn | undefined; signal?: AbortSignal } {
  const signal = checkSignal(checkOptions(options, action).signal, action);
  if (!running()) throw new HostNotRunningError(`Cannot ${action}: the host is not running`);
  const turn = options?.detached === true ? undefined : currentTurn();
  return { turn, signal: signal ?? turn?.signal };
}

/**
 * Refuses a mutation from a read-only turn (a peek).
 *
 * @example
 * ```ts
 * import { refuseReadOnly } from "./call_context.ts";
 * refuseReadOnly("set state", undefined); // ok outside a turn
 * ```
 */
export function refuseReadOnly(action: string, turn: AmbientTurn | undefined): void {
  if (turn?.readOnly) throw new ReadOnlyError(`Cannot ${action}: the current turn is read-only`);
}

/**
 * Refuses a call to `key` (an actor key) while that actor waits in the ambient
 * turn's call chain (a re-entrant call would deadlock).
 *
 * @example
 * ```ts
 * import { refuseReentrant } from "./call_context.ts";
 * refuseReentrant("invoke actor", undefined, "counter/c1"); // ok outside a turn
 * ```
 */
export function refuseReentrant(action: string, turn: AmbientTurn | undefined, key: string): void {
  if (turn !== undefined && turn.chain.includes(key)) {
    throw new ReentrantCallError(`Cannot ${action}: "${key}" is already waiting in this call chain`);
  }
}
