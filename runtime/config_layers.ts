/**
 * The three configuration sources (API.md §19.2) as trees of checked values,
 * and their merge: **flag > file > env > default**, key by key. Each key
 * remembers which source set it, so an error can name its `source`.
 *
 * Environment variables are `FRANCIS_` + the key path in upper snake case
 * (`provider.connectionString` → `FRANCIS_PROVIDER_CONNECTION_STRING`).
 * Lists are comma-separated (items trimmed), booleans are `true`/`false`
 * (`1`/`0` also), and an empty variable counts as unset. Variables that name
 * no key are ignored: other programs (workers) share the `FRANCIS_` prefix.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";
import { CONFIG_KEYS, isLeaf, type KeyTree, type Leaf, validateConfigTree } from "./config_schema.ts";

/** Where a value came from. */
export type ConfigSource = "flag" | "file" | "env";

/** A merged configuration: plain nested values, already checked. */
export type ConfigTree = Record<string, unknown>;

/** The message prefix of every configuration error. */
export const CONFIG_ERROR_PREFIX = "Cannot load configuration";

/**
 * The environment variable of a key path: `bootstrap.hostPsk` → `FRANCIS_BOOTSTRAP_HOST_PSK`.
 * A list index (`runtimePsks[1]`) names the list's variable.
 *
 * @example
 * ```ts
 * import { envVarName } from "./config_layers.ts";
 * console.log(envVarName("provider.connectionString"), envVarName("runtimePsks[1]"));
 * // FRANCIS_PROVIDER_CONNECTION_STRING FRANCIS_RUNTIME_PSKS
 * ```
 */
export function envVarName(path: string): string {
  const snake = path.replace(/\[\d+\]/g, "").replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/\./g, "_");
  return `FRANCIS_${snake.toUpperCase()}`;
}

/** Every key path with its leaf, depth first. */
function* leaves(tree: KeyTree, prefix = ""): Generator<[string, Leaf]> {
  for (const [key, node] of Object.entries(tree)) {
    const path = prefix === "" ? key : `${prefix}.${key}`;
    if (isLeaf(node)) yield [path, node];
    else yield* leaves(node, path);
  }
}

/** The environment variable names of every key (what the default environment reader looks up). */
export const CONFIG_ENV_VARS: readonly string[] = Object.freeze([...leaves(CONFIG_KEYS)].map(([p]) => envVarName(p)));

function setPath(tree: ConfigTree, path: string, value: unknown): void {
  const parts = path.split(".");
  let node = tree;
  for (const part of parts.slice(0, -1)) {
    node = (node[part] ??= {}) as ConfigTree;
  }
  node[parts[parts.length - 1]] = value;
}

function coerce(text: string, leaf: Leaf): unknown {
  switch (leaf.env) {
    case "bool":
      return /^(true|1)$/i.test(text) ? true : /^(false|0)$/i.test(text) ? false : text;
    case "int":
      return /^-?\d+$/.test(text) ? Number(text) : text;
    case "list":
      return text.split(",").map((item) => item.trim());
    default:
      return text;
  }
}

/**
 * Builds the raw tree of the environment: one value per set `FRANCIS_*` key variable.
 *
 * @example
 * ```ts
 * import { envTree } from "./config_layers.ts";
 * console.log(envTree({ FRANCIS_BIND: "0.0.0.0:7500", FRANCIS_LOG_JSON: "true", FRANCIS_HOST_PSK: "ignored" }));
 * // { bind: "0.0.0.0:7500", log: { json: true } }
 * ```
 */
export function envTree(env: Record<string, string | undefined>): ConfigTree {
  const tree: ConfigTree = {};
  for (const [path, leaf] of leaves(CONFIG_KEYS)) {
    const text = env[envVarName(path)];
    if (text !== undefined && text !== "") setPath(tree, path, coerce(text, leaf));
  }
  return tree;
}

/**
 * Validates one source's raw tree with the strict schema.
 *
 * @throws {ConfigError} Naming the first bad key and `source`.
 *
 * @example
 * ```ts
 * import { checkLayer } from "./config_layers.ts";
 * console.log(checkLayer({ requestTimeout: "15s" }, "file")); // { requestTimeout: 15000 }
 * ```
 */
export function checkLayer(raw: unknown, source: ConfigSource): ConfigTree {
  const result = validateConfigTree(raw);
  if (result.ok) return result.value;
  const { path, reason } = result.problem;
  const subject = path === "" ? "the configuration" : path;
  throw new ConfigError(`${CONFIG_ERROR_PREFIX}: ${subject} ${reason}`, { path, source });
}

function isPlainObject(v: unknown): v is ConfigTree {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Merged configuration and the source of each key.
 *
 * @example
 * ```ts
 * import { MergedConfig } from "./config_layers.ts";
 * const merged = new MergedConfig([["env", { bind: "0.0.0.0:1", maxHosts: 2 }], ["file", { bind: "0.0.0.0:2" }]], "env");
 * console.log(merged.get("bind"), merged.sourceOf("bind"), merged.sourceOf("maxHosts")); // 0.0.0.0:2 file env
 * ```
 */
export class MergedConfig {
  readonly tree: ConfigTree = {};
  readonly #sources = new Map<string, ConfigSource>();
  readonly #fallback: ConfigSource;

  /**
   * Merges checked layers, lowest precedence first.
   *
   * @param layers `[source, tree]` pairs, e.g. env, then file, then flags.
   * @param fallback The source blamed for a key nobody set (a required key that is missing).
   */
  constructor(layers: readonly (readonly [ConfigSource, ConfigTree])[], fallback: ConfigSource) {
    this.#fallback = fallback;
    for (const [source, tree] of layers) this.#merge(this.tree, tree, source, "");
  }

  #merge(into: ConfigTree, from: ConfigTree, source: ConfigSource, prefix: string): void {
    for (const [key, value] of Object.entries(from)) {
      if (value === undefined) continue;
      const path = prefix === "" ? key : `${prefix}.${key}`;
      if (isPlainObject(value)) {
        if (!isPlainObject(into[key])) into[key] = {};
        this.#merge(into[key] as ConfigTree, value, source, path);
      } else {
        into[key] = value;
        this.#sources.set(path, source);
      }
    }
  }

  /** The value at a dotted path, or `undefined`. */
  get(path: string): unknown {
    let node: unknown = this.tree;
    for (const part of path.split(".")) node = isPlainObject(node) ? node[part] : undefined;
    return node;
  }

  /** Where the value at `path` (or, for a group, its highest-precedence key) came from. */
  sourceOf(path: string): ConfigSource {
    const exact = this.#sources.get(path.replace(/\[\d+\]$/, ""));
    if (exact !== undefined) return exact;
    let best: ConfigSource | undefined;
    const rank = { env: 0, file: 1, flag: 2 } as const;
    for (const [p, s] of this.#sources) {
      if (p.startsWith(`${path}.`) && (best === undefined || rank[s] > rank[best])) best = s;
    }
    return best ?? this.#fallback;
  }

  /** A `ConfigError` about `path`, blaming its source. */
  error(path: string, reason: string): ConfigError {
    return new ConfigError(`${CONFIG_ERROR_PREFIX}: ${path} ${reason}`, { path, source: this.sourceOf(path) });
  }

  /**
   * Throws unless `path` is set.
   *
   * @throws {ConfigError} `… <path> is required (…)`.
   */
  require(path: string): unknown {
    const value = this.get(path);
    if (value === undefined) throw this.error(path, `is required (set it in the file or ${envVarName(path)})`);
    return value;
  }
}
