import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { DecodeError } from "../errors.ts";
import { type Codec, decodePayload, encodePayload, jsonCodec, MAX_PAYLOAD_BYTES } from "./codec.ts";

const text = new TextEncoder();

function roundTrip(value: unknown): unknown {
  return jsonCodec.decode(jsonCodec.encode(value));
}

function encodeError(value: unknown): string {
  try {
    jsonCodec.encode(value);
  } catch (err) {
    assert.ok(err instanceof TypeError, `expected TypeError, got ${err}`);
    return err.message;
  }
  assert.fail("expected encode to throw");
}

Deno.test("jsonCodec has the name json", () => {
  assert.equal(jsonCodec.name, "json");
});

Deno.test("jsonCodec round-trips JSON values unchanged", () => {
  const values: unknown[] = [
    null,
    true,
    false,
    0,
    -0.5,
    1e300,
    "",
    "héllo \u{1F600} \n \u0000",
    [],
    [1, "a", null, [true]],
    {},
    { n: 1, name: "x", nested: { list: [{ a: 1 }, { b: [2, 3] }] } },
    { "a b": 1, "": 2, __proto__x: 3 },
  ];
  for (const value of values) assert.deepStrictEqual(roundTrip(value), value);
});

Deno.test("jsonCodec keeps an own __proto__ key as data", () => {
  const value = JSON.parse('{"__proto__":{"x":1},"b":1}');
  const out = roundTrip(value) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(out), Object.prototype);
  assert.deepEqual(Object.keys(out), ["__proto__", "b"]);
  const withBytes = JSON.parse('{"__proto__":{"x":1}}');
  withBytes.b = new Uint8Array([1]);
  const out2 = roundTrip(withBytes) as Record<string, unknown>;
  assert.deepEqual(Object.keys(out2), ["__proto__", "b"]);
  assert.equal(Object.getPrototypeOf(out2), Object.prototype);
});

Deno.test("jsonCodec round-trips Uint8Array at any depth as a plain Uint8Array", () => {
  const bytes = new Uint8Array([0, 1, 2, 253, 254, 255]);
  const value = { top: bytes, list: [new Uint8Array(0), { deep: new Uint8Array([7]) }] };
  const out = roundTrip(value) as { top: Uint8Array; list: [Uint8Array, { deep: Uint8Array }] };
  assert.ok(out.top instanceof Uint8Array);
  assert.equal(Object.getPrototypeOf(out.top), Uint8Array.prototype);
  assert.deepEqual([...out.top], [...bytes]);
  assert.equal(out.list[0].length, 0);
  assert.deepEqual([...out.list[1].deep], [7]);
  const root = roundTrip(bytes);
  assert.ok(root instanceof Uint8Array);
  assert.deepEqual([...root], [...bytes]);
});

Deno.test("jsonCodec stores bytes as {$bytes: base64}", () => {
  const encoded = new TextDecoder().decode(jsonCodec.encode({ b: new Uint8Array([1, 2]) }));
  assert.equal(encoded, '{"b":{"$bytes":"AQI="}}');
});

Deno.test("jsonCodec round-trips a large Uint8Array", () => {
  const bytes = new Uint8Array(200_000);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31) & 0xff;
  const out = roundTrip(bytes) as Uint8Array;
  assert.deepEqual(out, bytes);
});

Deno.test("jsonCodec encodes Uint8Array subclasses (Buffer) as bytes", () => {
  class Bytes extends Uint8Array {}
  const sub = roundTrip({ b: Bytes.from([9, 8]) }) as { b: Uint8Array };
  assert.equal(Object.getPrototypeOf(sub.b), Uint8Array.prototype);
  assert.deepEqual([...sub.b], [9, 8]);
  const buf = roundTrip({ b: Buffer.from("hi") }) as { b: Uint8Array };
  assert.equal(Object.getPrototypeOf(buf.b), Uint8Array.prototype);
  assert.deepEqual([...buf.b], [104, 105]);
});

