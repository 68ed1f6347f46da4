/**
 * {@linkcode MuxLink}: the request multiplexer shared by every transport. It
 * implements {@linkcode PeerLink} over a {@linkcode ByteChannel}, so the
 * memory and TLS transports differ only in how bytes move and how peers
 * authenticate.
 *
 * @module
 */

import { isFrancisError, OverloadedError, PayloadTooLargeError, RetryLaterError, TransportError } from "../errors.ts";
import type { Logger } from "../actor/types.ts";
import { errorMessage } from "../_internal/logger.ts";
import { typeName } from "../_internal/validate.ts";
import { decodeWireError, encodeWireError } from "../_internal/wire_errors.ts";
import { DEFAULT_MAX_FRAME_BYTES, encodeFrame, FrameReader, FrameType, type FrameTypeValue } from "./frames.ts";
import type { PeerLink, PeerRequestHandler, RequestOptions } from "./types.ts";
import { DeadlineQueue, Inbound, Outbound } from "./_mux_requests.ts";

/**
 * A bidirectional byte stream (a TLS socket, an in-memory pipe). Listeners are
 * set once, by the link.
 */
export interface ByteChannel {
  /** Queues bytes (never modified afterwards); `false` means the channel is full: wait for drain. */
  write(bytes: Uint8Array): boolean;
  /** Flushes queued bytes, then closes. */
  close(): void;
  /** Closes at once, dropping queued bytes. */
  destroy(): void;
  /** Receives incoming chunks (not modified by the channel afterwards). */
  onData(listener: (chunk: Uint8Array) => void): void;
  /** Called when a full channel can take more bytes. */
  onDrain(listener: () => void): void;
  /** Called once when the channel has closed, with the error if it failed. */
  onClose(listener: (error?: unknown) => void): void;
}

/** Options of a {@linkcode MuxLink}. */
export interface MuxLinkOptions {
  /** The peer's authenticated host ID. */
  peerId: string;
  /** Answers the peer's requests. */
  handler: PeerRequestHandler;
  /** Unanswered inbound requests allowed before `OverloadedError`. */
  maxInFlightRequests: number;
  /** Largest body sent or accepted. @default {16777216} */
  maxFrameBytes?: number;
  /** Silence (ms) with requests in flight after which the link is lost; probes after half. Off when omitted. */
  keepaliveMs?: number;
  /** Where protocol violations are reported. */
  logger?: Logger;
  /** A reader that already consumed the start of the stream (a handshake); its buffered bytes carry over. */
  reader?: FrameReader;
  /** Frames the handshake read past its end, delivered first. */
  early?: readonly { type: FrameTypeValue; id: number; body: Uint8Array }[];
}

/** Why a link closed: `local` (close()), `peer` (the peer said goodbye), `lost` (dropped or protocol error). */
export type LinkCloseReason = "local" | "peer" | "lost";

/** Bytes of control frames queued while the channel is full before the peer is dropped as not reading. */
const MAX_CONTROL_BACKLOG = 1 << 20;
/** How long a graceful close waits for the channel to finish before destroying it. */
const CLOSE_GRACE_MS = 2_000;
const EMPTY = new Uint8Array(0);

/**
 * One multiplexed peer link over a byte channel.
 *
 * @example
 * ```ts ignore
 * import { MuxLink } from "./mux.ts";
 * const link = new MuxLink(channel, { peerId: "b", handler: (body) => body, maxInFlightRequests: 100 });
 * const answer = await link.request(new Uint8Array([1]), { timeoutMs: 5_000 });
 * ```
 */
export class MuxLink implements PeerLink {
  /** The peer's authenticated host ID. */
  readonly peerId: string;
  /** Resolves once the underlying channel has closed. */
  readonly closed: Promise<void>;
  readonly #channel: ByteChannel;
  readonly #handler: PeerRequestHandler;
  readonly #maxInFlight: number;
  readonly #maxFrame: number;
  readonly #logger: Logger | undefined;
  readonly #out = new Map<number, Outbound>();
  readonly #in = new Map<number, Inbound>();
  readonly #deadlines = new DeadlineQueue();
  #nextId = 0;
  #closeReason: LinkCloseReason | undefined;
  #channelClosed = false;
  #resolveClosed!: () => void;
  #graceTimer: ReturnType<typeof setTimeout> | undefined;
  #blocked = false;
  #backlog = 0;
  #drain: { promise: Promise<void>; resolve: () => void } | undefined;
  /** Goodbye frames exchanged: after sending one, no new request is sent; the link ends once both are seen and nothing is in flight. */
  #goodbyeSent = false;
  #goodbyeReceived = false;
  #closingLocally = false;
  readonly #keepaliveMs: number | undefined;
  #keepaliveTimer: ReturnType<typeof setInterval> | undefined;
  #lastHeard = Date.now();

