/**
 * The link proof exchange that follows the TLS handshake: each side sends a
 * HELLO frame carrying its host ID and an HMAC proof of the cluster PSK bound
 * to this TLS session's exporter. The client sends first; the server answers
 * only after verifying it; the client treats the link as up only after
 * verifying the server's answer. Certificate identities (SAN URI) must match
 * the HELLO host IDs.
 *
 * HELLO body: `u8 version (1) | u8 idLength | hostId (UTF-8) | proof (32 bytes)`.
 *
 * @module
 */

import type { TLSSocket } from "node:tls";
import { HostMismatchError, UnauthorizedError } from "../errors.ts";
import { identityFromPeerCertificate, parseIdentity } from "../security/identity.ts";
import { computeLinkProof, LINK_PROOF_BYTES, tlsExporter, verifyLinkProof } from "../security/link_proof.ts";
import { encodeFrame, FrameError, FrameReader, FrameType, type FrameTypeValue } from "./frames.ts";
import type { LinkCredentials } from "./types.ts";

const HELLO_VERSION = 1;
/** Largest HELLO body accepted. */
const MAX_HELLO_BYTES = 2 + 255 + LINK_PROOF_BYTES;

/** A frame read past the HELLO, to be replayed by the link. */
export interface EarlyFrame {
  type: FrameTypeValue;
  id: number;
  body: Uint8Array;
}

/** An authenticated socket, ready for a {@linkcode MuxLink}. */
export interface HandshakeResult {
  /** The peer's verified host ID. */
  peerId: string;
  /** The reader, with any partial frame it holds. */
  reader: FrameReader;
  /** Frames that followed the peer's HELLO. */
  early: EarlyFrame[];
}

/**
 * Encodes a HELLO body.
 *
 * @example
 * ```ts
 * import { encodeHello } from "./_tls_handshake.ts";
 * console.log(encodeHello("a", new Uint8Array(32)).length); // 35
 * ```
 */
export function encodeHello(hostId: string, proof: Uint8Array): Uint8Array {
  const id = new TextEncoder().encode(hostId);
  if (id.length > 255) throw new RangeError(`Cannot encode hello: hostId is ${id.length} bytes (at most 255)`);
  const out = new Uint8Array(2 + id.length + proof.length);
  out[0] = HELLO_VERSION;
  out[1] = id.length;
  out.set(id, 2);
  out.set(proof, 2 + id.length);
  return out;
}

/**
 * Decodes a HELLO body, or `undefined` when malformed.
 *
 * @example
 * ```ts
 * import { decodeHello, encodeHello } from "./_tls_handshake.ts";
 * console.log(decodeHello(encodeHello("a", new Uint8Array(32)))?.hostId); // a
 * ```
 */
export function decodeHello(body: Uint8Array): { hostId: string; proof: Uint8Array } | undefined {
  if (body.length < 2 || body.length > MAX_HELLO_BYTES || body[0] !== HELLO_VERSION) return undefined;
  const n = body[1];
  if (body.length !== 2 + n + LINK_PROOF_BYTES) return undefined;
  try {
    const hostId = new TextDecoder("utf-8", { fatal: true }).decode(body.subarray(2, 2 + n));
    return { hostId, proof: body.slice(2 + n) };
  } catch {
    return undefined;
  }
}

/** The peer's host ID from its verified certificate, or throws `UnauthorizedError`. */
function certificateHostId(socket: TLSSocket, who: string): string {
  const parsed = parseIdentity(identityFromPeerCertificate(socket.getPeerCertificate()) ?? "");
  if (parsed === undefined || parsed.kind !== "host") {
    throw new UnauthorizedError(`Cannot authenticate link: the ${who} certificate carries no host identity`);
  }
  return parsed.id;
}

/**
 * Reads frames until the peer's HELLO arrives, then pauses the socket;
 * frames after it in the same chunk are kept. Rejects if the first frame is
 * not a valid-sized HELLO or the socket fails (the caller handles close/error).
 */
