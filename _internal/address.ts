/**
 * Parsing of `"host:port"` addresses.
 *
 * @module
 */

/** A parsed address. IPv6 hosts are returned without brackets. */
export interface ParsedAddress {
  host: string;
  port: number;
}

/**
 * Parses `"host:port"` (IPv6 as `"[::1]:7571"`), throwing `TypeError` with a
 * `Cannot <action>: …` message when malformed.
 *
 * @example
 * ```ts
 * import { parseAddress } from "./address.ts";
 * console.log(parseAddress("[::1]:7571", "start host", "address")); // { host: "::1", port: 7571 }
 * ```
 */
export function parseAddress(value: unknown, action: string, field: string): ParsedAddress {
  if (typeof value !== "string") {
    throw new TypeError(`Cannot ${action}: ${field} must be a "host:port" string (got ${typeof value})`);
  }
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:\[\]\/]+)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65_535) {
    throw new TypeError(`Cannot ${action}: ${field} must be "host:port" (got ${JSON.stringify(value)})`);
  }
  return { host: m[1] ?? m[2], port };
}

/**
 * Formats a host and port, bracketing IPv6 hosts.
 *
 * @example
 * ```ts
 * import { formatAddress } from "./address.ts";
 * console.log(formatAddress("::1", 80)); // [::1]:80
 * ```
 */
export function formatAddress(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
