/**
 * `RuntimeOptions` (API.md §19.1), their defaults, and the single place they
 * are resolved and validated. The same rules back the configuration file
 * (`config.ts`), through `_checks.ts`.
 *
 * @module
 */

import type { Logger } from "../actor/types.ts";
import type { ActorProvider } from "../providers/types.ts";
import type { OperationLogOptions, QueryLogOptions } from "../providers/postgres/log.ts";
import { typeName } from "../_internal/validate.ts";
import { parseAddress } from "../_internal/address.ts";
import {
  addressesCollide,
  checkAddress,
  checkNonEmpty,
  checkPsk,
  checkRange,
  checkRuntimeId,
  COUNT_RANGES,
  DURATION_RANGES,
  InvalidValue,
  MIN_RUNTIME_PSK_BYTES,
} from "./_checks.ts";
import { createRuntimeLogger, type LogLevel } from "./logger.ts";
import { parseConnectionString, type ProviderConnection } from "./provider_spec.ts";
import { resolveBootstrap, type ResolvedBootstrap, resolveLog, resolveLogOptions } from "./_resolve_parts.ts";

export { createProviderFromConnectionString, type ProviderConnection } from "./provider_spec.ts";
export type { ResolvedBootstrap } from "./_resolve_parts.ts";
export type { LogLevel } from "./logger.ts";

/** How hosts join: a shared host PSK, or a JWT checked against a JWKS. */
export type RuntimeBootstrap =
  | { method: "psk"; hostPsk: string | Uint8Array }
  | { method: "jwt"; jwt: { issuer: string; audience: string; jwksUrl?: string; staticJwks?: string } };

/** Options of `startRuntime` (API.md §19.1); `loadRuntimeConfig` produces them from a file, env and flags. */
export interface RuntimeOptions {
  /** `"host:port"` the worker endpoint listens on; port 0 picks a free port. @default {"0.0.0.0:7400"} */
  bind?: string;
  /**
   * `"host:port"` of the plain-HTTP liveness/readiness endpoints (`/livez`, `/readyz`), or `""` for none.
   * (added) Off when embedding; the configuration file and CLI default to `"0.0.0.0:7401"`.
   * @default {""}
   */
  healthBind?: string;
  /** This replica's ID, 1–64 characters of `A-Z a-z 0-9 . _ ~ -`. @default {crypto.randomUUID()} */
  runtimeId?: string;
  /** Cluster PSKs, each ≥ 32 bytes: the first signs, all are trusted. */
  runtimePsks: readonly (string | Uint8Array)[];
  /** How hosts authenticate when they join. */
  bootstrap: RuntimeBootstrap;
  /** The store: a provider object, or a connection string (§19.1) the runtime opens itself. */
  provider: ActorProvider | {
    connectionString: string;
    queryLog?: QueryLogOptions;
    operationLog?: OperationLogOptions;
  };
  /** TTL of the workload certificates issued to hosts (ms, 60000 to 365 days). @default {3600000} */
  workloadCertTtlMs?: number;
  /** A host that misses this deadline is dead (ms, > 1000). @default {20000} */
  healthCheckDeadlineMs?: number;
  /** How often alarms are fetched (ms, ≥ 100). @default {1500} */
  alarmsPollIntervalMs?: number;
  /** How long an alarm lease lasts unless renewed (ms, ≥ 1000). @default {20000} */
  alarmsLeaseDurationMs?: number;
  /** Fetch alarms due within this window (ms, ≥ 100). @default {2500} */
  alarmsFetchAheadMs?: number;
  /** Max alarms leased per fetch (1–1000). @default {25} */
  alarmsFetchBatchSize?: number;
  /** How long an alarm or job delivery may run (ms, ≥ 1). @default {60000} */
  alarmExecutionTimeoutMs?: number;
  /** Bounds provider operations (ms, ≥ 1). @default {15000} */
  requestTimeoutMs?: number;
  /** How long `stop()` waits for in-flight work (ms, ≥ 1). @default {30000} */
  shutdownGracePeriodMs?: number;
  /** Max hosts in the cluster; 0 = unlimited. @default {0} */
  maxHosts?: number;
  /**
   * Worker transport. `"webtransport"` (experimental, Deno with `--unstable-net` only) also serves workers over
   * WebTransport on UDP at the same port number; the TLS endpoint stays. @default {"tls"}
   */
  transport?: "tls" | "webtransport";
  /** Logger; when absent, one is built from {@linkcode RuntimeOptions.log}. */
  logger?: Logger;
  /** Level and format of the built-in stdout logger, used when `logger` is absent. @default {{ level: "info", json: false }} */
  log?: { level?: LogLevel; json?: boolean };
}

