/**
 * Option checks shared by the transport factories.
 *
 * @module
 */

import type { Logger } from "../actor/types.ts";
import { defaultLogger, errorMessage } from "../_internal/logger.ts";
import { checkInt, checkSignal, typeName } from "../_internal/validate.ts";
import { DEFAULT_MAX_FRAME_BYTES } from "./frames.ts";
import type { DialOptions, LinkCredentials, PeerLink, PeerRequestHandler, TransportOptions } from "./types.ts";

/** Options every transport factory of this package accepts beyond {@linkcode TransportOptions}. */
export interface TransportExtraOptions {
  /** Where rejected connections and protocol errors are reported. @default console warnings */
  logger?: Logger;
}

/** Default of `TransportOptions.keepaliveMs`. */
export const DEFAULT_KEEPALIVE_MS = 15_000;

/** Checked, defaulted transport options. */
export interface CheckedTransportOptions {
  credentials: LinkCredentials;
  handler: PeerRequestHandler;
  maxInFlightRequests: number;
  maxFrameBytes: number;
  keepaliveMs: number;
  onLink: (link: PeerLink, direction: "inbound" | "outbound") => void;
  logger: Logger;
}

/**
 * Checks a {@linkcode LinkCredentials} value.
 *
 * @example
 * ```ts
 * import { checkCredentials } from "./_options.ts";
 * try {
 *   checkCredentials({}, "create transport");
 * } catch (err) {
 *   console.log((err as Error).message); // Cannot create transport: credentials.hostId must be a non-empty string
 * }
 * ```
 */
export function checkCredentials(value: unknown, action: string): LinkCredentials {
  const c = value as Partial<LinkCredentials> | undefined;
  if (typeof c !== "object" || c === null) {
    throw new TypeError(`Cannot ${action}: credentials must be an object (got ${typeName(c)})`);
  }
  if (typeof c.hostId !== "string" || c.hostId === "") {
    throw new TypeError(`Cannot ${action}: credentials.hostId must be a non-empty string`);
  }
  for (const k of ["certPem", "keyPem"] as const) {
    if (typeof c[k] !== "string") throw new TypeError(`Cannot ${action}: credentials.${k} must be a string`);
  }
  if (!Array.isArray(c.caPems) || c.caPems.length === 0 || !c.caPems.every((p) => typeof p === "string")) {
    throw new TypeError(`Cannot ${action}: credentials.caPems must be a non-empty array of PEM strings`);
  }
  if (!Array.isArray(c.authKeys) || c.authKeys.length === 0 || !c.authKeys.every((k) => k instanceof Uint8Array)) {
    throw new TypeError(`Cannot ${action}: credentials.authKeys must be a non-empty array of Uint8Array`);
  }
  return c as LinkCredentials;
}

/**
 * Checks and defaults the options of a transport factory.
 *
 * @example
 * ```ts ignore
 * const o = checkTransportOptions(options, "create TLS transport");
 * ```
 */
export function checkTransportOptions(
  options: TransportOptions & TransportExtraOptions,
  action: string,
): CheckedTransportOptions {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`Cannot ${action}: options must be an object (got ${typeName(options)})`);
  }
  const credentials = checkCredentials(options.credentials, action);
  if (typeof options.handler !== "function") {
    throw new TypeError(`Cannot ${action}: handler must be a function (got ${typeName(options.handler)})`);
  }
  if (options.onLink !== undefined && typeof options.onLink !== "function") {
    throw new TypeError(`Cannot ${action}: onLink must be a function (got ${typeName(options.onLink)})`);
  }
  const logger = options.logger ?? defaultLogger();
  const onLink = options.onLink;
  return {
    credentials,
    handler: options.handler,
    maxInFlightRequests: checkInt(options.maxInFlightRequests, action, "maxInFlightRequests", 1, 2 ** 31 - 1),
    maxFrameBytes: checkInt(options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES, action, "maxFrameBytes", 1, 2 ** 32 - 1),
    keepaliveMs: checkInt(options.keepaliveMs ?? DEFAULT_KEEPALIVE_MS, action, "keepaliveMs", 1, 2 ** 31 - 1),
    onLink: (link, direction) => {
      if (onLink === undefined) return;
      try {
        onLink(link, direction);
      } catch (err) {
        logger.error("onLink threw", { peer: link.peerId, direction, err: errorMessage(err) });
      }
    },
    logger,
  };
}

/**
 * Checks {@linkcode DialOptions}.
 *
 * @example
 * ```ts
 * import { checkDialOptions } from "./_options.ts";
 * console.log(checkDialOptions({ address: "h:1", expectedPeerId: "b", timeoutMs: 10 }, "dial").timeoutMs); // 10
 * ```
 */
export function checkDialOptions(options: DialOptions, action: string): DialOptions {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`Cannot ${action}: options must be an object (got ${typeName(options)})`);
  }
  if (typeof options.address !== "string") {
    throw new TypeError(`Cannot ${action}: address must be a "host:port" string (got ${typeName(options.address)})`);
  }
  if (typeof options.expectedPeerId !== "string" || options.expectedPeerId === "") {
    throw new TypeError(`Cannot ${action}: expectedPeerId must be a non-empty string`);
  }
  checkInt(options.timeoutMs, action, "timeoutMs", 1, 2 ** 31 - 1);
  checkSignal(options.signal, action);
  return options;
}

/**
 * Whether both sides hold a key the other proves with: `a` proves with its
 * first key, which `b` must hold, and the other way round (as the TLS proof does).
 *
 * @example
 * ```ts
 * import { keysAccept } from "./_options.ts";
 * const k = new Uint8Array([1]);
 * console.log(keysAccept([k], [new Uint8Array([2]), new Uint8Array([1])])); // true
 * ```
 */
export function keysAccept(prover: readonly Uint8Array[], verifier: readonly Uint8Array[]): boolean {
  const first = prover[0];
  return first !== undefined && verifier.some((k) => k.length === first.length && k.every((b, i) => b === first[i]));
}
