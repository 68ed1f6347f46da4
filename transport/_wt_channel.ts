/**
 * A {@linkcode ByteChannel} over ONE long-lived WebTransport bidirectional
 * stream, for the experimental WebTransport transport (Deno, `--unstable-net`).
 *
 * Deno 2.9.6 never sends FIN when a WebTransport stream is closed, and closing
 * the session drops stream data not yet acknowledged. So the end of the byte
 * stream is signalled out of band, by byte count, on one unidirectional
 * control stream per side:
 *
 * - `END n`: "I have written exactly n bytes on the main stream and will write no more".
 * - `DONE`: "I have read every byte you announced in your END".
 *
 * A side closes the session once it has received the peer's `DONE` and sent
 * its own: by then both directions were read in full, so nothing is lost.
 * Receiving the peer's `END` (and its bytes) ends our side too, as a TCP
 * socket without half-open does. Control messages are 9 bytes:
 * `u8 type | u32 high | u32 low` (big-endian byte count).
 *
 * @module
 */

import type { ByteChannel } from "./mux.ts";

/** Bytes queued or in the writer at which `write` reports the channel full. */
const HIGH_WATER_MARK = 1 << 20;
/** Small writes are coalesced into one stream write up to this size. */
const COALESCE_BYTES = 65_536;
/** A graceful close that the peer does not complete within this long is forced. */
const CLOSE_LINGER_MS = 5_000;
const END = 1;
const DONE = 2;
const CONTROL_BYTES = 9;

/**
 * Adapts a WebTransport session and its one bidirectional stream. Any other
 * stream the peer opens (beyond one control stream) is a protocol violation
 * that destroys the channel. Reading starts when the data listener is set.
 *
 * @example
 * ```ts ignore
 * const channel = new WebTransportChannel(wt, await wt.createBidirectionalStream());
 * const link = new MuxLink(channel, { peerId, handler, maxInFlightRequests: 100 });
 * ```
 */
export class WebTransportChannel implements ByteChannel {
  readonly #wt: WebTransport;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #inWriter = 0;
  #scheduled = false;
  #blocked = false;
  #sent = 0;
  #received = 0;
  #state: "open" | "ending" | "closed" = "open";
  #peerEndAt: number | undefined;
  #peerDone = false;
  #doneSent = false;
  #control: Promise<WritableStreamDefaultWriter<Uint8Array>> | undefined;
  #linger: ReturnType<typeof setTimeout> | undefined;
  #reading = false;
  #onData: (chunk: Uint8Array) => void = () => {};
  #onDrain: () => void = () => {};
  #onClose: ((error?: unknown) => void) | undefined;
  #closeError: unknown;

