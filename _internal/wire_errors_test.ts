import assert from "node:assert/strict";
import * as errors from "../errors.ts";
import { ConfigError, FrancisError, InternalError, InvokeFailedError, OverloadedError } from "../errors.ts";
import {
  decodeWireError,
  encodeWireError,
  errorFromWire,
  errorToWire,
  MAX_WIRE_MESSAGE_CHARS,
  type WireError,
} from "./wire_errors.ts";

type AnyCtor = new (...args: never[]) => FrancisError;

/** Every FrancisError subclass exported by errors.ts, with a sample instance. */
function samples(): FrancisError[] {
  const out: FrancisError[] = [];
  for (const [name, value] of Object.entries(errors)) {
    if (typeof value !== "function" || !(value.prototype instanceof FrancisError)) continue;
    const C = value as unknown as AnyCtor;
    if (C === (InvokeFailedError as unknown as AnyCtor)) {
      out.push(
        new InvokeFailedError("boom", {
          actorType: "t",
          actorId: "a",
          actorErrorName: "TypeError",
          actorErrorCode: "E1",
        }),
      );
      out.push(new InvokeFailedError("boom", { actorType: "t", actorId: "a", actorErrorName: "Error" }));
    } else if (C === (ConfigError as unknown as AnyCtor)) {
      out.push(new ConfigError("Cannot load config: bad", { path: "a.b", source: "env" }));
    } else {
      const Simple = value as unknown as new (m?: string, o?: errors.FrancisErrorOptions) => FrancisError;
      out.push(new Simple(`${name} message`));
      out.push(new Simple(`${name} with hint`, { retryAfterMs: 1234 }));
    }
  }
  return out;
}

Deno.test("every error class round-trips through the wire with its class, code, message and fields", () => {
  const all = samples();
  const codes = new Set(all.map((x) => x.code));
  assert.equal(codes.size, 44, "every ErrorCode is covered");
  for (const original of all) {
    const back = errorFromWire(JSON.parse(JSON.stringify(errorToWire(original))));
    assert.equal(back.constructor, original.constructor, original.name);
    assert.equal(back.code, original.code);
    assert.equal(back.name, original.name);
    assert.equal(back.message, original.message);
    assert.equal(back.retryable, original.retryable);
    assert.equal(back.retryAfterMs, original.retryAfterMs, `${original.name} retryAfterMs`);
    if (original instanceof InvokeFailedError) {
      const b = back as InvokeFailedError;
      assert.equal(b.actorType, original.actorType);
      assert.equal(b.actorId, original.actorId);
      assert.equal(b.actorErrorName, original.actorErrorName);
      assert.equal(b.actorErrorCode, original.actorErrorCode);
      assert.equal("actorErrorCode" in b, "actorErrorCode" in original);
    }
    if (original instanceof ConfigError) {
      assert.equal((back as ConfigError).path, original.path);
      assert.equal((back as ConfigError).source, original.source);
    }
    // And through the byte encoding.
    const viaBytes = decodeWireError(encodeWireError(original));
    assert.equal(viaBytes.constructor, original.constructor);
    assert.equal(viaBytes.message, original.message);
  }
});

Deno.test("OverloadedError keeps its default 100 ms hint across the wire", () => {
  const back = errorFromWire(errorToWire(new OverloadedError("busy")));
  assert.ok(back instanceof OverloadedError);
  assert.equal(back.retryAfterMs, 100);
});

Deno.test("non-Francis thrown values become InternalError with their message", () => {
  assert.deepEqual(errorToWire(new TypeError("bad arg")), { code: "internal", message: "bad arg" });
  assert.deepEqual(errorToWire("plain string"), { code: "internal", message: "plain string" });
  assert.equal(errorToWire(Object.create(null)).code, "internal");
  const back = errorFromWire(errorToWire(new RangeError("oops")));
  assert.ok(back instanceof InternalError);
  assert.equal(back.message, "oops");
});

Deno.test("over-long messages are shortened on the way out", () => {
  const w = errorToWire(new Error("x".repeat(MAX_WIRE_MESSAGE_CHARS + 10)));
  assert.equal(w.message.length, MAX_WIRE_MESSAGE_CHARS);
  assert.ok(errorFromWire(w) instanceof InternalError);
});

Deno.test("garbage off the wire becomes InternalError, never a throw", () => {
  const garbage: unknown[] = [
    null,
    undefined,
    42,
    "str",
    [],
    {},
    { code: 1, message: "x" },
    { code: "no_host" },
    { code: "no_host", message: 7 },
    { code: "no_host", message: "x".repeat(MAX_WIRE_MESSAGE_CHARS + 1) },
    { code: "no_host", message: "x", retryAfterMs: -1 },
    { code: "no_host", message: "x", retryAfterMs: NaN },
    { code: "no_host", message: "x", retryAfterMs: "10" },
    { code: "no_host", message: "x", extra: true },
    { code: "invoke_failed", message: "x" },
    { code: "invoke_failed", message: "x", actorType: "t", actorId: 5 },
    { code: "config_invalid", message: "x", source: "moon" },
    { code: "__proto__", message: "x" },
    { code: "toString", message: "x" },
    { code: "c".repeat(100), message: "x" },
    { code: "not_a_code", message: "x" },
  ];
  for (const g of garbage) {
    const back = errorFromWire(g as WireError);
    assert.ok(back instanceof InternalError, JSON.stringify(g) ?? String(g));
  }
  for (const bytes of [new Uint8Array([0xff, 0xfe]), new TextEncoder().encode("{"), new Uint8Array(0)]) {
    assert.ok(decodeWireError(bytes) instanceof InternalError);
  }
  assert.ok(decodeWireError(new Uint8Array(1 << 20)) instanceof InternalError);
});
