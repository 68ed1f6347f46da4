/**
 * The TLS transport (API.md §18): TLS 1.3 over TCP through `node:tls`, client
 * certificates required and verified against the cluster CAs only, peer
 * identity from the certificate's SAN URI (never DNS), then an
 * exporter-bound PSK proof each way before any request crosses. `node:tls`
 * is imported lazily, on the first `listen` or `dial`.
 *
 * @module
 */

import type * as NodeTls from "node:tls";
import type { Socket } from "node:net";
import { DeadlineExceededError, isFrancisError, RetryLaterError, UnauthorizedError } from "../errors.ts";
import { formatAddress, parseAddress } from "../_internal/address.ts";
import { errorMessage } from "../_internal/logger.ts";
import { checkInt } from "../_internal/validate.ts";
import { clientHandshake, type HandshakeResult, serverHandshake } from "./_tls_handshake.ts";
import { SocketChannel } from "./_socket_channel.ts";
import { MuxLink } from "./mux.ts";
import {
  checkCredentials,
  checkDialOptions,
  type CheckedTransportOptions,
  checkTransportOptions,
  type TransportExtraOptions,
} from "./_options.ts";
import type {
  DialOptions,
  LinkCredentials,
  PeerLink,
  Transport,
  TransportListener,
  TransportOptions,
} from "./types.ts";

/** Options of {@linkcode createTlsTransport}. */
export interface TlsTransportOptions extends TransportOptions, TransportExtraOptions {
  /**
   * Bound, on the accepting side, for the TLS handshake and again for the
   * proof exchange; an unauthenticated connection is dropped after it.
   * @default {10000}
   */
  handshakeTimeoutMs?: number;
}

let tlsModule: Promise<typeof NodeTls> | undefined;
function loadTls(): Promise<typeof NodeTls> {
  return tlsModule ??= import("node:tls");
}

function contextOptions(c: LinkCredentials): NodeTls.SecureContextOptions {
  return { key: c.keyPem, cert: c.certPem, ca: [...c.caPems], minVersion: "TLSv1.3", maxVersion: "TLSv1.3" };
}

/**
 * Creates the TLS transport.
 *
 * - `dial` rejects with `RetryLaterError` (cause: the socket error, e.g.
 *   `code: "ECONNREFUSED"`, the `UnauthorizedError` of a rejected proof, or a
 *   `DeadlineExceededError` after `timeoutMs`), or `HostMismatchError` when
 *   the server's certificate names another host (nothing is sent then).
 * - `updateCredentials` applies to links made afterwards: new dials use the
 *   new certificate and keys, and every listener switches its TLS context
 *   (`server.setSecureContext`); existing links are kept.
 *
 * @param options The {@linkcode TlsTransportOptions}.
 * @returns The transport.
 *
 * @example
 * ```ts ignore
 * import { createTlsTransport } from "./tls.ts";
 * import { createHostCredentials } from "../security/credentials.ts";
 * const credentials = await createHostCredentials([psk], "host-a");
 * const transport = createTlsTransport({ credentials, handler: (b) => b, maxInFlightRequests: 100 });
 * const listener = await transport.listen("0.0.0.0", 7571);
 * const link = await transport.dial({ address: "10.0.0.2:7571", expectedPeerId: "host-b", timeoutMs: 5_000 });
 * ```
 */
export function createTlsTransport(options: TlsTransportOptions): Transport {
  const action = "create TLS transport";
  const checked = checkTransportOptions(options, action);
  const hs = checkInt(options.handshakeTimeoutMs ?? 10_000, action, "handshakeTimeoutMs", 1, 2 ** 31 - 1);
  return new TlsTransport(checked, hs);
}

class TlsTransport implements Transport {
  #options: CheckedTransportOptions;
  readonly #handshakeTimeoutMs: number;
  readonly #links = new Set<MuxLink>();
  readonly #listeners = new Set<TlsListener>();
  #closed = false;

  constructor(options: CheckedTransportOptions, handshakeTimeoutMs: number) {
    this.#options = options;
    this.#handshakeTimeoutMs = handshakeTimeoutMs;
  }

