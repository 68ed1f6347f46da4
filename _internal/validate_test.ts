import assert from "node:assert/strict";
import { checkInt, checkName, checkOptions, checkSignal, checkTime, describe, typeName } from "./validate.ts";

Deno.test("typeName() names types", () => {
  class Thing {}
  const table: [unknown, string][] = [
    [1, "number"],
    ["s", "string"],
    [true, "boolean"],
    [undefined, "undefined"],
    [null, "null"],
    [1n, "bigint"],
    [Symbol(), "symbol"],
    [() => 0, "function"],
    [[], "array"],
    [{}, "object"],
    [Object.create(null), "object"],
    [new Date(0), "Date"],
    [new Map(), "Map"],
    [new Thing(), "Thing"],
  ];
  for (const [value, name] of table) assert.equal(typeName(value), name);
});

Deno.test("describe() quotes strings, prints numbers and names other types", () => {
  assert.equal(describe("a/b"), '"a/b"');
  assert.equal(describe('say "hi"'), '"say \\"hi\\""');
  assert.equal(describe(""), '""');
  assert.equal(describe(1.5), "1.5");
  assert.equal(describe(-0), "0");
  assert.equal(describe(NaN), "NaN");
  assert.equal(describe(Infinity), "Infinity");
  assert.equal(describe(null), "null");
  assert.equal(describe(undefined), "undefined");
  assert.equal(describe(true), "boolean");
  assert.equal(describe({}), "object");
  assert.equal(describe(new Date(0)), "Date");
  const long = describe("x".repeat(1000));
  assert.equal(long, JSON.stringify(`${"x".repeat(61)}...`));
});

Deno.test("checkName() accepts names and rejects empty, slash and non-strings", () => {
  assert.equal(checkName("counter", "invoke actor", "actorType"), "counter");
  assert.equal(checkName("a b.c-d:é", "invoke actor", "actorId"), "a b.c-d:é");
  assert.throws(() => checkName("a/b", "invoke actor", "actorId"), {
    name: "TypeError",
    message: 'Cannot invoke actor: actorId must not be empty or contain "/" (got "a/b")',
  });
  assert.throws(() => checkName("", "set alarm", "name"), {
    name: "TypeError",
    message: 'Cannot set alarm: name must not be empty or contain "/" (got "")',
  });
  assert.throws(() => checkName(1, "invoke actor", "actorId"), {
    name: "TypeError",
    message: "Cannot invoke actor: actorId must be a string (got number)",
  });
  assert.throws(() => checkName(undefined, "register actor", "actorType"), {
    name: "TypeError",
    message: "Cannot register actor: actorType must be a string (got undefined)",
  });
});

Deno.test("checkInt() accepts integers in range", () => {
  assert.equal(checkInt(1, "create LocalHost", "idleTimeoutMs", 1), 1);
  assert.equal(checkInt(1000, "create LocalHost", "n", 1, 1000), 1000);
  assert.equal(checkInt(0, "set alarm", "delayMs", 0), 0);
  assert.equal(checkInt(Number.MAX_SAFE_INTEGER, "x", "n", 0), Number.MAX_SAFE_INTEGER);
});

Deno.test("checkInt() throws TypeError for non-integers", () => {
  for (const value of [1.5, NaN, Infinity, -Infinity]) {
    assert.throws(() => checkInt(value, "create LocalHost", "idleTimeoutMs", 1), {
      name: "TypeError",
      message: `Cannot create LocalHost: idleTimeoutMs must be an integer (got ${value})`,
    });
  }
  assert.throws(() => checkInt("5", "create LocalHost", "idleTimeoutMs", 1), {
    name: "TypeError",
    message: 'Cannot create LocalHost: idleTimeoutMs must be an integer (got "5")',
  });
  assert.throws(() => checkInt(undefined, "create LocalHost", "idleTimeoutMs", 1), {
    name: "TypeError",
    message: "Cannot create LocalHost: idleTimeoutMs must be an integer (got undefined)",
  });
  assert.throws(() => checkInt(5n, "x", "n", 1), {
    name: "TypeError",
    message: "Cannot x: n must be an integer (got bigint)",
  });
});

