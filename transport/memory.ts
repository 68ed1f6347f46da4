/**
 * The in-process transport, for unit tests of hosts: listeners live in a
 * module-level registry keyed by `host:port`, links run the same frame
 * reader and {@linkcode MuxLink} as TLS over an in-memory pipe, and
 * authentication is simulated from the credentials.
 *
 * @module
 */

import { HostMismatchError, RetryLaterError, UnauthorizedError } from "../errors.ts";
import { formatAddress, parseAddress } from "../_internal/address.ts";
import { MemoryChannel } from "./_memory_channel.ts";
import { MuxLink } from "./mux.ts";
import {
  checkCredentials,
  checkDialOptions,
  type CheckedTransportOptions,
  checkTransportOptions,
  keysAccept,
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

/** A bound memory listener as the registry sees it. */
interface Bound {
  transport: MemoryTransport;
  links: Set<MuxLink>;
}

/** Every bound memory listener of this process, by `host:port`. */
const registry = new Map<string, Bound>();
let nextPort = 40_000;

/**
 * Creates an in-process transport. Dialing an address with no listener
 * rejects with `RetryLaterError` whose `cause.code` is `"ECONNREFUSED"`;
 * peers must accept each other's proving key (each side's `authKeys[0]` among
 * the other's `authKeys`, as with TLS), else `RetryLaterError` caused by
 * `UnauthorizedError`; a listener whose host ID differs from
 * `expectedPeerId` gives `HostMismatchError`.
 *
 * @param options The {@linkcode TransportOptions}, plus an optional `logger`.
 * @returns The transport.
 *
 * @example
 * ```ts
 * import { createMemoryTransport } from "./memory.ts";
 * const creds = (hostId: string) => ({
 *   hostId, certPem: "", keyPem: "", caPems: ["ca"], authKeys: [new Uint8Array(32)],
 * });
 * const a = createMemoryTransport({ credentials: creds("a"), handler: (b) => b, maxInFlightRequests: 10 });
 * const b = createMemoryTransport({ credentials: creds("b"), handler: (b) => b, maxInFlightRequests: 10 });
 * const listener = await a.listen("127.0.0.1", 0);
 * const link = await b.dial({ address: `127.0.0.1:${listener.port}`, expectedPeerId: "a", timeoutMs: 1000 });
 * console.log((await link.request(new Uint8Array([7])))[0]); // 7
 * await b.close();
 * await a.close();
 * ```
 */
export function createMemoryTransport(options: TransportOptions & TransportExtraOptions): Transport {
  return new MemoryTransport(checkTransportOptions(options, "create memory transport"));
}

class MemoryTransport implements Transport {
  #options: CheckedTransportOptions;
  readonly #links = new Set<MuxLink>();
  readonly #listeners = new Set<TransportListener>();
  #closed = false;

  constructor(options: CheckedTransportOptions) {
    this.#options = options;
  }

  get credentials(): LinkCredentials {
    return this.#options.credentials;
  }

  listen(host: string, port: number): Promise<TransportListener> {
    const key = (p: number) => formatAddress(host, p);
    if (port === 0) {
      do port = nextPort = nextPort >= 65_535 ? 40_000 : nextPort + 1; while (registry.has(key(port)));
    }
    if (registry.has(key(port))) {
      const cause = Object.assign(new Error(`listen EADDRINUSE ${key(port)}`), { code: "EADDRINUSE" });
      return Promise.reject(new Error(`Cannot listen: ${key(port)} is in use`, { cause }));
    }
    const bound: Bound = { transport: this, links: new Set() };
    const address = key(port);
    registry.set(address, bound);
    const listener: TransportListener = {
      port,
      close: async () => {
        if (registry.get(address) === bound) registry.delete(address);
        this.#listeners.delete(listener);
        await Promise.all([...bound.links].map((l) => l.close()));
      },
    };
    this.#listeners.add(listener);
    return Promise.resolve(listener);
  }

  async dial(options: DialOptions): Promise<PeerLink> {
    const { address, expectedPeerId, signal } = checkDialOptions(options, "dial peer");
    const { host, port } = parseAddress(address, "dial peer", "address");
    await Promise.resolve(); // connect is asynchronous
    if (signal?.aborted) throw signal.reason;
    if (this.#closed) throw new RetryLaterError(`Cannot dial ${address}: the transport is closed`);
    const bound = registry.get(formatAddress(host, port));
    if (bound === undefined) {
      const cause = Object.assign(new Error(`connect ECONNREFUSED ${address}`), { code: "ECONNREFUSED" });
      throw new RetryLaterError(`Cannot dial ${address}: connection refused`, { cause });
    }
    const mine = this.#options.credentials;
    const theirs = bound.transport.credentials;
    if (!keysAccept(mine.authKeys, theirs.authKeys) || !keysAccept(theirs.authKeys, mine.authKeys)) {
      const cause = new UnauthorizedError(`Cannot authenticate link to ${address}: link proof rejected`);
      throw new RetryLaterError(`Cannot dial ${address}: authentication failed`, { cause });
    }
    if (theirs.hostId !== expectedPeerId) {
      throw new HostMismatchError(
        `Cannot dial ${address}: peer authenticated as host "${theirs.hostId}", expected "${expectedPeerId}"`,
      );
    }
    const [clientEnd, serverEnd] = MemoryChannel.pair();
    bound.transport.#accept(serverEnd, mine.hostId, bound);
    return this.#adopt(clientEnd, theirs.hostId, "outbound");
  }

  updateCredentials(credentials: LinkCredentials): void {
    this.#options = { ...this.#options, credentials: checkCredentials(credentials, "update credentials") };
  }

  async close(): Promise<void> {
    this.#closed = true;
    const listeners = [...this.#listeners];
    await Promise.all([...listeners.map((l) => l.close()), ...[...this.#links].map((l) => l.close())]);
  }

  #accept(channel: MemoryChannel, peerId: string, bound: Bound): void {
    const link = this.#adopt(channel, peerId, "inbound");
    bound.links.add(link);
    link.closed.then(() => bound.links.delete(link));
  }

  #adopt(channel: MemoryChannel, peerId: string, direction: "inbound" | "outbound"): MuxLink {
    const o = this.#options;
    const link = new MuxLink(channel, {
      peerId,
      handler: o.handler,
      maxInFlightRequests: o.maxInFlightRequests,
      maxFrameBytes: o.maxFrameBytes,
      keepaliveMs: o.keepaliveMs,
      logger: o.logger,
    });
    this.#links.add(link);
    link.closed.then(() => this.#links.delete(link));
    o.onLink(link, direction);
    return link;
  }
}