  /**
   * @param wt The session; the channel takes it over and closes it.
   * @param stream The one bidirectional stream of the session.
   */
  constructor(wt: WebTransport, stream: WebTransportBidirectionalStream) {
    this.#wt = wt;
    this.#reader = stream.readable.getReader() as ReadableStreamDefaultReader<Uint8Array>;
    this.#writer = stream.writable.getWriter();
    wt.closed.then(() => this.#shut(undefined), (err) => this.#shut(err));
    this.#watchUni();
    this.#watchBidi();
  }

  /** Bytes written to the main stream so far (queued ones included). */
  get bytesWritten(): number {
    return this.#sent + this.#pendingBytes;
  }

  /** Queues bytes; `false` once 1 MiB or more is queued or unacknowledged by the stream writer. */
  write(bytes: Uint8Array): boolean {
    if (this.#state !== "open" || bytes.length === 0) return true;
    this.#pending.push(bytes);
    this.#pendingBytes += bytes.length;
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(() => this.#flush());
    }
    if (this.#pendingBytes + this.#inWriter >= HIGH_WATER_MARK) this.#blocked = true;
    return !this.#blocked;
  }

  /** Flushes queued bytes, announces the end, and closes the session once both sides have read everything. */
  close(): void {
    if (this.#state !== "open") return;
    this.#flush();
    this.#state = "ending";
    this.#sendControl(END, this.#sent);
    this.#linger = setTimeout(() => this.destroy(), CLOSE_LINGER_MS);
    this.#checkPeerEnd();
  }

  /** Closes the session at once, dropping queued bytes. */
  destroy(error?: unknown): void {
    if (this.#state === "closed") return;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#closeSession(1, "link destroyed");
    this.#shut(error);
  }

  /** Sets the data listener and starts reading. */
  onData(listener: (chunk: Uint8Array) => void): void {
    this.#onData = listener;
    if (!this.#reading) {
      this.#reading = true;
      this.#pump();
    }
  }

  /** Sets the drain listener. */
  onDrain(listener: () => void): void {
    this.#onDrain = listener;
  }

  /** Sets the close listener (called asynchronously if the channel already closed). */
  onClose(listener: (error?: unknown) => void): void {
    this.#onClose = listener;
    if (this.#state === "closed") queueMicrotask(() => listener(this.#closeError));
  }

  #flush(): void {
    this.#scheduled = false;
    if (this.#state !== "open" || this.#pending.length === 0) return;
    const pending = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    let group: Uint8Array[] = [];
    let groupBytes = 0;
    for (const chunk of pending) {
      if (groupBytes > 0 && groupBytes + chunk.length > COALESCE_BYTES) {
        this.#writeChunk(concat(group, groupBytes));
        group = [];
        groupBytes = 0;
      }
      group.push(chunk);
      groupBytes += chunk.length;
    }
    if (groupBytes > 0) this.#writeChunk(concat(group, groupBytes));
  }

  #writeChunk(chunk: Uint8Array): void {
    const n = chunk.length;
    this.#sent += n;
    this.#inWriter += n;
    this.#writer.write(chunk).then(() => {
      this.#inWriter -= n;
      if (this.#blocked && this.#inWriter + this.#pendingBytes < HIGH_WATER_MARK / 2) {
        this.#blocked = false;
        if (this.#state === "open") this.#onDrain();
      }
    }, (err) => this.destroy(err));
  }

  async #pump(): Promise<void> {
    try {
      for (;;) {
        const { value, done } = await this.#reader.read();
        if (done) return this.destroy(new Error("Cannot read from peer: the stream ended"));
        if (this.#state === "closed") return;
        this.#received += value.length;
        this.#onData(value);
        this.#checkPeerEnd();
      }
    } catch (err) {
      this.destroy(err);
    }
  }

  /** The peer's first unidirectional stream carries its control messages; a second one is a violation. */
  async #watchUni(): Promise<void> {
    const streams = this.#wt.incomingUnidirectionalStreams.getReader();
    try {
      const first = await streams.read();
      if (first.done) return;
      this.#readControl(first.value.getReader() as ReadableStreamDefaultReader<Uint8Array>);
      const second = await streams.read();
      if (!second.done) this.destroy(new Error("Cannot read from peer: it opened a second control stream"));
    } catch {
      // The session closed.
    }
  }

  /** The peer must not open a bidirectional stream once the channel exists. */
  async #watchBidi(): Promise<void> {
    try {
      const next = await this.#wt.incomingBidirectionalStreams.getReader().read();
      if (!next.done) this.destroy(new Error("Cannot read from peer: it opened a second bidirectional stream"));
    } catch {
      // The session closed.
    }
  }

  async #readControl(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
    let buffer: Uint8Array = new Uint8Array(0);
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done || this.#state === "closed") return;
        buffer = concat([buffer, value], buffer.length + value.length);
        while (buffer.length >= CONTROL_BYTES) {
          const view = new DataView(buffer.buffer, buffer.byteOffset, CONTROL_BYTES);
          const type = view.getUint8(0);
          const count = view.getUint32(1) * 2 ** 32 + view.getUint32(5);
          buffer = buffer.subarray(CONTROL_BYTES);
          if (type === END && this.#peerEndAt === undefined) this.#peerEndAt = count;
          else if (type === DONE) this.#peerDone = true;
          else return this.destroy(new Error(`Cannot read from peer: bad control message ${type}`));
          this.#checkPeerEnd();
        }
      }
    } catch (err) {
      this.destroy(err);
    }
  }

  /** Once the peer's announced bytes are all read: end our side too, say DONE, and finish if the peer did. */
  #checkPeerEnd(): void {
    if (this.#state === "closed") return;
    if (this.#peerEndAt !== undefined && this.#received >= this.#peerEndAt && !this.#doneSent) {
      if (this.#state === "open") this.close();
      this.#doneSent = true;
      this.#sendControl(DONE, 0);
    }
    if (this.#state === "ending" && this.#doneSent && this.#peerDone) {
      this.#closeSession(0, "done");
      this.#shut(undefined);
    }
  }

  #sendControl(type: number, count: number): void {
    const message = new Uint8Array(CONTROL_BYTES);
    const view = new DataView(message.buffer);
    view.setUint8(0, type);
    view.setUint32(1, Math.floor(count / 2 ** 32));
    view.setUint32(5, count >>> 0);
    this.#control ??= this.#wt.createUnidirectionalStream().then((s) => s.getWriter());
    this.#control.then((w) => w.write(message)).catch((err) => this.destroy(err));
  }

  #closeSession(closeCode: number, reason: string): void {
    try {
      this.#wt.close({ closeCode, reason });
    } catch {
      // Already closed.
    }
  }

  #shut(error: unknown): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    this.#closeError = error;
    clearTimeout(this.#linger);
    this.#closeSession(1, "link closed");
    const listener = this.#onClose;
    if (listener !== undefined) queueMicrotask(() => listener(error));
  }
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
