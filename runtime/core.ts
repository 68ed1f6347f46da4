/**
 * The running control plane: owns the provider, the runtime certificate, the
 * worker listener, the session table and the health endpoints. `startRuntime`
 * (runtime.ts) resolves options and builds one of these.
 *
 * @module
 */

import type { Logger } from "../actor/types.ts";
import type { ActorProvider } from "../providers/types.ts";
import { errorMessage } from "../_internal/logger.ts";
import { deriveClusterCa } from "../security/cluster_ca.ts";
import { runtimeIdentity } from "../security/identity.ts";
import { issueLeafCertificate } from "../security/leaf.ts";
import { deriveLinkAuthKey } from "../security/link_proof.ts";
import { deriveHostPskKey } from "./admission/psk_proof.ts";
import { createJwtVerifier, type JwtVerifier } from "./admission/jwt.ts";
import type { SessionGrant } from "./protocol.ts";
import { listenRuntime } from "./server.ts";
import { SessionTable } from "./sessions.ts";
import { certifyHost } from "./_admit.ts";
import { toBase64 } from "../_internal/base64.ts";

/** A runtime's certificate lifetime (renewed by restarting; a year is the maximum leaf life). */
const RUNTIME_CERT_TTL_MS = 365 * 24 * 3_600_000;
const DEFAULT_SHUTDOWN_GRACE_MS = 30_000;

/** Everything the core needs, already validated. */
export interface RuntimeCoreConfig {
  host: string;
  port: number;
  runtimeId: string;
  psks: readonly Uint8Array[];
  provider: ActorProvider;
  bootstrap:
    | { method: "psk"; hostPsk: Uint8Array }
    | { method: "jwt"; issuer: string; audience: string; jwksUrl?: string; staticJwks?: string };
  settings: SessionGrant["settings"];
  requestTimeoutMs: number;
  /** How long `stop()` lets the sessions' calls in flight finish. @default {30000} */
  shutdownGracePeriodMs?: number;
  maxInFlightRequests: number;
  /** `undefined`: no HTTP health endpoints. */
  healthBind: { host: string; port: number } | undefined;
  /** `"webtransport"` adds the experimental WebTransport endpoint (UDP, same port number) beside TLS. @default {"tls"} */
  transport?: "tls" | "webtransport";
  logger: Logger;
}

/**
 * A started runtime.
 *
 * @example
 * ```ts ignore
 * const core = await RuntimeCore.start(config);
 * console.log(core.address);
 * await core.stop();
 * ```
 */
export class RuntimeCore {
  readonly runtimeId: string;
  readonly caPems: readonly string[];
  address = "";
  healthAddress = "";
  readonly sessions: SessionTable;
  readonly #c: RuntimeCoreConfig;
  #listener: { port: number; close(): Promise<void> } | undefined;
  #wtListener: { port: number; close(): Promise<void> } | undefined;
  #http: { port: number; close(): Promise<void> } | undefined;
  #jwt: JwtVerifier | undefined;
  #ready = false;
  #accepting = true;
  #stopping: Promise<void> | undefined;

