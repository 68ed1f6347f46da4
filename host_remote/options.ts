/**
 * `RemoteHostOptions`, their defaults, and their validation (API.md §16).
 *
 * @module
 */

import type { Logger } from "../actor/types.ts";
import { type Codec, jsonCodec } from "../_internal/codec.ts";
import { parseAddress } from "../_internal/address.ts";
import { defaultLogger } from "../_internal/logger.ts";
import { checkInt, typeName } from "../_internal/validate.ts";

/** How a worker proves it may join: exactly one form. */
export type HostBootstrap = { psk: string | Uint8Array } | { jwt: string } | { jwtFile: string };

/** Options of `new RemoteHost(…)`. */
export interface RemoteHostOptions {
  /** Runtime addresses (`host:port`, ≥ 1); the host starts at a random one and rolls over on failure. */
  runtimeAddresses: readonly string[];
  /** The join credential. */
  bootstrap: HostBootstrap;
  /** PEM(s) printed by `francis print-ca`: the runtime must chain to one. Exclusive with `unsafeNoPinnedCa`. */
  pinnedCa?: string | readonly string[];
  /** Trust the runtime on first connection (TOFU); a warning is logged at every start. */
  unsafeNoPinnedCa?: true;
  /** Where to listen for peers (required unless `clientOnly`). */
  address?: string;
  /** What peers dial. @default {address with the bound port} */
  advertiseAddress?: string;
  /** Invoke, read and write only: no actors, no listener, never chosen for placement. @default {false} */
  clientOnly?: boolean;
  /**
   * Transport of the runtime session. `"webtransport"` is experimental (Deno with `--unstable-net` only) and
   * needs `runtimeCertificateHash`; peer links between workers stay TLS either way. @default {"tls"}
   */
  transport?: "tls" | "webtransport";
  /**
   * With `transport: "webtransport"` (required then, refused otherwise): the SHA-256 of the runtime's WebTransport
   * certificate, 64 hex digits (colons allowed), as `francis print-ca --webtransport-hash` prints it; several during
   * a PSK rotation. It is derived from the runtime PSK, so one value fits every replica and survives restarts.
   */
  runtimeCertificateHash?: string | readonly string[];
  /** Payload codec. @default {jsonCodec} */
  codec?: Codec;
  /** Logger. @default {console, warn and up} */
  logger?: Logger;
  /** @default {30000} */
  shutdownGracePeriodMs?: number;
  /** Bounds each runtime request, connect and registration step, and peer connect. @default {15000} */
  requestTimeoutMs?: number;
  /** @default {100} */
  maxInFlightRequests?: number;
  /** @default {16777216} */
  maxRequestBodySizeBytes?: number;
}

/**
 * Defaults of the optional {@linkcode RemoteHostOptions}.
 *
 * @example
 * ```ts
 * import { REMOTE_HOST_DEFAULTS } from "./options.ts";
 * console.log(REMOTE_HOST_DEFAULTS.requestTimeoutMs); // 15000
 * ```
 */
export const REMOTE_HOST_DEFAULTS: Readonly<{
  clientOnly: false;
  transport: "tls";
  shutdownGracePeriodMs: number;
  requestTimeoutMs: number;
  maxInFlightRequests: number;
  maxRequestBodySizeBytes: number;
}> = Object.freeze({
  clientOnly: false,
  transport: "tls",
  shutdownGracePeriodMs: 30_000,
  requestTimeoutMs: 15_000,
  maxInFlightRequests: 100,
  maxRequestBodySizeBytes: 16_777_216,
});

/** Options after defaults and validation. */
export interface ResolvedRemoteHostOptions {
  runtimeAddresses: string[];
  bootstrap: { psk: Uint8Array } | { jwt: string } | { jwtFile: string };
  pinnedCa: string[] | undefined;
  address: string | undefined;
  advertiseAddress: string | undefined;
  clientOnly: boolean;
  transport: "tls" | "webtransport";
  /** Pinned runtime WebTransport certificate hashes (32 bytes each); only with `"webtransport"`. */
  runtimeCertificateHashes: Uint8Array[] | undefined;
  codec: Codec;
  logger: Logger;
  shutdownGracePeriodMs: number;
  requestTimeoutMs: number;
  maxInFlightRequests: number;
  maxRequestBodySizeBytes: number;
}

