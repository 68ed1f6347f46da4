/**
 * One connection attempt of a worker to a runtime: TLS, the runtime's
 * identity, admission (`runtime/protocol.ts`) and the resulting link.
 *
 * @module
 */

import type { TLSSocket } from "node:tls";
import { ProtocolVersionError, RetryLaterError, UnauthorizedError } from "../errors.ts";
import { identityFromPeerCertificate, parseIdentity } from "../security/identity.ts";
import { tlsExporter } from "../security/tls_exporter.ts";
import { encodeFrame, FrameType } from "../transport/frames.ts";
import { HelloStream } from "../transport/_hello_stream.ts";
import { MuxLink } from "../transport/mux.ts";
import { SocketChannel } from "../transport/_socket_channel.ts";
import { computeBootstrapProof, deriveHostPskKey, newNonce } from "../runtime/admission/psk_proof.ts";
import { fromBase64, toBase64 } from "../_internal/base64.ts";
import { parseAddress } from "../_internal/address.ts";
import {
  type ClientHello,
  RUNTIME_PROTOCOL_VERSION,
  type RuntimeHello,
  type SessionGrant,
} from "../runtime/protocol.ts";
import { DEFAULT_MAX_FRAME_BYTES } from "../transport/frames.ts";

/** How this attempt authenticates. */
export type Credential =
  /** `hostPskKey`: `deriveHostPskKey(hostPsk)`, when the caller derived it once (else each attempt does). */
  | { kind: "psk"; hostPsk: Uint8Array; hostPskKey?: Uint8Array }
  | { kind: "jwt"; token: string }
  | { kind: "cert"; certPem: string; keyPem: string };