  private constructor(c: RuntimeCoreConfig, caPems: string[]) {
    this.#c = c;
    this.runtimeId = c.runtimeId;
    this.caPems = caPems;
    this.sessions = new SessionTable(c.provider, (hostId, spki) => this.#renew(hostId, spki), c.settings.maxHosts);
  }

  /** Acquires the provider, issues the runtime certificate and listens. */
  static async start(c: RuntimeCoreConfig): Promise<RuntimeCore> {
    const cas = await Promise.all(c.psks.map((p) => deriveClusterCa(p)));
    const core = new RuntimeCore(c, cas.map((ca) => ca.pem));
    await c.provider.acquire();
    try {
      await core.#listen(cas);
    } catch (err) {
      await core.stop();
      throw err;
    }
    return core;
  }

  async #listen(cas: Awaited<ReturnType<typeof deriveClusterCa>>[]): Promise<void> {
    const c = this.#c;
    const leaf = await issueLeafCertificate(cas[0], {
      identity: runtimeIdentity(c.runtimeId),
      ttlMs: RUNTIME_CERT_TTL_MS,
    });
    // Workers prove the cluster on their peer links with keys derived one way from the PSKs' link keys.
    const linkKeys = await Promise.all(
      c.psks.map(async (p) => toBase64(await deriveLinkAuthKey(await deriveLinkAuthKey(p)))),
    );
    const hostPskKey = c.bootstrap.method === "psk" ? await deriveHostPskKey(c.bootstrap.hostPsk) : undefined;
    if (c.bootstrap.method === "jwt") {
      this.#jwt = createJwtVerifier({
        issuer: c.bootstrap.issuer,
        audience: c.bootstrap.audience,
        ...(c.bootstrap.jwksUrl === undefined ? {} : { jwksUrl: c.bootstrap.jwksUrl }),
        ...(c.bootstrap.staticJwks === undefined ? {} : { staticJwks: c.bootstrap.staticJwks }),
        // Single use across every replica sharing the store.
        claimOnce: (jti, expiresAt) => c.provider.claimOnce(`jti:${jti}`, expiresAt),
      });
    }
    const serverOptions = {
      host: c.host,
      port: c.port,
      runtimeId: c.runtimeId,
      psks: c.psks,
      certPem: leaf.certPem,
      keyPem: leaf.keyPem,
      caPems: this.caPems,
      linkKeys,
      ...(hostPskKey === undefined ? {} : { hostPskKey }),
      ...(this.#jwt === undefined ? {} : { jwt: this.#jwt }),
      settings: c.settings,
      sessions: this.sessions,
      handshakeTimeoutMs: Math.min(c.requestTimeoutMs, 10_000),
      maxInFlightRequests: c.maxInFlightRequests,
      keepaliveMs: c.requestTimeoutMs,
      logger: c.logger,
      ready: () => this.#ready,
      accepting: () => this.#accepting,
    };
    this.#listener = await listenRuntime(serverOptions);
    if (c.transport === "webtransport") {
      // Experimental, Deno --unstable-net only: never loaded unless asked for.
      const [{ listenRuntimeWebTransport }, { deriveRuntimeWtCertificate }] = await Promise.all([
        import("./_wt_server.ts"),
        import("./_wt_certificate.ts"),
      ]);
      const cert = await deriveRuntimeWtCertificate(c.psks[0]);
      this.#wtListener = await listenRuntimeWebTransport({ ...serverOptions, port: this.#listener.port }, cert);
    }
    this.address = `${c.host.includes(":") ? `[${c.host}]` : c.host}:${this.#listener.port}`;
    if (c.healthBind !== undefined) {
      const { serveHealth } = await import("./http.ts");
      this.#http = await serveHealth(c.healthBind, () => this.#ready);
      this.healthAddress = `${c.healthBind.host}:${this.#http.port}`;
    }
    this.#ready = true;
  }

  #renew(hostId: string, spki: Uint8Array): Promise<string> {
    return certifyHost(this.#c, hostId, spki);
  }

  /**
   * Stops gracefully (idempotent): refuses new workers, tells every session
   * to move to another replica, lets the calls already sent finish for up to
   * `shutdownGracePeriodMs`, closes the sessions (a goodbye when they are
   * quiet, dropped otherwise) and the listeners, then releases the provider.
   */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#ready = false;
      this.#accepting = false;
      const c = this.#c;
      const grace = c.shutdownGracePeriodMs ?? DEFAULT_SHUTDOWN_GRACE_MS;
      const deadline = Date.now() + grace;
      await this.#http?.close().catch(() => {});
      await this.sessions.sayStopping(Math.min(grace, c.requestTimeoutMs));
      const drained = await this.sessions.drained(Math.max(0, deadline - Date.now()));
      if (drained) {
        await Promise.all(this.sessions.links().map((l) => l.close().catch(() => {})));
      } else {
        c.logger.warn("Runtime stopping with requests still in flight after the grace period", {
          requests: this.sessions.inFlight,
          shutdownGracePeriodMs: grace,
        });
      }
      await this.#listener?.close().catch(() => {});
      await this.#wtListener?.close().catch(() => {});
      await this.#jwt?.close?.();
      await this.#c.provider.release().catch((err) =>
        this.#c.logger.warn("Cannot release provider", { err: errorMessage(err) })
      );
    })();
    return this.#stopping;
  }
}
