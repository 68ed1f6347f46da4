/** Configuration durations (API.md §19.2) and the runtime logger. */

import assert from "node:assert/strict";
import { InvalidValue } from "./_checks.ts";
import { formatDuration, parseDuration } from "./duration.ts";
import { createRuntimeLogger } from "./logger.ts";

Deno.test("duration: Go-style, ISO-8601 and integer ms", () => {
  const ok: [unknown, number][] = [
    ["1500ms", 1_500],
    ["20s", 20_000],
    ["1h30m", 5_400_000],
    ["1.5h", 5_400_000],
    ["2m0.5s", 120_500],
    ["1000000ns", 1],
    ["PT20S", 20_000],
    ["PT1.5S", 1_500],
    ["P1D", 86_400_000],
    ["P1W", 604_800_000],
    [1500, 1_500],
    ["250", 250],
    [" 20s ", 20_000],
  ];
  for (const [value, ms] of ok) assert.equal(parseDuration(value), ms, String(value));
});

Deno.test("duration: non-positive, fractional-ms and malformed values are rejected", () => {
  const bad: [unknown, "type" | "range"][] = [
    [0, "range"],
    ["0", "range"],
    ["0s", "range"],
    ["-1s", "range"],
    [-5, "range"],
    [1.5, "type"],
    ["1.5ms", "type"],
    ["1500us", "type"],
    ["20 s", "type"],
    ["s", "type"],
    ["1d", "type"],
    ["P1Y", "type"],
    ["P1M", "type"],
    ["pt20s", "type"],
    ["", "type"],
    [true, "type"],
    [null, "type"],
    ["99999999999999999999", "range"],
  ];
  for (const [value, kind] of bad) {
    assert.throws(
      () => parseDuration(value),
      (err: unknown) => err instanceof InvalidValue && err.kind === kind,
      String(value),
    );
  }
});

Deno.test("duration: formatDuration", () => {
  assert.equal(formatDuration(5_400_000), "1h30m");
  assert.equal(formatDuration(250), "250ms");
  assert.equal(formatDuration(20_500), "20.5s");
});

Deno.test("logger: levels filter, text and JSON lines", () => {
  const lines: string[] = [];
  const now = () => new Date(0);
  const text = createRuntimeLogger({ level: "warn", write: (l) => lines.push(l), now });
  text.info("dropped");
  text.warn("Slow", { ms: 12, who: "a b", err: new Error("boom") });
  assert.deepEqual(lines, ['1970-01-01T00:00:00.000Z WARN Slow ms=12 who="a b" err="boom"']);
  lines.length = 0;
  const json = createRuntimeLogger({ json: true, write: (l) => lines.push(l), now });
  json.debug("dropped");
  json.error("Failed", { err: new Error("x"), n: 1n, msg: "ignored" });
  assert.deepEqual(JSON.parse(lines[0]), {
    time: "1970-01-01T00:00:00.000Z",
    level: "error",
    msg: "Failed",
    err: "x",
    n: "1",
  });
  assert.throws(() => createRuntimeLogger({ level: "trace" as "info" }), TypeError);
});