  async listen(host: string, port: number): Promise<TransportListener> {
    checkInt(port, "listen", "port", 0, 65_535);
    const tls = await loadTls();
    const server = tls.createServer({
      ...contextOptions(this.#options.credentials),
      requestCert: true,
      rejectUnauthorized: true,
      handshakeTimeout: this.#handshakeTimeoutMs,
    });
    const listener = new TlsListener(server, (socket, l) => this.#accept(socket, l));
    server.on("tlsClientError", (err, socket) => {
      this.#options.logger.debug("Rejected TLS connection", { err: errorMessage(err) });
      socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    server.on("error", (err) => this.#options.logger.error("TLS listener failed", { err: errorMessage(err) }));
    this.#listeners.add(listener);
    listener.closing.then(() => this.#listeners.delete(listener));
    return listener;
  }

  async dial(options: DialOptions): Promise<PeerLink> {
    const { address, expectedPeerId, timeoutMs, signal } = checkDialOptions(options, "dial peer");
    const { host, port } = parseAddress(address, "dial peer", "address");
    const tls = await loadTls();
    if (signal?.aborted) throw signal.reason;
    const credentials = this.#options.credentials;
    const socket = tls.connect({
      host,
      port,
      ...contextOptions(credentials),
      // Identities come from the SAN URI, checked after the handshake; names and IPs play no part.
      checkServerIdentity: () => undefined,
    });
    socket.setNoDelay(true);
    return await new Promise<PeerLink>((resolve, reject) => {
      let done = false;
      const fail = (err: unknown) => {
        if (done) return;
        done = true;
        cleanup();
        socket.destroy();
        reject(err);
      };
      const notDelivered = (err: unknown) =>
        fail(new RetryLaterError(`Cannot dial ${address}: ${errorMessage(err)}`, { cause: err }));
      const onError = (err: Error) => notDelivered(err);
      const onClose = () =>
        notDelivered(
          new UnauthorizedError(
            "Cannot authenticate link: the peer closed the connection during the handshake (certificate or proof rejected?)",
          ),
        );
      const onAbort = () => fail(signal!.reason);
      const timer = setTimeout(
        () => notDelivered(new DeadlineExceededError(`Cannot authenticate link: not done within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        socket.off("close", onClose);
        socket.off("error", onError);
      };
      socket.on("error", onError);
      socket.on("close", onClose);
      signal?.addEventListener("abort", onAbort, { once: true });
      socket.once("secureConnect", () => {
        clientHandshake(socket, credentials, expectedPeerId, this.#options.maxFrameBytes).then(
          (result) => {
            if (done) return;
            if (this.#closed) return notDelivered(new Error("Cannot dial peer: the transport is closed"));
            done = true;
            const link = this.#adopt(socket, result, "outbound"); // attaches its own listeners first
            cleanup();
            resolve(link);
          },
          (err) => (isFrancisError(err, "host_mismatch") ? fail(err) : notDelivered(err)),
        );
      });
    });
  }

  updateCredentials(credentials: LinkCredentials): void {
    checkCredentials(credentials, "update credentials");
    this.#options = { ...this.#options, credentials };
    for (const l of this.#listeners) l.server.setSecureContext(contextOptions(credentials));
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...[...this.#listeners].map((l) => l.close()), ...[...this.#links].map((l) => l.close())]);
  }

  #accept(socket: NodeTls.TLSSocket, listener: TlsListener): void {
    socket.setNoDelay(true);
    const logger = this.#options.logger;
    let done = false;
    const remote = formatAddress(socket.remoteAddress ?? "?", socket.remotePort ?? 0);
    const fail = (err: unknown) => {
      if (done) return;
      done = true;
      cleanup();
      socket.destroy();
      const attrs = { remote, err: errorMessage(err) };
      if (isFrancisError(err, "unauthorized")) logger.warn("Rejected peer link", attrs);
      else logger.debug("Peer link failed during the handshake", attrs);
    };
    const onError = (err: Error) => fail(err);
    const onClose = () => fail(new Error("Cannot authenticate link: connection closed during the handshake"));
    const timer = setTimeout(
      () => fail(new Error(`Cannot authenticate link: no valid hello within ${this.#handshakeTimeoutMs} ms`)),
      this.#handshakeTimeoutMs,
    );
    const cleanup = () => {
      clearTimeout(timer);
      socket.off("error", onError);
      socket.off("close", onClose);
    };
    socket.on("error", onError);
    socket.on("close", onClose);
    serverHandshake(socket, this.#options.credentials, this.#options.maxFrameBytes).then((result) => {
      if (done) return;
      if (this.#closed || listener.isClosed) return fail(new Error("Cannot accept link: the listener is closed"));
      done = true;
      this.#adopt(socket, result, "inbound", listener.links); // attaches its own listeners first
      cleanup();
    }, fail);
  }

  #adopt(
    socket: NodeTls.TLSSocket,
    result: HandshakeResult,
    direction: "inbound" | "outbound",
    links?: Set<MuxLink>,
  ): MuxLink {
    const o = this.#options;
    const link = new MuxLink(new SocketChannel(socket), {
      peerId: result.peerId,
      handler: o.handler,
      maxInFlightRequests: o.maxInFlightRequests,
      maxFrameBytes: o.maxFrameBytes,
      keepaliveMs: o.keepaliveMs,
      logger: o.logger,
      reader: result.reader,
      early: result.early,
    });
    this.#links.add(link);
    links?.add(link);
    link.closed.then(() => {
      this.#links.delete(link);
      links?.delete(link);
    });
    socket.resume();
    o.onLink(link, direction);
    return link;
  }
}

/** A bound `node:tls` server and the links it accepted. */
class TlsListener implements TransportListener {
  readonly server: NodeTls.Server;
  /** Inbound links accepted by this listener. */
  readonly links: Set<MuxLink> = new Set();
  readonly #sockets = new Set<Socket>();
  readonly #closing = Promise.withResolvers<void>();
  #closed: Promise<void> | undefined;

  constructor(server: NodeTls.Server, accept: (socket: NodeTls.TLSSocket, listener: TlsListener) => void) {
    this.server = server;
    server.on("connection", (raw: Socket) => {
      this.#sockets.add(raw);
      raw.on("close", () => this.#sockets.delete(raw));
    });
    server.on("secureConnection", (socket: NodeTls.TLSSocket) => {
      if (this.#closed !== undefined) socket.destroy();
      else accept(socket, this);
    });
  }

  get port(): number {
    const a = this.server.address();
    return typeof a === "object" && a !== null ? a.port : 0;
  }

  /** Whether {@linkcode close} was called. */
  get isClosed(): boolean {
    return this.#closed !== undefined;
  }

  /** Resolves when {@linkcode close} starts. */
  get closing(): Promise<void> {
    return this.#closing.promise;
  }

  close(): Promise<void> {
    return this.#closed ??= this.#close();
  }

  async #close(): Promise<void> {
    this.#closing.resolve();
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await Promise.all([...this.links].map((l) => l.close()));
    for (const s of this.#sockets) s.destroy(); // connections still handshaking
    await stopped;
  }
}
