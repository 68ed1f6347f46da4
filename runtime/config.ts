/**
 * `loadRuntimeConfig` (API.md §19.2): runtime options from a YAML/JSON file,
 * `FRANCIS_*` environment variables and command-line flags, in the order
 * **flag > file > env > default**, validated strictly. Every failure is a
 * `ConfigError` naming the key `path` and its `source`.
 *
 * File keys are the §19.2 table: the option names of `RuntimeOptions`, with
 * durations written without the `Ms` suffix (`healthCheckDeadline: 20s`).
 * `healthBind` (added) defaults to `0.0.0.0:7401` here, while the
 * programmatic default is `""` (off).
 *
 * @module
 */

import process from "node:process";
import { ConfigError } from "../errors.ts";
import { resolveBootstrap } from "./_resolve_parts.ts";
import { addressesCollide, InvalidValue } from "./_checks.ts";
import { parseFlags, SERVE_FLAGS, UsageError } from "./cli_args.ts";
import { loadConfigFile, type LoadedConfigFile } from "./config_file.ts";
import {
  checkLayer,
  CONFIG_ENV_VARS,
  CONFIG_ERROR_PREFIX,
  type ConfigSource,
  type ConfigTree,
  envTree,
  MergedConfig,
} from "./config_layers.ts";
import { resolveRuntimeOptions, RUNTIME_DEFAULTS, type RuntimeOptions } from "./options.ts";

/** Options of {@linkcode loadRuntimeConfig}. */
export interface LoadRuntimeConfigOptions {
  /** Flags: `--config`, `--bind`, `--log-level`, `--log-json` (as `--flag value` or `--flag=value`). @default {[]} */
  args?: readonly string[];
  /** The environment. @default {the process environment (only the FRANCIS_* names of the keys are read)} */
  env?: Record<string, string | undefined>;
  /** Where relative paths and `./config.yaml` resolve. @default {the process working directory} */
  cwd?: string;
}

/** The default `healthBind` of the configuration file and CLI (the programmatic default is `""`). */
export const CONFIG_HEALTH_BIND_DEFAULT = "0.0.0.0:7401";

/** The merged sources, before required keys are enforced (used by the CLI commands that need less). */
export interface ConfigSources {
  merged: MergedConfig;
  file: LoadedConfigFile | undefined;
}

function defaultEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const name of ["FRANCIS_CONFIG", ...CONFIG_ENV_VARS]) env[name] = process.env[name];
  return env;
}

function flagTree(args: readonly string[]): { tree: ConfigTree; config: string | undefined } {
  let flags;
  try {
    flags = parseFlags(args, SERVE_FLAGS);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    throw new ConfigError(`${CONFIG_ERROR_PREFIX}: ${err.message}`, { path: "", source: "flag" });
  }
  const tree: ConfigTree = {};
  const log: ConfigTree = {};
  if (flags.has("bind")) tree.bind = flags.get("bind");
  if (flags.has("log-level")) log.level = flags.get("log-level");
  if (flags.has("log-json")) log.json = flags.get("log-json") === "true";
  if (Object.keys(log).length > 0) tree.log = log;
  return { tree, config: flags.get("config") };
}

/**
 * Reads and merges every source, checking each key, without requiring any.
 *
 * @throws {ConfigError} For a bad flag, file or variable.
 *
 * @example
 * ```ts
 * import { readConfigSources } from "./config.ts";
 * const { merged } = await readConfigSources({ args: ["--bind", "127.0.0.1:7500"], env: {}, cwd: "/nonexistent-dir" });
 * console.log(merged.get("bind"), merged.sourceOf("bind")); // 127.0.0.1:7500 flag
 * ```
 */
export async function readConfigSources(options: LoadRuntimeConfigOptions = {}): Promise<ConfigSources> {
  const env = options.env ?? defaultEnv();
  const cwd = options.cwd ?? process.cwd();
  const flags = flagTree(options.args ?? []);
  const envLayer = checkLayer(envTree(env), "env");
  const file = await loadConfigFile(flags.config, env, cwd);
  const fileLayer = file === undefined ? {} : checkLayer(file.tree, "file");
  const flagLayer = checkLayer(flags.tree, "flag");
  const layers = [["env", envLayer], ["file", fileLayer], ["flag", flagLayer]] as const;
  return { merged: new MergedConfig(layers, file === undefined ? "env" : "file"), file };
}

/**
 * Loads the runtime configuration by the rules of API.md §19.2.
 *
 * @param options Flags, environment and working directory (each defaults to the process's).
 * @returns Options for `startRuntime`, every default filled in except `runtimeId` (random per process).
 * @throws {ConfigError} For an unknown key, a bad value, a missing required key, a missing explicit
 * file, or a file that is too large or not YAML; `path` names the key and `source` its origin.
 *
 * @example
 * ```ts
 * import { loadRuntimeConfig } from "./config.ts";
 * const options = await loadRuntimeConfig({
 *   args: ["--bind", "127.0.0.1:7500"],
 *   env: {
 *     FRANCIS_RUNTIME_PSKS: "an-example-runtime-psk-of-32-bytes-or-more",
 *     FRANCIS_BOOTSTRAP_METHOD: "psk",
 *     FRANCIS_BOOTSTRAP_HOST_PSK: "a host PSK, 16+ bytes",
 *     FRANCIS_PROVIDER_CONNECTION_STRING: "memory",
 *     FRANCIS_HEALTH_CHECK_DEADLINE: "30s",
 *   },
 *   cwd: "/nonexistent-dir",
 * });
 * console.log(options.bind, options.healthCheckDeadlineMs); // 127.0.0.1:7500 30000
 * ```
 */
