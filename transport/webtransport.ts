/**
 * **Experimental** WebTransport transport (API.md §15, §18): Deno only, with
 * `--unstable-net`. No stable entry point imports this module; load it with a
 * dynamic `import()` or from this file directly.
 *
 * Design (details and limits in `transport/WEBTRANSPORT.md`):
 * - Server: a `Deno.QuicEndpoint` per listener, ALPN `h3`, the host's leaf
 *   (Ed25519, under the cluster CA) as QUIC server certificate, each
 *   connection upgraded with `Deno.upgradeWebTransport`. 0-RTT stays off.
 * - Client: `new WebTransport(url, { serverCertificateHashes })` pinning the
 *   server leaf by SHA-256; the hash comes from the
 *   {@linkcode WebTransportTransportOptions.resolveServerCertificateHash}
 *   option (no pinned hash: the dial fails, nothing is sent).
 * - ONE long-lived bidirectional stream per session (Deno never sends FIN on
 *   a WebTransport stream, and streams count against a limit), carrying an
 *   application-layer mutual authentication (certificates, nonces, transcript
 *   signatures, PSK link proofs: `_wt_handshake.ts`), then the frames of
 *   `frames.ts` through the shared `MuxLink`. The end of the stream is
 *   announced by byte count on a control stream (`_wt_channel.ts`).
 *
 * @module
 */

import { DeadlineExceededError, isFrancisError, RetryLaterError, UnauthorizedError } from "../errors.ts";
import { parseAddress } from "../_internal/address.ts";
import { errorMessage } from "../_internal/logger.ts";
import { checkInt, typeName } from "../_internal/validate.ts";
import type { WebTransportChannel } from "./_wt_channel.ts";
import { wtClientHandshake, type WtHandshakeResult, wtServerHandshake } from "./_wt_handshake.ts";
import { WtListener } from "./_wt_listener.ts";
import { openWebTransportChannel } from "./_wt_dial.ts";
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

export { certificateHash } from "./_wt_certificate.ts";

/** Pinned SHA-256 hash(es) of a server's leaf DER; several during a certificate renewal. */
export type PinnedCertificateHashes = Uint8Array | readonly Uint8Array[] | undefined;

/** Options of {@linkcode createWebTransportTransport}. */
export interface WebTransportTransportOptions extends TransportOptions, TransportExtraOptions {
  /**
   * Tells a dialer which server certificate to pin: the SHA-256 of the leaf
   * DER (see `certificateHash`) that the host at `address` serves, typically
   * read from where hosts publish themselves. `undefined` or `[]`: the dial
   * fails with `RetryLaterError` and nothing is sent.
   */
  resolveServerCertificateHash(
    address: string,
    expectedPeerId: string,
  ): PinnedCertificateHashes | Promise<PinnedCertificateHashes>;
  /** Bound, on the accepting side, for the QUIC and WebTransport setup plus the authentication. @default {10000} */
  handshakeTimeoutMs?: number;
}

/**
 * Whether this runtime offers what the transport needs: Deno with
 * `--unstable-net` (`Deno.QuicEndpoint`, `Deno.upgradeWebTransport`, `WebTransport`).
 *
 * @example
 * ```ts
 * import { isWebTransportAvailable } from "./webtransport.ts";
 * console.log(typeof isWebTransportAvailable()); // boolean
 * ```
 */
export function isWebTransportAvailable(): boolean {
  const deno = (globalThis as { Deno?: Record<string, unknown> }).Deno;
  return typeof deno?.QuicEndpoint === "function" && typeof deno.upgradeWebTransport === "function" &&
    typeof (globalThis as { WebTransport?: unknown }).WebTransport === "function";
}

/**
 * Creates the experimental WebTransport transport.
 *
 * - `dial` rejects with `RetryLaterError` (cause: a `DeadlineExceededError`
 *   after `timeoutMs` — a QUIC dial to a closed port is never refused, it
 *   times out —, the `WebTransportError`, or the `UnauthorizedError` of a
 *   rejected authentication), or `HostMismatchError` when the server's
 *   certificate names another host (before this side proves anything).
 * - `updateCredentials`: new dials use the new certificate and keys; every
 *   listener re-listens with the new certificate; existing links are kept.
 *
 * @param options The {@linkcode WebTransportTransportOptions}.
 * @returns The transport.
 * @throws {TypeError} When not running on Deno with `--unstable-net`, or on bad options.
 *
 * @example
 * ```ts ignore
 * import { certificateHash, createWebTransportTransport } from "./webtransport.ts";
 * const transport = createWebTransportTransport({
 *   credentials,
 *   handler: (body) => body,
 *   maxInFlightRequests: 100,
 *   resolveServerCertificateHash: (address, hostId) => publishedHashes.get(hostId),
 * });
 * const listener = await transport.listen("0.0.0.0", 7571);
 * const link = await transport.dial({ address: "10.0.0.2:7571", expectedPeerId: "host-b", timeoutMs: 5_000 });
 * ```
 */
