/**
 * What every worker listener of the runtime shares, whatever the transport
 * (`server.ts`: TLS; `_wt_server.ts`: experimental WebTransport): the
 * listener's inputs, certifying a newly admitted worker's key, the grant it
 * receives, the JWT check, and turning an admitted channel into a session.
 *
 * @module
 */

import type { Logger } from "../actor/types.ts";
import { RuntimeUnavailableError, UnauthorizedError } from "../errors.ts";
import { deriveClusterCa } from "../security/cluster_ca.ts";
import { hostIdentity } from "../security/identity.ts";
import { certifyPublicKey } from "../security/leaf.ts";
import type { FrameReader } from "../transport/frames.ts";
import { type ByteChannel, MuxLink } from "../transport/mux.ts";
import type { JwtVerifier } from "./admission/jwt.ts";
import type { SessionGrant } from "./protocol.ts";
import type { Session, SessionTable } from "./sessions.ts";

/** What a worker listener needs from the runtime. */
export interface RuntimeServerOptions {
  host: string;
  port: number;
  runtimeId: string;
  psks: readonly Uint8Array[];
  /** The runtime's own certificate and key (identity `spiffe://francis/runtime/<id>`). */
  certPem: string;
  keyPem: string;
  caPems: readonly string[];
  /** base64 worker link keys, in PSK order. */
  linkKeys: readonly string[];
  hostPskKey?: Uint8Array;
  jwt?: JwtVerifier;
  settings: SessionGrant["settings"];
  sessions: SessionTable;
  handshakeTimeoutMs: number;
  maxInFlightRequests: number;
  keepaliveMs: number;
  logger: Logger;
  ready(): boolean;
  /** False once the runtime is stopping: new workers are refused with `runtime_unavailable`. */
  accepting(): boolean;
}

/**
 * Gives a newly admitted worker a host ID and certifies its Ed25519 public
 * key (SPKI) for it under the first cluster CA.
 *
 * @example
 * ```ts ignore
 * const { hostId, certPem } = await certifyNewHost(o, spki);
 * ```
 */
export async function certifyNewHost(
  o: RuntimeServerOptions,
  spki: Uint8Array,
): Promise<{ hostId: string; certPem: string }> {
  const hostId = crypto.randomUUID();
  return { hostId, certPem: await certifyHost(o, hostId, spki) };
}

/**
 * Certifies an Ed25519 public key (SPKI) for `hostId` under the first
 * cluster CA, for `settings.workloadCertTtlMs`: at admission and at renewal.
 *
 * @example
 * ```ts ignore
 * const certPem = await certifyHost(o, hostId, spki);
 * ```
 */
export async function certifyHost(
  o: Pick<RuntimeServerOptions, "psks" | "settings">,
  hostId: string,
  spki: Uint8Array,
): Promise<string> {
  const publicKey = await crypto.subtle.importKey("spki", spki.slice(), "Ed25519", true, ["verify"]);
  const ca = await deriveClusterCa(o.psks[0]);
  const { certPem } = await certifyPublicKey(ca, publicKey, {
    identity: hostIdentity(hostId),
    ttlMs: o.settings.workloadCertTtlMs,
  });
  return certPem;
}

/**
 * The grant an admitted worker receives; `certPem` is absent for `cert`
 * admissions (the worker keeps its certificate).
 *
 * @example
 * ```ts ignore
 * send({ kind: "admitted", session: sessionGrant(o, hostId, certPem) });
 * ```
 */
export function sessionGrant(o: RuntimeServerOptions, hostId: string, certPem: string | undefined): SessionGrant {
  return {
    hostId,
    runtimeId: o.runtimeId,
    ...(certPem === undefined ? {} : { certPem }),
    caPems: [...o.caPems],
    linkKeys: [...o.linkKeys],
    settings: o.settings,
  };
}

/**
 * Checks a join token (`UnauthorizedError`, or the retryable
 * `RuntimeUnavailableError` when the JWKS cannot be fetched).
 *
 * @example
 * ```ts ignore
 * await checkJwt(o, hello.token);
 * ```
 */
export async function checkJwt(o: RuntimeServerOptions, token: unknown): Promise<void> {
  if (o.jwt === undefined) throw new UnauthorizedError("Cannot admit host: JWT bootstrap is not enabled");
  if (typeof token !== "string") throw new UnauthorizedError("Cannot admit host: no token");
  await o.jwt.verify(token);
}

/**
 * Refuses admission once the runtime is stopping (`runtime_unavailable`: the
 * worker tries its next address). Called just before `admitted` is sent.
 *
 * @example
 * ```ts ignore
 * checkAccepting(o);
 * ```
 */
export function checkAccepting(o: RuntimeServerOptions): void {
  if (!o.accepting()) throw new RuntimeUnavailableError("Cannot admit host: the runtime is stopping");
}

/** An admitted worker, ready to become a session. */
export interface AdmittedWorker {
  hostId: string;
  clientOnly: boolean;
  publicKeySpki: Uint8Array | undefined;
  /** The reader that consumed the handshake, and complete frames read past it. */
  reader: FrameReader;
  early: readonly { type: number; id: number; body: Uint8Array }[];
}

/**
 * Turns an admitted channel into a session: a `MuxLink` whose requests are
 * the worker's provider calls, registered in the session table.
 *
 * @example
 * ```ts ignore
 * const link = startSession(o, new SocketChannel(socket), admitted);
 * ```
 */
export function startSession(
  o: RuntimeServerOptions,
  channel: ByteChannel,
  w: AdmittedWorker,
  probe?: (link: MuxLink) => Promise<boolean>,
): MuxLink {
  const session: Session = {
    hostId: w.hostId,
    clientOnly: w.clientOnly,
    link: undefined as unknown as MuxLink,
    publicKeySpki: w.publicKeySpki,
    ...(probe === undefined ? {} : { probe: () => probe(session.link as MuxLink) }),
  };
  session.link = new MuxLink(channel, {
    peerId: w.hostId,
    handler: (body) => o.sessions.dispatch(session, body),
    maxInFlightRequests: o.maxInFlightRequests,
    keepaliveMs: o.keepaliveMs,
    logger: o.logger,
    reader: w.reader,
    early: w.early as MuxLinkEarly,
  });
  o.sessions.add(session);
  return session.link as MuxLink;
}

type MuxLinkEarly = NonNullable<ConstructorParameters<typeof MuxLink>[1]["early"]>;
