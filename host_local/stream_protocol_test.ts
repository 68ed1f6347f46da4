import assert from "node:assert/strict";
import { isFrancisError } from "../errors.ts";
import { decodeStreamMessage, encodeStreamMessage, type StreamMessage } from "./stream_protocol.ts";

const OPEN: StreamMessage = {
  op: "open",
  targetHostId: "h1",
  actorType: "t",
  actorId: "é/1",
  method: "m",
  mode: "peekStream",
  streamId: "s",
  contentType: "text/plain",
  chain: ["a/1", "b/2"],
  activeOnly: true,
  complete: false,
  data: new Uint8Array([1, 2, 3]),
};

Deno.test("stream protocol: every message round-trips", () => {
  const messages: StreamMessage[] = [
    OPEN,
    { ...OPEN, mode: "invokeStream", activeOnly: false, complete: true, chain: [], data: new Uint8Array() },
    { op: "chunk", streamId: "s", end: true, data: new Uint8Array([9]) },
    { op: "read", streamId: "s" },
    { op: "cancel", streamId: "s" },
    { op: "watch", streamId: "s" },
  ];
  for (const msg of messages) assert.deepEqual(decodeStreamMessage(encodeStreamMessage(msg)), msg);
});

Deno.test("stream protocol: garbage, truncation and bad fields are DecodeError, never a crash", () => {
  const valid = encodeStreamMessage(OPEN);
  for (let n = 0; n < valid.length - 3; n++) {
    assert.throws(() => decodeStreamMessage(valid.subarray(0, n)), (e) => isFrancisError(e, "decode_failed"));
  }
  const bad = [
    new Uint8Array([3, 9]), // unknown op
    new Uint8Array([2, 1]), // wrong version
    new Uint8Array([3, 1, 8]), // unknown flags
    new Uint8Array([3, 2, 0, 1, 115, 2]), // chunk end flag 2
    new Uint8Array([3, 3, 0, 1, 115, 0]), // trailing bytes
    new Uint8Array([3, 3, 0, 1, 0xff]), // not UTF-8
  ];
  for (const b of bad) assert.throws(() => decodeStreamMessage(b), (e) => isFrancisError(e, "decode_failed"));
  let seed = 7;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) >>> 0) >>> 24;
  for (let i = 0; i < 2_000; i++) {
    const b = new Uint8Array(2 + (random() % 40)).map(random);
    b[0] = 3;
    b[1] = 1 + (random() % 5);
    try {
      decodeStreamMessage(b);
    } catch (e) {
      assert.ok(isFrancisError(e, "decode_failed"), String(e));
    }
  }
});