Deno.test("jsonCodec encodes toJSON results (Date comes back as ISO string)", () => {
  const date = new Date(Date.UTC(2024, 1, 29, 12, 0, 0));
  assert.deepEqual(roundTrip({ at: date, list: [date] }), {
    at: "2024-02-29T12:00:00.000Z",
    list: ["2024-02-29T12:00:00.000Z"],
  });
  assert.equal(roundTrip(date), "2024-02-29T12:00:00.000Z");
  assert.deepEqual(roundTrip({ at: new Date(NaN) }), { at: null });
  const keys: string[] = [];
  const probe = {
    toJSON(key: string) {
      keys.push(key);
      return { key };
    },
  };
  assert.deepEqual(roundTrip({ a: probe, l: [probe] }), { a: { key: "a" }, l: [{ key: "0" }] });
  assert.deepEqual(keys, ["a", "0"]);
  assert.deepEqual(roundTrip(probe), { key: "" });
});

Deno.test("jsonCodec validates toJSON results", () => {
  assert.equal(encodeError({ a: { toJSON: () => 1n } }), "Cannot encode value: value at $.a is a bigint");
  assert.equal(
    encodeError({ a: { toJSON: () => ({ m: new Map() }) } }),
    "Cannot encode value: value at $.a.m is a Map",
  );
  class Wrapper {
    constructor(readonly v: number) {}
    toJSON(): unknown {
      return this;
    }
  }
  assert.deepEqual(roundTrip({ w: new Wrapper(3) }), { w: { v: 3 } });
});

Deno.test("jsonCodec encodes class instances as own enumerable properties", () => {
  class Point {
    x = 1;
    y = 2;
    get sum(): number {
      return this.x + this.y;
    }
    #hidden = 3;
    hidden(): number {
      return this.#hidden;
    }
  }
  const out = roundTrip({ p: new Point() }) as { p: unknown };
  assert.equal(Object.getPrototypeOf(out.p), Object.prototype);
  assert.deepEqual(out, { p: { x: 1, y: 2 } });
  assert.deepEqual(roundTrip(Object.assign(Object.create(null), { a: 1 })), { a: 1 });
});

Deno.test("jsonCodec ignores symbol-keyed properties", () => {
  assert.deepEqual(roundTrip({ a: 1, [Symbol("s")]: 2, [Symbol("f")]: () => 0 }), { a: 1 });
});

Deno.test("jsonCodec applies the undefined rules", () => {
  const empty = jsonCodec.encode(undefined);
  assert.equal(empty.length, 0);
  assert.equal(jsonCodec.decode(new Uint8Array(0)), undefined);
  assert.deepEqual(roundTrip({ a: undefined, b: 1 }), { b: 1 });
  assert.deepEqual(roundTrip([undefined, 1]), [null, 1]);
  // deno-lint-ignore no-sparse-arrays
  assert.deepEqual(roundTrip([1, , 3]), [1, null, 3]);
  assert.deepEqual(roundTrip({ a: { toJSON: () => undefined }, b: [{ toJSON: () => undefined }] }), { b: [null] });
  assert.equal(jsonCodec.encode({ toJSON: () => undefined }).length, 0);
  assert.equal(roundTrip(null), null);
});

Deno.test("jsonCodec unwraps boxed primitives", () => {
  assert.deepEqual(roundTrip([new Number(1), new String("s"), new Boolean(false)]), [1, "s", false]);
  assert.equal(encodeError([Object(1n)]), "Cannot encode value: value at $[0] is a bigint");
  assert.equal(encodeError({ n: new Number(NaN) }), "Cannot encode value: value at $.n is NaN");
});