/** {@linkcode RuntimeOptions} after defaults and validation. */
export interface ResolvedRuntimeOptions {
  bind: string;
  bindHost: string;
  bindPort: number;
  /** Where the HTTP health endpoints listen; `undefined` when they are off (`healthBind: ""`). */
  healthBind: { host: string; port: number } | undefined;
  runtimeId: string;
  runtimePsks: Uint8Array[];
  bootstrap: ResolvedBootstrap;
  /** The caller's provider object, or the validated connection to open with `createProviderFromConnectionString`. */
  provider: ActorProvider | ProviderConnection;
  /** The driver `provider` uses; `"custom"` for a provider object. SQLite and memory allow one replica only. */
  providerDriver: "postgres" | "memory" | "sqlite" | "custom";
  workloadCertTtlMs: number;
  healthCheckDeadlineMs: number;
  alarmsPollIntervalMs: number;
  alarmsLeaseDurationMs: number;
  alarmsFetchAheadMs: number;
  alarmsFetchBatchSize: number;
  alarmExecutionTimeoutMs: number;
  requestTimeoutMs: number;
  shutdownGracePeriodMs: number;
  maxHosts: number;
  transport: "tls" | "webtransport";
  logger: Logger;
  log: { level: LogLevel; json: boolean };
}

/** The type of {@linkcode RUNTIME_DEFAULTS}. */
export interface RuntimeDefaults {
  readonly bind: string;
  readonly healthBind: string;
  readonly workloadCertTtlMs: number;
  readonly healthCheckDeadlineMs: number;
  readonly alarmsPollIntervalMs: number;
  readonly alarmsLeaseDurationMs: number;
  readonly alarmsFetchAheadMs: number;
  readonly alarmsFetchBatchSize: number;
  readonly alarmExecutionTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly shutdownGracePeriodMs: number;
  readonly maxHosts: number;
  readonly transport: "tls";
  readonly log: { readonly level: LogLevel; readonly json: boolean };
}

/**
 * Defaults of the optional {@linkcode RuntimeOptions} (durations in ms).
 * `runtimeId` defaults to a fresh `crypto.randomUUID()` per process, and
 * `logger` to a stdout logger built from `log`.
 *
 * @example
 * ```ts
 * import { RUNTIME_DEFAULTS } from "./options.ts";
 * console.log(RUNTIME_DEFAULTS.bind, RUNTIME_DEFAULTS.healthCheckDeadlineMs); // 0.0.0.0:7400 20000
 * ```
 */
export const RUNTIME_DEFAULTS: RuntimeDefaults = Object.freeze({
  bind: "0.0.0.0:7400",
  healthBind: "",
  workloadCertTtlMs: 3_600_000,
  healthCheckDeadlineMs: 20_000,
  alarmsPollIntervalMs: 1_500,
  alarmsLeaseDurationMs: 20_000,
  alarmsFetchAheadMs: 2_500,
  alarmsFetchBatchSize: 25,
  alarmExecutionTimeoutMs: 60_000,
  requestTimeoutMs: 15_000,
  shutdownGracePeriodMs: 30_000,
  maxHosts: 0,
  transport: "tls" as const,
  log: Object.freeze({ level: "info" as const, json: false }),
});

const ACTION = "start runtime";

/** Runs a check and turns its `InvalidValue` into `TypeError`/`RangeError` naming `field`. */
function check<T>(field: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof InvalidValue)) throw err;
    const message = `Cannot ${ACTION}: ${field} ${err.reason}`;
    throw err.kind === "range" ? new RangeError(message) : new TypeError(message);
  }
}

type DurationKey = keyof typeof DURATION_RANGES & keyof RuntimeDefaults;

/**
 * Applies defaults and validates every option, throwing `TypeError` or
 * `RangeError` with a `Cannot start runtime: <option> …` message.
 *
 * @param options The caller's options.
 * @returns The resolved options.
 * @throws {TypeError} For a missing option, a wrong type or a malformed value.
 * @throws {RangeError} For a PSK that is too short or a number out of range.
 *
 * @example
 * ```ts
 * import { resolveRuntimeOptions } from "./options.ts";
 * const o = resolveRuntimeOptions({
 *   runtimePsks: ["an example runtime PSK, 32 bytes or more"],
 *   bootstrap: { method: "psk", hostPsk: "a host PSK, 16+ bytes" },
 *   provider: { connectionString: "memory" },
 * });
 * console.log(o.bindPort, o.providerDriver, o.runtimeId.length); // 7400 memory 36
 * ```
 */