function readHello(socket: TLSSocket, maxFrameBytes: number): {
  reader: FrameReader;
  hello: Promise<{ body: Uint8Array; early: EarlyFrame[] }>;
} {
  const early: EarlyFrame[] = [];
  let hello: Uint8Array | undefined;
  const reader = new FrameReader((type, id, body) => {
    if (hello !== undefined) return void early.push({ type, id, body });
    if (type !== FrameType.Hello || body.length > MAX_HELLO_BYTES) {
      throw new FrameError(`Cannot read hello: got frame type ${type} of ${body.length} bytes`);
    }
    hello = body;
  }, maxFrameBytes);
  const promise = new Promise<{ body: Uint8Array; early: EarlyFrame[] }>((resolve, reject) => {
    const onData = (chunk: Uint8Array) => {
      try {
        reader.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      } catch (err) {
        socket.off("data", onData);
        return reject(new UnauthorizedError("Cannot authenticate link: malformed hello", { cause: err }));
      }
      if (hello !== undefined) {
        socket.pause();
        socket.off("data", onData);
        resolve({ body: hello, early });
      }
    };
    socket.on("data", onData);
  });
  return { reader, hello: promise };
}

/**
 * Client side, after `secureConnect`: checks the server's certificate
 * identity against `expectedPeerId` (else `HostMismatchError`, before any
 * byte is sent), sends our HELLO, verifies the server's. The socket is left
 * paused. Rejects with `UnauthorizedError` on a bad server proof.
 *
 * @example
 * ```ts ignore
 * const { peerId, reader, early } = await clientHandshake(socket, credentials, "b", 16_777_216);
 * ```
 */
export async function clientHandshake(
  socket: TLSSocket,
  credentials: LinkCredentials,
  expectedPeerId: string,
  maxFrameBytes: number,
): Promise<HandshakeResult> {
  const serverId = certificateHostId(socket, "server");
  if (serverId !== expectedPeerId) {
    throw new HostMismatchError(
      `Cannot dial peer: it authenticated as host "${serverId}", expected "${expectedPeerId}"`,
    );
  }
  const { reader, hello } = readHello(socket, maxFrameBytes);
  const exporter = tlsExporter(socket, "client");
  const ids = { clientId: credentials.hostId, serverId };
  const proof = await computeLinkProof(credentials.authKeys[0], "client", exporter, ids);
  socket.write(encodeFrame(FrameType.Hello, 0, encodeHello(credentials.hostId, proof)));
  const { body, early } = await hello;
  const h = decodeHello(body);
  if (h === undefined || h.hostId !== serverId) {
    throw new UnauthorizedError("Cannot authenticate link: the server hello does not match its certificate");
  }
  if (!(await verifyLinkProof(credentials.authKeys, "server", exporter, ids, h.proof))) {
    throw new UnauthorizedError("Cannot authenticate link: server link proof rejected");
  }
  return { peerId: serverId, reader, early };
}

/**
 * Server side, after `secureConnection` (the client certificate already
 * chains to a cluster CA): waits for the client's HELLO, checks that it
 * names the certificate's host and that its proof is bound to this session,
 * then answers with our HELLO. The socket is left paused.
 *
 * @example
 * ```ts ignore
 * const { peerId, reader } = await serverHandshake(socket, credentials, 16_777_216);
 * ```
 */
export async function serverHandshake(
  socket: TLSSocket,
  credentials: LinkCredentials,
  maxFrameBytes: number,
): Promise<HandshakeResult> {
  const clientId = certificateHostId(socket, "client");
  const { reader, hello } = readHello(socket, maxFrameBytes);
  const exporter = tlsExporter(socket, "server");
  const { body, early } = await hello;
  if (early.length > 0) {
    throw new UnauthorizedError("Cannot authenticate link: the client sent frames before the server hello");
  }
  const h = decodeHello(body);
  if (h === undefined || h.hostId !== clientId) {
    throw new UnauthorizedError("Cannot authenticate link: the client hello does not match its certificate");
  }
  const ids = { clientId, serverId: credentials.hostId };
  if (!(await verifyLinkProof(credentials.authKeys, "client", exporter, ids, h.proof))) {
    throw new UnauthorizedError("Cannot authenticate link: link proof rejected (not bound to this TLS session?)");
  }
  const proof = await computeLinkProof(credentials.authKeys[0], "server", exporter, ids);
  socket.write(encodeFrame(FrameType.Hello, 0, encodeHello(credentials.hostId, proof)));
  return { peerId: clientId, reader, early: [] };
}
