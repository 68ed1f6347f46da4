/**
 * The server side of the WebTransport transport: one `Deno.QuicEndpoint`
 * per listener, ALPN `h3`, a leaf as QUIC server certificate, and an accept
 * loop that upgrades each connection to a WebTransport session, takes its
 * first bidirectional stream, and authenticates it within a deadline.
 *
 * The authentication is a hook: peer links run `wtServerHandshake`, the
 * runtime's worker endpoint (`runtime/_wt_server.ts`) runs its admission.
 *
 * @module
 */

import { errorMessage } from "../_internal/logger.ts";
import { isFrancisError } from "../errors.ts";
import type { Logger } from "../actor/types.ts";
import { WebTransportChannel } from "./_wt_channel.ts";
import { PROBE_ALPN } from "./_wt_probe.ts";
import type { MuxLink } from "./mux.ts";
import type { TransportListener } from "./types.ts";

/** QUIC settings of every listener: 0-RTT stays off (the default of `accept()`). */
const QUIC_SETTINGS = {
  alpnProtocols: ["h3", PROBE_ALPN],
  /** Keeps idle links alive; one side is enough. */
  keepAliveInterval: 5_000,
  maxIdleTimeout: 30_000,
  /** The HTTP/3 CONNECT stream plus our one stream, with a little slack. */
  maxConcurrentBidirectionalStreams: 4,
  /** HTTP/3 control and QPACK streams plus our control stream. */
  maxConcurrentUnidirectionalStreams: 8,
};

/** The QUIC server certificate of a listener. */
export interface WtServerCertificate {
  certPem: string;
  keyPem: string;
}

/** What the listener needs from its owner; `R` is what the authentication yields. */
export interface WtListenerHooks<R> {
  /** The certificate served to new connections. */
  credentials(): WtServerCertificate;
  handshakeTimeoutMs: number;
  logger: Logger;
  /** Authenticates the session's one stream; rejects (an `UnauthorizedError`) to refuse it. */
  handshake(channel: WebTransportChannel): Promise<R>;
  /** Turns an authenticated channel into a link; `undefined` when the owner is closed. */
  adopt(channel: WebTransportChannel, result: R, links: Set<MuxLink>): MuxLink | undefined;
  /** Called once when {@linkcode WtListener.close} starts. */
  onClose(listener: WtListener<R>): void;
}

/**
 * A bound QUIC endpoint accepting WebTransport links.
 *
 * @example
 * ```ts ignore
 * const listener = new WtListener(new Deno.QuicEndpoint({ hostname: "127.0.0.1", port: 0 }), hooks);
 * console.log(listener.port);
 * ```
 */
export class WtListener<R> implements TransportListener {
  /** Inbound links accepted by this listener. */
  readonly links: Set<MuxLink> = new Set();
  readonly #endpoint: Deno.QuicEndpoint;
  readonly #hooks: WtListenerHooks<R>;
  readonly #handshaking = new Set<() => void>();
  #quic: Deno.QuicListener;
  #closed: Promise<void> | undefined;

  /** @param endpoint A bound endpoint; the listener owns it. */
  constructor(endpoint: Deno.QuicEndpoint, hooks: WtListenerHooks<R>) {
    this.#endpoint = endpoint;
    this.#hooks = hooks;
    this.#quic = this.#listen(hooks.credentials());
  }

  /** The bound UDP port. */
  get port(): number {
    return this.#endpoint.addr.port;
  }

  /** Serves new connections with new credentials (certificate renewal); existing links are kept. */
  renew(credentials: WtServerCertificate): void {
    if (this.#closed !== undefined) return;
    this.#quic.stop();
    this.#quic = this.#listen(credentials);
  }

  /** Stops accepting, closes inbound links gracefully, drops handshakes, closes the endpoint. */
  close(): Promise<void> {
    return this.#closed ??= this.#close();
  }

  async #close(): Promise<void> {
    this.#hooks.onClose(this);
    this.#quic.stop();
    for (const cancel of [...this.#handshaking]) cancel();
    await Promise.all([...this.links].map((l) => l.close()));
    this.#endpoint.close({ closeCode: 0, reason: "listener closed" });
  }

  #listen(c: WtServerCertificate): Deno.QuicListener {
    const quic = this.#endpoint.listen({ ...QUIC_SETTINGS, cert: c.certPem, key: c.keyPem });
    (async () => {
      // Never read `inc.remoteAddr` before `accept()`: in Deno 2.9.6 that invalidates the connection.
      for await (const inc of quic) this.#accept(inc);
    })().catch((err) => {
      if (this.#closed === undefined) this.#hooks.logger.debug("QUIC listener stopped", { err: errorMessage(err) });
    });
    return quic;
  }

  async #accept(inc: Deno.QuicIncoming): Promise<void> {
    const hooks = this.#hooks;
    let conn: Deno.QuicConn | undefined;
    let wt: WebTransport | undefined;
    let channel: WebTransportChannel | undefined;
    let failed = false;
    let cancel!: (err: Error) => void;
    const cancelled = new Promise<never>((_, reject) => (cancel = reject));
    cancelled.catch(() => {});
    const onListenerClose = () => cancel(new Error("Cannot accept link: the listener is closed"));
    this.#handshaking.add(onListenerClose);
    const timer = setTimeout(
      () => cancel(new Error(`Cannot authenticate link: not done within ${hooks.handshakeTimeoutMs} ms`)),
      hooks.handshakeTimeoutMs,
    );
    const step = <T>(p: Promise<T>): Promise<T> => Promise.race([p, cancelled]);
    try {
      const accepting: Promise<Deno.QuicConn> = inc.accept({ zeroRtt: false });
      // A connection that completes after we gave up is closed at once.
      accepting.then((c) => failed && closeQuietly(() => c.close({ closeCode: 1, reason: "rejected" })), () => {});
      conn = await step(accepting);
      if (conn.protocol === PROBE_ALPN) return void conn.close({ closeCode: 0, reason: "probe" });
      wt = await step(Deno.upgradeWebTransport(conn));
      wt.closed.catch(() => {});
      const streams = wt.incomingBidirectionalStreams.getReader();
      const first = await step(streams.read());
      streams.releaseLock();
      if (first.done) throw new Error("Cannot accept link: the session closed before opening a stream");
      channel = new WebTransportChannel(wt, first.value);
      const result = await step(hooks.handshake(channel));
      if (this.#closed !== undefined) throw new Error("Cannot accept link: the listener is closed");
      if (hooks.adopt(channel, result, this.links) === undefined) {
        throw new Error("Cannot accept link: the transport is closed");
      }
    } catch (err) {
      failed = true;
      const attrs = { remote: conn?.remoteAddr.hostname ?? "?", err: errorMessage(err) };
      if (isFrancisError(err, "unauthorized")) hooks.logger.warn("Rejected peer link", attrs);
      else hooks.logger.debug("Peer link failed during the handshake", attrs);
      if (channel !== undefined) channel.destroy();
      else if (wt !== undefined) closeQuietly(() => wt!.close({ closeCode: 1, reason: "rejected" }));
      else if (conn !== undefined) closeQuietly(() => conn!.close({ closeCode: 1, reason: "rejected" }));
    } finally {
      clearTimeout(timer);
      this.#handshaking.delete(onListenerClose);
    }
  }
}

function closeQuietly(close: () => void): void {
  try {
    close();
  } catch {
    // Already closed.
  }
}
