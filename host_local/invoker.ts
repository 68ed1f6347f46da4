/**
 * The life of an invocation on a host: resolve the owner, run the turn (or
 * forward it), and retry once on a retryable routing error (API.md §12.2).
 *
 * Payloads cross this layer as encoded bytes, same-host included, so a local
 * call enforces the same codec rules and size limits as a remote one.
 *
 * @module
 */

import type { Codec } from "../_internal/codec.ts";
import { decodePayload, MAX_PAYLOAD_BYTES } from "../_internal/codec.ts";
import { runInTurn } from "../_internal/ambient.ts";
import { delay } from "../_internal/delay.ts";
import {
  ActorHaltedError,
  ActorNotActiveError,
  ActorNotHostedError,
  ActorTypeUnsupportedError,
  type FrancisError,
  HostDrainingError,
  HostMismatchError,
  InvokeFailedError,
  InvokeModeUnsupportedError,
  isFrancisError,
  PayloadTooLargeError,
} from "../errors.ts";
import type { ActorProvider } from "../providers/types.ts";
import type { Actor } from "../actor/types.ts";
import { type Activation, actorKey, type ActorTable } from "./actor_table.ts";
import type { ActorRegistry } from "./registry.ts";
import type { PlacementCache } from "./placement_cache.ts";
import { encodePeerInvoke, type PeerInvokeRequest } from "./peer_protocol.ts";
import type { PeerPool } from "./peer_pool.ts";
import { BOOTSTRAP_METHOD } from "./builtin.ts";

/** One invoke or peek, with its payload already encoded. */
export interface InvocationRequest {
  actorType: string;
  actorId: string;
  method: string;
  mode: "invoke" | "peek";
  data: Uint8Array;
  requestId: string;
  /** Actors waiting on this call (for re-entrancy), not including the target. */
  chain: readonly string[];
  activeOnly: boolean;
  signal: AbortSignal | undefined;
}

/** What the invoker needs from its host. */
export interface InvokerDeps {
  table: ActorTable;
  registry: ActorRegistry;
  provider: ActorProvider;
  cache: PlacementCache;
  peers: PeerPool;
  codec: Codec;
  hostId(): string;
  draining(): boolean;
  healthCheckDeadlineMs: number;
}

/** Codes that get one transparent retry (after dropping the cached placement). */
export const RETRYABLE_CODES: ReadonlySet<string> = new Set([
  "actor_halted",
  "actor_not_hosted",
  "retry_later",
  "overloaded",
  "host_draining",
  "host_mismatch",
]);
const MAX_RETRY_WAIT_MS = 1_000;

/**
 * Routes invocations to the owning host and runs local turns.
 *
 * @example
 * ```ts ignore
 * const bytes = await invoker.invoke({ actorType: "counter", actorId: "c1", method: "increment", mode: "invoke",
 *   data: new Uint8Array(), requestId: crypto.randomUUID(), chain: [], activeOnly: false, signal: undefined });
 * ```
 */
export class Invoker {
  readonly #d: InvokerDeps;

  constructor(deps: InvokerDeps) {
    this.#d = deps;
  }

  /** Delivers the call, retrying once on a retryable routing error. Resolves with the encoded result. */
  async invoke(req: InvocationRequest): Promise<Uint8Array> {
    try {
      return await this.#attempt(req, false);
    } catch (err) {
      if (!isFrancisError(err) || !RETRYABLE_CODES.has(err.code)) throw err;
      this.#d.cache.delete(actorKey(req.actorType, req.actorId));
      const wait = Math.min((err as FrancisError).retryAfterMs ?? 0, MAX_RETRY_WAIT_MS);
      if (wait > 0) await delay(wait, req.signal);
      return await this.#attempt(req, true);
    }
  }