Deno.test("jsonCodec rejects each non-encodable kind with its path", () => {
  const cases: [unknown, string][] = [
    [{ items: [1, 2, 3n] }, "$.items[2] is a bigint"],
    [Symbol("s"), "$ is a symbol"],
    [{ f() {} }, "$.f is a function"],
    [{ a: { b: [0, () => 0] } }, "$.a.b[1] is a function"],
    [{ x: NaN }, "$.x is NaN"],
    [{ x: Infinity }, "$.x is Infinity"],
    [{ x: -Infinity }, "$.x is -Infinity"],
    [{ m: new Map() }, "$.m is a Map"],
    [{ s: new Set() }, "$.s is a Set"],
    [{ w: new WeakMap() }, "$.w is a WeakMap"],
    [{ w: new WeakSet() }, "$.w is a WeakSet"],
    [{ b: new ArrayBuffer(1) }, "$.b is an ArrayBuffer"],
    [{ d: new DataView(new ArrayBuffer(1)) }, "$.d is a DataView"],
    [{ t: new Uint16Array(1) }, "$.t is a Uint16Array"],
    [{ t: new Int8Array(1) }, "$.t is an Int8Array"],
    [{ t: new Uint8ClampedArray(1) }, "$.t is a Uint8ClampedArray"],
    [{ t: new Float64Array(1) }, "$.t is a Float64Array"],
    [{ t: new BigInt64Array(1) }, "$.t is a BigInt64Array"],
    [{ "a b": { "0": 1n } }, '$["a b"]["0"] is a bigint'],
    [{ $ok: { _x1: 1n } }, "$.$ok._x1 is a bigint"],
    [{ nested: { $bytes: "AQI=" } }, '$.nested is an object whose only key is "$bytes"'],
    [{ $bytes: "AQI=" }, '$ is an object whose only key is "$bytes"'],
    [{ $bytes: "AQI=", gone: undefined }, '$ is an object whose only key is "$bytes"'],
    [[{ toJSON: () => ({ $bytes: "x" }) }], '$[0] is an object whose only key is "$bytes"'],
  ];
  for (const [value, message] of cases) assert.equal(encodeError(value), `Cannot encode value: value at ${message}`);
  assert.equal(encodeError(1n), "Cannot encode value: value at $ is a bigint");
  assert.equal(encodeError(() => 0), "Cannot encode value: value at $ is a function");
});

Deno.test("jsonCodec rejects cycles but accepts shared references", () => {
  const cyclic: Record<string, unknown> = { a: { list: [] as unknown[] } };
  (cyclic.a as { list: unknown[] }).list.push(cyclic);
  assert.equal(encodeError(cyclic), "Cannot encode value: value at $.a.list[0] is a circular reference");
  const self: unknown[] = [];
  self.push(self);
  assert.equal(encodeError(self), "Cannot encode value: value at $[0] is a circular reference");
  const shared = { n: 1 };
  assert.deepEqual(roundTrip({ a: shared, b: [shared, shared] }), { a: { n: 1 }, b: [{ n: 1 }, { n: 1 }] });
});

Deno.test("jsonCodec round-trips objects with $bytes plus other keys", () => {
  const value = { $bytes: "not base64 !", other: 1, nested: [{ $bytes: 5, x: null }] };
  assert.deepEqual(roundTrip(value), value);
  assert.deepEqual(roundTrip({ $bytes: new Uint8Array([1]), n: 2 }), { $bytes: new Uint8Array([1]), n: 2 });
  assert.deepEqual(roundTrip({ $bytes: undefined }), {});
});

Deno.test("jsonCodec.decode throws DecodeError for malformed bytes", () => {
  const garbage: Uint8Array[] = [
    new Uint8Array([0xff, 0xfe, 0x80]),
    text.encode("{not json"),
    text.encode('{"a":1'),
    text.encode('{"$bytes":"@@@@"}'),
    text.encode('[{"$bytes":12}]'),
    text.encode('{"\\u0024bytes":"%%"}'),
  ];
  for (const bytes of garbage) {
    assert.throws(() => jsonCodec.decode(bytes), (err: unknown) => {
      assert.ok(err instanceof DecodeError);
      assert.match(err.message, /^Cannot decode value: /);
      assert.equal(err.code, "decode_failed");
      return true;
    });
  }
  assert.deepEqual(jsonCodec.decode(text.encode('{"\\u0024bytes":"AQ=="}')), new Uint8Array([1]));
  assert.equal(jsonCodec.decode(text.encode('"\uFFFD"')), "\uFFFD");
});

