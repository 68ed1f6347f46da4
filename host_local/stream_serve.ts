/**
 * The owner's side of streamed calls forwarded by peers (API.md §11): one
 * session per stream, fed by the caller's `chunk` messages and drained by its
 * `read` messages (see `stream_protocol.ts`).
 *
 * A session ends when its response body ends, errors or is cancelled, when
 * the caller sends `cancel`, or when the caller's `watch` request is aborted
 * because the link was lost: the actor's turn is then released.
 *
 * @module
 */

import { PayloadTooLargeError, TransportError } from "../errors.ts";
import type { Activation } from "./actor_table.ts";
import { runStreamTurn, type StreamTurnDeps } from "./stream_turn.ts";
import { encodeOpenAnswer, STREAM_CHUNK_BYTES, type StreamMessage, type StreamOpen } from "./stream_protocol.ts";

/** What the owner's side needs from its host. */
export interface StreamServeDeps extends StreamTurnDeps {
  /** Checks a forwarded call belongs here (`Invoker.admit`). */
  admit(msg: StreamOpen): Promise<Activation | undefined>;
  /** The bound of a request body. */
  maxRequestBodySizeBytes: number;
}

/** Request-body bytes pushed by the caller, read by the actor, with backpressure. */
class BodyFeed {
  readonly stream: ReadableStream<Uint8Array>;
  tooLarge: PayloadTooLargeError | undefined;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  /** Every push waiting for room (several chunks may be unanswered at once). */
  readonly #waiting = new Set<() => void>();
  #total = 0;
  #stopped = false;
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
    this.stream = new ReadableStream<Uint8Array>({
      start: (c) => void (this.#controller = c),
      pull: () => this.#notify(),
      cancel: () => {
        this.#stopped = true;
        this.#notify();
      },
    }, { highWaterMark: 2 });
  }

  #notify(): void {
    const waiting = [...this.#waiting];
    this.#waiting.clear();
    for (const wake of waiting) wake();
  }

