/**
 * The `ActorContext` of one turn. It is also the ambient turn record that
 * service calls made inside the handler see (`_internal/ambient.ts`).
 *
 * `signal` is created lazily: most handlers never read it, and an
 * `AbortController` per call is measurable on the hot path.
 *
 * @module
 */

import type { ActorContext, TurnKind } from "../actor/types.ts";
import type { AmbientTurn } from "../_internal/ambient.ts";

/** Fields needed to build a {@linkcode TurnContext}. */
export interface TurnContextInit {
  actorType: string;
  actorId: string;
  actorKey: string;
  kind: TurnKind;
  requestId: string;
  readOnly: boolean;
  attempt: number;
  /** Keys of the actors waiting on this turn, this actor included. */
  chain: readonly string[];
  /** The activation's halting signal. */
  halting: AbortSignal;
  /** The caller's signal; aborting it aborts `ctx.signal`. */
  callerSignal?: AbortSignal;
}

/**
 * One turn's context.
 *
 * @example
 * ```ts
 * import { TurnContext } from "./turn_context.ts";
 * const ctx = new TurnContext({
 *   actorType: "t", actorId: "a", actorKey: "t/a", kind: "invoke", requestId: "r", readOnly: false,
 *   attempt: 1, chain: ["t/a"], halting: new AbortController().signal,
 * });
 * ctx.abort(new Error("stop"));
 * console.log(ctx.signal.aborted); // true
 * ```
 */
export class TurnContext implements ActorContext, AmbientTurn {
  readonly actorType: string;
  readonly actorId: string;
  readonly actorKey: string;
  readonly kind: TurnKind;
  readonly requestId: string;
  readonly readOnly: boolean;
  readonly attempt: number;
  readonly chain: readonly string[];
  readonly halting: AbortSignal;
  settled = false;
  #callerSignal: AbortSignal | undefined;
  #controller: AbortController | undefined;
  #abortReason: unknown = undefined;
  #aborted = false;
  #onCallerAbort: (() => void) | undefined;

  constructor(init: TurnContextInit) {
    this.actorType = init.actorType;
    this.actorId = init.actorId;
    this.actorKey = init.actorKey;
    this.kind = init.kind;
    this.requestId = init.requestId;
    this.readOnly = init.readOnly;
    this.attempt = init.attempt;
    this.chain = init.chain;
    this.halting = init.halting;
    this.#callerSignal = init.callerSignal;
  }

  /** Aborts when the caller aborts or the framework ends the turn's grace. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      const controller = new AbortController();
      this.#controller = controller;
      const caller = this.#callerSignal;
      if (this.#aborted) controller.abort(this.#abortReason);
      else if (caller !== undefined) {
        if (caller.aborted) controller.abort(caller.reason);
        else {
          this.#onCallerAbort = () => controller.abort(caller.reason);
          caller.addEventListener("abort", this.#onCallerAbort, { once: true });
        }
      }
    }
    return this.#controller.signal;
  }

  /** Detaches from the caller's signal once the turn ended, so long-lived signals do not collect listeners. */
  dispose(): void {
    if (this.#onCallerAbort !== undefined) {
      this.#callerSignal?.removeEventListener("abort", this.#onCallerAbort);
      this.#onCallerAbort = undefined;
    }
  }

  /** Aborts `signal` with `reason` (grace period over, deadline). */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#abortReason = reason;
    this.#controller?.abort(reason);
  }
}
