/**
 * The actors active on one host: activation, turns, idle deactivation and the
 * halt sequence of API.md §12.3.
 *
 * Invariants:
 * - at most one {@linkcode Activation} per actor key is in the table;
 * - an activation leaves the table only after its turns drained, `deactivate`
 *   ran and its placement was removed, so a concurrent call meets the halting
 *   activation (and retries) instead of creating a second one.
 *
 * @module
 */

import type { Actor, ActorService, Logger, TurnKind } from "../actor/types.ts";
import { ActivationFailedError, ActorHaltedError, DeadlineExceededError } from "../errors.ts";
import { TurnLock } from "../_internal/turn_lock.ts";
import { runInTurn } from "../_internal/ambient.ts";
import { errorMessage } from "../_internal/logger.ts";
import { TurnContext } from "./turn_context.ts";
import type { ActorTypeEntry } from "./registry.ts";

/** The longest delay `setTimeout` honours. */
const MAX_TIMER_MS = 2_147_483_647;

/** What the table needs from its host. */
export interface ActorTableDeps {
  service: ActorService;
  logger: Logger;
  shutdownGracePeriodMs: number;
  /** Removes the placement record once an actor is deactivated. */
  removePlacement(actorType: string, actorId: string): Promise<void>;
}

/** One activation of one actor on this host. */
export class Activation {
  readonly key: string;
  readonly actorType: string;
  readonly actorId: string;
  readonly entry: ActorTypeEntry;
  readonly lock: TurnLock = new TurnLock();
  readonly haltingController: AbortController = new AbortController();
  /** Settles when the factory has run; rejects with `ActivationFailedError`. */
  ready!: Promise<Actor>;
  instance: Actor | undefined;
  halting = false;
  /** Resolves once the halt sequence completed. */
  haltDone: Promise<void> | undefined;
  lastTurnEnd = Date.now();
  deferredHalt = false;
  idleTimer: ReturnType<typeof setTimeout> | undefined;
  idleRecheck = false;
  readonly running: Set<TurnContext> = new Set();

  constructor(entry: ActorTypeEntry, actorId: string, key: string) {
    this.entry = entry;
    this.actorType = entry.actorType;
    this.actorId = actorId;
    this.key = key;
  }
}

/** Builds the `"<type>/<id>"` key used throughout a host. */
export function actorKey(actorType: string, actorId: string): string {
  return `${actorType}/${actorId}`;
}

/**
 * The table of active actors.
 *
 * @example
 * ```ts ignore
 * const act = table.activate(entry, "c1");
 * await table.halt(act);
 * ```
 */
export class ActorTable {
  readonly #actors = new Map<string, Activation>();
  readonly #deps: ActorTableDeps;

  constructor(deps: ActorTableDeps) {
    this.#deps = deps;
  }

  /** Number of activations in the table (halting ones included). */
  get size(): number {
    return this.#actors.size;
  }

  /** The activation of `key`, if any (it may be halting). */
  get(key: string): Activation | undefined {
    return this.#actors.get(key);
  }