export async function loadRuntimeConfig(options: LoadRuntimeConfigOptions = {}): Promise<RuntimeOptions> {
  const { merged } = await readConfigSources(options);
  return toRuntimeOptions(merged);
}

/**
 * Enforces required keys and rules across keys, and builds `RuntimeOptions`.
 *
 * @throws {ConfigError} For a missing or inconsistent key.
 *
 * @example
 * ```ts
 * import { readConfigSources, toRuntimeOptions } from "./config.ts";
 * const { merged } = await readConfigSources({ env: {}, cwd: "/nonexistent-dir" });
 * try {
 *   toRuntimeOptions(merged);
 * } catch (err) {
 *   console.log((err as Error).message); // Cannot load configuration: runtimePsks is required (set it in the file or FRANCIS_RUNTIME_PSKS)
 * }
 * ```
 */
export function toRuntimeOptions(merged: MergedConfig): RuntimeOptions {
  const runtimePsks = merged.require("runtimePsks") as string[];
  const method = merged.require("bootstrap.method");
  if (method === "psk") merged.require("bootstrap.hostPsk");
  else {
    merged.require("bootstrap.jwt.issuer");
    merged.require("bootstrap.jwt.audience");
  }
  resolveBootstrap(merged.get("bootstrap"), (path, fn) => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof InvalidValue) throw merged.error(path, err.reason);
      throw err;
    }
  });
  const connectionString = merged.require("provider.connectionString") as string;
  const bind = (merged.get("bind") ?? RUNTIME_DEFAULTS.bind) as string;
  const healthBind = (merged.get("healthBind") ?? CONFIG_HEALTH_BIND_DEFAULT) as string;
  if (addressesCollide(bind, healthBind)) {
    const why = merged.get("healthBind") === undefined ? "the default " : "";
    throw merged.error("healthBind", `must not use the port of bind (got ${why}"${healthBind}"; set healthBind)`);
  }
  const get = <T>(key: string, fallback: T): T => (merged.get(key) ?? fallback) as T;
  const bootstrap = merged.get("bootstrap") as RuntimeOptions["bootstrap"];
  const queryLog = renameSlow(merged.get("provider.queryLog"));
  const operationLog = renameSlow(merged.get("provider.operationLog"));
  const options: RuntimeOptions = {
    bind,
    healthBind,
    ...(merged.get("runtimeId") === undefined ? {} : { runtimeId: merged.get("runtimeId") as string }),
    runtimePsks,
    bootstrap: bootstrap.method === "psk"
      ? { method: "psk", hostPsk: bootstrap.hostPsk }
      : { method: "jwt", jwt: { ...bootstrap.jwt } },
    provider: {
      connectionString,
      ...(queryLog === undefined ? {} : { queryLog }),
      ...(operationLog === undefined ? {} : { operationLog }),
    },
    workloadCertTtlMs: get("workloadCertTtl", RUNTIME_DEFAULTS.workloadCertTtlMs),
    healthCheckDeadlineMs: get("healthCheckDeadline", RUNTIME_DEFAULTS.healthCheckDeadlineMs),
    alarmsPollIntervalMs: get("alarmsPollInterval", RUNTIME_DEFAULTS.alarmsPollIntervalMs),
    alarmsLeaseDurationMs: get("alarmsLeaseDuration", RUNTIME_DEFAULTS.alarmsLeaseDurationMs),
    alarmsFetchAheadMs: get("alarmsFetchAhead", RUNTIME_DEFAULTS.alarmsFetchAheadMs),
    alarmsFetchBatchSize: get("alarmsFetchBatchSize", RUNTIME_DEFAULTS.alarmsFetchBatchSize),
    alarmExecutionTimeoutMs: get("alarmExecutionTimeout", RUNTIME_DEFAULTS.alarmExecutionTimeoutMs),
    requestTimeoutMs: get("requestTimeout", RUNTIME_DEFAULTS.requestTimeoutMs),
    shutdownGracePeriodMs: get("shutdownGracePeriod", RUNTIME_DEFAULTS.shutdownGracePeriodMs),
    maxHosts: get("maxHosts", RUNTIME_DEFAULTS.maxHosts),
    transport: get<"tls" | "webtransport">("transport", RUNTIME_DEFAULTS.transport),
    log: { level: get("log.level", RUNTIME_DEFAULTS.log.level), json: get("log.json", RUNTIME_DEFAULTS.log.json) },
  };
  safetyNet(options, merged);
  return options;
}

function renameSlow(value: unknown): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  const { slowThreshold, ...rest } = value as Record<string, unknown>;
  return slowThreshold === undefined ? rest : { ...rest, slowThresholdMs: slowThreshold };
}

/** The file and `resolveRuntimeOptions` share their checks; should they ever drift, still report a ConfigError. */
function safetyNet(options: RuntimeOptions, merged: MergedConfig): void {
  try {
    resolveRuntimeOptions(options);
  } catch (err) {
    if (!(err instanceof TypeError || err instanceof RangeError)) throw err;
    const field = /^Cannot start runtime: (\S+) /.exec(err.message)?.[1] ?? "";
    const path = field.replace(/Ms(?=\.|\[|$)/g, "");
    const source: ConfigSource = merged.sourceOf(path);
    throw new ConfigError(err.message.replace("Cannot start runtime", CONFIG_ERROR_PREFIX), { path, source }, {
      cause: err,
    });
  }
}
