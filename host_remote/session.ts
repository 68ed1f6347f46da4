/**
 * A worker's session with the runtime (API.md §16.1): admission, the
 * workload certificate and its renewal, reconnection with backoff across
 * `runtimeAddresses`, and provider calls that wait for a reconnect.
 *
 * A runtime that is stopping says so (`RUNTIME_STOPPING`, or a goodbye on the
 * link): the worker then sends nothing new on that session and connects to
 * the next address at once; the calls it already sent are still answered.
 *
 * @module
 */

import type { Logger } from "../actor/types.ts";
import { isFrancisError, RuntimeUnavailableError } from "../errors.ts";
import { delay, withTimeout } from "../_internal/delay.ts";
import { errorMessage } from "../_internal/logger.ts";
import { decodeRpc, encodeRpc } from "../_internal/rpc_codec.ts";
import { RUNTIME_STOPPING, type SessionGrant } from "../runtime/protocol.ts";
import type { TimedCredentials } from "../host_local/peer_links.ts";
import type { MuxLink } from "../transport/mux.ts";
import { connectRuntime, type Credential } from "./connect.ts";
import { readJwtFile } from "../runtime/admission/jwt_file.ts";
import { deriveHostPskKey } from "../runtime/admission/psk_proof.ts";
import { fromBase64, toBase64 } from "../_internal/base64.ts";
import { toPem } from "../security/_bytes.ts";

/** What a session needs. */
export interface RuntimeSessionOptions {
  runtimeAddresses: readonly string[];
  bootstrap: { psk: Uint8Array } | { jwt: string } | { jwtFile: string };
  /** Pinned runtime CA PEMs; `undefined` = trust on first use. */
  pinnedCa: readonly string[] | undefined;
  /** `"webtransport"`: experimental, loaded on first use (`_wt_connect.ts`). */
  transport: "tls" | "webtransport";
  /** Pinned runtime WebTransport certificate hashes (with `"webtransport"`). */
  runtimeCertificateHashes: readonly Uint8Array[] | undefined;
  clientOnly: boolean;
  requestTimeoutMs: number;
  maxInFlightRequests: number;
  logger: Logger;
}

/** Remaining certificate life below which a reconnect bootstraps again (API.md §24). */
const MIN_CERT_LIFE_MS = 5 * 60_000;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 10_000;
const STOPPING_MESSAGE = "The runtime is stopping; connecting to another replica";

/**
 * The session.
 *
 * @example
 * ```ts ignore
 * const session = new RuntimeSession(options);
 * const grant = await session.open(signal);
 * const hosts = await session.call("listHosts", [20_000]);
 * ```
 */
export class RuntimeSession {
  readonly #o: RuntimeSessionOptions;
  #keys: CryptoKeyPair | undefined;
  #spki = "";
  #keyPem = "";
  #certPem = "";
  #notAfter = 0;
  #grant: SessionGrant | undefined;
  #trusted: readonly string[] | undefined;
  /** The bootstrap PSK's proof key, derived at the first `psk` attempt. */
  #pskKey: Uint8Array | undefined;
  #link: MuxLink | undefined;
  /** Links of sessions this worker left while the runtime still answers their calls. */
  readonly #departed = new Set<MuxLink>();
  #up = Promise.withResolvers<void>();
  #next = Math.floor(Math.random() * 1_000_000);
  #closed = false;
  #handedOut = false;
  #reconnecting: Promise<void> | undefined;
  /** Called when a reconnect had to bootstrap again (a new host ID). */
  onIdentityChange: ((grant: SessionGrant) => void) | undefined;

  constructor(options: RuntimeSessionOptions) {
    this.#o = options;
    this.#trusted = options.pinnedCa;
  }

  /** The current grant (host ID, CAs, link keys, settings). */
  get grant(): SessionGrant {
    return this.#grant!;
  }

  /** Whether a runtime link is up. */
  get connected(): boolean {
    return this.#link !== undefined && !this.#link.isClosed;
  }

