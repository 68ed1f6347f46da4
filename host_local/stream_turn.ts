/**
 * Runs a streamed call on this host (API.md §11): acquire the actor's turn,
 * call `invokeStream`/`peekStream`, and hand back a guarded response body. The
 * turn (and its lock) lasts until that body is fully read, cancelled or
 * errored, so later calls queue behind an unread body (C-63).
 *
 * @module
 */

import type { StreamResponse, StreamResult } from "../actor/types.ts";
import { runInTurn } from "../_internal/ambient.ts";
import { InvokeModeUnsupportedError, isFrancisError, type PayloadTooLargeError } from "../errors.ts";
import { type Activation, actorKey, type ActorTable } from "./actor_table.ts";
import type { Invoker } from "./invoker.ts";
import { invokeFailed } from "./invoker.ts";
import {
  defaultResponseType,
  guardResponse,
  isBodyInit,
  MAX_CONTENT_TYPE_LENGTH,
  toBodyStream,
} from "./stream_bodies.ts";

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);

/** One streamed call as it reaches the host that runs it. */
export interface StreamCall {
  actorType: string;
  actorId: string;
  method: string;
  mode: "invokeStream" | "peekStream";
  requestId: string;
  /** Actors waiting on this call, not including the target. */
  chain: readonly string[];
  activeOnly: boolean;
  /** The caller's signal: aborts the turn, and the body once the call resolved. */
  signal: AbortSignal | undefined;
  contentType: string;
  /** The request body, already bounded to `maxRequestBodySizeBytes`. */
  body: ReadableStream<Uint8Array>;
  /** Set once the request body went over its bound: the call then rejects with it. */
  tooLarge(): PayloadTooLargeError | undefined;
  /** Runs once when the turn ends (after the body ended, was cancelled or errored, or the call failed). */
  onEnd?: () => void;
}

/** What running a stream turn needs from the host. */
export interface StreamTurnDeps {
  invoker: Invoker;
  table: ActorTable;
}

/**
 * Runs the handler in the actor's turn; resolves when it returned.
 *
 * @example
 * ```ts ignore
 * const result = await runStreamTurn({ invoker, table }, call, undefined);
 * console.log(result.contentType, await new Response(result.body).text());
 * ```
 */
export async function runStreamTurn(
  deps: StreamTurnDeps,
  call: StreamCall,
  found: Activation | undefined,
): Promise<StreamResult & { bytes?: Uint8Array }> {
  const shared = call.mode === "peekStream";
  const { act, instance } = await deps.invoker.enterTurn(call, found, shared);
  const key = actorKey(call.actorType, call.actorId);
  const ctx = deps.table.beginTurn(act, {
    kind: call.mode,
    requestId: call.requestId,
    readOnly: shared,
    attempt: 1,
    chain: [...call.chain, key],
    callerSignal: call.signal,
  });
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    deps.table.endTurn(act, ctx, shared);
    call.onEnd?.();
  };
  const fail = (err: unknown): never => {
    end();
    call.body.cancel(err).catch(() => {});
    throw err;
  };
  const handler = shared ? instance.peekStream : instance.invokeStream;
  if (typeof handler !== "function") {
    fail(new InvokeModeUnsupportedError(`Actor "${key}" does not implement ${call.mode}()`));
  }
  let response: StreamResponse | undefined;
  try {
    const request = Object.freeze({ contentType: call.contentType, body: call.body });
    const out = runInTurn(ctx, () => handler!.call(instance, call.method, request, ctx));
    response = out instanceof Promise ? await out : out;
  } catch (err) {
    fail(call.tooLarge() ?? invokeFailed(call, err));
  }
  const tooLarge = call.tooLarge();
  const bad = checkResponse(response);
  if (tooLarge !== undefined || bad !== undefined) {
    if (isBodyInit(response?.body) && response?.body instanceof ReadableStream) {
      response.body.cancel(tooLarge ?? bad).catch(() => {});
    }
    fail(tooLarge ?? invokeFailed(call, bad));
  }
  const body = response?.body ?? null;
  return {
    // A body given whole (bytes, string or none) lets a forwarded call answer in one message.
    bytes: body instanceof ReadableStream ? undefined : typeof body === "string" ? encoder.encode(body) : body ?? EMPTY,
    contentType: response?.contentType ?? defaultResponseType(body),
    body: guardResponse(toBodyStream(body), {
      onDone: end,
      signal: ctx.signal,
      mapError: (err) => isFrancisError(err, "payload_too_large") ? err : invokeFailed(call, err),
    }),
  };
}

/** Why a handler's return value is not a `StreamResponse`, or `undefined` if it is one. */
function checkResponse(response: unknown): TypeError | undefined {
  if (response === undefined || response === null) return undefined;
  if (typeof response !== "object") return new TypeError(`the handler returned ${typeof response}, not an object`);
  const { contentType, body } = response as StreamResponse;
  if (contentType !== undefined) {
    if (typeof contentType !== "string" || contentType === "" || contentType.length > MAX_CONTENT_TYPE_LENGTH) {
      return new TypeError("the response contentType must be a non-empty string of at most 1024 characters");
    }
  }
  if (!isBodyInit(body)) {
    return new TypeError("the response body must be a ReadableStream, a Uint8Array, a string or null");
  }
  if (body instanceof ReadableStream && body.locked) return new TypeError("the response body stream is locked");
  return undefined;
}
