/**
 * One link per peer host: dials lazily, shares a dial in progress, adopts
 * links that peers opened to this host, and forgets a link when it closes.
 *
 * A dial refused at the TCP level (nothing listens at the peer's address) is
 * reported through `onUnreachable`, which lets the host ask the provider to
 * evict the dead peer instead of waiting for its health deadline.
 *
 * @module
 */

import { raceSignal } from "../_internal/delay.ts";
import { isFrancisError } from "../errors.ts";
import type { PeerLink, Transport } from "../transport/types.ts";

/** What the pool needs from its host. */
export interface PeerPoolOptions {
  /** Bounds each dial. */
  dialTimeoutMs: number;
  /**
   * Calls in flight to one peer before further calls wait here, in FIFO
   * order: the peer's per-link limit (`maxInFlightRequests`, the same on
   * every host of a cluster), so a burst queues at the caller instead of
   * being answered `OverloadedError`.
   */
  window: number;
  /**
   * Called when `hostId`'s address refused the connection or is served by
   * another host; the failed dial rejects only after it settles, so a retry
   * sees its effect (the eviction of the dead peer).
   */
  onUnreachable(hostId: string, reason: "refused" | "replaced"): Promise<void>;
}

/**
 * Whether a dial failure means no process listens at the address (TCP refused).
 *
 * @example
 * ```ts
 * import { RetryLaterError } from "../errors.ts";
 * import { isConnectionRefused } from "./peer_pool.ts";
 * const err = new RetryLaterError("down", { cause: Object.assign(new Error("x"), { code: "ECONNREFUSED" }) });
 * console.log(isConnectionRefused(err)); // true
 * ```
 */
export function isConnectionRefused(err: unknown): boolean {
  const cause = (err as { cause?: { code?: unknown } } | null)?.cause;
  return isFrancisError(err, "retry_later") && cause?.code === "ECONNREFUSED";
}

/**
 * The links of one host to its peers.
 *
 * @example
 * ```ts ignore
 * const link = await pool.get("host-2", "10.0.0.2:7571");
 * const answer = await link.request(body);
 * ```
 */
export class PeerPool {
  readonly #links = new Map<string, PeerLink>();
  readonly #windows = new Map<string, { inFlight: number; waiting: (() => void)[] }>();
  readonly #dialing = new Map<string, Promise<PeerLink>>();
  readonly #o: PeerPoolOptions;
  #transport: Transport | undefined;
  #closed = false;

  constructor(options: PeerPoolOptions) {
    this.#o = options;
  }

  /** Sets the transport once the host has created it. */
  attach(transport: Transport): void {
    this.#transport = transport;
  }

  /** Adopts an authenticated link (inbound or outbound) unless one to that peer is already open. */
  adopt(link: PeerLink): void {
    const current = this.#links.get(link.peerId);
    if (this.#closed || (current !== undefined && !current.isClosed)) return;
    this.#links.set(link.peerId, link);
    link.closed.then(() => {
      if (this.#links.get(link.peerId) === link) this.#links.delete(link.peerId);
    });
  }

  /**
   * Runs `send` once fewer than `window` calls to `hostId` are in flight,
   * waiting in FIFO order otherwise; an aborted `signal` leaves the queue.
   */
  async withSlot<T>(hostId: string, signal: AbortSignal | undefined, send: () => Promise<T>): Promise<T> {
    let w = this.#windows.get(hostId);
    if (w === undefined) this.#windows.set(hostId, w = { inFlight: 0, waiting: [] });
    if (w.inFlight >= this.#o.window) await this.#wait(w, signal);
    else w.inFlight++;
    try {
      return await send();
    } finally {
      const next = w.waiting.shift();
      if (next !== undefined) next(); // the slot passes on directly
      else if (--w.inFlight === 0) this.#windows.delete(hostId);
    }
  }

  #wait(w: { waiting: (() => void)[] }, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      signal?.throwIfAborted();
      const grant = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        const i = w.waiting.indexOf(grant);
        if (i >= 0) w.waiting.splice(i, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      w.waiting.push(grant);
    });
  }

  /** The open link to `hostId`, dialling `address` if there is none. */
  get(hostId: string, address: string, signal?: AbortSignal): Promise<PeerLink> {
    const link = this.#links.get(hostId);
    if (link !== undefined && !link.isClosed) return Promise.resolve(link);
    let dialing = this.#dialing.get(hostId);
    if (dialing === undefined) {
      dialing = this.#dial(hostId, address).finally(() => this.#dialing.delete(hostId));
      this.#dialing.set(hostId, dialing);
    }
    // The shared dial goes on for other callers; an aborted caller stops waiting.
    return raceSignal(dialing, signal);
  }

  async #dial(hostId: string, address: string): Promise<PeerLink> {
    const transport = this.#transport;
    if (transport === undefined || this.#closed) throw new TypeError("Cannot dial peer: the host is not running");
    try {
      const link = await transport.dial({ address, expectedPeerId: hostId, timeoutMs: this.#o.dialTimeoutMs });
      this.adopt(link);
      link.closed.then(() => {
        if (link.closeReason !== "peer") this.#probe(hostId, address); // a goodbye is not a crash
      });
      return link;
    } catch (err) {
      const reason = isConnectionRefused(err)
        ? "refused"
        : isFrancisError(err, "host_mismatch")
        ? "replaced"
        : undefined;
      if (reason !== undefined) await this.#o.onUnreachable(hostId, reason).catch(() => {});
      throw err;
    }
  }

  /**
   * A link this host dialled has closed: dial again once, so that a peer that
   * crashed is found refused (and evicted) without waiting for a call, which
   * lets survivors take over its alarms promptly.
   */
  #probe(hostId: string, address: string): void {
    if (this.#closed || this.#dialing.has(hostId) || this.#links.get(hostId)?.isClosed === false) return;
    const probe = this.#dial(hostId, address).finally(() => this.#dialing.delete(hostId));
    this.#dialing.set(hostId, probe);
    probe.catch(() => {});
  }

  /** Forgets every link (the transport closes them). */
  close(): void {
    this.#closed = true;
    this.#links.clear();
  }
}
