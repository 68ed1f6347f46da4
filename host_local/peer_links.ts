/**
 * A host's side of the peer network: its certificate (issued under the
 * cluster CA at start and renewed at half-life), the transport listener, and
 * the handler that runs calls forwarded by peers.
 *
 * The security and transport modules are imported here, lazily, when the
 * host starts: evaluating the package entry points loads neither
 * `@peculiar/x509` nor `node:tls`.
 *
 * @module
 */

import type { Logger } from "../actor/types.ts";
import { errorMessage } from "../_internal/logger.ts";
import type { LinkCredentials, PeerLink, Transport, TransportListener, TransportOptions } from "../transport/types.ts";

/** Link credentials with the validity of their certificate. */
export type TimedCredentials = LinkCredentials & { notAfter: Date };

/** The longest delay `setTimeout` honours. */
const MAX_TIMER_MS = 2_147_483_647;
/** Retry delay when a renewal fails (API.md §24: 5 s). */
const RENEW_RETRY_MS = 5_000;
/** Local leaf certificate lifetime (API.md §24: 90 days). */
export const LOCAL_LEAF_TTL_MS: number = 90 * 24 * 3_600_000;

/** What the peer side of a host needs. */
export interface PeerLinksOptions {
  /** Issues this host's credentials (at start and at every renewal). */
  credentials(): Promise<TimedCredentials>;
  hostId: string;
  /** Where to listen; `undefined` for a host that only dials (client-only). */
  listen: { host: string; port: number } | undefined;
  maxInFlightRequests: number;
  /** Silence with calls in flight after which a link is dropped (the host's `requestTimeoutMs`). */
  keepaliveMs: number;
  logger: Logger;
  /** Runs one request a peer sent (a forwarded invocation). */
  serve(body: Uint8Array, signal: AbortSignal): Promise<Uint8Array>;
  /** Receives every authenticated link, inbound and outbound. */
  onLink(link: PeerLink): void;
  /** Replaces the TLS transport (tests). */
  createTransport?: (options: TransportOptions & { logger?: Logger }) => Transport;
}

/**
 * The running peer side of a host.
 *
 * @example
 * ```ts ignore
 * const links = await PeerLinks.open({ psks, hostId, host: "127.0.0.1", port: 0, maxInFlightRequests: 100,
 *   logger: console, serve: (body) => handle(body), onLink: (l) => pool.adopt(l) });
 * console.log(links.port);
 * await links.close();
 * ```
 */
export class PeerLinks {
  readonly transport: Transport;
  readonly #listener: TransportListener | undefined;
  readonly #o: PeerLinksOptions;
  #renewTimer: ReturnType<typeof setTimeout> | undefined;
  #notAfter: number;
  #closed = false;
  /** How many times the certificate was renewed (tests). */
  renewals = 0;

  private constructor(
    o: PeerLinksOptions,
    transport: Transport,
    listener: TransportListener | undefined,
    notAfter: number,
  ) {
    this.#o = o;
    this.transport = transport;
    this.#listener = listener;
    this.#notAfter = notAfter;
    this.#scheduleRenewal();
  }

  /** Issues the host certificate, creates the transport and binds the address. */
  static async open(o: PeerLinksOptions): Promise<PeerLinks> {
    const credentials = await o.credentials();
    const create = o.createTransport ?? (await import("../transport/tls.ts")).createTlsTransport;
    const transport = create({
      credentials,
      maxInFlightRequests: o.maxInFlightRequests,
      keepaliveMs: o.keepaliveMs,
      logger: o.logger,
      handler: (body, ctx) => o.serve(body, ctx.signal),
      onLink: (link) => o.onLink(link),
    });
    let listener: TransportListener | undefined;
    try {
      if (o.listen !== undefined) listener = await transport.listen(o.listen.host, o.listen.port);
    } catch (err) {
      await transport.close();
      throw err;
    }
    return new PeerLinks(o, transport, listener, credentials.notAfter.getTime());
  }

  /** The bound port (0 for a host that does not listen). */
  get port(): number {
    return this.#listener?.port ?? 0;
  }

  /** Renews at half of the remaining life, retrying every 5 s on failure. */
  #scheduleRenewal(delayMs = (this.#notAfter - Date.now()) / 2): void {
    if (this.#closed) return;
    const wait = Math.max(0, Math.min(delayMs, MAX_TIMER_MS));
    this.#renewTimer = setTimeout(() => {
      const left = (this.#notAfter - Date.now()) / 2;
      if (wait < delayMs) return this.#scheduleRenewal(delayMs - wait); // a long life is waited in steps
      this.#renew().then(
        () => this.#scheduleRenewal(),
        (err) => {
          this.#o.logger.warn("Cannot renew host certificate", { err: errorMessage(err), retryInMs: RENEW_RETRY_MS });
          this.#scheduleRenewal(Math.min(RENEW_RETRY_MS, Math.max(left, 0)));
        },
      );
    }, wait);
  }

  async #renew(): Promise<void> {
    const credentials = await this.#o.credentials();
    if (this.#closed) return;
    this.transport.updateCredentials(credentials);
    this.#notAfter = credentials.notAfter.getTime();
    this.renewals++;
  }

  /** Stops renewal, the listener and every link. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#renewTimer);
    await this.#listener?.close().catch(() => {});
    await this.transport.close();
  }
}
