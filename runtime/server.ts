/**
 * The runtime's TLS listener: admission of workers (API.md §16, §18) and the
 * multiplexed link each admitted worker then uses for its provider calls.
 *
 * The handshake is `runtime/protocol.ts`. `node:tls` is loaded here, lazily
 * by `startRuntime`.
 *
 * @module
 */

import type { Server, TLSSocket } from "node:tls";
import * as x509 from "@peculiar/x509";
import { isFrancisError, UnauthorizedError } from "../errors.ts";
import { errorMessage } from "../_internal/logger.ts";
import { identityFromPeerCertificate, parseIdentity } from "../security/identity.ts";
import { tlsExporter } from "../security/tls_exporter.ts";
import { encodeFrame, FrameType } from "../transport/frames.ts";
import { HelloStream } from "../transport/_hello_stream.ts";
import { SocketChannel } from "../transport/_socket_channel.ts";
import { newNonce, verifyBootstrapProof } from "./admission/psk_proof.ts";
import { type ClientHello, RUNTIME_PROTOCOL_VERSION, type RuntimeHello } from "./protocol.ts";
import { fromBase64, toBase64 } from "../_internal/base64.ts";
import {
  certifyNewHost,
  checkAccepting,
  checkJwt,
  type RuntimeServerOptions,
  sessionGrant,
  startSession,
} from "./_admit.ts";
import { DEFAULT_MAX_FRAME_BYTES } from "../transport/frames.ts";

export type { RuntimeServerOptions } from "./_admit.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * Starts the listener.
 *
 * @example
 * ```ts ignore
 * const server = await listenRuntime(options);
 * console.log(server.port);
 * await server.close();
 * ```
 */
export async function listenRuntime(o: RuntimeServerOptions): Promise<{ port: number; close(): Promise<void> }> {
  const tls = await import("node:tls");
  const sockets = new Set<TLSSocket>();
  const server: Server = tls.createServer({
    key: o.keyPem,
    cert: o.certPem,
    ca: [...o.caPems],
    requestCert: true,
    rejectUnauthorized: false, // a bootstrapping worker has no certificate yet; admission decides
    minVersion: "TLSv1.3",
    maxVersion: "TLSv1.3",
  });
  server.on("secureConnection", (socket: TLSSocket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    socket.setNoDelay(true);
    admit(o, socket).catch((err) => {
      o.logger.debug("Runtime connection rejected", { err: errorMessage(err) });
      socket.destroy();
    });
  });
  server.on("tlsClientError", () => {});
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: o.host, port: o.port }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : o.port;
  return {
    port,
    // Stops accepting at once; connections still open (sessions mid-goodbye) are dropped, then the server is gone.
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}

function send(socket: TLSSocket, msg: RuntimeHello): void {
  socket.write(encodeFrame(FrameType.Hello, 0, enc.encode(JSON.stringify(msg))));
}

function reject(socket: TLSSocket, code: string, message: string): never {
  send(socket, { kind: "rejected", code, message });
  socket.end();
  throw new UnauthorizedError(message);
}

/** Runs the admission handshake; on success the socket becomes a session link. */
async function admit(o: RuntimeServerOptions, socket: TLSSocket): Promise<void> {
  const hs = new HelloStream(socket, DEFAULT_MAX_FRAME_BYTES);
  let hello: ClientHello;
  try {
    hello = JSON.parse(dec.decode(await hs.next(o.handshakeTimeoutMs))) as ClientHello;
  } catch (err) {
    hs.abandon();
    throw err;
  }
  if (typeof hello !== "object" || hello === null || hello.v !== RUNTIME_PROTOCOL_VERSION) {
    hs.abandon();
    reject(
      socket,
      "protocol_version",
      `Cannot admit host: protocol version ${String(hello?.v)} is not ${RUNTIME_PROTOCOL_VERSION}`,
    );
  }
  if (hello.kind === "probe") {
    hs.abandon();
    send(socket, { kind: "health", ok: true, ready: o.ready(), runtimeId: o.runtimeId });
    socket.end();
    return;
  }
  let hostId: string;
  let certPem: string | undefined;
  let publicKeySpki: Uint8Array | undefined;
  try {
    if (hello.kind === "cert") {
      hostId = certificateHost(socket);
      publicKeySpki = certificateKey(socket);
    } else if (hello.kind === "psk" || hello.kind === "jwt") {
      if (hello.kind === "psk") await checkPsk(o, socket, hs, hello.nonce);
      else await checkJwt(o, hello.token);
      publicKeySpki = fromBase64(hello.publicKey);
      ({ hostId, certPem } = await certifyNewHost(o, publicKeySpki));
    } else {
      throw new UnauthorizedError("Cannot admit host: unknown hello");
    }
    checkAccepting(o);
  } catch (err) {
    hs.abandon();
    // A store or JWKS outage is not the worker's fault: it should retry, not give up.
    const code = isFrancisError(err, "runtime_unavailable") ? "runtime_unavailable" : "unauthorized";
    reject(socket, code, errorMessage(err));
  }
  send(socket, { kind: "admitted", session: sessionGrant(o, hostId, certPem) });
  const { reader, early } = hs.finish();
  startSession(o, new SocketChannel(socket), {
    hostId,
    clientOnly: hello.clientOnly === true,
    publicKeySpki,
    reader,
    early,
  });
  socket.resume();
}

/** The SPKI (DER) of the key the client certificate certifies. */
function certificateKey(socket: TLSSocket): Uint8Array | undefined {
  const raw = socket.getPeerCertificate(true)?.raw;
  if (raw === undefined) return undefined;
  return new Uint8Array(new x509.X509Certificate(new Uint8Array(raw)).publicKey.rawData);
}

function certificateHost(socket: TLSSocket): string {
  if (!socket.authorized) {
    throw new UnauthorizedError("Cannot admit host: its certificate is not valid for this cluster");
  }
  const parsed = parseIdentity(identityFromPeerCertificate(socket.getPeerCertificate()) ?? "");
  if (parsed?.kind !== "host") throw new UnauthorizedError("Cannot admit host: its certificate names no host");
  return parsed.id;
}

async function checkPsk(o: RuntimeServerOptions, socket: TLSSocket, hs: HelloStream, nonce: string): Promise<void> {
  if (o.hostPskKey === undefined) throw new UnauthorizedError("Cannot admit host: PSK bootstrap is not enabled");
  const clientNonce = fromBase64(nonce);
  const serverNonce = newNonce();
  send(socket, { kind: "challenge", nonce: toBase64(serverNonce) });
  const answer = JSON.parse(dec.decode(await hs.next(o.handshakeTimeoutMs))) as { kind?: string; proof?: string };
  if (answer?.kind !== "proof" || typeof answer.proof !== "string") {
    throw new UnauthorizedError("Cannot admit host: expected a PSK proof");
  }
  const exporter = tlsExporter(socket, "server");
  const ok = await verifyBootstrapProof(o.hostPskKey, exporter, clientNonce, serverNonce, fromBase64(answer.proof));
  if (!ok) throw new UnauthorizedError("Cannot admit host: wrong host PSK");
}
