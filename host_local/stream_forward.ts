/**
 * The caller's side of a streamed call to an actor on another host (API.md
 * §11), over the messages of `stream_protocol.ts` on one peer link:
 *
 * 1. `open` (with the first body bytes) and `watch` go out back to back;
 * 2. the rest of the request body is pushed in `chunk`s, one at a time, each
 *    answered once the owner queued it (backpressure);
 * 3. `open` is answered when the handler returned: the call resolves with a
 *    body that pulls `read`s, one chunk ahead of its reader;
 * 4. cancelling the body (or aborting the signal) sends `cancel`; a lost link
 *    fails `watch` and errors the body with `TransportError`.
 *
 * @module
 */

import type { StreamResult } from "../actor/types.ts";
import { DecodeError, isFrancisError, TransportError } from "../errors.ts";
import type { PeerLink } from "../transport/types.ts";
import {
  decodeOpenAnswer,
  encodeStreamMessage,
  STREAM_CHUNK_BYTES,
  type StreamMessage,
  type StreamOpen,
} from "./stream_protocol.ts";
import { delay } from "../_internal/delay.ts";
import { type BodyInit, toBodyStream } from "./stream_bodies.ts";

const encoder = new TextEncoder();

/**
 * Sends one streamed call over `link` and resolves when the owner's handler returned.
 *
 * @example
 * ```ts ignore
 * const result = await forwardStream(link, open, "hello", signal);
 * console.log(await new Response(result.body).text());
 * ```
 */
export async function forwardStream(
  link: PeerLink,
  open: Omit<StreamOpen, "op" | "data" | "complete">,
  body: BodyInit,
  signal: AbortSignal | undefined,
): Promise<StreamResult> {
  const id = open.streamId;
  const send = (msg: StreamMessage, s?: AbortSignal) =>
    msg.op === "open"
      ? link.request(encodeStreamMessage(msg), s === undefined ? undefined : { signal: s })
      : sendPastOverload(link, encodeStreamMessage(msg));
  let inline: Uint8Array | undefined = typeof body === "string"
    ? encoder.encode(body)
    : body instanceof ReadableStream
    ? undefined
    : body ?? new Uint8Array(0);
  if (inline instanceof Uint8Array && inline.length > STREAM_CHUNK_BYTES) inline = undefined;
  const complete = inline !== undefined;
  const opened = send({ op: "open", ...open, complete, data: inline ?? new Uint8Array(0) }, signal);
  const watched = send({ op: "watch", streamId: id });
  watched.catch(() => {});
  const pump = complete ? undefined : pumpBody(send, id, toBodyStream(body!));
  let contentType: string;
  let first: Uint8Array | undefined;
  try {
    const answer = decodeOpenAnswer(await opened);
    contentType = answer.contentType;
    if (answer.complete) return { contentType, body: toBodyStream(answer.bytes) };
    first = answer.bytes;
  } catch (err) {
    pump?.stop(err);
    throw err;
  }
  let done = false;
  let controllerRef!: ReadableStreamDefaultController<Uint8Array>;
  const finish = (reason?: unknown) => {
    if (done) return false;
    done = true;
    signal?.removeEventListener("abort", onAbort);
    if (reason !== undefined) {
      pump?.stop(reason);
      send({ op: "cancel", streamId: id }).catch(() => {});
    }
    return true;
  };
  const onAbort = () => {
    if (!finish(signal!.reason)) return;
    try {
      controllerRef.error(signal!.reason);
    } catch { /* closed */ }
  };
  watched.then(undefined, (err) => {
    // API.md §11: a lost connection rejects the body read with `TransportError`, whatever failed the watch.
    const lost = err instanceof TransportError ? err : new TransportError("The stream's link was lost", { cause: err });
    if (!finish(lost)) return;
    try {
      controllerRef.error(lost);
    } catch { /* closed */ }
  });
  const result = new ReadableStream<Uint8Array>({
    start(controller) {
      controllerRef = controller;
      if (first !== undefined && first.length > 0) controller.enqueue(first);
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
    },
    async pull(controller) {
      if (done) return;
      let answer: Uint8Array;
      try {
        answer = await send({ op: "read", streamId: id });
      } catch (err) {
        if (finish()) controller.error(err);
        return;
      }
      if (done) return;
      if (answer[0] === 1 && answer.length === 1) {
        finish();
        controller.close();
      } else if (answer[0] === 2) {
        finish();
        controller.enqueue(answer.subarray(1));
        controller.close();
      } else if (answer[0] === 0) {
        controller.enqueue(answer.subarray(1));
      } else {
        const err = new DecodeError("Cannot read stream: malformed read answer");
        finish(err);
        controller.error(err);
      }
    },
    cancel(reason) {
      finish(reason ?? new TransportError("The caller cancelled the stream"));
    },
  }, { highWaterMark: 1 });
  return { contentType, body: result };
}

