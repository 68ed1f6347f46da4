/**
 * `LocalHostOptions`, their defaults, and the single place they are validated.
 *
 * @module
 */

import type { Logger } from "../actor/types.ts";
import type { ActorProvider } from "../providers/types.ts";
import { type Codec, jsonCodec } from "../_internal/codec.ts";
import { checkInt } from "../_internal/validate.ts";
import { parseAddress } from "../_internal/address.ts";
import { defaultLogger } from "../_internal/logger.ts";

/** Options of `new LocalHost(…)` (API.md §15). */
export interface LocalHostOptions {
  /** `"host:port"` to listen on; port 0 picks a free port. */
  address: string;
  /** What peers dial. @default {address with the bound port} */
  advertiseAddress?: string;
  /** Cluster PSKs, each ≥ 32 bytes. The first signs; all are trusted. */
  runtimePsks: readonly (string | Uint8Array)[];
  /** The data store. */
  provider: ActorProvider;
  /** Peer transport. @default {"tls"} */
  transport?: "tls" | "webtransport";
  /** Payload codec; every host of a cluster must use the same. @default {jsonCodec} */
  codec?: Codec;
  /** Logger. @default {console, warn and up} */
  logger?: Logger;
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
  /** How long a halting actor's turn may run before its signal aborts (ms, ≥ 1). @default {30000} */
  shutdownGracePeriodMs?: number;
  /** Bounds provider calls and startup steps (ms, ≥ 1). @default {15000} */
  requestTimeoutMs?: number;
  /** Inbound invocations per peer connection (1–100000). @default {100} */
  maxInFlightRequests?: number;
  /** Max stream request body (bytes, ≥ 1). @default {16777216} */
  maxRequestBodySizeBytes?: number;
  /** Max hosts in the cluster; 0 = unlimited. @default {0} */
  maxHosts?: number;
}

/** Options after defaults and validation. */
export interface ResolvedLocalHostOptions {
  host: string;
  port: number;
  advertiseAddress: string | undefined;
  runtimePsks: Uint8Array[];
  provider: ActorProvider;
  transport: "tls";
  codec: Codec;
  logger: Logger;
  healthCheckDeadlineMs: number;
  alarmsPollIntervalMs: number;
  alarmsLeaseDurationMs: number;
  alarmsFetchAheadMs: number;
  alarmsFetchBatchSize: number;
  shutdownGracePeriodMs: number;
  requestTimeoutMs: number;
  maxInFlightRequests: number;
  maxRequestBodySizeBytes: number;
  maxHosts: number;
}

/**
 * Defaults of the optional {@linkcode LocalHostOptions}.
 *
 * @example
 * ```ts
 * import { LOCAL_HOST_DEFAULTS } from "./options.ts";
 * console.log(LOCAL_HOST_DEFAULTS.alarmsPollIntervalMs); // 1500
 * ```
 */
export const LOCAL_HOST_DEFAULTS = Object.freeze({
  transport: "tls" as const,
  healthCheckDeadlineMs: 20_000,
  alarmsPollIntervalMs: 1_500,
  alarmsLeaseDurationMs: 20_000,
  alarmsFetchAheadMs: 2_500,
  alarmsFetchBatchSize: 25,
  shutdownGracePeriodMs: 30_000,
  requestTimeoutMs: 15_000,
  maxInFlightRequests: 100,
  maxRequestBodySizeBytes: 16_777_216,
  maxHosts: 0,
});

const ACTION = "create LocalHost";
/** Options that drive a single timer are bounded by what `setTimeout` honours (2^31-1 ms, about 24.8 days). */
const MAX_TIMER_MS = 2_147_483_647;
const MIN_PSK_BYTES = 32;

/**
 * Applies defaults and validates every option, throwing `TypeError` or
 * `RangeError` with a `Cannot create LocalHost: …` message.
 *
 * @example
 * ```ts
 * import { resolveLocalHostOptions } from "./options.ts";
 * import { createMemoryProvider } from "../providers/memory/mod.ts";
 * const o = resolveLocalHostOptions({ address: "127.0.0.1:0", runtimePsks: ["x".repeat(32)], provider: createMemoryProvider() });
 * console.log(o.port); // 0
 * ```
 */
