/**
 * Signal built-in (API.md §21.3): a one-shot, cluster-wide event with an
 * optional payload. `wait` blocks until some host calls `complete`; the
 * completion is durable for `retentionMs`, so late waiters return at once.
 *
 * There is one actor per signal ID. `complete` persists the completion first,
 * then releases the waiters on every host. Waiters on one host share one call
 * to the actor, which holds it open until completion; halts, host failures and
 * transient errors are retried with backoff (100 ms → 5 s). Design notes are
 * in `_actor.ts` (turns) and `_wait.ts` (waiting).
 *
 * @example
 * ```ts
 * import { createSignal } from "./mod.ts";
 * import { createTestHost } from "../../testing/mod.ts";
 *
 * const deploys = createSignal("deploys");
 * await using host = createTestHost();
 * host.registerBuiltInActor(deploys);
 * await host.start();
 * const sig = deploys.service(host.service);
 * const result = sig.wait<{ version: string }>("release-42");
 * await sig.complete("release-42", { version: "1.4.0" });
 * console.log((await result)?.version); // 1.4.0
 * ```
 *
 * @module
 */

import type { ActorService, BuiltInActor, CallOptions } from "../../actor/types.ts";
import { SignalAlreadyCompletedError, SignalPayloadTooLargeError } from "../../errors.ts";
import { isFrancisError } from "../../errors.ts";
import { currentTurn } from "../../_internal/ambient.ts";
import { encodePayload, MAX_PAYLOAD_BYTES } from "../../_internal/codec.ts";
import { checkInt, checkName, checkOptions, checkSignal } from "../../_internal/validate.ts";
import { BUILTIN_SPEC, builtInAccess, type BuiltInSpec, builtInType } from "../../host_local/builtin.ts";
import { type Completion, SignalActor } from "./_actor.ts";
import { SharedWaits } from "./_wait.ts";

/** Options of {@linkcode createSignal}. */
export interface SignalOptions {
  /** How long a completion is kept (integer ≥ 1, or `Infinity` = forever). @default {86400000} */
  retentionMs?: number;
  /** Idle timeout of a signal's actor (integer ≥ 1 or `Infinity`); never while it has waiters. @default {300000} */
  idleTimeoutMs?: number;
  /** Largest payload, measured after encoding (1 … 16,710,656). @default {65536} */
  maxPayloadBytes?: number;
}

/** The typed service of a signal. */
export interface SignalService {
  /** Resolves with the payload once `signalId` completes (at once if it already did). No timeout: use `signal`. */
  wait<T = unknown>(signalId: string, o?: CallOptions): Promise<T | undefined>;
  /** Completes `signalId`; `SignalAlreadyCompletedError` if it already completed within retention. */
  complete(signalId: string, data?: unknown, o?: CallOptions): Promise<void>;
  /** Whether `signalId` completed, without blocking. */
  check<T = unknown>(signalId: string, o?: CallOptions): Promise<{ completed: boolean; data?: T }>;
}

/** A signal built-in, as {@linkcode createSignal} returns it. */
export interface Signal extends BuiltInActor {
  readonly kind: "signal";
  /** The typed service, memoised per `ActorService`; usable through any host's service. */
  service(s: ActorService): SignalService;
}

const ACTION = "create signal";
const KNOWN = new Set(["retentionMs", "idleTimeoutMs", "maxPayloadBytes"]);
/** Room left for the stored completion record around the payload. */
const RECORD_OVERHEAD_BYTES = 1_024;

/**
 * Creates a signal. Validates synchronously (`TypeError`/`RangeError`).
 *
 * @example
 * ```ts
 * import { createSignal } from "./mod.ts";
 * const s = createSignal("deploys", { retentionMs: Infinity });
 * console.log(s.kind, s.name); // signal deploys
 * ```
 */
export function createSignal(name: string, options?: SignalOptions): Signal {
  checkName(name, ACTION, "name");
  const o = checkOptions(options, ACTION);
  for (const key of Object.keys(o)) {
    if (!KNOWN.has(key)) throw new TypeError(`Cannot ${ACTION}: unknown option ${JSON.stringify(key)}`);
  }
  const inf = { allowInfinity: true };
  return new SignalImpl(name, {
    retentionMs: checkInt(o.retentionMs ?? 86_400_000, ACTION, "retentionMs", 1, undefined, inf),
    idleTimeoutMs: checkInt(o.idleTimeoutMs ?? 300_000, ACTION, "idleTimeoutMs", 1, undefined, inf),
    maxPayloadBytes: checkInt(
      o.maxPayloadBytes ?? 65_536,
      ACTION,
      "maxPayloadBytes",
      1,
      MAX_PAYLOAD_BYTES - RECORD_OVERHEAD_BYTES,
    ),
  });
}

class SignalImpl implements Signal {
  readonly kind = "signal" as const;
  readonly name: string;
  readonly [BUILTIN_SPEC]: BuiltInSpec;
  readonly #type: string;
  readonly #maxPayloadBytes: number;
  readonly #services = new WeakMap<ActorService, SignalService>();

  constructor(name: string, o: Required<SignalOptions>) {
    this.name = name;
    const type = this.#type = builtInType("signal", name);
    this.#maxPayloadBytes = o.maxPayloadBytes;
    this[BUILTIN_SPEC] = {
      registrations: [{
        actorType: type,
        factory: (id, service) => new SignalActor(type, id, service, o.retentionMs),
        options: { idleTimeoutMs: o.idleTimeoutMs },
      }],
    };
  }

  service(s: ActorService): SignalService {
    let svc = this.#services.get(s);
    if (svc === undefined) {
      svc = this.#create(s);
      this.#services.set(s, svc);
    }
    return svc;
  }

  #create(s: ActorService): SignalService {
    const access = builtInAccess(s, "use signal");
    const type = this.#type;
    const max = this.#maxPayloadBytes;
    const waits = new SharedWaits(access, type);
    /** Validates the ID and options; the default signal is the ambient turn's (API.md §5.3). */
    const begin = (action: string, signalId: string, o: CallOptions | undefined): AbortSignal | undefined => {
      checkName(signalId, action, "signalId");
      const signal = checkSignal(checkOptions(o, action).signal, action) ?? currentTurn()?.signal;
      signal?.throwIfAborted();
      return signal;
    };
    return {
      async wait<T>(signalId: string, o?: CallOptions): Promise<T | undefined> {
        return await waits.join(signalId, begin("wait for signal", signalId, o)) as T | undefined;
      },
      async complete(signalId: string, data?: unknown, o?: CallOptions): Promise<void> {
        const action = "complete signal";
        const signal = begin(action, signalId, o);
        const size = encodePayload(access.codec, data, "signal payload").length;
        if (size > max) {
          throw new SignalPayloadTooLargeError(
            `Cannot ${action}: the payload is ${size} bytes, over maxPayloadBytes (${max})`,
          );
        }
        const reply = await access.peek<{ ok: boolean }>(type, signalId, "complete", data, { signal });
        if (!reply.ok) {
          throw new SignalAlreadyCompletedError(`Cannot ${action}: ${JSON.stringify(signalId)} already completed`);
        }
      },
      async check<T>(signalId: string, o?: CallOptions): Promise<{ completed: boolean; data?: T }> {
        const signal = begin("check signal", signalId, o);
        try {
          const c = await access.getState<Completion>(type, signalId, { signal });
          return { completed: true, data: c.data as T };
        } catch (err) {
          if (isFrancisError(err, "state_not_found")) return { completed: false };
          throw err;
        }
      },
    };
  }
}
