/**
 * Routes a streamed call (API.md §11): run it here, or forward it to the
 * owner. Streams are never retried: a routing error goes back to the caller
 * and the cached placement is dropped.
 *
 * @module
 */

import type { StreamInvokeOptions, StreamResult } from "../actor/types.ts";
import { isFrancisError } from "../errors.ts";
import { raceSignal } from "../_internal/delay.ts";
import { beginCall, checkCallTarget, refuseReentrant } from "./call_context.ts";
import { checkMethod } from "./names.ts";
import { actorKey, type ActorTable } from "./actor_table.ts";
import { type Invoker, RETRYABLE_CODES } from "./invoker.ts";
import type { PeerPool } from "./peer_pool.ts";
import type { PlacementCache } from "./placement_cache.ts";
import {
  type BodyInit,
  DEFAULT_REQUEST_CONTENT_TYPE,
  isBodyInit,
  limitBody,
  MAX_CONTENT_TYPE_LENGTH,
  toBodyStream,
} from "./stream_bodies.ts";
import { forwardStream } from "./stream_forward.ts";
import { runStreamTurn } from "./stream_turn.ts";

/** Codes after which the cached placement is dropped. */
const STALE_CODES: ReadonlySet<string> = new Set([...RETRYABLE_CODES, "actor_not_active"]);

/** One streamed call as the service hands it over. */
export interface StreamRequestInit {
  actorType: string;
  actorId: string;
  method: string;
  mode: "invokeStream" | "peekStream";
  requestId: string;
  chain: readonly string[];
  activeOnly: boolean;
  signal: AbortSignal | undefined;
  contentType: string;
  body: BodyInit;
}

/** What stream routing needs from the host. */
export interface StreamInvokerDeps {
  invoker: Invoker;
  table: ActorTable;
  peers: PeerPool;
  cache: PlacementCache;
  maxRequestBodySizeBytes: number;
  /** Whether the host's service is usable. */
  running(): boolean;
}

/**
 * Validates stream call options; returns them with defaults applied.
 *
 * @example
 * ```ts
 * import { checkStreamOptions } from "./stream_invoker.ts";
 * console.log(checkStreamOptions("invoke actor stream", { body: "x" }).contentType); // application/octet-stream
 * ```
 */
export function checkStreamOptions(
  action: string,
  options: StreamInvokeOptions | undefined,
): { contentType: string; body: BodyInit; activeOnly: boolean } {
  const contentType = options?.contentType ?? DEFAULT_REQUEST_CONTENT_TYPE;
  if (typeof contentType !== "string" || contentType === "" || contentType.length > MAX_CONTENT_TYPE_LENGTH) {
    throw new TypeError(`Cannot ${action}: contentType must be a non-empty string of at most 1024 characters`);
  }
  const body = options?.body;
  if (!isBodyInit(body) || body === null) {
    throw new TypeError(`Cannot ${action}: body must be a ReadableStream, a Uint8Array or a string`);
  }
  if (body instanceof ReadableStream && body.locked) {
    throw new TypeError(`Cannot ${action}: the body stream is locked (already being read)`);
  }
  const activeOnly = options?.activeOnly ?? false;
  if (typeof activeOnly !== "boolean") throw new TypeError(`Cannot ${action}: activeOnly must be a boolean`);
  return { contentType, body, activeOnly };
}

/**
 * Runs or forwards streamed calls.
 *
 * @example
 * ```ts ignore
 * const result = await streams.invoke({ actorType: "echo", actorId: "e1", method: "echo", mode: "invokeStream",
 *   requestId: crypto.randomUUID(), chain: [], activeOnly: false, signal: undefined,
 *   contentType: "text/plain", body: "hello" });
 * ```
 */
export class StreamInvoker {
  readonly #d: StreamInvokerDeps;

  constructor(deps: StreamInvokerDeps) {
    this.#d = deps;
  }

  /**
   * `service.invokeStream`/`peekStream`: validates, applies the ambient turn
   * (default signal, re-entrancy) and delivers the call.
   */
  async call(
    mode: "invokeStream" | "peekStream",
    actorType: string,
    actorId: string,
    method: string,
    options: StreamInvokeOptions | undefined,
  ): Promise<StreamResult> {
    const action = `${mode === "invokeStream" ? "invoke" : "peek"} actor stream`;
    checkCallTarget(action, actorType, actorId, false);
    checkMethod(action, method);
    const { contentType, body, activeOnly } = checkStreamOptions(action, options);
    const { turn, signal } = beginCall(this.#d.running, action, options);
    const key = actorKey(actorType, actorId);
    refuseReentrant(action, turn, key);
    signal?.throwIfAborted();
    // An abort after this point also cancels the response body, releasing the actor (local and forwarded alike).
    return await raceSignal(
      this.invoke({
        actorType,
        actorId,
        method,
        mode,
        requestId: crypto.randomUUID(),
        chain: turn?.chain ?? [],
        activeOnly,
        signal,
        contentType,
        body,
      }),
      signal,
    );
  }

  /** Delivers the call once; resolves when the actor's handler returned. */
  async invoke(call: StreamRequestInit): Promise<StreamResult> {
    try {
      const where = await this.#d.invoker.locate(call, false);
      if (where.local) {
        const limited = limitBody(toBodyStream(call.body), this.#d.maxRequestBodySizeBytes);
        return await runStreamTurn(
          this.#d,
          { ...call, body: limited.stream, tooLarge: () => limited.tooLarge, onEnd: () => limited.release() },
          where.act,
        );
      }
      const { owner } = where;
      const link = await this.#d.peers.get(owner.hostId, owner.address, call.signal);
      return await forwardStream(
        link,
        {
          targetHostId: owner.hostId,
          actorType: call.actorType,
          actorId: call.actorId,
          method: call.method,
          mode: call.mode,
          streamId: call.requestId,
          contentType: call.contentType,
          chain: call.chain,
          activeOnly: call.activeOnly,
        },
        call.body,
        call.signal,
      );
    } catch (err) {
      if (isFrancisError(err) && STALE_CODES.has(err.code)) {
        this.#d.cache.delete(actorKey(call.actorType, call.actorId));
      }
      if (call.body instanceof ReadableStream && !call.body.locked) call.body.cancel(err).catch(() => {});
      throw err;
    }
  }
}
