import assert from "node:assert/strict";
import { InternalError, OverloadedError, RetryLaterError, TransportError } from "../errors.ts";
import { decodeWireError } from "../_internal/wire_errors.ts";
import { encodeFrame, FrameReader, FrameType, type FrameTypeValue } from "./frames.ts";
import { type ByteChannel, MuxLink } from "./mux.ts";
import { MemoryChannel } from "./_memory_channel.ts";
import type { PeerRequestHandler } from "./types.ts";

const silent = { debug() {}, info() {}, warn() {}, error() {} };

/** Lets queued microtasks run until `done()` holds (no timers involved). */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 1_000 && !done(); i++) await Promise.resolve();
  assert.ok(done(), "condition never held");
}

/** A channel driven by the test: records writes, reports "full" on demand. */
class FakeChannel implements ByteChannel {
  writes: Uint8Array[] = [];
  full = false;
  ended = false;
  destroyed = false;
  #data: (c: Uint8Array) => void = () => {};
  #drain: () => void = () => {};
  #close: (e?: unknown) => void = () => {};
  write(bytes: Uint8Array): boolean {
    this.writes.push(bytes);
    return !this.full;
  }
  close(): void {
    this.ended = true;
    queueMicrotask(() => this.#close());
  }
  destroy(): void {
    this.destroyed = true;
    queueMicrotask(() => this.#close());
  }
  onData(l: (c: Uint8Array) => void): void {
    this.#data = l;
  }
  onDrain(l: () => void): void {
    this.#drain = l;
  }
  onClose(l: (e?: unknown) => void): void {
    this.#close = l;
  }
  feed(bytes: Uint8Array): void {
    this.#data(bytes);
  }
  drain(): void {
    this.#drain();
  }
  /** The frames written so far. */
  frames(): { type: FrameTypeValue; id: number; body: Uint8Array }[] {
    const out: { type: FrameTypeValue; id: number; body: Uint8Array }[] = [];
    const r = new FrameReader((type, id, body) => out.push({ type, id, body }));
    for (const w of this.writes) r.push(w);
    return out;
  }
}

function link(channel: ByteChannel, handler: PeerRequestHandler = (b) => b, maxInFlightRequests = 10) {
  return new MuxLink(channel, { peerId: "peer", handler, maxInFlightRequests, logger: silent });
}

Deno.test("a full channel holds further requests until drain, and does not buffer them", async () => {
  const ch = new FakeChannel();
  const l = link(ch);
  ch.full = true;
  const a = l.request(new Uint8Array([1]));
  const b = l.request(new Uint8Array([2]));
  const c = l.request(new Uint8Array([3]));
  assert.equal(ch.writes.length, 1, "only the first request was written");
  ch.drain(); // still full after the next write
  await until(() => ch.writes.length === 2);
  await Promise.resolve();
  assert.equal(ch.writes.length, 2, "the third waits for the next drain");
  ch.full = false;
  ch.drain();
  await until(() => ch.writes.length === 3);
  const ids = ch.frames().map((f) => f.id);
  for (let i = 0; i < 3; i++) ch.feed(encodeFrame(FrameType.Response, ids[i], new Uint8Array([i])));
  assert.deepEqual((await Promise.all([a, b, c])).map((x) => x[0]), [0, 1, 2]);
  await l.close();
});

Deno.test("close: sent requests reject with TransportError, unsent ones with RetryLaterError", async () => {
  const ch = new FakeChannel();
  const l = link(ch);
  ch.full = true;
  const sent = l.request(new Uint8Array([1])).catch((e) => e);
  const unsent = l.request(new Uint8Array([2])).catch((e) => e);
  await l.close();
  assert.ok((await sent) instanceof TransportError);
  assert.ok((await unsent) instanceof RetryLaterError);
  assert.equal(l.closeReason, "local");
  assert.ok(ch.ended);
  assert.equal(ch.frames().at(-1)?.type, FrameType.Goodbye);
});

Deno.test("a peer goodbye closes the link gracefully; a lost channel does not", async () => {
  const ch = new FakeChannel();
  const l = link(ch);
  const pending = l.request(new Uint8Array([1])).catch((e) => e);
  ch.feed(encodeFrame(FrameType.Goodbye, 0));
  // After a goodbye the link takes no new request, but the one in flight is still answered.
  assert.equal(l.isClosed, true);
  assert.ok((await l.request(new Uint8Array([2])).catch((e) => e)) instanceof RetryLaterError);
  ch.feed(encodeFrame(FrameType.Response, 1, new Uint8Array([7])));
  assert.deepEqual(await pending, new Uint8Array([7]));
  await l.closed;
  assert.equal(l.closeReason, "peer");
  const ch2 = new FakeChannel();
  const l2 = link(ch2);
  ch2.destroy();
  await l2.closed;
  assert.equal(l2.closeReason, "lost");
});

Deno.test("protocol violations close the link: garbage, duplicate request IDs, a late hello", async () => {
  const cases = [
    new Uint8Array([0, 0, 0, 0, 0xee, 0, 0, 0, 0]),
    new Uint8Array([...encodeFrame(FrameType.Request, 5), ...encodeFrame(FrameType.Request, 5)]),
    encodeFrame(FrameType.Hello, 0),
  ];
  for (const bytes of cases) {
    const ch = new FakeChannel();
    const l = link(ch, () => new Promise(() => {}));
    const pending = l.request(new Uint8Array([1])).catch((e) => e);
    ch.feed(bytes);
    assert.ok((await pending) instanceof TransportError);
    assert.ok(ch.destroyed);
    await l.closed;
    assert.equal(l.closeReason, "lost");
  }
});

Deno.test("a peer that floods requests while never reading is dropped", async () => {
  const ch = new FakeChannel();
  const l = link(ch, () => new Promise(() => {}), 1);
  ch.full = true;
  ch.feed(encodeFrame(FrameType.Request, 1)); // takes the only slot
  const flood = new Uint8Array(9 * 30_000);
  for (let i = 0; i < 30_000; i++) flood.set(encodeFrame(FrameType.Request, i + 2), i * 9);
  ch.feed(flood); // 30k overloaded answers that cannot be written
  assert.ok(ch.destroyed);
  await l.closed;
});

Deno.test("handlers: a non-Uint8Array result is InternalError; early frames are replayed", async () => {
  const [x, y] = MemoryChannel.pair();
  const a = link(x, () => "nope" as unknown as Uint8Array);
  const b = link(y);
  const err = await b.request(new Uint8Array(1)).catch((e) => e);
  assert.ok(err instanceof InternalError, String(err));
  await b.close();
  await a.closed;

  const ch = new FakeChannel();
  const seen: number[] = [];
  const l = new MuxLink(ch, {
    peerId: "p",
    handler: (body) => (seen.push(body[0]), body),
    maxInFlightRequests: 1,
    logger: silent,
    early: [{ type: FrameType.Request, id: 9, body: new Uint8Array([42]) }],
  });
  assert.deepEqual(seen, [42]);
  assert.equal(ch.frames()[0].type, FrameType.Response);
  await l.close();
});

Deno.test("excess requests get OverloadedError frames without running the handler", async () => {
  const ch = new FakeChannel();
  let runs = 0;
  const l = link(ch, () => (runs++, new Promise(() => {})), 2);
  for (let id = 1; id <= 5; id++) ch.feed(encodeFrame(FrameType.Request, id));
  assert.equal(runs, 2);
  assert.equal(l.inboundInFlight, 2);
  const errors = ch.frames().filter((f) => f.type === FrameType.Error);
  assert.deepEqual(errors.map((f) => f.id), [3, 4, 5]);
  for (const f of errors) assert.ok(decodeWireError(f.body) instanceof OverloadedError);
  await l.close();
});

Deno.test("keepalive: a silent peer is pinged, then dropped, failing the request in flight", async () => {
  const ch = new FakeChannel();
  const l = new MuxLink(ch, {
    peerId: "b",
    handler: () => new Uint8Array(),
    maxInFlightRequests: 10,
    keepaliveMs: 80,
    logger: silent,
  });
  const started = Date.now();
  const err = await l.request(new Uint8Array([1])).catch((e) => e);
  assert.ok(err instanceof TransportError, String(err));
  assert.ok(Date.now() - started >= 80, "not dropped before keepaliveMs of silence");
  assert.ok(ch.frames().some((f) => f.type === FrameType.Ping), "a ping went out first");
  assert.equal(l.closeReason, "lost");
  await l.closed;
});

Deno.test("keepalive: a peer that answers pings keeps a slow request alive", async () => {
  const ch = new FakeChannel();
  const l = new MuxLink(ch, {
    peerId: "b",
    handler: () => new Uint8Array(),
    maxInFlightRequests: 10,
    keepaliveMs: 60,
    logger: silent,
  });
  const pending = l.request(new Uint8Array([1]));
  // The peer answers every ping (as a live host does while its handler runs) and replies after 4 keepalive periods.
  let answered = 0;
  const pong = setInterval(() => {
    const pings = ch.frames().filter((f) => f.type === FrameType.Ping).length;
    for (; answered < pings; answered++) ch.feed(encodeFrame(FrameType.Pong, 0));
  }, 5);
  const reply = setTimeout(() => ch.feed(encodeFrame(FrameType.Response, 1, new Uint8Array([9]))), 240);
  try {
    assert.deepEqual(await pending, new Uint8Array([9]));
    assert.ok(answered > 0, "pings were exchanged");
  } finally {
    clearInterval(pong);
    clearTimeout(reply);
  }
  ch.destroy();
  await l.closed;
});

Deno.test("keepalive: a ping is answered with a pong", async () => {
  const ch = new FakeChannel();
  const l = new MuxLink(ch, { peerId: "b", handler: () => new Uint8Array(), maxInFlightRequests: 10, logger: silent });
  ch.feed(encodeFrame(FrameType.Ping, 0));
  assert.deepEqual(ch.frames().map((f) => f.type), [FrameType.Pong]);
  ch.destroy();
  await l.closed;
});
