/**
 * Byte-stream plumbing for streamed calls (API.md §11): turning a body option
 * into a `ReadableStream`, bounding a request body, and guarding a response
 * body so the actor's turn ends exactly once, whether the caller reads it to
 * the end, cancels it, or it errors.
 *
 * @module
 */

import { PayloadTooLargeError } from "../errors.ts";

/** Content type of a request sent without one. */
export const DEFAULT_REQUEST_CONTENT_TYPE = "application/octet-stream";
/** Content type of a string response body sent without one. */
export const TEXT_CONTENT_TYPE = "text/plain; charset=utf-8";
/** The longest content type accepted, in UTF-16 code units. */
export const MAX_CONTENT_TYPE_LENGTH = 1_024;

const encoder = new TextEncoder();

/** A body as callers and handlers may give it. */
export type BodyInit = ReadableStream<Uint8Array> | Uint8Array | string | null | undefined;

/**
 * Whether `body` is an acceptable body value.
 *
 * @example
 * ```ts
 * import { isBodyInit } from "./stream_bodies.ts";
 * console.log(isBodyInit("text"), isBodyInit(42)); // true false
 * ```
 */
export function isBodyInit(body: unknown): body is BodyInit {
  return body === undefined || body === null || typeof body === "string" || body instanceof Uint8Array ||
    body instanceof ReadableStream;
}

/**
 * The body as a stream (a string is UTF-8 encoded; nothing is an empty stream).
 *
 * @example
 * ```ts
 * import { toBodyStream } from "./stream_bodies.ts";
 * console.log(await new Response(toBodyStream("hi")).text()); // hi
 * ```
 */
export function toBodyStream(body: BodyInit): ReadableStream<Uint8Array> {
  if (body instanceof ReadableStream) return body;
  const bytes = typeof body === "string" ? encoder.encode(body) : body ?? new Uint8Array(0);
  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (bytes.length > 0) controller.enqueue(bytes);
      controller.close();
    },
  });
}

/**
 * The default response content type for a body (API.md §11).
 *
 * @example
 * ```ts
 * import { defaultResponseType } from "./stream_bodies.ts";
 * console.log(defaultResponseType("x")); // text/plain; charset=utf-8
 * ```
 */
export function defaultResponseType(body: BodyInit): string {
  return typeof body === "string" ? TEXT_CONTENT_TYPE : DEFAULT_REQUEST_CONTENT_TYPE;
}

/** A request body bounded to a size; reading past the bound errors with `PayloadTooLargeError`. */
export interface LimitedBody {
  readonly stream: ReadableStream<Uint8Array>;
  /** Set once the body went over the bound. */
  readonly tooLarge: PayloadTooLargeError | undefined;
  /** Cancels the source (the turn ended): a body the actor did not read to the end is released. */
  release(reason?: unknown): void;
}

/**
 * Wraps `source` so reading more than `maxBytes` errors with
 * `PayloadTooLargeError` (and cancels the source).
 *
 * @example
 * ```ts
 * import { limitBody, toBodyStream } from "./stream_bodies.ts";
 * const limited = limitBody(toBodyStream("too long"), 3);
 * await new Response(limited.stream).text().catch(() => {});
 * console.log(limited.tooLarge?.name); // PayloadTooLargeError
 * ```
 */
export function limitBody(source: ReadableStream<Uint8Array>, maxBytes: number): LimitedBody {
  const state: { tooLarge: PayloadTooLargeError | undefined } = { tooLarge: undefined };
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let total = 0;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      reader ??= source.getReader();
      const { done, value } = await reader.read();
      if (done) return controller.close();
      if (!(value instanceof Uint8Array)) {
        const err = new TypeError("Cannot read stream request body: a chunk is not a Uint8Array");
        reader.cancel(err).catch(() => {});
        throw err;
      }
      total += value.length;
      if (total > maxBytes) {
        state.tooLarge = new PayloadTooLargeError(
          `Cannot read stream request body: it exceeds maxRequestBodySizeBytes (${maxBytes})`,
        );
        reader.cancel(state.tooLarge).catch(() => {});
        throw state.tooLarge;
      }
      controller.enqueue(value);
    },
    cancel(reason) {
      return (reader ?? source).cancel(reason);
    },
  }, { highWaterMark: 0 });
  return {
    stream,
    get tooLarge() {
      return state.tooLarge;
    },
    release(reason) {
      if (reader === undefined && source.locked) return;
      (reader ?? source).cancel(reason).catch(() => {});
    },
  };
}

/** How a guarded response body ended. */
export type BodyOutcome = "end" | "cancel" | "error";

/** Options of {@linkcode guardResponse}. */
export interface GuardOptions {
  /** Runs exactly once, when the body ends, is cancelled or errors. */
  onDone(outcome: BodyOutcome): void;
  /** Maps an error of the source to what the reader sees. */
  mapError(err: unknown): unknown;
  /** Cancels the source and errors the body with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Wraps a handler's response body: reads it lazily (never ahead of the
 * caller), checks each chunk is bytes, maps errors, and reports the end once.
 *
 * @example
 * ```ts
 * import { guardResponse, toBodyStream } from "./stream_bodies.ts";
 * const body = guardResponse(toBodyStream("ok"), { onDone: (o) => console.log(o), mapError: (e) => e });
 * console.log(await new Response(body).text()); // logs "end", then ok
 * ```
 */
export function guardResponse(source: ReadableStream<Uint8Array>, o: GuardOptions): ReadableStream<Uint8Array> {
  let finished = false;
  const finish = (outcome: BodyOutcome) => {
    if (finished) return;
    finished = true;
    o.signal?.removeEventListener("abort", onAbort);
    o.onDone(outcome);
  };
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let controllerRef: ReadableStreamDefaultController<Uint8Array> | undefined;
  const onAbort = () => {
    const reason = o.signal!.reason;
    (reader ?? source).cancel(reason).catch(() => {});
    try {
      controllerRef?.error(reason);
    } catch { /* already closed */ }
    finish("cancel");
  };
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controllerRef = controller;
      if (o.signal?.aborted) return onAbort();
      o.signal?.addEventListener("abort", onAbort, { once: true });
    },
    async pull(controller) {
      if (finished) return;
      reader ??= source.getReader();
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await reader.read();
        if (!result.done && !(result.value instanceof Uint8Array)) {
          throw new TypeError("the response body produced a chunk that is not a Uint8Array");
        }
      } catch (err) {
        if (finished) return;
        reader.cancel(err).catch(() => {});
        controller.error(o.mapError(err));
        return finish("error");
      }
      if (finished) return;
      if (result.done) {
        controller.close();
        return finish("end");
      }
      controller.enqueue(result.value);
    },
    cancel(reason) {
      finish("cancel");
      return (reader ?? source).cancel(reason).catch(() => {});
    },
  }, { highWaterMark: 0 });
  return stream;
}
