/**
 * Finding and reading the configuration file (API.md §19.2): `--config`,
 * else `FRANCIS_CONFIG`, else `./config.yaml` when it exists. A path given
 * explicitly must exist. The file is YAML (JSON is YAML too), at most
 * {@linkcode MAX_CONFIG_BYTES}, with one document whose top level is a mapping.
 *
 * @module
 */

import { open } from "node:fs/promises";
import { resolve } from "node:path";
import { parseDocument } from "yaml";
import { ConfigError } from "../errors.ts";
import { errorMessage } from "../_internal/logger.ts";

/** Largest configuration file read, bytes (1 MiB). */
export const MAX_CONFIG_BYTES = 1_048_576;
/** The file looked for in the working directory when no path is given. */
export const DEFAULT_CONFIG_FILE = "config.yaml";

/** Where the file path came from. */
export type ConfigFileOrigin = "flag" | "env" | "default";

/** A file that was found and parsed. */
export interface LoadedConfigFile {
  /** Absolute path. */
  path: string;
  /** Where the path came from. */
  origin: ConfigFileOrigin;
  /** The parsed top-level value (not yet validated). */
  tree: unknown;
}

const PREFIX = "Cannot load configuration";

function fail(message: string, origin: ConfigFileOrigin, cause?: unknown): ConfigError {
  // A missing or unreadable explicit file is the fault of the flag or variable that named it.
  const source = origin === "default" ? "file" : origin;
  const path = origin === "default" ? "" : "config";
  return new ConfigError(`${PREFIX}: ${message}`, { path, source }, cause === undefined ? undefined : { cause });
}

/**
 * Reads at most `MAX_CONFIG_BYTES + 1` bytes of `path`; `undefined` when it does not exist.
 */
async function readBounded(path: string, origin: ConfigFileOrigin): Promise<string | undefined> {
  let handle;
  try {
    handle = await open(path, "r");
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT") return undefined;
    throw fail(`cannot open ${JSON.stringify(path)}: ${errorMessage(err)}`, origin, err);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw fail(`${JSON.stringify(path)} is not a regular file`, origin);
    const buf = new Uint8Array(MAX_CONFIG_BYTES + 1);
    let size = 0;
    while (size < buf.length) {
      const { bytesRead } = await handle.read(buf, size, buf.length - size, null);
      if (bytesRead === 0) break;
      size += bytesRead;
    }
    if (size > MAX_CONFIG_BYTES) {
      throw new ConfigError(
        `${PREFIX}: ${JSON.stringify(path)} is larger than ${MAX_CONFIG_BYTES} bytes`,
        { path: "", source: "file" },
      );
    }
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(buf.subarray(0, size));
    } catch (err) {
      throw new ConfigError(`${PREFIX}: ${JSON.stringify(path)} is not valid UTF-8`, { path: "", source: "file" }, {
        cause: err,
      });
    }
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw fail(`cannot read ${JSON.stringify(path)}: ${errorMessage(err)}`, origin, err);
  } finally {
    await handle.close();
  }
}

/**
 * Parses YAML (or JSON) text: one document, duplicate keys rejected, aliases
 * bounded. An empty document is an empty mapping.
 *
 * @throws {ConfigError} With the line and column of a syntax error.
 *
 * @example
 * ```ts
 * import { parseConfigText } from "./config_file.ts";
 * console.log(parseConfigText("bind: 0.0.0.0:7400\nlog: { json: true }\n", "config.yaml"));
 * // { bind: "0.0.0.0:7400", log: { json: true } }
 * ```
 */
export function parseConfigText(text: string, path: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true, version: "1.2" });
  const error = doc.errors[0];
  if (error !== undefined) {
    const pos = error.linePos?.[0];
    const where = pos === undefined ? "" : ` at line ${pos.line}, column ${pos.col}`;
    const what = error.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
    throw new ConfigError(`${PREFIX}: ${JSON.stringify(path)} is not valid YAML${where}: ${what}`, {
      path: "",
      source: "file",
    }, { cause: error });
  }
  let tree: unknown;
  try {
    tree = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new ConfigError(`${PREFIX}: ${JSON.stringify(path)} is not valid YAML: ${errorMessage(err)}`, {
      path: "",
      source: "file",
    }, { cause: err });
  }
  return tree ?? {};
}

/**
 * Finds, reads and parses the configuration file.
 *
 * @param flagPath The `--config` value, if given.
 * @param env The environment (for `FRANCIS_CONFIG`).
 * @param cwd The directory relative paths and `./config.yaml` resolve against.
 * @returns The file, or `undefined` when none was named and `./config.yaml` does not exist.
 * @throws {ConfigError} For an explicit file that is missing, or a file that is unreadable, too large or not YAML.
 *
 * @example
 * ```ts
 * import { loadConfigFile } from "./config_file.ts";
 * console.log(await loadConfigFile(undefined, {}, "/nonexistent-dir")); // undefined
 * ```
 */
export async function loadConfigFile(
  flagPath: string | undefined,
  env: Record<string, string | undefined>,
  cwd: string,
): Promise<LoadedConfigFile | undefined> {
  const envPath = env.FRANCIS_CONFIG === "" ? undefined : env.FRANCIS_CONFIG;
  const origin: ConfigFileOrigin = flagPath !== undefined ? "flag" : envPath !== undefined ? "env" : "default";
  const given = flagPath ?? envPath ?? DEFAULT_CONFIG_FILE;
  if (given === "") throw fail("--config must not be empty", origin);
  const path = resolve(cwd, given);
  const text = await readBounded(path, origin);
  if (text === undefined) {
    if (origin === "default") return undefined;
    const by = origin === "flag" ? "--config" : "FRANCIS_CONFIG";
    throw fail(`config file ${JSON.stringify(given)} (from ${by}) does not exist`, origin);
  }
  return { path, origin, tree: parseConfigText(text, path) };
}
