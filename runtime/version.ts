/**
 * The package version, as a constant so that it survives bundling and
 * publishing (no runtime read of `deno.json`). `version_test.ts` fails when
 * it differs from the `version` in `deno.json`.
 *
 * @module
 */

import process from "node:process";

/** The `@francis/core` version. Keep equal to `deno.json` (checked by a test). */
export const FRANCIS_VERSION = "0.1.0";

/**
 * The line `francis version` prints: `francis <version> (<deno|node> <version>)`.
 *
 * @example
 * ```ts
 * import { versionLine } from "./version.ts";
 * console.log(versionLine().startsWith("francis 0.1.0 (")); // true
 * ```
 */
export function versionLine(): string {
  const deno = (globalThis as { Deno?: { version?: { deno?: string } } }).Deno?.version?.deno;
  const host = deno !== undefined ? `deno ${deno}` : `node ${process.versions.node}`;
  return `francis ${FRANCIS_VERSION} (${host})`;
}