  async #attempt(req: InvocationRequest, bypassCache: boolean): Promise<Uint8Array> {
    const where = await this.locate(req, bypassCache);
    if (where.local) return this.#runLocal(req, where.act);
    return await this.#forward(req, where.owner);
  }

  /**
   * Where a call runs: here (with the activation if one is active), or on the
   * owner. A stopping host records no new placement for itself.
   */
  async locate(
    req: { actorType: string; actorId: string; activeOnly: boolean },
    bypassCache: boolean,
  ): Promise<
    { local: true; act: Activation | undefined } | { local: false; owner: { hostId: string; address: string } }
  > {
    const key = actorKey(req.actorType, req.actorId);
    const active = this.#d.table.get(key);
    if (active !== undefined) return { local: true, act: active };
    if (this.#d.draining()) {
      throw new HostDrainingError(`Cannot activate actor "${key}": the host is stopping`);
    }
    const owner = await this.#resolve(req, key, bypassCache);
    if (owner.hostId === this.#d.hostId()) return { local: true, act: undefined };
    return { local: false, owner };
  }

  /** Sends the call to the owning host over its peer link. */
  async #forward(req: InvocationRequest, owner: { hostId: string; address: string }): Promise<Uint8Array> {
    const body = encodePeerInvoke({
      targetHostId: owner.hostId,
      actorType: req.actorType,
      actorId: req.actorId,
      method: req.method,
      mode: req.mode,
      requestId: req.requestId,
      chain: req.chain,
      activeOnly: req.activeOnly,
      data: req.data,
    });
    return await this.#d.peers.withSlot(owner.hostId, req.signal, async () => {
      const link = await this.#d.peers.get(owner.hostId, owner.address, req.signal);
      return await link.request(body, { signal: req.signal });
    });
  }

  /**
   * Runs a call that a peer forwarded to this host. The caller's placement may
   * be stale, so an actor that is not active here is activated only after the
   * store confirms the placement names this host.
   */
  async serve(req: PeerInvokeRequest, signal: AbortSignal): Promise<Uint8Array> {
    const act = await this.admit(req);
    return this.#runLocal({ ...req, signal }, act);
  }

  /**
   * Checks that a forwarded call belongs here. Resolves with the activation if
   * the actor is active, or `undefined` once the store confirmed the placement
   * names this host (the caller's placement may be stale).
   */
  async admit(
    req: { targetHostId: string; actorType: string; actorId: string; activeOnly: boolean },
  ): Promise<Activation | undefined> {
    const self = this.#d.hostId();
    const key = actorKey(req.actorType, req.actorId);
    if (req.targetHostId !== self) {
      throw new HostMismatchError(`Cannot run actor "${key}": this is host "${self}", not "${req.targetHostId}"`);
    }
    const active = this.#d.table.get(key);
    if (active !== undefined) return active;
    if (this.#d.draining()) {
      // A placement a peer made here just before the drain began must not pin the actor to a stopping host.
      await this.#d.provider.removeActor(req.actorType, req.actorId, self).catch(() => {});
      throw new HostDrainingError(`Cannot activate actor "${key}": the host is stopping`);
    }
    const placement = await this.#d.provider.lookupActor({
      actorType: req.actorType,
      actorId: req.actorId,
      activeOnly: req.activeOnly,
      healthCheckDeadlineMs: this.#d.healthCheckDeadlineMs,
    });
    if (placement.hostId !== self) {
      throw new ActorNotHostedError(`Cannot run actor "${key}": it is placed on host "${placement.hostId}"`);
    }
    return undefined;
  }

  async #resolve(
    req: { actorType: string; actorId: string; activeOnly: boolean },
    key: string,
    bypassCache: boolean,
  ): Promise<{ hostId: string; address: string }> {
    if (!bypassCache && !req.activeOnly) {
      const cached = this.#d.cache.get(key);
      if (cached !== undefined) return cached;
    }
    const placement = await this.#d.provider.lookupActor({
      actorType: req.actorType,
      actorId: req.actorId,
      activeOnly: req.activeOnly,
      healthCheckDeadlineMs: this.#d.healthCheckDeadlineMs,
    });
    this.#d.cache.set(key, placement);
    return placement;
  }

  /**
   * Activates the actor if needed and acquires its turn lock (shared for peeks).
   * The caller must `beginTurn` and, at the end, `endTurn` to release it.
   */
  async enterTurn(
    req: { actorType: string; actorId: string; activeOnly: boolean; signal: AbortSignal | undefined },
    found: Activation | undefined,
    shared: boolean,
  ): Promise<{ act: Activation; instance: Actor }> {
    const { table } = this.#d;
    const key = actorKey(req.actorType, req.actorId);
    let act = found ?? table.get(key);
    let created = false;
    if (act === undefined) {
      if (req.activeOnly) throw new ActorNotActiveError(`Actor "${key}" is not active`);
      if (this.#d.draining()) throw new HostDrainingError(`Cannot activate actor "${key}": the host is stopping`);
      const entry = this.#d.registry.get(req.actorType);
      if (entry === undefined) {
        throw new ActorTypeUnsupportedError(`Cannot activate actor "${key}": this host does not serve the type`);
      }
      act = table.activate(entry, req.actorId);
      created = true;
    }
    // The call that created an activation learns of a failed factory through `ready`; later calls that
    // meet a halting (or failed) activation wait for it to leave the table and retry.
    if (act.halting && !created) {
      await act.haltDone;
      throw new ActorHaltedError(`Actor "${key}" was halting`);
    }
    const instance = act.instance ?? await act.ready;
    // The caller may have given up while the factory ran: never start its handler then.
    req.signal?.throwIfAborted();
    if (!act.lock.tryAcquire(shared)) {
      try {
        await act.lock.acquire(shared, req.signal);
      } catch (err) {
        if (isFrancisError(err, "actor_halted")) await act.haltDone;
        throw err;
      }
    }
    return { act, instance };
  }

  async #runLocal(req: InvocationRequest, found: Activation | undefined): Promise<Uint8Array> {
    const { table } = this.#d;
    const key = actorKey(req.actorType, req.actorId);
    const shared = req.mode === "peek";
    const { act, instance } = await this.enterTurn(req, found, shared);
    // The reserved bootstrap method (sent only by hosts, API.md §13) runs `bootstrap` in an exclusive turn.
    const bootstrap = !shared && req.method === BOOTSTRAP_METHOD;
    const ctx = table.beginTurn(act, {
      kind: bootstrap ? "bootstrap" : req.mode,
      requestId: req.requestId,
      readOnly: shared,
      attempt: 1,
      chain: [...req.chain, key],
      callerSignal: req.signal,
    });
    try {
      const handler = shared ? instance.peek : instance.invoke;
      if (bootstrap && typeof instance.bootstrap !== "function") return this.#encodeResult(req, undefined); // no-op
      if (!bootstrap && typeof handler !== "function") {
        throw new InvokeModeUnsupportedError(`Actor "${key}" does not implement ${req.mode}()`);
      }
      const data = decodePayload(this.#d.codec, req.data);
      let result: unknown;
      try {
        result = runInTurn(
          ctx,
          () => bootstrap ? instance.bootstrap!(data, ctx) : handler!.call(instance, req.method, data, ctx),
        );
        if (result instanceof Promise) result = await result;
      } catch (err) {
        throw invokeFailed(req, err);
      }
      return this.#encodeResult(req, result);
    } finally {
      table.endTurn(act, ctx, shared);
    }
  }

  #encodeResult(req: InvocationRequest, result: unknown): Uint8Array {
    let bytes: Uint8Array;
    try {
      bytes = this.#d.codec.encode(result);
    } catch (err) {
      throw invokeFailed(req, err);
    }
    if (bytes.length > MAX_PAYLOAD_BYTES) {
      throw new PayloadTooLargeError(
        `Actor "${req.actorType}/${req.actorId}" returned ${bytes.length} bytes, over the limit of ${MAX_PAYLOAD_BYTES}`,
      );
    }
    return bytes;
  }
}

/**
 * Wraps a value thrown by a handler as the caller sees it (API.md §5.4).
 *
 * @example
 * ```ts ignore
 * throw invokeFailed(req, new Error("boom"));
 * ```
 */
export function invokeFailed(req: { actorType: string; actorId: string }, err: unknown): InvokeFailedError {
  const e = err as { name?: unknown; message?: unknown; code?: unknown } | null;
  const message = e !== null && typeof e === "object" && typeof e.message === "string" ? e.message : String(err);
  const name = e !== null && typeof e === "object" && typeof e.name === "string" ? e.name : typeof err;
  const code = e !== null && typeof e === "object" && typeof e.code === "string" ? e.code : undefined;
  return new InvokeFailedError(message, {
    actorType: req.actorType,
    actorId: req.actorId,
    actorErrorName: name,
    ...(code === undefined ? {} : { actorErrorCode: code }),
  }, { cause: err });
}