const ACTION = "create RemoteHost";
const MIN_HOST_PSK_BYTES = 16;

/**
 * Validates the options, throwing `TypeError`/`RangeError` with a `Cannot create RemoteHost: …` message.
 *
 * @example
 * ```ts
 * import { resolveRemoteHostOptions } from "./options.ts";
 * try {
 *   resolveRemoteHostOptions({ runtimeAddresses: ["127.0.0.1:7400"], bootstrap: { jwt: "t" }, clientOnly: true });
 * } catch (err) {
 *   console.log((err as Error).message); // Cannot create RemoteHost: exactly one of pinnedCa or unsafeNoPinnedCa is required
 * }
 * ```
 */
export function resolveRemoteHostOptions(options: RemoteHostOptions): ResolvedRemoteHostOptions {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`Cannot ${ACTION}: options must be an object`);
  }
  const addresses = options.runtimeAddresses;
  if (!Array.isArray(addresses) || addresses.length === 0) {
    throw new TypeError(`Cannot ${ACTION}: runtimeAddresses must be a non-empty array`);
  }
  addresses.forEach((a, i) => parseAddress(a, ACTION, `runtimeAddresses[${i}]`));
  const hasPinned = options.pinnedCa !== undefined;
  const unsafe = options.unsafeNoPinnedCa;
  if (unsafe !== undefined && unsafe !== true) throw new TypeError(`Cannot ${ACTION}: unsafeNoPinnedCa must be true`);
  if (hasPinned === (unsafe === true)) {
    throw new TypeError(`Cannot ${ACTION}: exactly one of pinnedCa or unsafeNoPinnedCa is required`);
  }
  let pinnedCa: string[] | undefined;
  if (hasPinned) {
    const list = typeof options.pinnedCa === "string" ? [options.pinnedCa] : options.pinnedCa;
    if (
      !Array.isArray(list) || list.length === 0 ||
      !list.every((p) => typeof p === "string" && p.includes("BEGIN CERTIFICATE"))
    ) {
      throw new TypeError(`Cannot ${ACTION}: pinnedCa must be PEM certificate text or a non-empty list of them`);
    }
    pinnedCa = [...list];
  }
  const bootstrap = resolveBootstrap(options.bootstrap);
  const clientOnly = options.clientOnly ?? false;
  if (typeof clientOnly !== "boolean") throw new TypeError(`Cannot ${ACTION}: clientOnly must be a boolean`);
  if (clientOnly && (options.address !== undefined || options.advertiseAddress !== undefined)) {
    throw new TypeError(`Cannot ${ACTION}: address and advertiseAddress are not allowed with clientOnly`);
  }
  if (!clientOnly && options.address === undefined) throw new TypeError(`Cannot ${ACTION}: address is required`);
  if (options.address !== undefined) {
    const { host } = parseAddress(options.address, ACTION, "address");
    if ((host === "0.0.0.0" || host === "::") && options.advertiseAddress === undefined) {
      throw new TypeError(`Cannot ${ACTION}: advertiseAddress is required when address is a wildcard`);
    }
  }
  if (options.advertiseAddress !== undefined) {
    const adv = parseAddress(options.advertiseAddress, ACTION, "advertiseAddress");
    if (adv.port === 0) throw new TypeError(`Cannot ${ACTION}: advertiseAddress must have a non-zero port`);
  }
  const transport = options.transport ?? "tls";
  if (transport !== "tls" && transport !== "webtransport") {
    throw new TypeError(
      `Cannot ${ACTION}: transport must be "tls" or "webtransport" (got ${JSON.stringify(transport)})`,
    );
  }
  const runtimeCertificateHashes = resolveHashes(options.runtimeCertificateHash, transport);
  const codec = options.codec ?? jsonCodec;
  if (typeof codec?.encode !== "function" || typeof codec?.decode !== "function") {
    throw new TypeError(`Cannot ${ACTION}: codec must have encode and decode functions`);
  }
  const int = (field: keyof typeof REMOTE_HOST_DEFAULTS, min: number, max?: number): number =>
    checkInt(options[field as keyof RemoteHostOptions] ?? REMOTE_HOST_DEFAULTS[field], ACTION, field, min, max);
  return {
    runtimeAddresses: [...addresses],
    bootstrap,
    pinnedCa,
    address: options.address,
    advertiseAddress: options.advertiseAddress,
    clientOnly,
    transport,
    runtimeCertificateHashes,
    codec,
    logger: options.logger ?? defaultLogger(),
    shutdownGracePeriodMs: int("shutdownGracePeriodMs", 1, 2_147_483_647),
    requestTimeoutMs: int("requestTimeoutMs", 1, 2_147_483_647),
    maxInFlightRequests: int("maxInFlightRequests", 1, 100_000),
    maxRequestBodySizeBytes: int("maxRequestBodySizeBytes", 1),
  };
}

