/**
 * Application-layer mutual authentication of a WebTransport link, on its one
 * bidirectional stream, before any request. WebTransport in Deno has neither
 * client certificates nor a TLS exporter, so each side sends its leaf and a
 * fresh nonce, and proves both its leaf key (signature) and the cluster PSK
 * (`computeLinkProof`) over a transcript hash standing in for the exporter:
 *
 * ```text
 * T = SHA-256(lp(LABEL) | lp(clientNonce) | lp(serverNonce) | lp(pinnedServerCertHash)
 *             | lp(SHA-256(clientCert)) | lp(clientId) | lp(serverId))      lp(x) = u32 length | x
 * signature = Sign(leafKey, "francis/wt-link/v1 signature <role>" | T)
 * proof     = computeLinkProof(authKey, role, T, { clientId, serverId })
 * ```
 *
 * Messages (HELLO frames, `_wt_hello.ts`):
 * 1. client → server: clientNonce, clientId, client certificate (DER)
 * 2. server → client: serverNonce, serverId, server certificate (DER), signature, proof
 * 3. client → server: signature, proof
 * 4. server → client: an empty "accepted"
 *
 * The client checks that the server certificate is one it pinned (the one
 * QUIC accepted), that it chains to a cluster CA and names `expectedPeerId`
 * (else `HostMismatchError`, before it proves anything), and the server's
 * signature and proof; the server checks the same of the client. Failures
 * are `UnauthorizedError`s; the caller bounds the whole exchange with a timeout.
 *
 * @module
 */

import { HostMismatchError, UnauthorizedError } from "../errors.ts";
import { lengthPrefixed, sha256, timingSafeEqual, utf8 } from "../security/_bytes.ts";
import { computeLinkProof, verifyLinkProof } from "../security/link_proof.ts";
import { importSigningKey, pemToDer, signWith, verifyPeerCertificate, verifyWith } from "./_wt_certificate.ts";
import { decodeHello as decodeHelloFields, type EarlyFrame, encodeHello, HelloReader } from "./_wt_hello.ts";
import type { FrameReader } from "./frames.ts";
import type { ByteChannel } from "./mux.ts";
import type { LinkCredentials } from "./types.ts";

const LABEL = "francis/wt-link/v1";
const NONCE_BYTES = 32;

/** An authenticated channel, ready for a `MuxLink`. */
export interface WtHandshakeResult {
  /** The peer's verified host ID. */
  peerId: string;
  /** The link's reader, holding any partial frame read past the handshake. */
  reader: FrameReader;
  /** Complete frames read past the handshake. */
  early: EarlyFrame[];
}

function cat(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), at += p.length);
  return out;
}

interface Transcript {
  clientNonce: Uint8Array;
  serverNonce: Uint8Array;
  serverCertHash: Uint8Array;
  clientCert: Uint8Array<ArrayBuffer>;
  clientId: string;
  serverId: string;
}

/**
 * The transcript hash `T` of a handshake.
 *
 * @example
 * ```ts ignore
 * const t = await transcriptHash({ clientNonce, serverNonce, serverCertHash, clientCert, clientId, serverId });
 * ```
 */
export async function transcriptHash(t: Transcript): Promise<Uint8Array<ArrayBuffer>> {
  const parts = [utf8(LABEL), t.clientNonce, t.serverNonce, t.serverCertHash, await sha256(t.clientCert)];
  parts.push(utf8(t.clientId), utf8(t.serverId));
  return await sha256(lengthPrefixed(parts));
}

const signed = (role: "client" | "server", t: Uint8Array): Uint8Array<ArrayBuffer> =>
  cat([utf8(`${LABEL} signature ${role}`), t]);

const bad = (why: string): UnauthorizedError => new UnauthorizedError(`Cannot authenticate link: ${why}`);

/**
 * Client side. `pinned` are the hashes given to `serverCertificateHashes`.
 *
 * @example
 * ```ts ignore
 * const { peerId, reader, early } = await wtClientHandshake(channel, credentials, "b", [hash], 16_777_216);
 * ```
 */