export function createWebTransportTransport(options: WebTransportTransportOptions): Transport {
  const action = "create WebTransport transport";
  if (!isWebTransportAvailable()) {
    throw new TypeError(`Cannot ${action}: it needs Deno with --unstable-net`);
  }
  const checked = checkTransportOptions(options, action);
  if (typeof options.resolveServerCertificateHash !== "function") {
    const got = typeName(options.resolveServerCertificateHash);
    throw new TypeError(`Cannot ${action}: resolveServerCertificateHash must be a function (got ${got})`);
  }
  const hs = checkInt(options.handshakeTimeoutMs ?? 10_000, action, "handshakeTimeoutMs", 1, 2 ** 31 - 1);
  return new WtTransport(checked, options.resolveServerCertificateHash.bind(options), hs);
}

type Resolver = WebTransportTransportOptions["resolveServerCertificateHash"];

class WtTransport implements Transport {
  #options: CheckedTransportOptions;
  readonly #resolve: Resolver;
  readonly #handshakeTimeoutMs: number;
  readonly #links = new Set<MuxLink>();
  readonly #listeners = new Set<WtListener<WtHandshakeResult>>();
  #closed = false;

  constructor(options: CheckedTransportOptions, resolve: Resolver, handshakeTimeoutMs: number) {
    this.#options = options;
    this.#resolve = resolve;
    this.#handshakeTimeoutMs = handshakeTimeoutMs;
  }

  listen(host: string, port: number): Promise<TransportListener> {
    checkInt(port, "listen", "port", 0, 65_535);
    if (this.#closed) return Promise.reject(new Error("Cannot listen: the transport is closed"));
    const o = this.#options;
    const listener = new WtListener(new Deno.QuicEndpoint({ hostname: host, port }), {
      credentials: () => this.#options.credentials,
      handshake: (channel) => wtServerHandshake(channel, this.#options.credentials, o.maxFrameBytes),
      handshakeTimeoutMs: this.#handshakeTimeoutMs,
      logger: o.logger,
      adopt: (channel, result, links) => this.#closed ? undefined : this.#adopt(channel, result, "inbound", links),
      onClose: (l) => this.#listeners.delete(l),
    });
    this.#listeners.add(listener);
    return Promise.resolve(listener);
  }

  async dial(options: DialOptions): Promise<PeerLink> {
    const { address, expectedPeerId, timeoutMs, signal } = checkDialOptions(options, "dial peer");
    const { host, port } = parseAddress(address, "dial peer", "address");
    if (signal?.aborted) throw signal.reason;
    const credentials = this.#options.credentials;
    const maxFrameBytes = this.#options.maxFrameBytes;
    let channel: WebTransportChannel | undefined;
    const give = new AbortController();
    const stopped = new Promise<never>((_, reject) =>
      give.signal.addEventListener("abort", () => reject(give.signal.reason))
    );
    stopped.catch(() => {});
    const onAbort = () => give.abort(signal!.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    const timer = setTimeout(
      () => give.abort(new DeadlineExceededError(`Cannot authenticate link: not done within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const attempt = (async (): Promise<WtHandshakeResult> => {
      if (this.#closed) throw new Error("Cannot dial peer: the transport is closed");
      const pinned = toList(await this.#resolve(address, expectedPeerId));
      if (pinned.length === 0) {
        throw new UnauthorizedError(`Cannot dial peer: no certificate hash is known for host "${expectedPeerId}"`);
      }
      channel = await openWebTransportChannel(host, port, pinned, give.signal);
      if (give.signal.aborted) channel.destroy();
      give.signal.throwIfAborted();
      return await wtClientHandshake(channel, credentials, expectedPeerId, pinned, maxFrameBytes);
    })();
    attempt.catch(() => {});
    try {
      const result = await Promise.race([attempt, stopped]);
      if (this.#closed) throw new Error("Cannot dial peer: the transport is closed");
      return this.#adopt(channel!, result, "outbound");
    } catch (err) {
      give.abort(err);
      if (channel !== undefined) (channel as WebTransportChannel).destroy();
      if (signal?.aborted && err === signal.reason) throw err;
      if (isFrancisError(err, "host_mismatch")) throw err;
      throw new RetryLaterError(`Cannot dial ${address}: ${errorMessage(err)}`, { cause: err });
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
  }

  updateCredentials(credentials: LinkCredentials): void {
    checkCredentials(credentials, "update credentials");
    this.#options = { ...this.#options, credentials };
    for (const l of this.#listeners) l.renew(credentials);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...[...this.#listeners].map((l) => l.close()), ...[...this.#links].map((l) => l.close())]);
  }

  #adopt(
    channel: WebTransportChannel,
    result: WtHandshakeResult,
    direction: "inbound" | "outbound",
    links?: Set<MuxLink>,
  ): MuxLink {
    const o = this.#options;
    const link = new MuxLink(channel, {
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
    o.onLink(link, direction);
    return link;
  }
}

function toList(pinned: PinnedCertificateHashes): Uint8Array[] {
  if (pinned === undefined) return [];
  const list = pinned instanceof Uint8Array ? [pinned] : [...pinned];
  for (const h of list) {
    if (!(h instanceof Uint8Array) || h.length !== 32) {
      throw new TypeError("Cannot dial peer: resolveServerCertificateHash must give 32-byte SHA-256 hashes");
    }
  }
  return list;
}
