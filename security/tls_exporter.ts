/**
 * The TLS 1.3 session exporter (RFC 8446 §7.5) of a `node:tls` socket, the
 * channel binding of the link proof.
 *
 * - Node: `socket.exportKeyingMaterial(32, EXPORTER_LABEL)`.
 * - Deno 2.9 has no `exportKeyingMaterial`, but its `getFinished()` (client
 *   side) and `getPeerFinished()` (server side) return exactly that exporter:
 *   the RFC 8446 exporter with label `EXPORTER_DENO_TLS_FINISHED_CLIENT`,
 *   no context, 32 bytes (verified against Node's `exportKeyingMaterial`).
 *
 * So both runtimes, and a Deno peer talking to a Node peer, agree on the same
 * 32 bytes. This module touches only the socket object passed in; it imports
 * no runtime API.
 *
 * @module
 */

import { describe } from "../_internal/validate.ts";

/** The exporter label whose value Deno exposes through `getFinished()` / `getPeerFinished()`. */
export const EXPORTER_LABEL = "EXPORTER_DENO_TLS_FINISHED_CLIENT";

/** The parts of a `node:tls` `TLSSocket` that {@linkcode tlsExporter} reads. */
export interface ExporterSocket {
  /** Node: RFC 5705/8446 keying material exporter. Missing (or throwing) on Deno. */
  exportKeyingMaterial?(length: number, label: string, context: Uint8Array): Uint8Array;
  /** Deno: the exporter as seen by the client; Node: the client's Finished message. */
  getFinished?(): Uint8Array | undefined;
  /** Deno: the exporter as seen by the server; Node: the peer's Finished message. */
  getPeerFinished?(): Uint8Array | undefined;
  /** The negotiated protocol, e.g. `"TLSv1.3"`. */
  getProtocol?(): string | null;
}

const EXPORTER_BYTES = 32;

/**
 * Returns the 32-byte TLS 1.3 exporter of an established `node:tls` socket.
 * Both ends of one connection get the same bytes; another connection gets
 * other bytes. Fails closed: throws when the session is not TLS 1.3 or no
 * 32-byte exporter can be obtained.
 *
 * @param socket A connected `TLSSocket` (after `secureConnect` / `secureConnection`).
 * @param role Which end this socket is: `"client"` (dialled) or `"server"` (accepted).
 * @returns A fresh copy of the 32 exporter bytes.
 * @throws {TypeError} When the role is unknown, the protocol is not TLS 1.3 or no exporter is available.
 *
 * @example
 * ```ts
 * import { tlsExporter } from "./tls_exporter.ts";
 * const fake = { getProtocol: () => "TLSv1.3", getFinished: () => new Uint8Array(32).fill(7) };
 * console.log(tlsExporter(fake, "client")[0]); // 7
 * ```
 */
export function tlsExporter(socket: ExporterSocket, role: "client" | "server"): Uint8Array {
  const action = "get TLS exporter";
  if (role !== "client" && role !== "server") {
    throw new TypeError(`Cannot ${action}: role must be "client" or "server" (got ${describe(role)})`);
  }
  if (typeof socket?.getProtocol === "function") {
    const protocol = socket.getProtocol();
    if (protocol !== "TLSv1.3") {
      throw new TypeError(`Cannot ${action}: the session must be TLS 1.3 (got ${describe(protocol ?? "none")})`);
    }
  }
  if (typeof socket?.exportKeyingMaterial === "function") {
    let value: unknown;
    try {
      // TLS 1.3 hashes the context, so an empty one equals none (RFC 8446 §7.5).
      value = socket.exportKeyingMaterial(EXPORTER_BYTES, EXPORTER_LABEL, new Uint8Array(0));
    } catch {
      value = undefined; // Deno: present but not implemented; fall through to the Finished accessors.
    }
    if (value instanceof Uint8Array && value.length === EXPORTER_BYTES) return new Uint8Array(value);
  }
  const getter = role === "client" ? socket?.getFinished : socket?.getPeerFinished;
  const value = typeof getter === "function" ? getter.call(socket) : undefined;
  if (value instanceof Uint8Array && value.length === EXPORTER_BYTES) return new Uint8Array(value);
  throw new TypeError(`Cannot ${action}: no ${EXPORTER_BYTES}-byte exporter is available on this socket`);
}