export async function wtClientHandshake(
  channel: ByteChannel,
  credentials: LinkCredentials,
  expectedPeerId: string,
  pinned: readonly Uint8Array[],
  maxFrameBytes: number,
): Promise<WtHandshakeResult> {
  const hellos = new HelloReader(channel);
  const clientNonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  const clientCert = pemToDer(credentials.certPem);
  channel.write(encodeHello(1, [clientNonce, utf8(credentials.hostId), clientCert]));
  const m2 = decodeFields(await hellos.next(2), 5, "server hello");
  const [serverNonce, serverIdBytes, serverCert, serverSig, serverProof] = m2;
  const serverCertHash = await sha256(serverCert);
  if (!pinned.some((h) => timingSafeEqual(h, serverCertHash))) {
    throw bad("the server certificate is not the pinned one");
  }
  const server = await verifyPeerCertificate(serverCert, credentials.caPems, "server");
  if (new TextDecoder().decode(serverIdBytes) !== server.hostId) {
    throw bad("the server hello does not match its certificate");
  }
  if (server.hostId !== expectedPeerId) {
    throw new HostMismatchError(
      `Cannot dial peer: it authenticated as host "${server.hostId}", expected "${expectedPeerId}"`,
    );
  }
  const ids = { clientId: credentials.hostId, serverId: server.hostId };
  const t = await transcriptHash({ clientNonce, serverNonce, serverCertHash, clientCert, ...ids });
  if (!(await verifyWith(server.publicKey, signed("server", t), serverSig))) throw bad("server signature rejected");
  if (!(await verifyLinkProof(credentials.authKeys, "server", t, ids, serverProof))) {
    throw bad("server link proof rejected");
  }
  const sig = await signWith(await importSigningKey(credentials.keyPem), signed("client", t));
  const proof = await computeLinkProof(credentials.authKeys[0], "client", t, ids);
  channel.write(encodeHello(3, [sig, proof]));
  decodeFields(await hellos.next(4, true), 0, "server acceptance");
  return { peerId: server.hostId, ...hellos.rest(maxFrameBytes) };
}

/**
 * Server side: verifies the client, then accepts it.
 *
 * @example
 * ```ts ignore
 * const { peerId, reader } = await wtServerHandshake(channel, credentials, 16_777_216);
 * ```
 */
export async function wtServerHandshake(
  channel: ByteChannel,
  credentials: LinkCredentials,
  maxFrameBytes: number,
): Promise<WtHandshakeResult> {
  const hellos = new HelloReader(channel);
  const [clientNonce, clientIdBytes, clientCert] = decodeFields(await hellos.next(1), 3, "client hello");
  if (clientNonce.length !== NONCE_BYTES) throw bad("the client nonce has the wrong length");
  const client = await verifyPeerCertificate(clientCert, credentials.caPems, "client");
  if (new TextDecoder().decode(clientIdBytes) !== client.hostId) {
    throw bad("the client hello does not match its certificate");
  }
  const serverNonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  const serverCert = pemToDer(credentials.certPem);
  const serverCertHash = await sha256(serverCert);
  const ids = { clientId: client.hostId, serverId: credentials.hostId };
  const t = await transcriptHash({ clientNonce, serverNonce, serverCertHash, clientCert, ...ids });
  const sig = await signWith(await importSigningKey(credentials.keyPem), signed("server", t));
  const proof = await computeLinkProof(credentials.authKeys[0], "server", t, ids);
  channel.write(encodeHello(2, [serverNonce, utf8(credentials.hostId), serverCert, sig, proof]));
  const [clientSig, clientProof] = decodeFields(await hellos.next(3, true), 2, "client proof");
  if (hellos.buffered > 0) throw bad("the client sent frames before it was accepted");
  if (!(await verifyWith(client.publicKey, signed("client", t), clientSig))) throw bad("client signature rejected");
  if (!(await verifyLinkProof(credentials.authKeys, "client", t, ids, clientProof))) {
    throw bad("client link proof rejected");
  }
  channel.write(encodeHello(4, []));
  return { peerId: client.hostId, ...hellos.rest(maxFrameBytes) };
}

function decodeFields(body: Uint8Array, count: number, what: string): Uint8Array<ArrayBuffer>[] {
  const fields = decodeHelloFields(body, count);
  if (fields === undefined) throw bad(`malformed ${what}`);
  return fields;
}
