import assert from "node:assert/strict";
import { encodeFrame, FrameError, FrameReader, FrameType, type FrameTypeValue } from "./frames.ts";

type Seen = [FrameTypeValue, number, number[]];

function collect(max = 1_024): { reader: FrameReader; seen: Seen[]; bodies: Uint8Array[] } {
  const seen: Seen[] = [];
  const bodies: Uint8Array[] = [];
  const reader = new FrameReader((type, id, body) => {
    seen.push([type, id, [...body]]);
    bodies.push(body);
  }, max);
  return { reader, seen, bodies };
}

const frames = [
  encodeFrame(FrameType.Request, 1, new Uint8Array([1, 2, 3])),
  encodeFrame(FrameType.Response, 0xffff_ffff, new Uint8Array(0)),
  encodeFrame(FrameType.Cancel, 7),
  encodeFrame(FrameType.Error, 300, new Uint8Array(700).fill(9)),
  encodeFrame(FrameType.Goodbye, 0),
];
const stream = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
frames.reduce((at, f) => (stream.set(f, at), at + f.length), 0);
const expected: Seen[] = [
  [FrameType.Request, 1, [1, 2, 3]],
  [FrameType.Response, 0xffff_ffff, []],
  [FrameType.Cancel, 7, []],
  [FrameType.Error, 300, new Array(700).fill(9)],
  [FrameType.Goodbye, 0, []],
];

Deno.test("frames coalesced in one chunk are read without copies", () => {
  const { reader, seen, bodies } = collect();
  reader.push(stream);
  assert.deepEqual(seen, expected);
  assert.equal(bodies[0].buffer, stream.buffer, "a frame inside one chunk is a view, not a copy");
  assert.equal(reader.buffered, 0);
});

Deno.test("frames split at every offset, and byte by byte, are reassembled", () => {
  for (let cut = 0; cut <= stream.length; cut++) {
    const { reader, seen } = collect();
    reader.push(stream.subarray(0, cut));
    reader.push(stream.subarray(cut));
    assert.deepEqual(seen, expected, `cut at ${cut}`);
  }
  const { reader, seen } = collect();
  for (let i = 0; i < stream.length; i++) reader.push(stream.subarray(i, i + 1));
  assert.deepEqual(seen, expected);
  for (let step = 2; step < 40; step += 7) {
    const { reader, seen } = collect();
    for (let i = 0; i < stream.length; i += step) reader.push(stream.subarray(i, i + step));
    assert.deepEqual(seen, expected, `step ${step}`);
  }
});

Deno.test("an oversized length is rejected at the header, before the body arrives", () => {
  const { reader } = collect(1_024);
  reader.push(encodeFrame(FrameType.Request, 1, new Uint8Array(1_024))); // exactly the limit is fine
  const header = encodeFrame(FrameType.Request, 2, new Uint8Array(1_025)).subarray(0, 9);
  assert.throws(() => reader.push(header.subarray(0, 5)) ?? reader.push(header.subarray(5)), FrameError);
  assert.throws(() => reader.push(new Uint8Array(1)), FrameError, "the reader stays failed");
  assert.throws(() => collect(1_024).reader.push(new Uint8Array([0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 1])), FrameError);
});

Deno.test("unknown frame types are rejected", () => {
  for (const type of [0, 9, 0xee]) {
    const bytes = encodeFrame(FrameType.Request, 1, new Uint8Array(1));
    bytes[4] = type;
    assert.throws(() => collect().reader.push(bytes), FrameError, `type ${type}`);
  }
});
