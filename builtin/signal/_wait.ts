/**
 * The waiting side of a signal: every `wait` for one signal ID on one host
 * shares one loop, and each waiter only races its own abort signal against
 * the shared result. When the last waiter leaves, the loop is aborted.
 *
 * The loop asks the signal actor to hold a `wait` call open (long poll, up to
 * {@linkcode HOLD_MS}). A held call occupies one in-flight slot of the link to
 * the owning host, and those slots are shared with every other call to that
 * host (`maxInFlightRequests`), so a host holds at most {@linkcode MAX_HELD}
 * calls at once; further signals are polled instead (a non-holding `wait`,
 * backing off 100 ms → 5 s) until a hold slot frees up.
 *
 * Failures — halts, a draining or dead owner, the store or runtime being
 * unavailable — are retried with backoff from 100 ms, doubling up to 5 s
 * (API.md §24). Completion is persisted before waiters are released, so a
 * retry after the owner halted finds the completion in the store.
 *
 * @module
 */

import { isFrancisError } from "../../errors.ts";
import { delay } from "../../_internal/delay.ts";
import type { BuiltInAccess } from "../../host_local/builtin.ts";
import type { WaitReply } from "./_actor.ts";

/** The longest a `wait` call is held open by the actor. */
export const HOLD_MS = 25_000;
/** Held `wait` calls per host, at most. */
export const MAX_HELD = 16;
const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5_000;
/** Errors that no retry can fix. */
const FATAL = new Set([
  "host_not_running",
  "decode_failed",
  "invoke_mode_unsupported",
  "actor_type_reserved",
  "method_reserved",
  "payload_too_large",
  "reentrant_call",
]);

/** Hold slots in use, per host (keyed by the host's built-in access). */
const held = new WeakMap<BuiltInAccess, { n: number }>();

/**
 * The shared waits of one signal name on one host.
 *
 * @example
 * ```ts ignore
 * const waits = new SharedWaits(access, "francis.builtin.signal.deploys");
 * const data = await waits.join("release-42", AbortSignal.timeout(60_000));
 * ```
 */
export class SharedWaits {
  readonly #access: BuiltInAccess;
  readonly #type: string;
  readonly #waits = new Map<string, SharedWait>();

  constructor(access: BuiltInAccess, type: string) {
    this.#access = access;
    this.#type = type;
  }

  /** Waits for `signalId`, joining the host's wait for it if there is one. */
  join(signalId: string, signal: AbortSignal | undefined): Promise<unknown> {
    let w = this.#waits.get(signalId);
    if (w === undefined) {
      const created = w = new SharedWait((s) => waitLoop(this.#access, this.#type, signalId, s), () => {
        if (this.#waits.get(signalId) === created) this.#waits.delete(signalId);
      });
      this.#waits.set(signalId, w);
    }
    return w.join(signal);
  }
}

class SharedWait {
  readonly #controller = new AbortController();
  readonly #result: Promise<unknown>;
  readonly #forget: () => void;
  #refs = 0;

  constructor(run: (signal: AbortSignal) => Promise<unknown>, forget: () => void) {
    this.#forget = forget;
    this.#result = run(this.#controller.signal).finally(forget);
    this.#result.catch(() => {});
  }

  join(signal: AbortSignal | undefined): Promise<unknown> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    this.#refs++;
    return new Promise((resolve, reject) => {
      const leave = () => {
        signal?.removeEventListener("abort", onAbort);
        if (--this.#refs === 0) {
          this.#forget(); // a later waiter starts a fresh loop
          this.#controller.abort(new DOMException("No waiter is left", "AbortError"));
        }
      };
      const onAbort = () => {
        leave();
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#result.then((v) => {
        signal?.removeEventListener("abort", onAbort);
        resolve(v);
      }, (e) => {
        signal?.removeEventListener("abort", onAbort);
        reject(e);
      });
    });
  }
}

async function waitLoop(access: BuiltInAccess, type: string, id: string, signal: AbortSignal): Promise<unknown> {
  let slots = held.get(access);
  if (slots === undefined) held.set(access, slots = { n: 0 });
  let holding = false;
  let backoff = MIN_BACKOFF_MS;
  try {
    for (;;) {
      if (!holding && slots.n < MAX_HELD) {
        slots.n++;
        holding = true;
      }
      const started = Date.now();
      try {
        const reply = await access.peek<WaitReply>(type, id, "wait", { holdMs: holding ? HOLD_MS : 0 }, {
          signal,
          detached: true, // shared by waiters: not part of the first waiter's turn
        });
        if (reply.done) return reply.data;
        if (holding && Date.now() - started >= HOLD_MS / 2) {
          backoff = MIN_BACKOFF_MS; // a full hold: ask again at once
          continue;
        }
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        if (!isFrancisError(err) || FATAL.has(err.code)) throw err;
      }
      await delay(backoff, signal);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  } finally {
    if (holding) slots.n--;
  }
}