  /** Queues bytes; resolves `false` once the actor stopped reading. Throws `PayloadTooLargeError` over the bound. */
  async push(bytes: Uint8Array, end: boolean): Promise<boolean> {
    if (this.#stopped) return false;
    this.#total += bytes.length;
    if (this.#total > this.#max) {
      this.tooLarge = new PayloadTooLargeError(
        `Cannot read stream request body: it exceeds maxRequestBodySizeBytes (${this.#max})`,
      );
      this.stop(this.tooLarge);
      throw this.tooLarge;
    }
    if (bytes.length > 0) this.#controller.enqueue(bytes.slice());
    if (end) {
      this.#stopped = true;
      this.#controller.close();
      this.#notify();
      return true;
    }
    while (!this.#stopped && (this.#controller.desiredSize ?? 0) <= 0) {
      await new Promise<void>((resolve) => this.#waiting.add(resolve));
    }
    return !this.#stopped;
  }

  /** Ends the body with an error (nothing more is read). */
  stop(reason: unknown): void {
    if (this.#stopped) return;
    this.#stopped = true;
    try {
      this.#controller.error(reason);
    } catch { /* closed */ }
    this.#notify();
  }
}

interface Session {
  readonly feed: BodyFeed;
  readonly abort: AbortController;
  reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  /** A read of the response body started early and not yet taken. */
  next: Promise<ReadableStreamReadResult<Uint8Array>> | undefined;
  /** Bytes of a chunk larger than one `read` answer, kept for the next read. */
  rest: Uint8Array | undefined;
  reading: boolean;
  readonly done: PromiseWithResolvers<void>;
}

const CONTINUE = new Uint8Array([0]);
const STOPPED = new Uint8Array([1]);
const END = new Uint8Array([1]);
const EMPTY = new Uint8Array(0);

/**
 * The streams this host serves for peers.
 *
 * @example
 * ```ts ignore
 * const sessions = new StreamSessions(deps);
 * const answer = await sessions.handle(decodeStreamMessage(body), signal);
 * ```
 */
export class StreamSessions {
  readonly #d: StreamServeDeps;
  readonly #sessions = new Map<string, Session>();

  constructor(deps: StreamServeDeps) {
    this.#d = deps;
  }

  /** Streams currently open (tests). */
  get size(): number {
    return this.#sessions.size;
  }

  /** Answers one message. */
  handle(msg: StreamMessage, signal: AbortSignal): Promise<Uint8Array> {
    switch (msg.op) {
      case "open":
        return this.#open(msg, signal);
      case "chunk":
        return this.#chunk(msg.streamId, msg.data, msg.end);
      case "read":
        return this.#read(msg.streamId);
      case "cancel":
        this.#cancel(msg.streamId, new TransportError("The caller cancelled the stream"));
        return Promise.resolve(EMPTY);
      case "watch":
        return this.#watch(msg.streamId, signal);
    }
  }

  async #open(msg: StreamOpen, signal: AbortSignal): Promise<Uint8Array> {
    if (this.#sessions.has(msg.streamId)) throw new TransportError("Cannot open stream: its ID is already in use");
    const session: Session = {
      feed: new BodyFeed(this.#d.maxRequestBodySizeBytes),
      abort: new AbortController(),
      reader: undefined,
      next: undefined,
      rest: undefined,
      reading: false,
      done: Promise.withResolvers<void>(),
    };
    // Registered before any await: the caller's `chunk` and `watch` messages follow on the same link.
    this.#sessions.set(msg.streamId, session);
    const onAbort = () => session.abort.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      session.feed.push(msg.data, msg.complete).catch(() => {});
      const found = await this.#d.admit(msg);
      const result = await runStreamTurn(this.#d, {
        ...msg,
        signal: session.abort.signal,
        requestId: msg.streamId,
        body: session.feed.stream,
        tooLarge: () => session.feed.tooLarge,
      }, found);
      if (result.bytes !== undefined && result.bytes.length <= STREAM_CHUNK_BYTES) {
        // The whole body goes with the answer: the turn ends now, as if it had been read.
        await result.body.cancel();
        this.#end(msg.streamId, session, undefined);
        return encodeOpenAnswer(result.contentType, "whole", result.bytes);
      }
      session.reader = result.body.getReader();
      if (session.abort.signal.aborted) {
        this.#cancel(msg.streamId, session.abort.signal.reason);
        return encodeOpenAnswer(result.contentType, "none", undefined);
      }
      // Bytes the body has ready at once go with the answer, saving a round trip for short bodies.
      const { chunk, end } = await this.#take(session, true);
      if (end) this.#end(msg.streamId, session, undefined);
      return encodeOpenAnswer(result.contentType, end ? "whole" : chunk === undefined ? "none" : "first", chunk);
    } catch (err) {
      this.#end(msg.streamId, session, err);
      throw err;
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  async #chunk(streamId: string, data: Uint8Array, end: boolean): Promise<Uint8Array> {
    const session = this.#sessions.get(streamId);
    if (session === undefined) return STOPPED;
    return await session.feed.push(data, end) ? CONTINUE : STOPPED;
  }

  async #read(streamId: string): Promise<Uint8Array> {
    const session = this.#sessions.get(streamId);
    if (session?.reader === undefined || session.reading) {
      throw new TransportError("Cannot read stream: it is not open, or a read is already pending");
    }
    session.reading = true;
    try {
      const { chunk, end } = await this.#take(session, false);
      if (end) this.#end(streamId, session, undefined);
      if (chunk === undefined) return END;
      const out = new Uint8Array(chunk.length + 1);
      out[0] = end ? 2 : 0;
      out.set(chunk, 1);
      return out;
    } catch (err) {
      this.#end(streamId, session, err);
      throw err;
    } finally {
      session.reading = false;
    }
  }

  /**
   * The next bytes of the response body (at most one chunk) and whether the
   * body ends right after them. With `soon`, only what is ready before the
   * next macrotask is taken (a read still pending is kept for later).
   */
  async #take(session: Session, soon: boolean): Promise<{ chunk: Uint8Array | undefined; end: boolean }> {
    let chunk = session.rest;
    session.rest = undefined;
    if (chunk === undefined) {
      const r = soon ? await this.#readSoon(session) : await this.#readNext(session);
      if (r === undefined) return { chunk: undefined, end: false };
      if (r.done) return { chunk: undefined, end: true };
      chunk = r.value;
    }
    if (chunk.length > STREAM_CHUNK_BYTES) {
      session.rest = chunk.subarray(STREAM_CHUNK_BYTES);
      return { chunk: chunk.subarray(0, STREAM_CHUNK_BYTES), end: false };
    }
    const after = await this.#readSoon(session);
    if (after?.done) return { chunk, end: true };
    if (after !== undefined) session.rest = after.value;
    return { chunk, end: false };
  }

  #readNext(session: Session): Promise<ReadableStreamReadResult<Uint8Array>> {
    const next = session.next ?? session.reader!.read();
    session.next = undefined;
    return next;
  }

  /** The next read if it settles before the next macrotask; otherwise `undefined`, and the read stays pending. */
  async #readSoon(session: Session): Promise<ReadableStreamReadResult<Uint8Array> | undefined> {
    let next = session.next;
    if (next === undefined) {
      next = session.next = session.reader!.read();
      next.catch(() => {}); // a failure is reported by the read that takes it
    }
    const settled = next.then((r) => r, () => undefined); // a failure stays in `next` for the read that takes it
    const r = await Promise.race([
      settled,
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 0)),
    ]);
    if (r !== undefined) session.next = undefined;
    return r;
  }

  async #watch(streamId: string, signal: AbortSignal): Promise<Uint8Array> {
    const session = this.#sessions.get(streamId);
    if (session === undefined) return EMPTY;
    // The link was lost (or the caller gave up): release the actor.
    const onAbort = () => this.#cancel(streamId, new TransportError("The link to the caller was lost"));
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      await session.done.promise;
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
    return EMPTY;
  }

  #cancel(streamId: string, reason: unknown): void {
    const session = this.#sessions.get(streamId);
    if (session === undefined) return;
    session.abort.abort(reason);
    session.reader?.cancel(reason).catch(() => {});
    this.#end(streamId, session, reason);
  }

  #end(streamId: string, session: Session, reason: unknown): void {
    if (this.#sessions.get(streamId) === session) this.#sessions.delete(streamId);
    session.feed.stop(reason ?? new TransportError("The stream ended"));
    session.done.resolve();
  }
}