function resolveBootstrap(b: unknown): ResolvedRemoteHostOptions["bootstrap"] {
  if (typeof b !== "object" || b === null) throw new TypeError(`Cannot ${ACTION}: bootstrap must be an object`);
  const keys = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (keys.length !== 1 || !["psk", "jwt", "jwtFile"].includes(keys[0])) {
    throw new TypeError(`Cannot ${ACTION}: bootstrap must have exactly one of psk, jwt or jwtFile`);
  }
  const v = (b as Record<string, unknown>)[keys[0]];
  if (keys[0] === "psk") {
    const bytes = typeof v === "string" ? new TextEncoder().encode(v) : v instanceof Uint8Array ? v.slice() : undefined;
    if (bytes === undefined) throw new TypeError(`Cannot ${ACTION}: bootstrap.psk must be a string or a Uint8Array`);
    if (bytes.length < MIN_HOST_PSK_BYTES) {
      throw new RangeError(
        `Cannot ${ACTION}: bootstrap.psk must be at least ${MIN_HOST_PSK_BYTES} bytes (got ${bytes.length})`,
      );
    }
    return { psk: bytes };
  }
  if (typeof v !== "string" || v.trim() === "") {
    throw new TypeError(`Cannot ${ACTION}: bootstrap.${keys[0]} must be a non-empty string`);
  }
  return keys[0] === "jwt" ? { jwt: v } : { jwtFile: v };
}

const HASH = /^[0-9a-f]{64}$/;

function resolveHashes(value: unknown, transport: "tls" | "webtransport"): Uint8Array[] | undefined {
  if (transport === "tls") {
    if (value !== undefined) {
      throw new TypeError(`Cannot ${ACTION}: runtimeCertificateHash is only used with transport "webtransport"`);
    }
    return undefined;
  }
  if (value === undefined) {
    throw new TypeError(
      `Cannot ${ACTION}: runtimeCertificateHash is required with transport "webtransport" ` +
        `(print it with "francis print-ca --webtransport-hash")`,
    );
  }
  const list = typeof value === "string" ? [value] : value;
  if (!Array.isArray(list) || list.length === 0) {
    throw new TypeError(`Cannot ${ACTION}: runtimeCertificateHash must be a hex string or a non-empty list of them`);
  }
  const hashes = list.map((h: unknown, i) => {
    const hex = typeof h === "string" ? h.replaceAll(":", "").toLowerCase() : "";
    if (!HASH.test(hex)) {
      const got = typeof h === "string" ? `${h.length} characters` : typeName(h);
      throw new TypeError(
        `Cannot ${ACTION}: runtimeCertificateHash[${i}] must be a SHA-256 in hex, 64 digits (got ${got})`,
      );
    }
    return Uint8Array.from(hex.match(/../g)!, (b) => parseInt(b, 16));
  });
  // Checked last, so that a malformed configuration is reported the same everywhere.
  const deno = (globalThis as { Deno?: Record<string, unknown> }).Deno;
  const available = typeof deno?.QuicEndpoint === "function" && typeof deno.upgradeWebTransport === "function" &&
    typeof (globalThis as { WebTransport?: unknown }).WebTransport === "function";
  if (!available) throw new TypeError(`Cannot ${ACTION}: transport "webtransport" needs Deno with --unstable-net`);
  return hashes;
}