  /**
   * First admission: retries unreachable runtimes with backoff until `signal`
   * aborts; rejects with `UnauthorizedError` once every address rejected the
   * worker (or the worker rejected every runtime).
   */
  async open(signal: AbortSignal | undefined): Promise<SessionGrant> {
    this.#keys = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]) as CryptoKeyPair;
    this.#spki = toBase64(new Uint8Array(await crypto.subtle.exportKey("spki", this.#keys.publicKey)));
    this.#keyPem = toPem("PRIVATE KEY", new Uint8Array(await crypto.subtle.exportKey("pkcs8", this.#keys.privateKey)));
    await this.#connectLoop(signal, true);
    return this.#grant!;
  }

  /**
   * The worker's credentials for its peer links. The first call after an
   * admission hands out the certificate the runtime just issued; later calls
   * come from the renewal timer (at half of the remaining life) and renew it.
   */
  async credentials(): Promise<TimedCredentials> {
    if (this.#handedOut) await this.#renewCertificate();
    this.#handedOut = true;
    const g = this.#grant!;
    return {
      hostId: g.hostId,
      certPem: this.#certPem,
      keyPem: this.#keyPem,
      caPems: g.caPems,
      authKeys: g.linkKeys.map(fromBase64),
      notAfter: new Date(this.#notAfter),
    };
  }

  async #renewCertificate(): Promise<void> {
    const spki = fromBase64(this.#spki);
    const certPem = await this.call("renewCertificate", [spki]) as string;
    this.#certPem = certPem;
    this.#notAfter = Date.now() + this.#grant!.settings.workloadCertTtlMs;
  }

  #setCert(certPem: string): void {
    this.#certPem = certPem;
    this.#handedOut = false;
    this.#notAfter = Date.now() + this.#grant!.settings.workloadCertTtlMs;
  }

  /** One provider call; waits up to `requestTimeoutMs` for a disconnected session to come back. */
  async call(method: string, args: unknown[]): Promise<unknown> {
    const body = encodeRpc({ m: method, a: args });
    for (let attempt = 0;; attempt++) {
      const link = await this.#waitUp();
      try {
        return decodeRpc(await link.request(body, { timeoutMs: this.#o.requestTimeoutMs }));
      } catch (err) {
        // Not delivered (the link closed first): safe to send again once, on the next link.
        if (attempt === 0 && isFrancisError(err, "retry_later")) continue;
        throw err;
      }
    }
  }

  async #waitUp(): Promise<MuxLink> {
    const current = this.#link;
    if (current !== undefined) {
      if (!current.isClosed) return current;
      this.#lost(current, "The runtime said goodbye; reconnecting", "info"); // the link ends once quiet
    }
    if (this.#closed) throw new RuntimeUnavailableError("Cannot reach runtime: the host is stopping");
    const timeout = this.#o.requestTimeoutMs;
    await withTimeout(
      this.#up.promise,
      timeout,
      () => new RuntimeUnavailableError(`Cannot reach runtime: no session for ${timeout} ms`),
    );
    return this.#link!;
  }

  async #connectLoop(signal: AbortSignal | undefined, first: boolean): Promise<void> {
    const addresses = this.#o.runtimeAddresses;
    let backoff = BACKOFF_MIN_MS;
    let rejectedInARow = 0;
    for (;;) {
      if (this.#closed) return;
      signal?.throwIfAborted();
      const address = addresses[this.#next++ % addresses.length];
      try {
        await this.#attempt(address);
        return;
      } catch (err) {
        if (isFrancisError(err, "protocol_version")) throw err;
        if (isFrancisError(err, "unauthorized")) {
          rejectedInARow++;
          if (first && rejectedInARow >= addresses.length) throw err;
        } else {
          rejectedInARow = 0;
        }
        this.#o.logger.warn("Cannot connect to the runtime", { address, err: errorMessage(err) });
      }
      await delay(backoff * (0.8 + Math.random() * 0.4), signal);
      backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
    }
  }

  async #attempt(address: string): Promise<void> {
    const o = this.#o;
    const slot: LinkSlot = { link: undefined, stopping: false };
    const certUsable = this.#certPem !== "" && this.#notAfter - Date.now() > MIN_CERT_LIFE_MS;
    const credential: Credential = certUsable
      ? { kind: "cert", certPem: this.#certPem, keyPem: this.#keyPem }
      : "psk" in o.bootstrap
      ? { kind: "psk", hostPsk: o.bootstrap.psk, hostPskKey: this.#pskKey ??= await deriveHostPskKey(o.bootstrap.psk) }
      : "jwt" in o.bootstrap
      ? { kind: "jwt", token: o.bootstrap.jwt }
      : { kind: "jwt", token: await readJwtFile(o.bootstrap.jwtFile) };
    const options = {
      address,
      caPems: this.#trusted,
      credential,
      publicKeySpki: this.#spki,
      clientOnly: o.clientOnly,
      timeoutMs: o.requestTimeoutMs,
      maxInFlightRequests: o.maxInFlightRequests,
      keepaliveMs: o.requestTimeoutMs,
      onRequest: (body: Uint8Array) => this.#onRuntimeRequest(slot, body),
    };
    const { link, grant } = o.transport === "webtransport"
      ? await (await import("./_wt_connect.ts")).connectRuntimeWt({
        ...options,
        pinnedHashes: o.runtimeCertificateHashes ?? [],
        privateKey: this.#keys!.privateKey,
      })
      : await connectRuntime(options);
    if (this.#closed) {
      await link.close();
      return;
    }
    const previous = this.#grant;
    this.#grant = grant;
    if (grant.certPem !== undefined) this.#setCert(grant.certPem);
    if (this.#trusted === undefined) {
      o.logger.warn("Trusting the runtime's CA on first use (unsafeNoPinnedCa)", { runtimeId: grant.runtimeId });
      this.#trusted = grant.caPems; // trust on first use, then pinned for every reconnect
    }
    this.#link = link;
    slot.link = link;
    this.#up.resolve();
    link.closed.then(() => this.#lost(link, "Lost the runtime session; reconnecting"));
    if (previous !== undefined && previous.hostId !== grant.hostId) this.onIdentityChange?.(grant);
    if (slot.stopping) this.#lost(link, STOPPING_MESSAGE, "info");
  }

  /** Requests from the runtime: only `RUNTIME_STOPPING` is answered (any answer satisfies a `ping` probe). */
  #onRuntimeRequest(slot: LinkSlot, body: Uint8Array): Promise<Uint8Array> {
    const req = decodeRpc(body) as { m?: unknown } | null;
    if (req?.m !== RUNTIME_STOPPING) {
      return Promise.reject(new TypeError("Cannot answer: unknown request from the runtime"));
    }
    slot.stopping = true;
    if (slot.link !== undefined) this.#lost(slot.link, STOPPING_MESSAGE, "info");
    return Promise.resolve(encodeRpc(null));
  }

  /** Stops using `link` (lost, or its runtime is leaving) and reconnects in the background. */
  #lost(link: MuxLink, why: string, level: "info" | "warn" = "warn"): void {
    if (this.#link !== link || this.#closed) return;
    this.#link = undefined;
    if (!link.isClosed) {
      // Its runtime still answers what was sent on it; the runtime closes it once they are answered.
      this.#departed.add(link);
      link.closed.then(() => this.#departed.delete(link));
    }
    this.#up = Promise.withResolvers<void>();
    this.#o.logger[level](why, {});
    this.#reconnecting ??= this.#connectLoop(undefined, false).catch((err) =>
      this.#o.logger.error("Cannot reconnect to the runtime", { err: errorMessage(err) })
    ).finally(() => this.#reconnecting = undefined);
  }

  /** Forgets the certificate so the next connection bootstraps again (a new host ID). */
  async rebootstrap(): Promise<SessionGrant> {
    this.#certPem = "";
    this.#notAfter = 0;
    const old = this.#link;
    this.#link = undefined;
    this.#up = Promise.withResolvers<void>();
    await old?.close();
    await this.#connectLoop(undefined, false);
    return this.#grant!;
  }

  /** Closes the session. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#up.reject(new RuntimeUnavailableError("Cannot reach runtime: the session closed"));
    this.#up.promise.catch(() => {});
    await Promise.all([this.#link, ...this.#departed].map((link) => link?.close()));
    await this.#reconnecting;
  }
}

/** The link an attempt produced, and whether its runtime said it is stopping (possibly before the link was kept). */
interface LinkSlot {
  link: MuxLink | undefined;
  stopping: boolean;
}