export function resolveRuntimeOptions(options: RuntimeOptions): ResolvedRuntimeOptions {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`Cannot ${ACTION}: options must be an object (got ${typeName(options)})`);
  }
  const bind = check("bind", () => checkAddress(options.bind ?? RUNTIME_DEFAULTS.bind, false));
  const { host: bindHost, port: bindPort } = parseAddress(bind, ACTION, "bind");
  const health = check("healthBind", () => checkAddress(options.healthBind ?? RUNTIME_DEFAULTS.healthBind, true));
  if (addressesCollide(bind, health)) {
    throw new TypeError(`Cannot ${ACTION}: healthBind must not use the port of bind (got "${health}")`);
  }
  const healthBind = health === "" ? undefined : parseAddress(health, ACTION, "healthBind");
  const runtimeId = check("runtimeId", () => checkRuntimeId(options.runtimeId ?? crypto.randomUUID()));
  const psks: unknown = options.runtimePsks;
  if (!Array.isArray(psks) || psks.length === 0) {
    throw new TypeError(`Cannot ${ACTION}: runtimePsks must be a non-empty array (got ${typeName(psks)})`);
  }
  const runtimePsks = psks.map((p, i) => check(`runtimePsks[${i}]`, () => checkPsk(p, MIN_RUNTIME_PSK_BYTES)));
  const bootstrap = resolveBootstrap(options.bootstrap, check);
  const { provider, providerDriver } = resolveProvider(options.provider);
  const transport = options.transport ?? RUNTIME_DEFAULTS.transport;
  if (transport !== "tls" && transport !== "webtransport") {
    throw new TypeError(
      `Cannot ${ACTION}: transport must be "tls" or "webtransport" (got ${JSON.stringify(transport)})`,
    );
  }
  if (transport === "webtransport" && !hasWebTransport()) {
    throw new TypeError(`Cannot ${ACTION}: transport "webtransport" needs Deno with --unstable-net`);
  }
  const log = resolveLog(options.log, check);
  const logger = options.logger ?? createRuntimeLogger(log);
  for (const fn of ["debug", "info", "warn", "error"] as const) {
    if (typeof logger?.[fn] !== "function") throw new TypeError(`Cannot ${ACTION}: logger must have a ${fn} method`);
  }
  const duration = (key: DurationKey): number => {
    const [min, max] = DURATION_RANGES[key];
    return check(key, () => checkRange(options[key] ?? RUNTIME_DEFAULTS[key], min, max, ""));
  };
  const count = (key: "alarmsFetchBatchSize" | "maxHosts"): number => {
    const [min, max] = COUNT_RANGES[key];
    return check(key, () => checkRange(options[key] ?? RUNTIME_DEFAULTS[key], min, max, ""));
  };
  return {
    bind,
    bindHost,
    bindPort,
    healthBind,
    runtimeId,
    runtimePsks,
    bootstrap,
    provider,
    providerDriver,
    workloadCertTtlMs: duration("workloadCertTtlMs"),
    healthCheckDeadlineMs: duration("healthCheckDeadlineMs"),
    alarmsPollIntervalMs: duration("alarmsPollIntervalMs"),
    alarmsLeaseDurationMs: duration("alarmsLeaseDurationMs"),
    alarmsFetchAheadMs: duration("alarmsFetchAheadMs"),
    alarmsFetchBatchSize: count("alarmsFetchBatchSize"),
    alarmExecutionTimeoutMs: duration("alarmExecutionTimeoutMs"),
    requestTimeoutMs: duration("requestTimeoutMs"),
    shutdownGracePeriodMs: duration("shutdownGracePeriodMs"),
    maxHosts: count("maxHosts"),
    transport,
    logger,
    log,
  };
}

function resolveProvider(value: unknown): Pick<ResolvedRuntimeOptions, "provider" | "providerDriver"> {
  if (typeof value !== "object" || value === null) {
    throw new TypeError(
      `Cannot ${ACTION}: provider must be an ActorProvider or { connectionString } (got ${typeName(value)})`,
    );
  }
  if (typeof (value as ActorProvider).acquire === "function") {
    return { provider: value as ActorProvider, providerDriver: "custom" };
  }
  const c = value as ProviderConnection;
  if (c.connectionString === undefined) {
    throw new TypeError(`Cannot ${ACTION}: provider must be an ActorProvider or have a connectionString`);
  }
  check("provider.connectionString", () => checkNonEmpty(c.connectionString));
  const { driver } = check("provider.connectionString", () => parseConnectionString(c.connectionString));
  const queryLog = resolveLogOptions(c.queryLog, "provider.queryLog", ["enabled", "includeParameters"], check);
  const operationLog = resolveLogOptions(c.operationLog, "provider.operationLog", ["enabled"], check);
  return { provider: { connectionString: c.connectionString, queryLog, operationLog }, providerDriver: driver };
}

/** Deno with `--unstable-net` (what `transport/webtransport.ts` checks, without loading it). */
function hasWebTransport(): boolean {
  const deno = (globalThis as { Deno?: Record<string, unknown> }).Deno;
  return typeof deno?.QuicEndpoint === "function" && typeof deno.upgradeWebTransport === "function" &&
    typeof (globalThis as { WebTransport?: unknown }).WebTransport === "function";
}