Deno.test("checkInt() throws RangeError out of range", () => {
  assert.throws(() => checkInt(0, "create LocalHost", "idleTimeoutMs", 1), {
    name: "RangeError",
    message: "Cannot create LocalHost: idleTimeoutMs must be at least 1 (got 0)",
  });
  assert.throws(() => checkInt(0, "create LocalHost", "batch", 1, 1000), {
    name: "RangeError",
    message: "Cannot create LocalHost: batch must be between 1 and 1000 (got 0)",
  });
  assert.throws(() => checkInt(1001, "create LocalHost", "batch", 1, 1000), {
    name: "RangeError",
    message: "Cannot create LocalHost: batch must be between 1 and 1000 (got 1001)",
  });
  assert.throws(() => checkInt(1e300, "x", "n", 1), {
    name: "RangeError",
    message: "Cannot x: n must be at most 9007199254740991 (got 1e+300)",
  });
});

Deno.test("checkInt() accepts Infinity only when allowed", () => {
  const opts = { allowInfinity: true };
  assert.equal(checkInt(Infinity, "create provider", "cleanupIntervalMs", 1, undefined, opts), Infinity);
  assert.equal(checkInt(5, "create provider", "cleanupIntervalMs", 1, undefined, opts), 5);
  assert.throws(() => checkInt(-Infinity, "create provider", "cleanupIntervalMs", 1, undefined, opts), {
    name: "TypeError",
    message: "Cannot create provider: cleanupIntervalMs must be an integer or Infinity (got -Infinity)",
  });
  assert.throws(() => checkInt(0, "create provider", "cleanupIntervalMs", 1, undefined, opts), RangeError);
  assert.throws(() => checkInt(Infinity, "create provider", "cleanupIntervalMs", 1), TypeError);
});

Deno.test("checkTime() accepts a valid Date or integer epoch ms", () => {
  assert.equal(checkTime(new Date(1234), "set alarm", "dueTime"), 1234);
  assert.equal(checkTime(1_700_000_000_000, "set alarm", "dueTime"), 1_700_000_000_000);
  assert.equal(checkTime(-1, "set alarm", "dueTime"), -1);
  assert.equal(checkTime(8.64e15, "set alarm", "dueTime"), 8.64e15);
});

Deno.test("checkTime() rejects other values", () => {
  assert.throws(() => checkTime(new Date(NaN), "set alarm", "dueTime"), {
    name: "TypeError",
    message: "Cannot set alarm: dueTime must be a valid Date or integer epoch ms (got Invalid Date)",
  });
  assert.throws(() => checkTime(1.5, "set alarm", "dueTime"), {
    name: "TypeError",
    message: "Cannot set alarm: dueTime must be a valid Date or integer epoch ms (got 1.5)",
  });
  assert.throws(() => checkTime("2024-01-01", "set alarm", "ttl"), {
    name: "TypeError",
    message: 'Cannot set alarm: ttl must be a valid Date or integer epoch ms (got "2024-01-01")',
  });
  assert.throws(() => checkTime(NaN, "set alarm", "ttl"), TypeError);
  assert.throws(() => checkTime(8.64e15 + 1, "set alarm", "ttl"), RangeError);
});

Deno.test("checkSignal() accepts undefined or an AbortSignal", () => {
  assert.equal(checkSignal(undefined, "invoke actor"), undefined);
  const controller = new AbortController();
  assert.equal(checkSignal(controller.signal, "invoke actor"), controller.signal);
  controller.abort();
  assert.equal(checkSignal(controller.signal, "invoke actor"), controller.signal);
  assert.throws(() => checkSignal({ aborted: false }, "invoke actor"), {
    name: "TypeError",
    message: "Cannot invoke actor: signal must be an AbortSignal (got object)",
  });
  assert.throws(() => checkSignal(null, "invoke actor"), {
    name: "TypeError",
    message: "Cannot invoke actor: signal must be an AbortSignal (got null)",
  });
});

Deno.test("checkOptions() accepts undefined or an object", () => {
  assert.deepEqual(checkOptions(undefined, "invoke actor"), {});
  const options = { a: 1 };
  assert.equal(checkOptions(options, "invoke actor"), options);
  for (const bad of [null, "x", 1, [1]]) {
    assert.throws(() => checkOptions(bad as unknown as object, "invoke actor"), {
      name: "TypeError",
      message: /^Cannot invoke actor: options must be an object \(got (null|string|number|array)\)$/,
    });
  }
});