export function resolveLocalHostOptions(options: LocalHostOptions): ResolvedLocalHostOptions {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`Cannot ${ACTION}: options must be an object`);
  }
  const { host, port } = parseAddress(options.address, ACTION, "address");
  let advertiseAddress: string | undefined;
  if (options.advertiseAddress !== undefined) {
    const adv = parseAddress(options.advertiseAddress, ACTION, "advertiseAddress");
    if (adv.port === 0) throw new TypeError(`Cannot ${ACTION}: advertiseAddress must have a non-zero port`);
    advertiseAddress = options.advertiseAddress;
  } else if (host === "0.0.0.0" || host === "::") {
    throw new TypeError(`Cannot ${ACTION}: advertiseAddress is required when address is a wildcard`);
  }
  const runtimePsks = resolvePsks(options.runtimePsks);
  const provider = options.provider;
  if (typeof provider !== "object" || provider === null || typeof provider.acquire !== "function") {
    throw new TypeError(`Cannot ${ACTION}: provider must be an ActorProvider`);
  }
  const transport = options.transport ?? LOCAL_HOST_DEFAULTS.transport;
  if (transport !== "tls" && transport !== "webtransport") {
    throw new TypeError(
      `Cannot ${ACTION}: transport must be "tls" or "webtransport" (got ${JSON.stringify(transport)})`,
    );
  }
  if (transport === "webtransport") {
    throw new TypeError(
      `Cannot ${ACTION}: transport "webtransport" is not available for LocalHost peer links ` +
        `(it is an experimental RemoteHost-to-runtime transport)`,
    );
  }
  const codec = options.codec ?? jsonCodec;
  if (typeof codec?.encode !== "function" || typeof codec?.decode !== "function") {
    throw new TypeError(`Cannot ${ACTION}: codec must have encode and decode functions`);
  }
  const logger = options.logger ?? defaultLogger();
  const int = (field: keyof typeof LOCAL_HOST_DEFAULTS, min: number, max?: number): number =>
    checkInt(options[field as keyof LocalHostOptions] ?? LOCAL_HOST_DEFAULTS[field], ACTION, field, min, max);
  const healthCheckDeadlineMs = int("healthCheckDeadlineMs", 1_001, MAX_TIMER_MS);
  return {
    host,
    port,
    advertiseAddress,
    runtimePsks,
    provider,
    transport,
    codec,
    logger,
    healthCheckDeadlineMs,
    alarmsPollIntervalMs: int("alarmsPollIntervalMs", 100, MAX_TIMER_MS),
    alarmsLeaseDurationMs: int("alarmsLeaseDurationMs", 1_000, MAX_TIMER_MS),
    alarmsFetchAheadMs: int("alarmsFetchAheadMs", 100),
    alarmsFetchBatchSize: int("alarmsFetchBatchSize", 1, 1_000),
    shutdownGracePeriodMs: int("shutdownGracePeriodMs", 1, MAX_TIMER_MS),
    requestTimeoutMs: int("requestTimeoutMs", 1, MAX_TIMER_MS),
    maxInFlightRequests: int("maxInFlightRequests", 1, 100_000),
    maxRequestBodySizeBytes: int("maxRequestBodySizeBytes", 1),
    maxHosts: int("maxHosts", 0),
  };
}

function resolvePsks(psks: unknown): Uint8Array[] {
  if (!Array.isArray(psks) || psks.length === 0) {
    throw new TypeError(`Cannot ${ACTION}: runtimePsks must be a non-empty array`);
  }
  return psks.map((psk, i) => {
    let bytes: Uint8Array;
    if (typeof psk === "string") bytes = new TextEncoder().encode(psk);
    else if (psk instanceof Uint8Array) bytes = psk.slice();
    else throw new TypeError(`Cannot ${ACTION}: runtimePsks[${i}] must be a string or a Uint8Array`);
    if (bytes.length < MIN_PSK_BYTES) {
      throw new RangeError(
        `Cannot ${ACTION}: runtimePsks[${i}] must be at least ${MIN_PSK_BYTES} bytes (got ${bytes.length})`,
      );
    }
    return bytes;
  });
}
