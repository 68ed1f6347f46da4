/**
 * The peer transport contract: authenticated, multiplexed request/response
 * links between hosts (API.md §18).
 *
 * A {@linkcode Transport} listens for and dials {@linkcode PeerLink}s. A link
 * is symmetric: either end may send requests, and every request that arrives
 * on any link of a transport goes to the one {@linkcode PeerRequestHandler}
 * given at construction. Bodies are opaque bytes; the host encodes its own
 * messages above this layer.
 *
 * Error contract (every implementation, checked by the transport conformance suite):
 * - `dial` rejects with `RetryLaterError` when nothing was delivered (refused,
 *   unreachable, timed out, TLS or proof rejected); its `cause` is the
 *   underlying error (a refused TCP connect keeps `cause.code === "ECONNREFUSED"`).
 *   A peer that authenticates as another host than `expectedPeerId` rejects
 *   with `HostMismatchError`, before any request crosses.
 * - `request` on a link that is already closed rejects with `RetryLaterError`
 *   (not delivered); a link lost while the request was in flight rejects with
 *   `TransportError` (outcome unknown).
 * - A handler that throws a Francis error makes the caller reject with the
 *   same class, code, message and fields (`retryAfterMs` included); any other
 *   thrown value arrives as `InternalError` carrying its message.
 * - More than `maxInFlightRequests` unanswered requests on one link: the
 *   excess is answered with `OverloadedError` (retry after 100 ms) without
 *   running the handler.
 * - `timeoutMs` elapsing rejects with `DeadlineExceededError`; an aborted
 *   `signal` rejects with `signal.reason`. Either way the peer is told, and
 *   the handler's `ctx.signal` aborts.
 * - A body larger than `maxFrameBytes` is refused locally with
 *   `PayloadTooLargeError`; a peer that sends an oversized or malformed frame
 *   has its connection closed, and the process keeps serving.
 *
 * @module
 */

/** What a host proves about itself on every link. */
export interface LinkCredentials {
  /** This host's ID: the identity peers verify (`spiffe://francis/host/<hostId>`). */
  hostId: string;
  /** This host's leaf certificate (PEM), issued under the first cluster CA. */
  certPem: string;
  /** The leaf's private key (PKCS#8 PEM). */
  keyPem: string;
  /** Every trusted cluster CA (PEM), one per runtime PSK, in order. */
  caPems: readonly string[];
  /** Link-proof keys derived from the runtime PSKs, in the same order: the first proves, all verify. */
  authKeys: readonly Uint8Array[];
}

/** Context of one inbound request. */
export interface PeerRequestContext {
  /** The authenticated host ID of the peer that sent the request. */
  peerId: string;
  /** Aborts when the caller cancels, its deadline passes, or the link closes. */
  signal: AbortSignal;
}

/** Answers inbound requests; a thrown Francis error is carried back to the caller as the same class. */
export type PeerRequestHandler = (body: Uint8Array, ctx: PeerRequestContext) => Promise<Uint8Array> | Uint8Array;

/** Options of a transport factory. */
export interface TransportOptions {
  /** Identity and trust material. */
  credentials: LinkCredentials;
  /** Receives every inbound request, on inbound and outbound links alike. */
  handler: PeerRequestHandler;
  /** Unanswered inbound requests allowed per link before `OverloadedError` (≥ 1). */
  maxInFlightRequests: number;
  /**
   * Largest frame sent or accepted, bytes: bounds the body of one request or
   * response (the 9-byte frame header is not counted). @default {16777216}
   */
  maxFrameBytes?: number;
  /**
   * A link with requests in flight that hears nothing from its peer for this
   * long (ms) is closed as lost, and those requests reject with
   * `TransportError`: a frozen or partitioned peer cannot make a call hang.
   * Probes go out after half of it. @default {15000}
   */
  keepaliveMs?: number;
  /** Called for every authenticated link, inbound or outbound, before it carries requests. */
  onLink?: (link: PeerLink, direction: "inbound" | "outbound") => void;
}

/** Options of {@linkcode Transport.dial}. */
export interface DialOptions {
  /** `host:port` to dial. */
  address: string;
  /** The host ID the peer must authenticate as. */
  expectedPeerId: string;
  /** Bounds connect, handshake and proof exchange (ms ≥ 1). */
  timeoutMs: number;
  /** Aborts the dial. */
  signal?: AbortSignal;
}

/** Options of {@linkcode PeerLink.request}. */
export interface RequestOptions {
  /** Aborts the request (the peer's handler signal aborts too). */
  signal?: AbortSignal;
  /** Deadline in ms; `DeadlineExceededError` after it. */
  timeoutMs?: number;
}

/** A bound listener. */
export interface TransportListener {
  /** The bound port (port 0 resolved). */
  readonly port: number;
  /** Stops accepting and closes every inbound link. */
  close(): Promise<void>;
}

/** One authenticated, multiplexed connection to a peer host. */
export interface PeerLink {
  /** The peer's authenticated host ID. */
  readonly peerId: string;
  /** Resolves once the link is closed, for whatever reason. */
  readonly closed: Promise<void>;
  /** Whether the link is closed or closing: either way it takes no new request. */
  readonly isClosed: boolean;
  /**
   * Why the link closed, once it has: `"local"` (this side closed it),
   * `"peer"` (the peer said goodbye: a graceful close), `"lost"` (dropped,
   * crashed or a protocol error).
   */
  readonly closeReason?: "local" | "peer" | "lost";
  /** Sends one request and resolves with the peer handler's answer. */
  request(body: Uint8Array, options?: RequestOptions): Promise<Uint8Array>;
  /**
   * Closes the link gracefully: a goodbye goes out, neither side sends a new
   * request after the goodbyes, requests in flight in both directions are
   * still answered, and whatever is unanswered after a grace period (2 s)
   * rejects with `TransportError`.
   */
  close(): Promise<void>;
}

/** Listens for and dials peer links. */
export interface Transport {
  /** Binds `host:port` (0 picks a free port) and accepts authenticated links. */
  listen(host: string, port: number): Promise<TransportListener>;
  /** Opens an authenticated link to a peer. */
  dial(options: DialOptions): Promise<PeerLink>;
  /** Replaces the credentials used by links made from now on (certificate renewal). */
  updateCredentials(credentials: LinkCredentials): void;
  /** Closes every link this transport made or accepted. */
  close(): Promise<void>;
}
