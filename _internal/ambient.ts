/**
 * The ambient turn: which actor turn, if any, the current async call tree
 * belongs to (API.md §5.3). Service and client calls read it to apply the
 * turn's default signal, its call chain (re-entrancy) and its read-only rule.
 *
 * `node:async_hooks` is available in Deno and Node and loads no driver or
 * networking code, so the core stays portable.
 *
 * @module
 */

import { AsyncLocalStorage } from "node:async_hooks";

/** What a turn exposes to calls made inside it. */
export interface AmbientTurn {
  /** `"<type>/<id>"` of the actor running the turn. */
  readonly actorKey: string;
  /** Keys of every actor waiting on this turn, the running actor included. */
  readonly chain: readonly string[];
  readonly readOnly: boolean;
  /** The turn's `ctx.signal`, the default signal for calls inside it. */
  readonly signal: AbortSignal | undefined;
  /** True once the handler settled; attribution then ends. */
  settled: boolean;
}

const storage = new AsyncLocalStorage<AmbientTurn>();

/**
 * Runs `fn` with `turn` as the ambient turn.
 *
 * @example
 * ```ts
 * import { currentTurn, runInTurn } from "./ambient.ts";
 * const turn = { actorKey: "a/1", chain: ["a/1"], readOnly: false, signal: undefined, settled: false };
 * runInTurn(turn, () => console.log(currentTurn()?.actorKey)); // a/1
 * ```
 */
export function runInTurn<T>(turn: AmbientTurn, fn: () => T): T {
  return storage.run(turn, fn);
}

/**
 * The ambient turn of the caller, or `undefined` outside any turn or after the
 * turn's handler settled.
 *
 * @example
 * ```ts
 * import { currentTurn } from "./ambient.ts";
 * console.log(currentTurn()); // undefined
 * ```
 */
export function currentTurn(): AmbientTurn | undefined {
  const turn = storage.getStore();
  return turn === undefined || turn.settled ? undefined : turn;
}
