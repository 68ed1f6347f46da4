/**
 * The runtime's structured logger (API.md §19.2 `log.level`, `log.json`):
 * one line per record on stdout, as text or as JSON lines.
 *
 * Text: `2025-01-02T03:04:05.678Z INFO Runtime listening address="0.0.0.0:7400"`.
 * JSON: `{"time":"2025-01-02T03:04:05.678Z","level":"info","msg":"Runtime listening","address":"0.0.0.0:7400"}`.
 * `Error` attributes are written as their message; bigints as decimal strings.
 *
 * @module
 */

import type { Logger } from "../actor/types.ts";

/** Log levels, least severe first. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Options of {@linkcode createRuntimeLogger}. */
export interface RuntimeLoggerOptions {
  /** Lowest level written. @default {"info"} */
  level?: LogLevel;
  /** Write JSON lines instead of text. @default {false} */
  json?: boolean;
  /** Where each line goes (without its newline). @default {console.log, i.e. stdout} */
  write?: (line: string) => void;
  /** The source of timestamps (a test seam). @default {() => new Date()} */
  now?: () => Date;
}

/** The levels, in order. */
export const LOG_LEVELS: readonly LogLevel[] = Object.freeze(["debug", "info", "warn", "error"] as const);

function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return value.message;
  if (typeof value === "bigint") return value.toString();
  return value;
}

function stringify(value: unknown): string {
  try {
    return JSON.stringify(value, replacer) ?? String(value);
  } catch {
    return JSON.stringify(String(value));
  }
}

function textValue(value: unknown): string {
  if (typeof value === "string") return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return stringify(value);
}

/**
 * Creates a logger that writes records at `level` and above, one line each,
 * to stdout by default.
 *
 * @param options Level, format and (for tests) the sink and clock.
 * @returns A {@linkcode Logger}.
 * @throws {TypeError} For an unknown level.
 *
 * @example
 * ```ts
 * import { createRuntimeLogger } from "./logger.ts";
 * const lines: string[] = [];
 * const log = createRuntimeLogger({ json: true, write: (l) => lines.push(l), now: () => new Date(0) });
 * log.debug("dropped");
 * log.info("Runtime listening", { address: "0.0.0.0:7400" });
 * console.log(lines[0]); // {"time":"1970-01-01T00:00:00.000Z","level":"info","msg":"Runtime listening","address":"0.0.0.0:7400"}
 * ```
 */
export function createRuntimeLogger(options: RuntimeLoggerOptions = {}): Logger {
  const level = options.level ?? "info";
  const min = LOG_LEVELS.indexOf(level);
  if (min < 0) {
    throw new TypeError(`Cannot create logger: level must be one of ${LOG_LEVELS.join(", ")} (got ${String(level)})`);
  }
  const write = options.write ?? ((line: string) => console.log(line));
  const now = options.now ?? (() => new Date());
  const json = options.json === true;
  const emit = (lvl: LogLevel, msg: string, attrs?: Record<string, unknown>): void => {
    if (LOG_LEVELS.indexOf(lvl) < min) return;
    const time = now().toISOString();
    if (json) {
      const base = { time, level: lvl, msg };
      write(stringify(Object.assign({}, base, attrs, base))); // attributes never overwrite the base fields
      return;
    }
    let line = `${time} ${lvl.toUpperCase()} ${msg}`;
    for (const [k, v] of Object.entries(attrs ?? {})) {
      if (v !== undefined) line += ` ${k}=${textValue(v)}`;
    }
    write(line);
  };
  return {
    debug: (msg, attrs) => emit("debug", msg, attrs),
    info: (msg, attrs) => emit("info", msg, attrs),
    warn: (msg, attrs) => emit("warn", msg, attrs),
    error: (msg, attrs) => emit("error", msg, attrs),
  };
}
