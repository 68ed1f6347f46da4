/**
 * The worker side of `bootstrap: { jwtFile }` (API.md §16): the file is read
 * again at every bootstrap, so a token that a platform rotates on disk (a
 * Kubernetes projected service-account token, for example) is always fresh.
 *
 * @module
 */

import { readFile } from "node:fs/promises";
import { describe, typeName } from "../../_internal/validate.ts";
import { UnauthorizedError } from "../../errors.ts";

const ACTION = "read join token file";

/**
 * Reads a join-token file and returns its content with surrounding whitespace
 * (such as a trailing newline) removed.
 *
 * A file that is missing, unreadable or blank means the worker has no
 * credential, so this rejects with `UnauthorizedError` (the error `start()`
 * reports when authentication cannot succeed), with the I/O error as `cause`.
 *
 * @param path The file path (a string or a `file:` URL).
 * @returns The trimmed token.
 * @throws {TypeError} When `path` is not a non-empty string or a URL.
 * @throws {UnauthorizedError} When the file cannot be read or holds only whitespace.
 *
 * @example
 * ```ts
 * import { readJwtFile } from "./jwt_file.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "header.payload.signature\n");
 * console.log(await readJwtFile(path)); // header.payload.signature
 * await Deno.remove(path);
 * ```
 */
export async function readJwtFile(path: string | URL): Promise<string> {
  if (!(path instanceof URL) && (typeof path !== "string" || path === "")) {
    const got = typeof path === "string" ? describe(path) : typeName(path);
    throw new TypeError(`Cannot ${ACTION}: path must be a non-empty string or a URL (got ${got})`);
  }
  const shown = describe(String(path));
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    const code = (cause as { code?: unknown } | null)?.code;
    const reason = code === "ENOENT" ? "does not exist" : code === "EACCES" ? "is not readable" : "could not be read";
    throw new UnauthorizedError(`Cannot ${ACTION}: ${shown} ${reason}`, { cause });
  }
  const token = text.trim();
  if (token === "") throw new UnauthorizedError(`Cannot ${ACTION}: ${shown} is empty`);
  return token;
}