/** One attempt's inputs. */
export interface ConnectOptions {
  address: string;
  /** Trust anchors for the runtime certificate; `undefined` = trust on first use (no verification). */
  caPems: readonly string[] | undefined;
  credential: Credential;
  /** SPKI (base64) of the worker's Ed25519 key, certified at admission. */
  publicKeySpki: string;
  clientOnly: boolean;
  /** Answers the runtime's requests on the session (`runtime/protocol.ts`); default: reject them all. */
  onRequest?: (body: Uint8Array) => Promise<Uint8Array>;
  timeoutMs: number;
  maxInFlightRequests: number;
  keepaliveMs: number;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * Connects and gets admitted. Rejects with `UnauthorizedError` when the
 * runtime or the worker is not accepted (a certificate that does not chain
 * to the pinned CA, a wrong PSK, a rejected token), `ProtocolVersionError` on
 * a version mismatch, and `RetryLaterError` when the runtime is unreachable.
 *
 * @example
 * ```ts ignore
 * const { link, grant } = await connectRuntime({ address: "127.0.0.1:7400", caPems, credential, ... });
 * ```
 */
export async function connectRuntime(o: ConnectOptions): Promise<{ link: MuxLink; grant: SessionGrant }> {
  const tls = await import("node:tls");
  const { host, port } = parseAddress(o.address, "connect to runtime", "address");
  const socket: TLSSocket = tls.connect({
    host,
    port,
    ...(o.caPems === undefined ? { rejectUnauthorized: false } : { ca: [...o.caPems], rejectUnauthorized: true }),
    ...(o.credential.kind === "cert" ? { cert: o.credential.certPem, key: o.credential.keyPem } : {}),
    minVersion: "TLSv1.3",
    maxVersion: "TLSv1.3",
    checkServerIdentity: (_name: string, cert: { subjectaltname?: string }) => {
      const id = parseIdentity(identityFromPeerCertificate(cert) ?? "");
      return id?.kind === "runtime" ? undefined : new Error("the server certificate names no runtime");
    },
  });
  const hs = new HelloStream(socket, DEFAULT_MAX_FRAME_BYTES);
  const timer = setTimeout(() => socket.destroy(new Error(`no admission within ${o.timeoutMs} ms`)), o.timeoutMs);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("secureConnect", () => resolve());
      socket.once("error", (err: Error & { code?: string }) => {
        const tlsFailure = /certificate|CERT|self.signed|verify|SSL|TLS/i.test(`${err.code} ${err.message}`);
        reject(
          tlsFailure
            ? new UnauthorizedError(`Cannot connect to runtime ${o.address}: ${err.message}`, { cause: err })
            : new RetryLaterError(`Cannot connect to runtime ${o.address}: ${err.message}`, { cause: err }),
        );
      });
    });
    socket.setNoDelay(true);
    const clientNonce = newNonce();
    const hello: ClientHello = o.credential.kind === "psk"
      ? {
        v: RUNTIME_PROTOCOL_VERSION,
        kind: "psk",
        nonce: toBase64(clientNonce),
        publicKey: o.publicKeySpki,
        clientOnly: o.clientOnly,
      }
      : o.credential.kind === "jwt"
      ? {
        v: RUNTIME_PROTOCOL_VERSION,
        kind: "jwt",
        token: o.credential.token,
        publicKey: o.publicKeySpki,
        clientOnly: o.clientOnly,
      }
      : { v: RUNTIME_PROTOCOL_VERSION, kind: "cert", clientOnly: o.clientOnly };
    send(socket, hello);
    let msg = await next(hs, o.timeoutMs);
    if (msg.kind === "challenge" && o.credential.kind === "psk") {
      const key = await hostPskKey(o.credential);
      const serverNonce = fromBase64(msg.nonce);
      const proof = await computeBootstrapProof(key, tlsExporter(socket, "client"), clientNonce, serverNonce);
      send(socket, { kind: "proof", proof: toBase64(proof) });
      msg = await next(hs, o.timeoutMs);
    }
    if (msg.kind === "rejected") throw rejectionError(o.address, msg);
    if (msg.kind !== "admitted") throw new UnauthorizedError(`Cannot join runtime ${o.address}: unexpected answer`);
    clearTimeout(timer);
    const { reader, early } = hs.finish();
    const link = new MuxLink(new SocketChannel(socket), {
      peerId: `runtime:${msg.session.runtimeId}`,
      handler: runtimeRequestHandler(o),
      maxInFlightRequests: o.maxInFlightRequests,
      keepaliveMs: o.keepaliveMs,
      reader,
      early,
    });
    socket.resume();
    return { link, grant: msg.session };
  } catch (err) {
    clearTimeout(timer);
    hs.abandon();
    socket.destroy();
    if (err instanceof UnauthorizedError || err instanceof ProtocolVersionError || err instanceof RetryLaterError) {
      throw err;
    }
    throw new RetryLaterError(`Cannot connect to runtime ${o.address}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The handler of requests from the runtime on a session link.
 *
 * @example
 * ```ts ignore
 * new MuxLink(channel, { handler: runtimeRequestHandler(o), ... });
 * ```
 */
export function runtimeRequestHandler(o: ConnectOptions): (body: Uint8Array) => Promise<Uint8Array> {
  return o.onRequest ?? (() => Promise.reject(new TypeError("Cannot answer: the runtime sends no requests")));
}

/**
 * The bootstrap proof key of a `psk` credential: the one it carries, else derived.
 *
 * @example
 * ```ts ignore
 * const key = await hostPskKey({ kind: "psk", hostPsk });
 * ```
 */
export async function hostPskKey(c: { hostPsk: Uint8Array; hostPskKey?: Uint8Array }): Promise<Uint8Array> {
  return c.hostPskKey ?? await deriveHostPskKey(c.hostPsk);
}

/**
 * The error a runtime's `rejected` answer stands for: `ProtocolVersionError`,
 * `RetryLaterError` (runtime unavailable) or else `UnauthorizedError`.
 *
 * @example
 * ```ts ignore
 * throw rejectionError("127.0.0.1:4433", { code: "unauthorized", message: "bad proof" });
 * ```
 */
export function rejectionError(address: string, msg: { code?: string; message: string }): Error {
  if (msg.code === "protocol_version") return new ProtocolVersionError(msg.message);
  if (msg.code === "runtime_unavailable") return new RetryLaterError(`Cannot join runtime ${address}: ${msg.message}`);
  return new UnauthorizedError(`Cannot join runtime ${address}: ${msg.message}`);
}

function send(socket: TLSSocket, msg: unknown): void {
  socket.write(encodeFrame(FrameType.Hello, 0, enc.encode(JSON.stringify(msg))));
}

async function next(hs: HelloStream, timeoutMs: number): Promise<RuntimeHello> {
  const body = await hs.next(timeoutMs);
  return JSON.parse(dec.decode(body)) as RuntimeHello;
}