Deno.test("encodePayload names the payload in TypeError messages", () => {
  assert.throws(() => encodePayload(jsonCodec, { items: [1, 2, 3n] }, "invoke data"), {
    name: "TypeError",
    message: "Cannot encode invoke data: value at $.items[2] is a bigint",
  });
  const custom: Codec = {
    name: "custom",
    encode: (value) => jsonCodec.encode(value),
    decode: (bytes) => jsonCodec.decode(bytes),
  };
  assert.throws(() => encodePayload(custom, { f: Symbol() }, "state"), {
    name: "TypeError",
    message: "Cannot encode state: value at $.f is a symbol",
  });
  const broken: Codec = {
    name: "broken",
    encode: () => {
      throw new Error("nope");
    },
    decode: () => null,
  };
  assert.throws(() => encodePayload(broken, 1, "alarm data"), {
    name: "TypeError",
    message: "Cannot encode alarm data: nope",
  });
  assert.deepEqual(encodePayload(jsonCodec, { n: 1 }, "state"), text.encode('{"n":1}'));
});

Deno.test("encodePayload enforces MAX_PAYLOAD_BYTES", () => {
  assert.equal(MAX_PAYLOAD_BYTES, 16_711_680);
  // A JSON string encodes as its characters plus two quotes.
  const atLimit = "a".repeat(MAX_PAYLOAD_BYTES - 2);
  assert.equal(encodePayload(jsonCodec, atLimit, "invoke data").length, MAX_PAYLOAD_BYTES);
  assert.throws(() => encodePayload(jsonCodec, atLimit + "a", "invoke data"), {
    name: "RangeError",
    message: "Cannot encode invoke data: encoded size 16711681 bytes exceeds the limit of 16711680 bytes",
  });
});

Deno.test("decodePayload wraps custom codec failures in DecodeError", () => {
  const failing: Codec = {
    name: "failing",
    encode: () => new Uint8Array(0),
    decode: () => {
      throw new SyntaxError("bad input");
    },
  };
  assert.throws(() => decodePayload(failing, new Uint8Array([1])), (err: unknown) => {
    assert.ok(err instanceof DecodeError);
    assert.equal(err.message, "Cannot decode value: bad input");
    assert.ok(err.cause instanceof SyntaxError);
    return true;
  });
  const original = new DecodeError("Cannot decode value: custom");
  const passthrough: Codec = {
    name: "passthrough",
    encode: () => new Uint8Array(0),
    decode: () => {
      throw original;
    },
  };
  assert.throws(() => decodePayload(passthrough, new Uint8Array([1])), (err: unknown) => err === original);
  assert.deepEqual(decodePayload(jsonCodec, text.encode('{"n":1,"b":{"$bytes":"AA=="}}')), {
    n: 1,
    b: new Uint8Array([0]),
  });
  assert.throws(() => decodePayload(jsonCodec, text.encode("{")), DecodeError);
});

Deno.test("jsonCodec turns a throwing toJSON or getter into a TypeError with cause", () => {
  const boom = new Error("boom");
  const throwing = {
    toJSON() {
      throw boom;
    },
  };
  assert.throws(() => encodePayload(jsonCodec, { a: throwing }, "state"), (err: unknown) => {
    assert.ok(err instanceof TypeError);
    assert.equal(err.message, "Cannot encode state: boom");
    assert.equal(err.cause, boom);
    return true;
  });
  const getter = {
    get x(): number {
      throw boom;
    },
  };
  assert.throws(() => jsonCodec.encode(getter), { name: "TypeError", message: "Cannot encode value: boom" });
});

Deno.test("jsonCodec rejects values nested too deeply with a TypeError", () => {
  let deep: unknown[] = [];
  for (let i = 0; i < 1_000_000; i++) deep = [deep];
  assert.throws(() => jsonCodec.encode(deep), TypeError);
});