  /** Every activation currently in the table. */
  all(): Activation[] {
    return [...this.#actors.values()];
  }

  /** Creates the activation and runs the factory; the caller checked that none exists. */
  activate(entry: ActorTypeEntry, actorId: string): Activation {
    const key = actorKey(entry.actorType, actorId);
    const act = new Activation(entry, actorId, key);
    this.#actors.set(key, act);
    // Arm first: a factory that throws synchronously clears the timer again in #runFactory.
    this.#armIdle(act, entry.options.idleTimeoutMs);
    act.ready = this.#runFactory(act);
    // The failure is reported to every caller through `ready`; avoid an unhandled rejection here.
    act.ready.catch(() => {});
    return act;
  }

  async #runFactory(act: Activation): Promise<Actor> {
    const ambient = {
      actorKey: act.key,
      chain: [act.key],
      readOnly: false,
      signal: undefined,
      settled: false,
    };
    try {
      const instance = await runInTurn(ambient, () => act.entry.factory(act.actorId, this.#deps.service));
      if (typeof instance !== "object" || instance === null) {
        throw new TypeError(`factory returned ${instance === null ? "null" : typeof instance}, not an object`);
      }
      act.instance = instance;
      return instance;
    } catch (err) {
      // The failed activation stays in the table, halting, until its placement is gone: a call arriving
      // meanwhile waits and then retries (running the factory again) instead of racing the removal.
      clearTimeout(act.idleTimer);
      act.halting = true;
      act.lock.close(new ActorHaltedError(`Actor "${act.key}" failed to activate`));
      act.haltDone = this.#deps.removePlacement(act.actorType, act.actorId).catch(() => {}).then(() => {
        if (this.#actors.get(act.key) === act) this.#actors.delete(act.key);
      });
      throw new ActivationFailedError(`Cannot activate actor "${act.key}": ${errorMessage(err)}`, { cause: err });
    } finally {
      ambient.settled = true;
    }
  }

  /** Starts a turn's bookkeeping; pair with {@linkcode endTurn}. */
  beginTurn(act: Activation, init: {
    kind: TurnKind;
    requestId: string;
    readOnly: boolean;
    attempt: number;
    chain: readonly string[];
    callerSignal?: AbortSignal;
  }): TurnContext {
    const ctx = new TurnContext({
      actorType: act.actorType,
      actorId: act.actorId,
      actorKey: act.key,
      halting: act.haltingController.signal,
      ...init,
    });
    act.running.add(ctx);
    return ctx;
  }

  /** Ends a turn: releases the lock, records the time, runs a deferred halt. */
  endTurn(act: Activation, ctx: TurnContext, shared: boolean): void {
    ctx.settled = true;
    act.running.delete(ctx);
    act.lastTurnEnd = Date.now();
    ctx.dispose();
    if (act.deferredHalt && !act.halting) {
      // The halt starts when the requesting turn ends. It closes the lock before this turn releases it,
      // so queued calls are not granted here: they wait for the halt, retry and re-activate.
      this.halt(act).catch((err) => this.#deps.logger.error("Deferred halt failed", { actor: act.key, err }));
    }
    act.lock.release(shared);
    if (act.idleRecheck && !act.halting && !act.lock.busy) {
      act.idleRecheck = false;
      this.#armIdle(act, act.entry.options.idleTimeoutMs);
    }
  }

  #armIdle(act: Activation, ms: number): void {
    if (!Number.isFinite(act.entry.options.idleTimeoutMs) || act.halting) return;
    clearTimeout(act.idleTimer);
    // Timers cap at 2^31-1 ms; a longer idle timeout re-arms for the remainder when this one fires.
    act.idleTimer = setTimeout(() => this.#onIdleTimer(act), Math.min(ms, MAX_TIMER_MS));
  }

  #onIdleTimer(act: Activation): void {
    act.idleTimer = undefined;
    // A failed activation has left the table; halting it would remove a newer activation's placement.
    if (act.halting || this.#actors.get(act.key) !== act) return;
    if (act.lock.busy) {
      // Never idle out a running turn: check again when the turns end.
      act.idleRecheck = true;
      return;
    }
    const idle = act.entry.options.idleTimeoutMs;
    const remaining = act.lastTurnEnd + idle - Date.now();
    if (remaining > 0) return this.#armIdle(act, remaining);
    this.halt(act).catch((err) => this.#deps.logger.error("Idle deactivation failed", { actor: act.key, err }));
  }

  /**
   * Runs the halt sequence once; concurrent calls share it.
   * 1. mark halting, abort `ctx.halting`, refuse queued and new turns;
   * 2. let running turns finish, aborting their signal after the grace period;
   * 3. run `deactivate`, bounded by `deactivationTimeoutMs`;
   * 4. remove the placement, then leave the table.
   */
  halt(act: Activation): Promise<void> {
    if (act.haltDone) return act.haltDone;
    act.halting = true;
    clearTimeout(act.idleTimer);
    act.haltingController.abort(new ActorHaltedError(`Actor "${act.key}" is halting`));
    act.lock.close(new ActorHaltedError(`Actor "${act.key}" is halting`));
    act.haltDone = this.#haltSequence(act);
    return act.haltDone;
  }

  async #haltSequence(act: Activation): Promise<void> {
    const grace = setTimeout(() => {
      for (const ctx of act.running) {
        ctx.abort(new ActorHaltedError(`Actor "${act.key}" did not finish within the shutdown grace period`));
      }
    }, this.#deps.shutdownGracePeriodMs);
    try {
      await act.lock.whenIdle();
    } finally {
      clearTimeout(grace);
    }
    const instance = await act.ready.catch(() => undefined);
    if (instance !== undefined && typeof instance.deactivate === "function") await this.#deactivate(act, instance);
    try {
      await this.#deps.removePlacement(act.actorType, act.actorId);
    } catch (err) {
      this.#deps.logger.warn("Cannot remove placement after deactivation", { actor: act.key, err: errorMessage(err) });
    }
    if (this.#actors.get(act.key) === act) this.#actors.delete(act.key);
  }

  async #deactivate(act: Activation, instance: Actor): Promise<void> {
    const ctx = new TurnContext({
      actorType: act.actorType,
      actorId: act.actorId,
      actorKey: act.key,
      kind: "deactivate",
      requestId: "",
      readOnly: false,
      attempt: 1,
      chain: [act.key],
      halting: act.haltingController.signal,
    });
    const timeoutMs = act.entry.options.deactivationTimeoutMs;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    const run = (async () => {
      try {
        await runInTurn(ctx, () => instance.deactivate!(ctx));
      } catch (err) {
        this.#deps.logger.warn("Actor deactivate() failed", { actor: act.key, err: errorMessage(err) });
      } finally {
        ctx.settled = true;
      }
    })();
    const outcome = await Promise.race([run, timeout]);
    clearTimeout(timer);
    if (outcome === "timeout") {
      ctx.abort(new DeadlineExceededError(`Actor "${act.key}" deactivate() exceeded ${timeoutMs} ms`));
      this.#deps.logger.warn("Actor deactivate() timed out", { actor: act.key, timeoutMs });
    }
  }
}