/** Retries of one stream message refused with `OverloadedError` before giving up. */
const OVERLOAD_RETRIES = 50;
const MAX_OVERLOAD_WAIT_MS = 1_000;

/**
 * Sends a message of an open stream, resending it while the owner refuses it
 * with `OverloadedError` (its inbound limit was full): a refused message never
 * reached the stream, so sending it again is safe, and busy short calls from
 * this host must not break a stream whose handler already ran.
 */
async function sendPastOverload(link: PeerLink, body: Uint8Array): Promise<Uint8Array> {
  for (let attempt = 0;; attempt++) {
    try {
      return await link.request(body);
    } catch (err) {
      if (!isFrancisError(err, "overloaded") || attempt >= OVERLOAD_RETRIES) throw err;
      await delay(Math.min(err.retryAfterMs ?? 100, MAX_OVERLOAD_WAIT_MS));
    }
  }
}

/** Request-body chunks sent and not yet answered (the owner answers once its queue has room). */
const CHUNKS_IN_FLIGHT = 3;

/**
 * Pushes the request body in chunks, at most {@linkcode CHUNKS_IN_FLIGHT}
 * unanswered (they stay in order: one link, and the owner queues each before
 * it awaits room); `stop` cancels the source.
 */
function pumpBody(
  send: (msg: StreamMessage) => Promise<Uint8Array>,
  streamId: string,
  source: ReadableStream<Uint8Array>,
): { stop(reason: unknown): void } {
  const reader = source.getReader();
  let stopped = false;
  const stop = (reason: unknown) => {
    if (stopped) return;
    stopped = true;
    reader.cancel(reason).catch(() => {});
  };
  const inFlight = new Set<Promise<void>>();
  const push = (data: Uint8Array, end: boolean) => {
    const sent: Promise<void> = send({ op: "chunk", streamId, end, data }).then((answer) => {
      inFlight.delete(sent);
      if (answer[0] !== 0 && !end) stop(new TransportError("The actor stopped reading the request body"));
    });
    sent.catch(() => {}); // handled where it is awaited or raced; never an unhandled rejection meanwhile
    inFlight.add(sent);
    return sent;
  };
  (async () => {
    while (!stopped) {
      const { done, value } = await reader.read();
      if (stopped) return;
      if (done) {
        await push(new Uint8Array(0), true);
        break;
      }
      if (!(value instanceof Uint8Array)) {
        throw new TypeError("Cannot send stream request body: a chunk is not a Uint8Array");
      }
      for (let at = 0; at < value.length && !stopped; at += STREAM_CHUNK_BYTES) {
        push(value.subarray(at, at + STREAM_CHUNK_BYTES), false);
        if (inFlight.size >= CHUNKS_IN_FLIGHT) await Promise.race(inFlight);
      }
    }
    await Promise.all(inFlight);
  })().catch((err) => {
    stop(err);
    // The owner refused the body (over its bound): it fails the call itself. Any other failure of the
    // request body cancels the call.
    if (!isFrancisError(err, "payload_too_large")) send({ op: "cancel", streamId }).catch(() => {});
  });
  return { stop };
}