  /**
   * @param channel The byte stream; the link takes it over.
   * @param options Peer, handler and limits.
   */
  constructor(channel: ByteChannel, options: MuxLinkOptions) {
    this.peerId = options.peerId;
    this.#channel = channel;
    this.#handler = options.handler;
    this.#maxInFlight = options.maxInFlightRequests;
    this.#maxFrame = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.#logger = options.logger;
    this.#keepaliveMs = options.keepaliveMs;
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    const onFrame = (type: FrameTypeValue, id: number, body: Uint8Array) => this.#onFrame(type, id, body);
    const reader = options.reader ?? new FrameReader(onFrame, this.#maxFrame);
    reader.onFrame = onFrame;
    channel.onClose((error) => this.#onChannelClose(error));
    channel.onDrain(() => this.#onDrain());
    channel.onData((chunk) => {
      if (this.#closeReason !== undefined) return;
      this.#lastHeard = Date.now();
      try {
        reader.push(chunk);
      } catch (err) {
        this.#protocolError(err);
      }
    });
    for (const f of options.early ?? []) {
      if (this.#closeReason === undefined) this.#onFrame(f.type, f.id, f.body);
    }
  }

  /** Whether the link is closed or closing (it takes no new requests either way). */
  get isClosed(): boolean {
    return this.#closeReason !== undefined || this.#goodbyeSent;
  }

  /** Why the link closed (`undefined` while open): lets a host tell a graceful close from a crash. */
  get closeReason(): LinkCloseReason | undefined {
    return this.#closeReason;
  }

  /** Requests of the peer currently running here. */
  get inboundInFlight(): number {
    return this.#in.size;
  }

  /** Sends one request and resolves with the peer handler's answer. */
  request(body: Uint8Array, options?: RequestOptions): Promise<Uint8Array> {
    if (this.isClosed) {
      return Promise.reject(new RetryLaterError(`Cannot send request: link to host "${this.peerId}" is closed`));
    }
    if (!(body instanceof Uint8Array)) {
      return Promise.reject(new TypeError(`Cannot send request: body must be a Uint8Array (got ${typeName(body)})`));
    }
    const signal = options?.signal;
    const timeoutMs = options?.timeoutMs;
    if (timeoutMs !== undefined && !(typeof timeoutMs === "number" && timeoutMs > 0)) {
      return Promise.reject(
        new RangeError(`Cannot send request: timeoutMs must be a positive number (got ${timeoutMs})`),
      );
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (body.length > this.#maxFrame) {
      return Promise.reject(
        new PayloadTooLargeError(
          `Cannot send request: body of ${body.length} bytes exceeds maxFrameBytes ${this.#maxFrame}`,
        ),
      );
    }
    const id = this.#allocateId();
    return new Promise<Uint8Array>((resolve, reject) => {
      this.#armKeepalive();
      const out = new Outbound(resolve, reject, () => {
        this.#out.delete(id);
        if (this.#goodbyeSent) this.#finishIfQuiet();
      });
      this.#out.set(id, out);
      out.arm(signal, timeoutMs, (reason) => this.#cancel(id, out, reason), this.peerId, this.#deadlines);
      const frame = encodeFrame(FrameType.Request, id, body);
      if (!this.#blocked) {
        out.sent = true;
        this.#write(frame);
      } else {
        this.#writeWhenDrained(frame, () => {
          if (out.settled) return false;
          out.sent = true;
          return true;
        });
      }
    });
  }

  /**
   * Closes the link gracefully: says goodbye (no new request is sent after
   * it), lets requests in flight in both directions finish, and ends once the
   * peer has said goodbye too. After `CLOSE_GRACE_MS` whatever is still in
   * flight rejects with `TransportError` and the channel is dropped.
   */
  close(): Promise<void> {
    if (this.#closeReason === undefined && !this.#closingLocally) {
      this.#closingLocally = true;
      this.#sayGoodbye();
      this.#graceTimer = setTimeout(() => {
        this.#graceTimer = undefined;
        this.#finish(new TransportError(`Cannot complete request: link to host "${this.peerId}" was closed`));
      }, CLOSE_GRACE_MS);
      this.#finishIfQuiet();
    }
    return this.closed;
  }

  #sayGoodbye(): void {
    if (this.#goodbyeSent) return;
    this.#goodbyeSent = true;
    this.#write(encodeFrame(FrameType.Goodbye, 0));
  }

  /** Ends the link once both goodbyes were exchanged and nothing is in flight. */
  #finishIfQuiet(): void {
    if (this.#closeReason !== undefined || !this.#goodbyeSent || !this.#goodbyeReceived) return;
    if (this.#in.size > 0 || this.#out.size > 0) return;
    this.#finish(new TransportError(`Cannot complete request: link to host "${this.peerId}" was closed`));
  }

  #finish(error: TransportError): void {
    if (this.#closeReason !== undefined) return;
    this.#shutdown(this.#closingLocally ? "local" : "peer", error);
    this.#endChannel();
  }

  /**
   * While requests are in flight, probes a silent peer after half of
   * `keepaliveMs` and drops the link after all of it, so no call waits forever
   * on a frozen or partitioned peer. Idle links run no timer.
   */
  #armKeepalive(): void {
    const ms = this.#keepaliveMs;
    if (ms === undefined || this.#keepaliveTimer !== undefined) return;
    if (this.#out.size === 0) this.#lastHeard = Date.now(); // silence counts from the first request in flight
    this.#keepaliveTimer = setInterval(() => {
      if (this.#out.size === 0 || this.#closeReason !== undefined) {
        clearInterval(this.#keepaliveTimer);
        this.#keepaliveTimer = undefined;
        return;
      }
      const silent = Date.now() - this.#lastHeard;
      if (silent >= ms) {
        this.#protocolError(new Error(`Cannot reach peer: it sent nothing for ${silent} ms with requests in flight`));
      } else if (silent >= ms / 2) {
        this.#writeControl(encodeFrame(FrameType.Ping, 0));
      }
    }, Math.max(1, Math.floor(ms / 4)));
  }

  #allocateId(): number {
    do this.#nextId = this.#nextId >= 0xffff_ffff ? 1 : this.#nextId + 1; while (this.#out.has(this.#nextId));
    return this.#nextId;
  }

  #cancel(id: number, out: Outbound, reason: unknown): void {
    if (!out.sent || this.#closeReason !== undefined) return;
    this.#writeControl(encodeFrame(FrameType.Cancel, id, isFrancisError(reason) ? encodeWireError(reason) : EMPTY));
  }

  #onFrame(type: FrameTypeValue, id: number, body: Uint8Array): void {
    if (this.#closeReason !== undefined) return;
    switch (type) {
      case FrameType.Request:
        if (this.#goodbyeReceived) {
          return this.#protocolError(new Error("Cannot accept request: the peer already said goodbye"));
        }
        return this.#onRequest(id, body);
      case FrameType.Response:
        this.#out.get(id)?.resolve(body);
        if (this.#goodbyeSent) this.#finishIfQuiet();
        return;
      case FrameType.Error:
        this.#out.get(id)?.reject(decodeWireError(body));
        if (this.#goodbyeSent) this.#finishIfQuiet();
        return;
      case FrameType.Cancel: {
        const reason = body.length > 0
          ? decodeWireError(body)
          : new DOMException("The caller cancelled the request", "AbortError");
        this.#in.get(id)?.controller.abort(reason);
        return;
      }
      case FrameType.Ping:
        return this.#writeControl(encodeFrame(FrameType.Pong, 0));
      case FrameType.Pong:
        return; // hearing it was the point
      case FrameType.Goodbye:
        // The peer sends no new request after its goodbye; answer what it sent before, and send nothing new either.
        this.#goodbyeReceived = true;
        this.#sayGoodbye();
        this.#finishIfQuiet();
        return;
      default:
        this.#protocolError(new Error(`Cannot read frame: unexpected frame type ${type} on an open link`));
    }
  }

  #onRequest(id: number, body: Uint8Array): void {
    if (this.#in.has(id)) {
      return this.#protocolError(new Error(`Cannot accept request: request ID ${id} is already in flight`));
    }
    if (this.#in.size >= this.#maxInFlight) {
      const err = new OverloadedError(
        `Cannot accept request: host has ${this.#in.size} requests in flight on this link (maxInFlightRequests)`,
      );
      this.#writeControl(encodeFrame(FrameType.Error, id, encodeWireError(err)));
      return;
    }
    const run = new Inbound();
    this.#in.set(id, run);
    let result: Promise<Uint8Array> | Uint8Array;
    try {
      result = this.#handler(body, { peerId: this.peerId, signal: run.controller.signal });
    } catch (err) {
      return this.#answer(id, run, undefined, err);
    }
    if (result instanceof Uint8Array) return this.#answer(id, run, result, undefined);
    Promise.resolve(result).then(
      (value) => this.#answer(id, run, value, undefined),
      (err) => this.#answer(id, run, undefined, err ?? new Error(String(err))),
    );
  }

  #answer(id: number, run: Inbound, value: unknown, err: unknown): void {
    if (this.#in.get(id) !== run) return; // link closed meanwhile
    if (run.controller.signal.aborted) {
      this.#in.delete(id); // the caller gave up and is not waiting
      if (this.#goodbyeSent) this.#finishIfQuiet();
      return;
    }
    let frame: Uint8Array;
    if (err === undefined && value instanceof Uint8Array && value.length <= this.#maxFrame) {
      frame = encodeFrame(FrameType.Response, id, value);
    } else {
      if (err === undefined) {
        err = value instanceof Uint8Array
          ? new PayloadTooLargeError(
            `Cannot answer request: response of ${value.length} bytes exceeds maxFrameBytes ${this.#maxFrame}`,
          )
          : new TypeError(`Cannot answer request: handler returned ${typeName(value)} instead of a Uint8Array`);
      }
      frame = encodeFrame(FrameType.Error, id, encodeWireError(err));
    }
    // The slot stays taken until the answer is handed to the channel: a peer that does not read cannot make us buffer.
    if (!this.#blocked) {
      this.#in.delete(id);
      this.#write(frame);
      if (this.#goodbyeSent) this.#finishIfQuiet();
    } else {
      this.#writeWhenDrained(frame, () => this.#in.delete(id)).then(() => {
        if (this.#goodbyeSent) this.#finishIfQuiet();
      });
    }
  }

  #write(frame: Uint8Array): void {
    if (!this.#channel.write(frame)) this.#blocked = true;
  }

  /** Waits for drain (FIFO-ish), then writes unless `ready()` says no. */
  async #writeWhenDrained(frame: Uint8Array, ready: () => boolean): Promise<void> {
    while (this.#blocked) {
      this.#drain ??= Promise.withResolvers<void>();
      await this.#drain.promise;
      if (this.#closeReason !== undefined) return;
    }
    if (ready()) this.#write(frame);
  }

  /** Small frames that must not wait; bounded so that a peer that never reads gets dropped. */
  #writeControl(frame: Uint8Array): void {
    if (this.#closeReason !== undefined) return;
    if (this.#blocked) this.#backlog += frame.length;
    if (this.#backlog > MAX_CONTROL_BACKLOG) {
      return this.#protocolError(new Error("Cannot write to peer: it stopped reading"));
    }
    this.#write(frame);
  }

  #onDrain(): void {
    this.#blocked = false;
    this.#backlog = 0;
    const d = this.#drain;
    this.#drain = undefined;
    d?.resolve();
  }

  #protocolError(err: unknown): void {
    if (this.#closeReason !== undefined) return;
    this.#logger?.warn("Closing peer link after a protocol error", { peer: this.peerId, err: errorMessage(err) });
    this.#shutdown(
      "lost",
      new TransportError(`Cannot complete request: link to host "${this.peerId}" failed`, { cause: err }),
    );
    this.#channel.destroy();
  }

  #onChannelClose(error: unknown): void {
    this.#channelClosed = true;
    if (this.#graceTimer !== undefined) clearTimeout(this.#graceTimer);
    if (this.#closeReason === undefined) {
      this.#shutdown(
        this.#goodbyeReceived ? "peer" : "lost",
        new TransportError(`Cannot complete request: link to host "${this.peerId}" was lost`, { cause: error }),
      );
    }
    this.#resolveClosed();
  }

  #endChannel(): void {
    clearTimeout(this.#graceTimer);
    this.#graceTimer = undefined;
    if (this.#channelClosed) return;
    this.#channel.close();
    if (!this.#channelClosed) this.#graceTimer = setTimeout(() => this.#channel.destroy(), CLOSE_GRACE_MS);
  }

  #shutdown(reason: LinkCloseReason, error: TransportError): void {
    this.#closeReason = reason;
    clearInterval(this.#keepaliveTimer);
    this.#keepaliveTimer = undefined;
    const notSent = new RetryLaterError(`Cannot send request: link to host "${this.peerId}" closed before sending`, {
      cause: error,
    });
    for (const out of [...this.#out.values()]) out.reject(out.sent ? error : notSent);
    for (const run of this.#in.values()) run.controller.abort(error);
    this.#in.clear();
    this.#onDrain(); // wake writers: they see the link closed
  }
}
