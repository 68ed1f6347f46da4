/**
 * The default logger: warnings and errors to `console` (API.md §14).
 *
 * @module
 */

import type { Logger } from "../actor/types.ts";

function noop(): void {}

/**
 * A logger that prints `warn` and `error` to `console` and drops the rest.
 *
 * @example
 * ```ts
 * import { defaultLogger } from "./logger.ts";
 * defaultLogger().debug("dropped");
 * ```
 */
export function defaultLogger(): Logger {
  return {
    debug: noop,
    info: noop,
    warn: (msg, attrs) =>
      attrs === undefined ? console.warn(`[francis] ${msg}`) : console.warn(`[francis] ${msg}`, attrs),
    error: (msg, attrs) =>
      attrs === undefined ? console.error(`[francis] ${msg}`) : console.error(`[francis] ${msg}`, attrs),
  };
}

/**
 * Describes a thrown value for a log line.
 *
 * @example
 * ```ts
 * import { errorMessage } from "./logger.ts";
 * console.log(errorMessage(new Error("x"))); // x
 * ```
 */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
