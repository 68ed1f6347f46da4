/**
 * The signal actor: one per signal ID (`francis.builtin.signal.<name>` / ID).
 *
 * Every method runs in a **shared** turn (`peek`), never an exclusive one:
 * - `wait` holds its turn open until the signal completes, the hold time
 *   passes, the caller gives up or the actor starts halting. A held turn is a
 *   running turn, so an actor with waiters is never idled out, and a halt
 *   ends every hold at once (the waiters then ask again and meet the next
 *   activation).
 * - `complete` must not queue behind those holds, so it is shared as well; the
 *   actor serialises completions itself (one activation, one JS thread) and
 *   writes its own state through the built-in access, which allows writes in
 *   a shared turn. It persists the completion first, then releases the holds.
 *
 * @module
 */

import type { ActorContext, ActorService } from "../../actor/types.ts";
import { isFrancisError } from "../../errors.ts";
import { type BuiltInAccess, builtInAccess } from "../../host_local/builtin.ts";

/** The stored state of a completed signal. */
export interface Completion {
  /** Completion time, epoch ms. */
  at: number;
  data?: unknown;
}

/** The reply to a `wait` call: `done: false` means "ask again". */
export type WaitReply = { done: true; data?: unknown } | { done: false };

/**
 * The actor behind one signal ID.
 *
 * @example
 * ```ts ignore
 * factory: (id, service) => new SignalActor(type, id, service, 86_400_000)
 * ```
 */
export class SignalActor {
  readonly #type: string;
  readonly #id: string;
  readonly #access: BuiltInAccess;
  readonly #retentionMs: number;
  #loaded: Promise<Completion | undefined> | undefined;
  #pending: PromiseWithResolvers<Completion> | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(type: string, id: string, service: ActorService, retentionMs: number) {
    this.#type = type;
    this.#id = id;
    this.#access = builtInAccess(service, "create signal actor");
    this.#retentionMs = retentionMs;
  }

  peek(method: string, data: unknown, ctx: ActorContext): Promise<WaitReply | { ok: boolean }> {
    if (method === "wait") return this.#wait((data as { holdMs?: number } | undefined)?.holdMs ?? 0, ctx);
    if (method === "complete") {
      const run = this.#queue.then(() => this.#complete(data));
      this.#queue = run.catch(() => {});
      return run;
    }
    return Promise.reject(new TypeError(`Cannot use signal: unknown method ${JSON.stringify(method)}`));
  }

  /** The completion within retention, reading the store once per activation. */
  async #current(): Promise<Completion | undefined> {
    const loading = this.#loaded ??= this.#load();
    let c: Completion | undefined;
    try {
      c = await loading;
    } catch (err) {
      if (this.#loaded === loading) this.#loaded = undefined; // a transient failure: read again next time
      throw err;
    }
    return c !== undefined && c.at + this.#retentionMs > Date.now() ? c : undefined;
  }

  async #load(): Promise<Completion | undefined> {
    try {
      return await this.#access.getState<Completion>(this.#type, this.#id);
    } catch (err) {
      if (isFrancisError(err, "state_not_found")) return undefined;
      throw err;
    }
  }

  async #wait(holdMs: number, ctx: ActorContext): Promise<WaitReply> {
    const c = await this.#current();
    if (c !== undefined) return { done: true, data: c.data };
    if (!(holdMs > 0)) return { done: false };
    this.#pending ??= Promise.withResolvers<Completion>();
    const got = await hold(this.#pending.promise, [ctx.halting, ctx.signal], holdMs);
    return got === undefined ? { done: false } : { done: true, data: got.data };
  }

  async #complete(data: unknown): Promise<{ ok: boolean }> {
    if (await this.#current() !== undefined) return { ok: false }; // the first completion wins
    const completion: Completion = data === undefined ? { at: Date.now() } : { at: Date.now(), data };
    const ttl = Number.isFinite(this.#retentionMs) ? { ttlMs: this.#retentionMs } : undefined;
    try {
      await this.#access.setState(this.#type, this.#id, completion, ttl);
    } catch (err) {
      this.#loaded = undefined; // the write may have landed: trust only the store from now on
      throw err;
    }
    this.#loaded = Promise.resolve(completion);
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.resolve(completion);
    return { ok: true };
  }
}

/** Resolves with `promise`'s value, or `undefined` when a signal aborts or `ms` pass; cleans up after itself. */
function hold<T>(promise: Promise<T>, signals: AbortSignal[], ms: number): Promise<T | undefined> {
  if (signals.some((s) => s.aborted)) return Promise.resolve(undefined);
  return new Promise<T | undefined>((resolve) => {
    const done = (value: T | undefined) => {
      clearTimeout(timer);
      for (const s of signals) s.removeEventListener("abort", onAbort);
      resolve(value);
    };
    const onAbort = () => done(undefined);
    const timer = setTimeout(onAbort, ms);
    for (const s of signals) s.addEventListener("abort", onAbort, { once: true });
    promise.then(done);
  });
}
